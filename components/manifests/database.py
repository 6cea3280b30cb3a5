"""Postgres for the gateway: the CloudNativePG operator release and a `Cluster`, as plain dicts."""

from typing import Any

from models.gateway import DatabaseSpec

from . import database_backup as backup
from .common import CNPG_CHART_REPO, helm_release, metadata

CLUSTER_NAME = "litellm-db"
OPERATOR_NAMESPACE = "cnpg-system"
# CNPG writes the app user's credentials to <cluster>-app; `uri` is a ready postgresql:// URL.
APP_SECRET, APP_URI_KEY = f"{CLUSTER_NAME}-app", "uri"
APP_DATABASE = {"database": "litellm", "owner": "litellm"}
# CNPG's labels on every instance pod of the cluster (not on its initdb/join Jobs).
INSTANCE_LABELS = {"cnpg.io/cluster": CLUSTER_NAME, "cnpg.io/podRole": "instance"}
GKE_SA_ANNOTATION = "iam.gke.io/gcp-service-account"
WORKLOAD_IDENTITY_NODE_LABEL = "iam.gke.io/gke-metadata-server-enabled"  # GKE sets it on GKE_METADATA node pools
# The instance manager's Prometheus exporter: container port `metrics` on every instance pod (CNPG monitoring docs).
METRICS_PORT, METRICS_PORT_NAME = 9187, "metrics"


def operator_release(spec: DatabaseSpec) -> dict[str, Any]:
    """Inputs of kubernetes.helm.v3.Release for the operator (chart version pinned)."""
    return helm_release(
        "cnpg",
        "cloudnative-pg",
        spec.operator_chart_version,
        OPERATOR_NAMESPACE,
        CNPG_CHART_REPO,
        {"crds": {"create": True}},
        create_namespace=True,
    )


def placement(instances: int) -> dict[str, Any]:
    """One instance: no PDB (CNPG's default PDB on a single pod blocks every node drain). More: one instance
    per node (required) and spread over zones, so losing a node or a zone never takes every copy."""
    if instances == 1:
        return {"enablePDB": False}
    return {
        "enablePDB": True,
        "affinity": {
            "enablePodAntiAffinity": True,
            "podAntiAffinityType": "required",
            "topologyKey": "kubernetes.io/hostname",
        },
        "topologySpreadConstraints": [
            {
                "maxSkew": 1,
                "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": "DoNotSchedule",
                "labelSelector": {"matchLabels": dict(INSTANCE_LABELS)},
            }
        ],
    }


def synchronous(instances: int) -> dict[str, Any]:
    """With replicas, a commit waits for one standby (quorum `any`, CNPG 1.25+); `preferred` durability drops
    back to asynchronous while no standby is up, so losing the standbys never stops writes."""
    if instances < 2:
        return {}
    return {"postgresql": {"synchronous": {"method": "any", "number": 1, "dataDurability": "preferred"}}}


def cluster(
    spec: DatabaseSpec, namespace: str, storage_class: str | None, gcp_service_account: Any = None
) -> dict[str, Any]:
    """The `Cluster`. `gcp_service_account`: the GCP identity its pods use for GCS (backup or restore)."""
    storage: dict[str, Any] = {"size": f"{spec.storage_gib}Gi"}
    wal: dict[str, Any] = {"size": f"{spec.wal_storage_gib}Gi"}
    if storage_class:
        storage["storageClass"] = wal["storageClass"] = storage_class
    res = {"cpu": spec.resources.cpu, "memory": spec.resources.memory}
    body: dict[str, Any] = {
        "instances": spec.instances,
        "imageName": spec.postgres_image,
        "storage": storage,
        # Added to an existing Cluster, CNPG moves the WAL onto the new volume in a rolling update (no replace).
        "walStorage": wal,
        "bootstrap": {"initdb": dict(APP_DATABASE)},
        "enableSuperuserAccess": False,
        "resources": {"requests": res, "limits": dict(res)},  # Guaranteed QoS
        **placement(spec.instances),
        **synchronous(spec.instances),
    }
    if spec.backup.on:
        body["plugins"] = [backup.wal_archiver(spec.backup)]
    if spec.restore_from is not None:
        body["bootstrap"] = {"recovery": backup.recovery(spec.restore_from, APP_DATABASE)}
        body["externalClusters"] = [backup.recovery_source(spec.restore_from)]
    if gcp_service_account:
        body["serviceAccountTemplate"] = {"metadata": {"annotations": {GKE_SA_ANNOTATION: gcp_service_account}}}
        # Only nodes running the GKE metadata server hand the pod its GCP identity; elsewhere Barman Cloud gets
        # the node's own identity (or none) and WAL archiving fails.
        body.setdefault("affinity", {})["nodeSelector"] = {WORKLOAD_IDENTITY_NODE_LABEL: "true"}
    return {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "Cluster",
        "metadata": metadata(CLUSTER_NAME, namespace, "database"),
        "spec": body,
    }


def url_secret_ref(spec: DatabaseSpec) -> dict[str, str] | None:
    """Where LiteLLM's DATABASE_URL comes from: always a Secret, never a literal."""
    if spec.mode == "cnpg":
        return {"name": APP_SECRET, "key": APP_URI_KEY}
    if spec.mode == "existing" and spec.url_secret:
        return {"name": spec.url_secret.name, "key": spec.url_secret.key}
    return None


def metrics_monitor(mode: str, namespace: str, interval: str, timeout: str, labels: dict[str, str]) -> dict[str, Any]:
    """Scrape of the instance pods' exporter: GMP PodMonitoring, or prometheus-operator's PodMonitor (CNPG
    creates no metrics Service for a ServiceMonitor to select)."""
    meta = metadata(CLUSTER_NAME, namespace, "observability")
    meta["labels"]["llm-platform/scrape-target"] = "cnpg"
    selector = {"matchLabels": dict(INSTANCE_LABELS)}
    if mode == "podmonitoring":
        endpoint = {"port": METRICS_PORT_NAME, "path": "/metrics", "interval": interval, "timeout": timeout}
        return {
            "apiVersion": "monitoring.googleapis.com/v1",
            "kind": "PodMonitoring",
            "metadata": meta,
            "spec": {"selector": selector, "endpoints": [endpoint]},
        }
    meta["labels"].update(labels)
    endpoint = {"port": METRICS_PORT_NAME, "path": "/metrics", "interval": interval, "scrapeTimeout": timeout}
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": meta,
        "spec": {
            "selector": selector,
            "namespaceSelector": {"matchNames": [namespace]},
            "podMetricsEndpoints": [endpoint],
        },
    }
