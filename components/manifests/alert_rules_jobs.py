"""Alerts on the platform's one-shot Jobs, from kube-state-metrics' `kube_job_failed` (a Job whose Failed
condition is True): a failed weight stage and a failed smoke test. Both belong to the `cluster` group, with the
other kube-state-metrics rules (components/manifests/alert_rules.py).

- **ModelStageFailed**: a stage Job (weight_stage.py for vLLM, gguf_stage.py for llama.cpp GPU backends) or the
  release Job before it failed. The model's Deployment stays at 0 replicas, so no GPU node is held and nothing
  else fires (ModelNotReady wants replicas > 0): without this alert the model is silently absent.
- **SmokeTestFailed**: the smoke-test Job (smoke.py) failed. `pulumi up` does not wait for it (skipAwait), so
  this alert is how a failed verdict reaches someone.

Jobs are matched by name pattern, not by their labels: kube-state-metrics exports a Job's labels only under
`--metric-labels-allowlist`, its name always (label `job_name`; the `job` label is the scrape job's). The
patterns are the naming rules of those modules; tests/test_alert_job_rules.py checks every Job the stack declares
against them. A failed Job keeps its Failed condition until the next `pulumi up` replaces it (stage Jobs carry
replaceUnready; the smoke Job gets a new name per plan), so the alert stands while the failure does.
"""

from typing import Any

from models.llama_rules import static_models
from models.platform import PlatformConfig

from . import smoke
from .alert_rule import rule
from .promql import agg, compare, sel

# <model or backend>-stage-<8 hex> and <...>-release-<8 hex> (weight_stage._job_name, gguf_stage._names).
STAGE_JOB_PATTERN = ".+-(stage|release)-[0-9a-f]{8}"
# smoke-test-<8 hex> (smoke.job_name).
SMOKE_JOB_PATTERN = smoke.NAME + "-[0-9a-f]{8}"
# A Job's Failed condition is final: one scrape past the transition is enough.
FOR = "1m"


def failed_jobs(namespace: str, pattern: str) -> str:
    failed = sel("kube_job_failed", namespace=namespace, job_name="~" + pattern, condition="true")
    return compare(agg("max", failed, ["namespace", "job_name"]), ">", 0)


def job_rules(cfg: PlatformConfig) -> list[dict[str, Any]]:
    serving, gateway = cfg.namespaces.serving, cfg.namespaces.gateway
    out: list[dict[str, Any]] = []
    # Any backend that stages when it has replicas: the rule does not come and go with a replicas flip.
    if any(m.engine == "vllm" for m in cfg.models) or static_models(cfg) or cfg.swap is not None:
        out.append(
            rule(
                "ModelStageFailed",
                failed_jobs(serving, STAGE_JOB_PATTERN),
                FOR,
                "warning",
                "Staging Job {{ $labels.job_name }} failed: its model stays at 0 replicas",
                "The CPU Job that fills the model's cache disk (or the release Job before it) failed, so the model's "
                "Deployment was never scaled up: no GPU node is held, and the gateway answers 503 for the model. "
                f"kubectl -n {serving} describe job/{{{{ $labels.job_name }}}} shows the pod's termination message "
                "(the stage names the repo and the file: a typo in modelName, a gated repo without hf-token, an "
                "ambiguous quant, a full disk). Fix the config and run pulumi up: the failed Job is replaced.",
            )
        )
    if cfg.gateway.smoke_test.enabled:
        out.append(
            rule(
                "SmokeTestFailed",
                failed_jobs(gateway, SMOKE_JOB_PATTERN),
                FOR,
                "warning",
                "Smoke test {{ $labels.job_name }} failed: a model does not answer through the gateway",
                "pulumi up does not wait for the smoke test, so this is where its failed verdict shows. "
                f"kubectl -n {gateway} logs job/{{{{ $labels.job_name }}}} names each model that failed and "
                "whether it failed through the gateway or directly at its backend (stack output jobs.smokeTest). "
                f"Fix the model, then re-run: kubectl -n {gateway} delete job {{{{ $labels.job_name }}}} && pulumi up.",
            )
        )
    return out
