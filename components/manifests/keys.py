"""The litellm-keys reconciler: RBAC, the declared keys as JSON, and scripts/mint_keys.py run twice over: as a Job
awaited by `pulumi up` whenever the declaration changes, and as a CronJob that heals keys in between."""

import json
from pathlib import Path
from typing import Any

from models.platform import PlatformConfig

from . import frontends as fe
from .common import PYTHON_JOB_IMAGE, checkov_skips, checksum, env, labels, metadata, non_root, secret_env, tmp_volume

NAME = "litellm-keys"
HEAL_NAME = "litellm-keys-heal"
ALIAS_LABEL = "llm-platform/key-alias"
SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "mint_keys.py"
JOB_IMAGE = PYTHON_JOB_IMAGE
# Healing cadence: a key deleted in the UI or a restored database costs its front-end at most this long.
# Off the quarter hours, so it never lines up with other on-the-hour cluster jobs.
HEAL_SCHEDULE = "7,22,37,52 * * * *"
# Front-end config key -> the Deployment that reads its key at pod start (components/manifests/frontends.py).
CONSUMERS = {"openWebui": fe.OPEN_WEBUI, "tabby": fe.TABBY, "librechat": fe.LIBRECHAT}


def consumers(cfg: PlatformConfig, alias: str) -> list[dict[str, str]]:
    """The Deployments the reconciler rolls after it writes a new value for `alias`."""
    return [
        {"namespace": cfg.namespaces.frontends, "deployment": CONSUMERS[field]}
        for field, spec in cfg.frontends.enabled()
        if spec.key == alias
    ]


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
                "consumers": consumers(cfg, k.alias),
                "disabled": k.disabled,
            }
        )
    return out


def target_namespaces(cfg: PlatformConfig) -> list[str]:
    """Where the reconciler has a Role: the key Secrets', the consumers' and its Lease's namespaces."""
    keys = declared_keys(cfg)
    spaces = {k["namespace"] for k in keys} | {c["namespace"] for k in keys for c in k["consumers"]}
    return sorted(spaces | {cfg.namespaces.gateway})


def keys_file(cfg: PlatformConfig) -> dict[str, Any]:
    return {"keys": declared_keys(cfg), "lease": {"namespace": cfg.namespaces.gateway, "name": NAME}}


def key_secrets(cfg: PlatformConfig) -> list[dict[str, Any]]:
    """Each key's Secret, created empty by Pulumi (and deleted with its key): the reconciler only patches its
    data, so its Role has no `create` on Secrets. KeyMinter ignores changes to the data."""
    out = []
    for k in declared_keys(cfg):
        meta = metadata(k["secret_name"], k["namespace"], "keys")
        meta["labels"][ALIAS_LABEL] = k["key_alias"]
        out.append({"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": meta})
    return out


def lease(cfg: PlatformConfig) -> dict[str, Any]:
    """The Lease the Job and the CronJob hold while they reconcile, so they never run at once."""
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": metadata(NAME, cfg.namespaces.gateway, "keys"),
        "spec": {},
    }


def configmap(cfg: PlatformConfig) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(NAME, cfg.namespaces.gateway, "keys"),
        "data": {"keys.json": json.dumps(keys_file(cfg), indent=2), "mint_keys.py": SCRIPT.read_text()},
    }


def service_account(cfg: PlatformConfig) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": metadata(NAME, cfg.namespaces.gateway, "keys"),
        "automountServiceAccountToken": False,
    }


def target_deployments(cfg: PlatformConfig, namespace: str) -> list[str]:
    return sorted({c["deployment"] for k in declared_keys(cfg) for c in k["consumers"] if c["namespace"] == namespace})


