"""Postgres for the gateway: the CloudNativePG operator release and a `Cluster`, as plain dicts."""

from typing import Any

from models.database_restore import DEFAULT_CLUSTER, server_name
from models.gateway import DatabaseSpec

from . import database_backup as backup
from .common import CNPG_CHART_REPO, helm_release, metadata

CLUSTER_NAME = DEFAULT_CLUSTER  # the stack's first Cluster; gateway.database.cluster names the one the gateway reads
OPERATOR_NAMESPACE = "cnpg-system"
# The application credentials, owned by the program (bootstrap.initdb.secret / bootstrap.recovery.secret of every
# Cluster, so the password survives a restore): a basic-auth Secret (CNPG reads username and password) that also
# carries the gateway's DATABASE_URL (`uri`, host: the Cluster the gateway reads). CNPG writes no <cluster>-app
# Secret for a Cluster bootstrapped with it (api/v1 ShouldCreateApplicationSecret) and sets the owner's password
# from it on the primary whenever the Secret changes (instance manager refreshCredentialsFromSecret).
APP_SECRET, APP_URI_KEY = f"{CLUSTER_NAME}-credentials", "uri"
APP_DATABASE = {"database": "litellm", "owner": "litellm"}
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


def instance_labels(cluster: str) -> dict[str, str]:
    """CNPG's labels on every instance pod of a cluster (not on its initdb/recovery/join Jobs)."""
    return {"cnpg.io/cluster": cluster, "cnpg.io/podRole": "instance"}


def placement(instances: int, cluster: str = CLUSTER_NAME) -> dict[str, Any]:
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
                "labelSelector": {"matchLabels": instance_labels(cluster)},
            }
        ],
    }


def synchronous(instances: int) -> dict[str, Any]:
    """With replicas, a commit waits for one standby (quorum `any`, CNPG 1.25+); `preferred` durability drops
    back to asynchronous while no standby is up, so losing the standbys never stops writes."""
    if instances < 2:
        return {}
    return {"postgresql": {"synchronous": {"method": "any", "number": 1, "dataDurability": "preferred"}}}


def bootstrap(spec: DatabaseSpec, name: str) -> dict[str, Any]:
    """initdb, or recovery for the restore's target; both with the program's credentials, so the owner's password
    is the same in every Cluster (a recovered one would otherwise keep the backup's)."""
    secret = {"secret": {"name": APP_SECRET}}
    restore = spec.restore
    if restore is None or name != restore.into:
        return {"bootstrap": {"initdb": {**APP_DATABASE, **secret}}}
    body: dict[str, Any] = {"bootstrap": {"recovery": {**backup.recovery(restore, APP_DATABASE), **secret}}}
    source = restore.from_archive
    origin = source.server_name if source else server_name(spec.backup, restore.from_backup_of or "")
    body["externalClusters"] = [backup.recovery_source(origin)]
    return body


def cluster(
    spec: DatabaseSpec,
    namespace: str,
    storage_class: str | None,
    gcp_service_account: Any = None,
    name: str = CLUSTER_NAME,
) -> dict[str, Any]:
    """The `Cluster` `name`. `gcp_service_account`: the GCP identity its pods use for GCS (backup or restore)."""
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
        **bootstrap(spec, name),
        "enableSuperuserAccess": False,
        "resources": {"requests": res, "limits": dict(res)},  # Guaranteed QoS
        **placement(spec.instances, name),
        **synchronous(spec.instances),
    }
    if spec.backup.on:
        body["plugins"] = [backup.wal_archiver(server_name(spec.backup, name))]
    if gcp_service_account:
        body["serviceAccountTemplate"] = {"metadata": {"annotations": {GKE_SA_ANNOTATION: gcp_service_account}}}
        # Only nodes running the GKE metadata server hand the pod its GCP identity; elsewhere Barman Cloud gets
        # the node's own identity (or none) and WAL archiving fails. CNPG puts the same nodeSelector on the
        # cluster's Jobs (pkg/specs/jobs.go), so the recovery Job reads the backup as the bound account too.
        body.setdefault("affinity", {})["nodeSelector"] = {WORKLOAD_IDENTITY_NODE_LABEL: "true"}
    return {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "Cluster",
        "metadata": metadata(name, namespace, "database"),
        "spec": body,
    }


def rw_host(cluster: str, namespace: str) -> str:
    return f"{cluster}-rw.{namespace}.svc.cluster.local"


def app_uri_parts(cluster: str, namespace: str) -> tuple[str, str]:
    """The gateway's DATABASE_URL around the password: (before, after). The password is alphanumeric."""
    owner, db = APP_DATABASE["owner"], APP_DATABASE["database"]
    return f"postgresql://{owner}:", f"@{rw_host(cluster, namespace)}:5432/{db}"


def app_secret(namespace: str, password: Any, uri: Any) -> dict[str, Any]:
    """The application credentials (APP_SECRET): CNPG's bootstrap secret and the gateway's DATABASE_URL."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/basic-auth",
        "metadata": metadata(APP_SECRET, namespace, "database"),
        "stringData": {"username": APP_DATABASE["owner"], "password": password, APP_URI_KEY: uri},
    }


def url_secret_ref(spec: DatabaseSpec) -> dict[str, str] | None:
    """Where LiteLLM's DATABASE_URL comes from: always a Secret, never a literal."""
    if spec.mode == "cnpg":
        return {"name": APP_SECRET, "key": APP_URI_KEY}
    if spec.mode == "existing" and spec.url_secret:
        return {"name": spec.url_secret.name, "key": spec.url_secret.key}
    return None


def metrics_monitor(
    mode: str,
    namespace: str,
    interval: str,
    timeout: str,
    labels: dict[str, str],
    clusters: tuple[str, ...] = (CLUSTER_NAME,),
) -> dict[str, Any]:
    """Scrape of the instance pods' exporter, of every declared Cluster: GMP PodMonitoring, or
    prometheus-operator's PodMonitor (CNPG creates no metrics Service for a ServiceMonitor to select)."""
    meta = metadata(CLUSTER_NAME, namespace, "observability")
    meta["labels"]["llm-platform/scrape-target"] = "cnpg"
    selector: dict[str, Any] = {"matchLabels": instance_labels(clusters[0])}
    if len(clusters) > 1:
        selector = {
            "matchLabels": {"cnpg.io/podRole": "instance"},
            "matchExpressions": [{"key": "cnpg.io/cluster", "operator": "In", "values": list(clusters)}],
        }
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
