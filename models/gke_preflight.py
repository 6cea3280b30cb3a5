"""Preflight of an existing GKE cluster: what it must offer for this stack, read from gcp.container.get_cluster.

Pure: the component (components/cluster.py) hands in the looked-up fields and raises the lines at preview, next
to the Workload Identity check, before GKE or Kubernetes refuse the first pool, PVC or PodMonitoring. The
fields are pulumi-gcp's GetClusterResult names: enable_autopilot, addons_configs[].
gce_persistent_disk_csi_driver_configs[].enabled, monitoring_configs[].managed_prometheuses[].enabled. A field
the lookup does not return (an empty list) is taken as fine: only a cluster that says "off" is refused.
"""

from dataclasses import dataclass
from typing import Any

from .cluster import ClusterSpec

PD_CSI_CLASSES = ("standard-rwo", "premium-rwo")


@dataclass(frozen=True)
class ClusterNeeds:
    """What the stack will ask of the cluster."""

    node_pools: bool = False  # it adds GKE node pools (managed GPU pools)
    storage_class: str | None = None  # the StorageClass every PVC names
    pod_monitoring: bool = False  # it declares GMP PodMonitoring objects


def needs_of(cfg: Any) -> ClusterNeeds:
    return ClusterNeeds(
        node_pools=any(p.managed for p in cfg.node_pools),
        storage_class=cfg.storage_class_name,
        pod_monitoring=cfg.scrape_mode() == "podmonitoring",
    )


def _get(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def _says_off(blocks: list | None, inner: str) -> bool:
    """True when the lookup returned the block and none of its entries is enabled."""
    entries = [e for b in blocks or [] for e in (_get(b, inner) or [])]
    return bool(blocks) and not any(_get(e, "enabled") for e in entries)


def preflight_problems(spec: ClusterSpec, needs: ClusterNeeds, found: dict[str, Any]) -> list[str]:
    """'key: what is wrong; the gcloud fix' lines for an existing cluster; empty when it offers what is needed."""
    where = f"--location={spec.location}" + (f" --project={spec.project}" if spec.project else "")
    out = []
    if needs.node_pools and found.get("enable_autopilot"):
        out.append(
            f"nodePools: cluster '{spec.name}' ({spec.location}) is an Autopilot cluster, where node pools cannot be "
            "added; the GPU pools need a Standard cluster. Create one (gcloud container clusters create "
            f"{spec.name}-std {where} --workload-pool=PROJECT_ID.svc.id.goog), or set cluster.create: true with a "
            "new cluster.name so this stack creates it"
        )
    csi_off = _says_off(found.get("addons_configs"), "gce_persistent_disk_csi_driver_configs")
    if needs.storage_class in PD_CSI_CLASSES and csi_off:
        out.append(
            f"storageClass: cluster '{spec.name}' has the Compute Engine persistent disk CSI driver disabled, so "
            f"'{needs.storage_class}' does not exist and every model cache PVC stays Pending. Enable it: gcloud "
            f"container clusters update {spec.name} {where} --update-addons=GcePersistentDiskCsiDriver=ENABLED"
        )
    if needs.pod_monitoring and _says_off(found.get("monitoring_configs"), "managed_prometheuses"):
        out.append(
            f"observability.scrape: cluster '{spec.name}' has Managed Service for Prometheus off, so the "
            "PodMonitoring CRD is missing and `pulumi up` fails on the first PodMonitoring. Enable it: gcloud "
            f"container clusters update {spec.name} {where} --enable-managed-prometheus, or set "
            "observability.scrape: none"
        )
    return out