def role(cfg: PlatformConfig, namespace: str) -> dict[str, Any]:
    # Only the declared key Secrets of this namespace, read and patched (Pulumi creates and deletes them); the
    # consumer Deployments read and patched (a ValidatingAdmissionPolicy lets the patch touch only the key stamp).
    names = sorted({k["secret_name"] for k in declared_keys(cfg) if k["namespace"] == namespace})
    rules: list[dict[str, Any]] = []
    if names:
        rules.append({"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "patch"], "resourceNames": names})
    if deployments := target_deployments(cfg, namespace):
        rules.append(
            {
                "apiGroups": ["apps"],
                "resources": ["deployments"],
                "verbs": ["get", "patch"],
                "resourceNames": deployments,
            }
        )
    if namespace == cfg.namespaces.gateway:
        rules.append(
            {
                "apiGroups": ["coordination.k8s.io"],
                "resources": ["leases"],
                "verbs": ["get", "update"],
                "resourceNames": [NAME],
            }
        )
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": metadata(NAME, namespace, "keys"),
        "rules": rules,
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


def pod_template(cfg: PlatformConfig, gateway_url: str, master_secret: str, master_key: str, wait: int) -> dict:
    container = {
        "name": "mint",
        "image": JOB_IMAGE,
        "command": ["python3", "/opt/keys/mint_keys.py"],
        "env": [
            *env(LITELLM_URL=gateway_url, KEYS_FILE="/opt/keys/keys.json", PYTHONUNBUFFERED="1"),
            *env(WAIT_SECONDS=str(wait)),
            # The Lease holder: the pod's own name (the downward API; HOSTNAME is the same unless hostname is set).
            {"name": "HOSTNAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            secret_env("LITELLM_MASTER_KEY", master_secret, master_key),
        ],
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "250m", "memory": "128Mi"}},
        "securityContext": non_root(65534),  # python:slim has no user of its own: run as nobody
        "volumeMounts": [
            {"name": "keys", "mountPath": "/opt/keys", "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }
    return {
        "metadata": {"labels": labels(NAME, "keys")},
        "spec": {
            "serviceAccountName": NAME,
            # The one pod that talks to the Kubernetes API (it writes the key Secrets), so it mounts its token.
            "automountServiceAccountToken": True,
            "restartPolicy": "OnFailure",
            "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [container],
            "volumes": [{"name": "keys", "configMap": {"name": NAME}}, tmp_volume(size="64Mi")],
        },
    }


API_TOKEN_SKIP = {
    "CKV_K8S_38": "the Job writes the key Secrets through the API with its own namespace-scoped ServiceAccount"
}
# The awaited Job gives up before Pulumi's 10-minute create timeout, so `pulumi up` reports the Job's own failure.
JOB_DEADLINE_SECONDS = 480


def job(cfg: PlatformConfig, gateway_url: str, master_secret: str, master_key: str) -> dict[str, Any]:
    # Awaited (no skipAwait): `pulumi up` waits for Complete and fails where a mint fails. The gateway Deployment is
    # awaited before it, so the readiness wait is short. A template change replaces the Job (its template is
    # immutable; KeyMinter sets deleteBeforeReplace).
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": metadata(
            job_name(cfg),
            cfg.namespaces.gateway,
            "keys",
            # A Job that failed is re-run by the next `up` (replaced), not awaited again as it is.
            annotations={"pulumi.com/replaceUnready": "true", **checkov_skips(API_TOKEN_SKIP)},
        ),
        "spec": {
            "backoffLimit": 2,
            "activeDeadlineSeconds": JOB_DEADLINE_SECONDS,
            "template": pod_template(cfg, gateway_url, master_secret, master_key, wait=180),
        },
    }


def cronjob(cfg: PlatformConfig, gateway_url: str, master_secret: str, master_key: str) -> dict[str, Any]:
    """The same reconciler on a schedule: keys heal after a database restore or a key deleted in the UI."""
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": metadata(HEAL_NAME, cfg.namespaces.gateway, "keys", annotations=checkov_skips(API_TOKEN_SKIP)),
        "spec": {
            "schedule": HEAL_SCHEDULE,
            "concurrencyPolicy": "Forbid",  # never two reconcilers on one alias
            "startingDeadlineSeconds": 300,
            "successfulJobsHistoryLimit": 1,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {
                "metadata": {"labels": labels(NAME, "keys")},
                "spec": {
                    "backoffLimit": 1,
                    "activeDeadlineSeconds": 600,
                    "template": pod_template(cfg, gateway_url, master_secret, master_key, wait=120),
                },
            },
        },
    }
