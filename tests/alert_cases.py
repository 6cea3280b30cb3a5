"""Synthetic series for `promtool test rules` (tests/test_alert_rules_promtool.py): per alert, a case where it
fires, a healthy case where it stays silent, and cases at the threshold's edge. Series carry the labels the
real exporters write (components/manifests/metric_sources.py); values use promtool's expanding notation.

The stack under test (alerting_raw) is the dev stack plus Redis, an HA database, a cost alert and a per-model
latency override, so every rule is rendered. The failed-Job cases are in tests/alert_cases_jobs.py,
Redis and the database in tests/alert_cases_data.py.
"""

from typing import Any

from tests.alert_cases_data import data_cases
from tests.alert_cases_jobs import job_cases
from tests.alert_series import (
    CRON,
    GW,
    POD,
    SERVING,
    alerting_raw,
    budget,
    case,
    deploy,
    gpu,
    gpu_month_usd,
    latency,
    requests,
    s,
    waiting,
)

__all__ = ["alerting_raw", "cases"]


def cases(raw: dict[str, Any]) -> list[dict[str, Any]]:
    month = gpu_month_usd(raw)
    return [
        # gateway 5xx ratio (threshold 0.05, 503 excluded)
        case(
            "5xx at 10%",
            requests("coder-chat", 90, 10),
            "30m",
            "GatewayErrorRatioHigh",
            [{"requested_model": "coder-chat"}],
        ),
        case("5xx at 2%", requests("coder-chat", 98, 2), "30m", "GatewayErrorRatioHigh", []),
        case("5xx at 4.9%", requests("coder-chat", 951, 49), "30m", "GatewayErrorRatioHigh", []),
        case(
            "5xx at 5.1%",
            requests("coder-chat", 949, 51),
            "30m",
            "GatewayErrorRatioHigh",
            [{"requested_model": "coder-chat"}],
        ),
        case("503 refusals are not errors", requests("coder-chat", 50, 50, "503"), "30m", "GatewayErrorRatioHigh", []),
        case("5xx for 8 minutes only (for: 10m)", requests("coder-chat", 90, 10), "9m", "GatewayErrorRatioHigh", []),
        # p95 latency: coder-chat 30 s (override), coder-fim 60 s (default)
        case(
            "p95 in 60-120 s",
            latency("coder-fim", "120"),
            "30m",
            "GatewayLatencyP95High",
            [{"requested_model": "coder-fim", "model": "coder-fim"}],
        ),
        case("p95 under 10 s", latency("coder-chat", "10"), "30m", "GatewayLatencyP95High", []),
        case("p95 58.5 s under the 60 s default", latency("coder-fim", "60"), "30m", "GatewayLatencyP95High", []),
        case(
            "p95 58.5 s over coder-chat's 30 s",
            latency("coder-chat", "60"),
            "30m",
            "GatewayLatencyP95High",
            [{"requested_model": "coder-chat", "model": "coder-chat"}],
        ),
        case("p95 29 s under coder-chat's 30 s", latency("coder-chat", "30"), "30m", "GatewayLatencyP95High", []),
        # 503 for a model without a ready pod
        case(
            "503 refusals",
            [
                s(
                    f'litellm_proxy_failed_requests_metric_total{{namespace="{GW}", requested_model="coder-fim", exception_status="503"}}',
                    "0 0 1 2 3 4 5 6 7 8 9",
                )
            ],
            "10m",
            "ModelRequestedWhileUnavailable",
            [{"requested_model": "coder-fim"}],
        ),
        case(
            "no refusals",
            [
                s(
                    f'litellm_proxy_failed_requests_metric_total{{namespace="{GW}", requested_model="coder-fim", exception_status="503"}}',
                    "0x20",
                )
            ],
            "20m",
            "ModelRequestedWhileUnavailable",
            [],
        ),
        case(
            "a 500 is not a refusal",
            [
                s(
                    f'litellm_proxy_failed_requests_metric_total{{namespace="{GW}", requested_model="coder-fim", exception_status="500"}}',
                    "0+1x20",
                )
            ],
            "20m",
            "ModelRequestedWhileUnavailable",
            [],
        ),
        case(
            "last refusal 12 minutes ago",
            [
                s(
                    f'litellm_proxy_failed_requests_metric_total{{namespace="{GW}", requested_model="coder-fim", exception_status="503"}}',
                    "0 1 2 2x20",
                )
            ],
            "15m",
            "ModelRequestedWhileUnavailable",
            [],
        ),
        # key budgets (warn at 80 %, exhausted at 100 %)
        case("80 % spent", budget("tabby", 1, 5), "10m", "KeyBudgetNearlySpent", [{"api_key_alias": "tabby"}]),
        case("79 % spent", budget("tabby", 1.05, 5), "10m", "KeyBudgetNearlySpent", []),
        case("100 % spent is exhausted, not nearly", budget("tabby", 0, 5), "10m", "KeyBudgetNearlySpent", []),
        case("budget exhausted", budget("tabby", 0, 5), "10m", "KeyBudgetExhausted", [{"api_key_alias": "tabby"}]),
        case("a cent left", budget("tabby", 0.01, 5), "10m", "KeyBudgetExhausted", []),
        case("a key without a budget", budget("nobudget", 0, 0), "10m", "KeyBudgetExhausted", []),
        *data_cases(),
        # vLLM
        case(
            "30 waiting",
            [
                s(
                    f'vllm:num_requests_waiting{{namespace="{SERVING}", model_name="qwen2.5-coder-7b-instruct", engine="0"}}',
                    "30x20",
                )
            ],
            "15m",
            "VllmQueueBacklog",
            [{"model_name": "qwen2.5-coder-7b-instruct"}],
        ),
        case(
            "5 waiting",
            [
                s(
                    f'vllm:num_requests_waiting{{namespace="{SERVING}", model_name="qwen2.5-coder-7b-instruct", engine="0"}}',
                    "5x20",
                )
            ],
            "15m",
            "VllmQueueBacklog",
            [],
        ),
        case(
            "exactly 20 waiting",
            [
                s(
                    f'vllm:num_requests_waiting{{namespace="{SERVING}", model_name="qwen2.5-coder-7b-instruct", engine="0"}}',
                    "20x20",
                )
            ],
            "15m",
            "VllmQueueBacklog",
            [],
        ),
        # model pods and Deployments
        case(
            "staging init container crash-loops",
            [waiting("kube_pod_init_container_status_waiting_reason", "CrashLoopBackOff")],
            "15m",
            "ModelPodFailing",
            [{**POD, "reason": "CrashLoopBackOff"}],
        ),
        case(
            "server container crash-loops",
            [waiting("kube_pod_container_status_waiting_reason", "CrashLoopBackOff", "vllm")],
            "15m",
            "ModelPodFailing",
            [{**POD, "container": "vllm", "reason": "CrashLoopBackOff"}],
        ),
        case(
            "init container still initialising",
            [waiting("kube_pod_init_container_status_waiting_reason", "PodInitializing")],
            "15m",
            "ModelPodFailing",
            [],
        ),
        case(
            "crash-looping for 8 minutes only",
            [waiting("kube_pod_init_container_status_waiting_reason", "CrashLoopBackOff")],
            "8m",
            "ModelPodFailing",
            [],
        ),
        case(
            "no ready replica for 25 m",
            deploy(1, 0),
            "25m",
            "ModelNotReady",
            [{"namespace": SERVING, "deployment": "coder-chat"}],
        ),
        case("ready", deploy(1, 1), "25m", "ModelNotReady", []),
        case("scaled to zero", deploy(0, 0), "25m", "ModelNotReady", []),
        case("not ready for 19 m (timeout 20 m)", deploy(1, 0), "19m", "ModelNotReady", []),
        # GPUs
        case(
            "GPU empty for 20 m",
            [gpu("DCGM_FI_DEV_FB_USED", "0x30")],
            "20m",
            "GpuIdleOnNode",
            [
                {
                    "gpu": "0",
                    "UUID": "GPU-gke-ai-dev-l4-coder-1",
                    "Hostname": "gke-ai-dev-l4-coder-1",
                    "modelName": "NVIDIA L4",
                }
            ],
        ),
        case("GPU holds a model", [gpu("DCGM_FI_DEV_FB_USED", "20000x30")], "20m", "GpuIdleOnNode", []),
        case("GPU at exactly 1024 MiB", [gpu("DCGM_FI_DEV_FB_USED", "1024x30")], "20m", "GpuIdleOnNode", []),
        case("GPU empty for 14 m", [gpu("DCGM_FI_DEV_FB_USED", "0x30")], "14m", "GpuIdleOnNode", []),
        case(
            "two GPUs over one GPU-month",
            [gpu("DCGM_FI_DEV_GPU_UTIL", "0x60"), gpu("DCGM_FI_DEV_GPU_UTIL", "90x60", "gke-ai-dev-l4-coder-2")],
            "45m",
            "GpuCostRunRateHigh",
            [{}],
        ),
        case(
            f"one GPU, exactly the {month} USD limit",
            [gpu("DCGM_FI_DEV_GPU_UTIL", "0x60")],
            "45m",
            "GpuCostRunRateHigh",
            [],
        ),
        case("no GPU", [s("up", "1x60")], "45m", "GpuCostRunRateHigh", []),
        # key reconciler CronJob (every 15 min, 10 min deadline: overdue after 40 min)
        case(
            "no success for 50 m",
            [s(f"kube_cronjob_status_last_successful_time{{{CRON}}}", "0x60")],
            "50m",
            "KeyReconcilerFailing",
            [{"namespace": GW, "cronjob": "litellm-keys-heal"}],
        ),
        case(
            "succeeded 5 m ago",
            [s(f"kube_cronjob_status_last_successful_time{{{CRON}}}", "2700x60")],
            "50m",
            "KeyReconcilerFailing",
            [],
        ),
        case(
            "never succeeded in 50 m",
            [s(f"kube_cronjob_created{{{CRON}}}", "0x60")],
            "50m",
            "KeyReconcilerFailing",
            [{"namespace": GW, "cronjob": "litellm-keys-heal"}],
        ),
        case(
            "created 30 m ago, no run yet",
            [s(f"kube_cronjob_created{{{CRON}}}", "1200x60")],
            "50m",
            "KeyReconcilerFailing",
            [],
        ),
        case(
            "one missed run (last success 35 m ago)",
            [s(f"kube_cronjob_status_last_successful_time{{{CRON}}}", "900x60")],
            "50m",
            "KeyReconcilerFailing",
            [],
        ),
        *job_cases(),
    ]
