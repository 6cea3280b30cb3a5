"""The litellm-keys Job: RBAC, the declared keys as JSON, and a Job that runs scripts/mint_keys.py."""

import json
from pathlib import Path
from typing import Any

from models.platform import PlatformConfig

from .common import checkov_skips, checksum, env, labels, metadata, non_root, secret_env, tmp_volume

NAME = "litellm-keys"
SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "mint_keys.py"
JOB_IMAGE = "python:3.12.12-slim@sha256:f3fa41d74a768c2fce8016b98c191ae8c1bacd8f1152870a3f9f87d350920b7c"


def declared_keys(cfg: PlatformConfig) -> list[dict[str, Any]]:
    """What the Job reconciles: scope, budget and limits; never a key value."""
    out = []
    for k in cfg.gateway.keys:
        out.append(
            {
                "key_alias": k.alias,
                "models": list(k.models),
                "max_budget": k.max_budget,
                "budget_duration": k.budget_duration,
                "rpm_limit": k.rpm_limit,
                "tpm_limit": k.tpm_limit,
                "namespace": k.namespace or cfg.namespaces.frontends,
                "secret_name": k.secret_name,
            }
        )
    return out


def target_namespaces(cfg: PlatformConfig) -> list[str]:
    return sorted({k["namespace"] for k in declared_keys(cfg)})


def configmap(cfg: PlatformConfig) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(NAME, cfg.namespaces.gateway, "keys"),
        "data": {"keys.json": json.dumps(declared_keys(cfg), indent=2), "mint_keys.py": SCRIPT.read_text()},
    }


def service_account(cfg: PlatformConfig) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": metadata(NAME, cfg.namespaces.gateway, "keys"),
        "automountServiceAccountToken": False,
    }


def role(cfg: PlatformConfig, namespace: str) -> dict[str, Any]:
    # create cannot be narrowed by resourceNames, so it is scoped to Secrets of one namespace; get and update
    # (reading a key back) only reach the declared key Secrets of that namespace, never any other Secret.
    names = sorted({k["secret_name"] for k in declared_keys(cfg) if k["namespace"] == namespace})
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": metadata(NAME, namespace, "keys"),
        "rules": [
            {"apiGroups": [""], "resources": ["secrets"], "verbs": ["create"]},
            {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "update"], "resourceNames": names},
        ],
    }


def role_binding(cfg: PlatformConfig, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": metadata(NAME, namespace, "keys"),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": NAME},
        "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": cfg.namespaces.gateway}],
    }


def job_name(cfg: PlatformConfig) -> str:
    # A Job's pod template is immutable: a new name per declared-keys revision makes Pulumi replace it.
    return f"{NAME}-{checksum(declared_keys(cfg), SCRIPT.read_text())[:8]}"


def job(cfg: PlatformConfig, gateway_url: str, master_secret: str, master_key: str) -> dict[str, Any]:
    container = {
        "name": "mint",
        "image": JOB_IMAGE,
        "command": ["python3", "/opt/keys/mint_keys.py"],
        "env": env(LITELLM_URL=gateway_url, KEYS_FILE="/opt/keys/keys.json", PYTHONUNBUFFERED="1")
        + [secret_env("LITELLM_MASTER_KEY", master_secret, master_key)],
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "250m", "memory": "128Mi"}},
        "securityContext": non_root(65534),  # python:slim has no user of its own: run as nobody
        "volumeMounts": [
            {"name": "keys", "mountPath": "/opt/keys", "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }
    # The one pod that talks to the Kubernetes API (it writes the key Secrets), so it mounts its token.
    skips = checkov_skips(
        {"CKV_K8S_38": "the Job writes the key Secrets through the API with its own namespace-scoped ServiceAccount"}
    )
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": metadata(
            job_name(cfg), cfg.namespaces.gateway, "keys", annotations={"pulumi.com/skipAwait": "true", **skips}
        ),
        "spec": {
            "backoffLimit": 6,
            "template": {
                "metadata": {"labels": labels(NAME, "keys")},
                "spec": {
                    "serviceAccountName": NAME,
                    "automountServiceAccountToken": True,
                    "restartPolicy": "OnFailure",
                    "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [container],
                    "volumes": [{"name": "keys", "configMap": {"name": NAME}}, tmp_volume(size="64Mi")],
                },
            },
        },
    }
