"""The smoke-test Job: what to test (from the gateway's routes) and the Job running scripts/smoke_test_in_pod.py (mounted as smoke_test.py)."""

import json
from pathlib import Path
from typing import Any

from models.platform import PlatformConfig

from . import gateway as gw
from .common import SKIP_AWAIT, checksum, env, labels, metadata, non_root, secret_env, tmp_volume
from .keys import JOB_IMAGE

NAME = "smoke-test"
SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "smoke_test_in_pod.py"


def smoke_models(cfg: PlatformConfig) -> list[dict[str, Any]]:
    """Every exposed model, its mode, running replicas, and the backend the gateway routes it to."""
    out = []
    for m in cfg.models:
        if not m.register_in_gateway:
            continue
        params = gw.route(m, cfg)["litellm_params"]
        external = m.engine == "external"
        out.append(
            {
                "name": m.name,
                "mode": m.mode,
                "replicas": cfg.serving_replicas(m),
                "direct": None if external else {"url": params["api_base"], "model": params["model"].split("/", 1)[1]},
                # A generation per swap model would evict whatever live users have loaded (one model at a time):
                # a swap model passes when the gateway and llama-swap's own /v1/models list it.
                "check": "membership" if swap_member(m) else "generate",
            }
        )
    return out


def swap_member(m: Any) -> bool:
    return m.engine == "llamacpp" and m.placement == "swap"


def configmap(cfg: PlatformConfig) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(NAME, cfg.namespaces.gateway, "smoke"),
        "data": {"models.json": json.dumps(smoke_models(cfg), indent=2), "smoke_test.py": SCRIPT.read_text()},
    }


def active_deadline_seconds(cfg: PlatformConfig) -> int:
    """The script's own deadline plus time to schedule, pull the image and check every model once more."""
    return cfg.gateway.smoke_test.ready_timeout_seconds + 300


def commands(cfg: PlatformConfig) -> dict[str, str]:
    """How to read the verdict: `pulumi up` no longer waits for it (stack output jobs.smokeTest)."""
    ns, name = cfg.namespaces.gateway, job_name(cfg)
    timeout = active_deadline_seconds(cfg) + 60
    return {
        "verdict": f"kubectl -n {ns} wait --for=condition=complete job/{name} --timeout={timeout}s",
        "status": f"kubectl -n {ns} get job {name} -o jsonpath='{{.status.conditions[*].type}}'",
        "rerun": f"kubectl -n {ns} delete job {name} && pulumi up",
    }


def job_name(cfg: PlatformConfig) -> str:
    # New name per plan revision: a Job's template is immutable, and each `pulumi up` that changes the
    # models re-runs the smoke test.
    return f"{NAME}-{checksum(smoke_models(cfg), SCRIPT.read_text())[:8]}"


def job(cfg: PlatformConfig) -> dict[str, Any]:
    key = next(k for k in cfg.gateway.keys if k.alias == cfg.gateway.smoke_test.key)
    container = {
        "name": "smoke",
        "image": JOB_IMAGE,
        "command": ["python3", "/opt/smoke/smoke_test.py"],
        "env": env(
            GATEWAY_URL=gw.url(cfg),
            MODELS_FILE="/opt/smoke/models.json",
            PYTHONUNBUFFERED="1",
            READY_DEADLINE_SECONDS=str(cfg.gateway.smoke_test.ready_timeout_seconds),
        )
        + [
            secret_env("GATEWAY_KEY", key.secret_name, "api-key"),
            secret_env("UPSTREAM_KEY", gw.SECRET, gw.UPSTREAM_KEY_ENV),
        ],
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "250m", "memory": "128Mi"}},
        "securityContext": non_root(65534),  # python:slim has no user of its own: run as nobody
        "volumeMounts": [
            {"name": "smoke", "mountPath": "/opt/smoke", "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        # Not awaited: a failed or slow smoke test never holds `pulumi up` (an emergency key change included).
        # Its verdict is read from the Job (stack output jobs.smokeTest: verdict, status, logs), by an operator
        # or a CI step after `pulumi up` (docs/how-to/smoke-test.md).
        "metadata": metadata(job_name(cfg), cfg.namespaces.gateway, "smoke", annotations=dict(SKIP_AWAIT)),
        "spec": {
            # The script does its own waiting and retrying; its verdict is final. A pod disrupted (evicted, node
            # preempted) before it finishes is retried without counting against the limit.
            "backoffLimit": 0,
            "podFailurePolicy": {
                "rules": [{"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]}]
            },
            # A hung script still fails the Job.
            "activeDeadlineSeconds": active_deadline_seconds(cfg),
            "template": {
                "metadata": {"labels": labels(NAME, "smoke")},
                "spec": {
                    "restartPolicy": "Never",
                    "automountServiceAccountToken": False,
                    "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [container],
                    "volumes": [{"name": "smoke", "configMap": {"name": NAME}}, tmp_volume(size="64Mi")],
                },
            },
        },
    }
