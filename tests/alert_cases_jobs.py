"""promtool cases of the failed-Job alerts (components/manifests/alert_rules_jobs.py), with the series
kube-state-metrics writes for a Job: `kube_job_failed{namespace, job_name, condition}` exists only once the Job
has a Failed condition, one series per condition value, 1 on the one that holds."""

from typing import Any

from tests.alert_series import GW, SERVING, case, s

STAGE = "coder-chat-stage-1a2b3c4d"
SWAP_STAGE = "llama-swap-stage-5e6f7a8b"
RELEASE = "coder-chat-release-9c0d1e2f"
SMOKE = "smoke-test-0a1b2c3d"


def job(metric: str, namespace: str, name: str, values: str, condition: str | None = "true") -> dict[str, str]:
    cond = f', condition="{condition}"' if condition else ""
    return s(f'{metric}{{namespace="{namespace}", job_name="{name}"{cond}}}', values)


def failed(namespace: str, name: str, values: str = "1x10") -> list[dict[str, str]]:
    """A Job whose Failed condition is True, as KSM writes it (the other two condition values at 0)."""
    return [
        job("kube_job_failed", namespace, name, values),
        job("kube_job_failed", namespace, name, "0x10", "false"),
        job("kube_job_failed", namespace, name, "0x10", "unknown"),
    ]


def job_cases() -> list[dict[str, Any]]:
    fired = {"namespace": SERVING, "job_name": STAGE}
    return [
        # weight and GGUF staging (serving namespace)
        case("vLLM weight stage failed", failed(SERVING, STAGE), "5m", "ModelStageFailed", [fired]),
        case(
            "GGUF stage of llama-swap failed",
            failed(SERVING, SWAP_STAGE),
            "5m",
            "ModelStageFailed",
            [{"namespace": SERVING, "job_name": SWAP_STAGE}],
        ),
        case(
            "release Job before the stage failed",
            failed(SERVING, RELEASE),
            "5m",
            "ModelStageFailed",
            [{"namespace": SERVING, "job_name": RELEASE}],
        ),
        case(
            "stage still running (no Failed condition yet)",
            [job("kube_job_status_active", SERVING, STAGE, "1x10", None)],
            "5m",
            "ModelStageFailed",
            [],
        ),
        case(
            "stage completed",
            [job("kube_job_complete", SERVING, STAGE, "1x10")],
            "5m",
            "ModelStageFailed",
            [],
        ),
        case(
            "a failed cache-grow Job is not a stage",
            failed(SERVING, "llama-swap-cache-grow-3c4d5e6f"),
            "5m",
            "ModelStageFailed",
            [],
        ),
        case(
            "Failed condition present but False",
            [job("kube_job_failed", SERVING, STAGE, "0x10"), job("kube_job_failed", SERVING, STAGE, "1x10", "false")],
            "5m",
            "ModelStageFailed",
            [],
        ),
        case("failed under a minute ago (for: 1m)", failed(SERVING, STAGE, "0x5 1x5"), "6m", "ModelStageFailed", []),
        # smoke test (gateway namespace)
        case(
            "smoke test failed",
            failed(GW, SMOKE),
            "5m",
            "SmokeTestFailed",
            [{"namespace": GW, "job_name": SMOKE}],
        ),
        case("smoke test passed", [job("kube_job_complete", GW, SMOKE, "1x10")], "5m", "SmokeTestFailed", []),
        case(
            "a failed key Job is not the smoke test",
            failed(GW, "litellm-keys-4d5e6f7a"),
            "5m",
            "SmokeTestFailed",
            [],
        ),
        case("smoke test failed under a minute ago", failed(GW, SMOKE, "0x5 1x5"), "6m", "SmokeTestFailed", []),
    ]
