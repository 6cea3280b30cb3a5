"""llama.cpp cache claims never shrink: Pulumi sets a claim's size at creation and then ignores it, and a small
Job per claim and size (`<claim>-grow-<hash>`) raises a bound claim to the configured size when that is larger,
or keeps the live size when it is smaller (removing a swap model, a smaller GGUF). Kubernetes refuses a smaller
request, so before this a smaller default size failed `pulumi up`. vLLM claims are grown by their release Job
(components/manifests/weight_stage.py); this covers llama-<role>-cache and llama-swap-cache.
"""

from typing import Any

from models.llama_rules import cpu_models, static_models
from models.platform import PlatformConfig

from . import llama_swap as ls
from . import llamacpp as lc
from .common import PYTHON_JOB_IMAGE, checkov_skips, checksum, env, labels, metadata, non_root, tmp_volume
from .weight_stage import RELEASE_SCRIPT, SCRIPTS_MOUNT, script

NAME = "cache-grow"  # ServiceAccount, Role, ConfigMap and pod name (app.kubernetes.io/name); llama release Jobs too
DEADLINE_SECONDS = 300
API_TOKEN_SKIP = {"CKV_K8S_38": "the Job grows the llama.cpp cache claims through the API"}


def claims(cfg: PlatformConfig) -> list[tuple[str, int]]:
    """(claim name, configured GiB) of every llama.cpp cache claim the stack declares."""
    pvcs = [lc.static_pvc(m, cfg) for m in [*static_models(cfg), *cpu_models(cfg)]]
    if cfg.swap is not None:
        pvcs.append(ls.cache_pvc(cfg))
    return [
        (p["metadata"]["name"], int(p["spec"]["resources"]["requests"]["storage"].removesuffix("Gi"))) for p in pvcs
    ]


def shared(cfg: PlatformConfig) -> list[dict[str, Any]]:
    """The script, and an account that may read and patch those claims and nothing else."""
    ns, names = cfg.namespaces.serving, sorted(name for name, _ in claims(cfg))
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": metadata(NAME, ns, "model"),
            "data": {"release_cache.py": script(RELEASE_SCRIPT)},
        },
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": metadata(NAME, ns, "model"),
            "automountServiceAccountToken": False,
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": metadata(NAME, ns, "model"),
            "rules": [
                {
                    "apiGroups": [""],
                    "resources": ["persistentvolumeclaims"],
                    "verbs": ["get", "patch"],
                    "resourceNames": names,
                },
                *_scale_rules(cfg),
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": metadata(NAME, ns, "model"),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": NAME},
            "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": ns}],
        },
    ]


def job_name(claim: str, size_gib: int) -> str:
    return f"{claim[:44].rstrip('-')}-grow-{checksum(claim, size_gib)[:8]}"  # <= 63: a label value


def job(cfg: PlatformConfig, claim: str, size_gib: int) -> dict[str, Any]:
    ns = cfg.namespaces.serving
    container = {
        "name": "grow",
        "image": PYTHON_JOB_IMAGE,
        "command": ["python3", f"{SCRIPTS_MOUNT}/release_cache.py"],
        "env": env(NAMESPACE=ns, PVC=claim, CACHE_SIZE=f"{size_gib}Gi", PYTHONUNBUFFERED="1"),
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "250m", "memory": "128Mi"}},
        "securityContext": non_root(65534),  # python:slim has no user of its own: run as nobody
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "volumeMounts": [
            {"name": "scripts", "mountPath": SCRIPTS_MOUNT, "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        # Awaited: the Deployment (whose init container fetches into the claim) waits for the growth.
        "metadata": metadata(
            job_name(claim, size_gib),
            ns,
            "model",
            annotations={"pulumi.com/replaceUnready": "true", **checkov_skips(API_TOKEN_SKIP)},
        ),
        "spec": {
            "backoffLimit": 2,
            "activeDeadlineSeconds": DEADLINE_SECONDS,
            "template": {
                "metadata": {"labels": labels(NAME, "model")},
                "spec": {
                    "restartPolicy": "Never",
                    "serviceAccountName": NAME,
                    "automountServiceAccountToken": True,  # it patches the claims through the API
                    "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [container],
                    "volumes": [
                        {"name": "scripts", "configMap": {"name": NAME, "defaultMode": 0o555}},
                        tmp_volume(size="64Mi"),
                    ],
                },
            },
        },
    }


def _scale_rules(cfg: PlatformConfig) -> list[dict[str, Any]]:
    """The llama.cpp release Jobs (gguf_stage.py) share this account: each staged GPU Deployment's scale."""
    from .gguf_stage import staged_deployments

    deployments = staged_deployments(cfg)
    if not deployments:
        return []
    return [
        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get"], "resourceNames": deployments},
        {
            "apiGroups": ["apps"],
            "resources": ["deployments/scale"],
            "verbs": ["get", "patch"],
            "resourceNames": deployments,
        },
    ]
