"""Postgres for the gateway: the CloudNativePG operator release and a `Cluster`, as plain dicts."""

from typing import Any

from models.gateway import DatabaseSpec

from .common import metadata

CLUSTER_NAME = "litellm-db"
OPERATOR_NAMESPACE = "cnpg-system"
CHART_REPO = "https://cloudnative-pg.github.io/charts"
# CNPG writes the app user's credentials to <cluster>-app; `uri` is a ready postgresql:// URL.
APP_SECRET, APP_URI_KEY = f"{CLUSTER_NAME}-app", "uri"


def operator_release(spec: DatabaseSpec) -> dict[str, Any]:
    """Inputs of kubernetes.helm.v3.Release for the operator (chart version pinned)."""
    return {
        "name": "cnpg",
        "chart": "cloudnative-pg",
        "version": spec.operator_chart_version,
        "namespace": OPERATOR_NAMESPACE,
        "create_namespace": True,
        "repository_opts": {"repo": CHART_REPO},
        "atomic": True,
        "values": {"crds": {"create": True}},
    }


def cluster(spec: DatabaseSpec, namespace: str, storage_class: str | None) -> dict[str, Any]:
    storage: dict[str, Any] = {"size": f"{spec.storage_gib}Gi"}
    if storage_class:
        storage["storageClass"] = storage_class
    return {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "Cluster",
        "metadata": metadata(CLUSTER_NAME, namespace, "database"),
        "spec": {
            "instances": spec.instances,
            "imageName": spec.postgres_image,
            "storage": storage,
            "bootstrap": {"initdb": {"database": "litellm", "owner": "litellm"}},
            "enableSuperuserAccess": False,
            "resources": {
                "requests": {"cpu": spec.resources.cpu, "memory": spec.resources.memory},
                "limits": {"cpu": spec.resources.cpu_limit, "memory": spec.resources.memory_limit},
            },
        },
    }


def url_secret_ref(spec: DatabaseSpec) -> dict[str, str] | None:
    """Where LiteLLM's DATABASE_URL comes from: always a Secret, never a literal."""
    if spec.mode == "cnpg":
        return {"name": APP_SECRET, "key": APP_URI_KEY}
    if spec.mode == "existing" and spec.url_secret:
        return {"name": spec.url_secret.name, "key": spec.url_secret.key}
    return None
