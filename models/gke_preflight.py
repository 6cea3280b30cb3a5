"""Preflight of an existing GKE cluster: what it must offer for this stack, read from gcp.container.get_cluster.

Pure: the component (components/cluster.py) hands in the looked-up fields and raises the lines at preview, next
to the Workload Identity check, before GKE or Kubernetes refuse the first pool, PVC or PodMonitoring. The
fields are pulumi-gcp's GetClusterResult names: enable_autopilot, addons_configs[].
gce_persistent_disk_csi_driver_configs[].enabled, monitoring_configs[].managed_prometheuses[].enabled,
node_pools[].node_locations / node_configs[].guest_accelerators, labels, taints[].effect, node_locations. A field
the lookup does not return (an empty list) is taken as fine: only a cluster that says "off" is refused.
"""

from dataclasses import dataclass
from typing import Any

from .cluster import ROLE_LABEL, ClusterSpec
from .zones import stage_zones, system_pool_zones

PD_CSI_CLASSES = ("standard-rwo", "premium-rwo")


@dataclass(frozen=True)
class ClusterNeeds:
    """What the stack will ask of the cluster."""

    node_pools: bool = False  # it adds GKE node pools (managed GPU pools)
    storage_class: str | None = None  # the StorageClass every PVC names
    pod_monitoring: bool = False  # it declares GMP PodMonitoring objects
    # (zone, GPU pool) of a regional cluster: a CPU node must be able to run there (the weight-stage Jobs)
    stage_zones: tuple[tuple[str, str], ...] = ()
    # a created regional cluster's system pool node_locations (empty: GKE's default three zones)
    system_zones: tuple[str, ...] = ()


def needs_of(cfg: Any) -> ClusterNeeds:
    return ClusterNeeds(
        node_pools=any(p.managed for p in cfg.node_pools),
        storage_class=cfg.storage_class_name,
        pod_monitoring=cfg.scrape_mode() == "podmonitoring",
        stage_zones=tuple(stage_zones(cfg)),
        system_zones=tuple(system_pool_zones(cfg)),
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
    out += cpu_zone_problems(spec, needs, found)
    return out


def _counts_as_cpu_pool(pool: Any) -> bool:
    """A pool a stage Job can land on: no GPU, no node-role label (GPU pools' placement), no NoSchedule taint."""
    configs = _get(pool, "node_configs") or []
    for cfg in configs:
        if _get(cfg, "guest_accelerators") or ROLE_LABEL in (_get(cfg, "labels") or {}):
            return False
        if any(_get(t, "effect") in ("NO_SCHEDULE", "NO_EXECUTE") for t in _get(cfg, "taints") or []):
            return False
    return True


def cpu_zone_problems(spec: ClusterSpec, needs: ClusterNeeds, found: dict[str, Any]) -> list[str]:
    """Each GPU pool's zone that no CPU pool of the existing regional cluster reaches: its stage Job (and so the
    model) would stay Pending until the stage deadline. A lookup without node pools is taken as fine."""
    pools = found.get("node_pools") or []
    if not pools or not needs.stage_zones:
        return []
    cluster_zones = list(found.get("node_locations") or [])
    covered = {z for p in pools if _counts_as_cpu_pool(p) for z in (_get(p, "node_locations") or cluster_zones)}
    out = []
    for zone, pool in needs.stage_zones:
        if zone in covered:
            continue
        out.append(
            f"nodePools.{pool}.zones: cluster '{spec.name}' has no CPU node pool in {zone}, where GPU pool "
            f"'{pool}' runs; the model's weight-stage Job runs on a CPU node in that zone (its cache disk is "
            f"created there) and would stay Pending. Add the zone to a CPU pool: gcloud container node-pools "
            f"update POOL --cluster={spec.name} --location={spec.location} --node-locations=ITS_ZONES,{zone} "
            f"(CPU pools now reach: {', '.join(sorted(covered)) or 'no zone'}), or set nodePools.{pool}.zones "
            "to one of those zones"
        )
    return out
