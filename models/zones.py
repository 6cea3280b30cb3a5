"""Where GPU nodes and their disks live: one zone per GPU pool, and a StorageClass that binds on first use.

A model's cache PVC is a zonal persistent disk; once bound, its pod can only run in that zone. So a GKE GPU pool
sits in exactly one zone (a multi-zone pool would strand a disk in a zone whose L4s are gone while the pool grows
elsewhere), and the PVCs use a class whose binding waits for the first consumer, so the disk is created in the
zone of the node the pod was scheduled to: the pool's zone. docs/concepts/pools.md has the trade-off.
"""

from typing import Any

from .cluster import GKE_DEFAULT_ZONES, L4_ZONES, ZONE, default_l4_zone, l4_zones_hint, region_of
from .common import Problems

# GKE's built-in PD CSI classes: pd-balanced / pd-ssd, volumeBindingMode WaitForFirstConsumer.
GKE_DEFAULT_STORAGE_CLASS = "standard-rwo"
# GKE's legacy in-tree class (pd-standard, Immediate binding): the disk lands in a random zone before any pod.
GKE_LEGACY_STORAGE_CLASS = "standard"


def storage_class_name(cfg: Any) -> str | None:
    """The class every PVC names. GKE: the configured one or standard-rwo. kubeconfig: the configured one or
    None (the cluster's default: kind's local-path and minikube's hostpath are node-local anyway)."""
    if cfg.storage_class:
        return str(cfg.storage_class)
    return GKE_DEFAULT_STORAGE_CLASS if cfg.cluster.is_gke else None


def pool_zones(cfg: Any, pool: Any) -> list[str]:
    """The zone(s) GKE puts the pool's nodes in: its own, a zonal cluster's zone, or on a regional GKE cluster the
    region's first L4 zone (models/cluster.py L4_ZONES; empty when the region is not in the table)."""
    if pool.zones:
        return list(pool.zones)
    if not cfg.cluster.location:
        return []
    if not cfg.cluster.is_regional:
        return [cfg.cluster.location]
    default = default_l4_zone(cfg.cluster.region) if pool.managed else None
    return [default] if default else []


def stage_zones(cfg: Any) -> list[tuple[str, str]]:
    """(zone, GPU pool) pairs of a regional GKE cluster: a weight-stage Job runs on a CPU node in each GPU pool's
    zone (its model's cache disk is created there), so a CPU pool must reach every one of these zones."""
    if not (cfg.cluster.is_gke and cfg.cluster.is_regional):
        return []
    return sorted({(zone, pool.name) for pool in cfg.node_pools for zone in pool_zones(cfg, pool)})


def system_pool_zones(cfg: Any) -> list[str]:
    """The created regional cluster's system pool zones: every GPU pool's zone, filled up to GKE's three with the
    region's L4 zones (GKE's own three might miss the GPU zone). Empty: not created here, or zonal."""
    if not cfg.cluster.create:
        return []
    need = sorted({zone for zone, _ in stage_zones(cfg)})
    fill = [z for z in L4_ZONES.get(cfg.cluster.region or "", ()) if z not in need]
    return sorted(need + fill[: max(0, GKE_DEFAULT_ZONES - len(need))])


def zone_problems(cfg: Any) -> Problems:
    p = Problems()
    cluster = cfg.cluster
    if cluster.is_gke and cfg.storage_class == GKE_LEGACY_STORAGE_CLASS:
        p.add(
            "storageClass",
            "'standard' is GKE's legacy pd-standard class with Immediate binding: the disk is created in a "
            "random zone before any pod exists, away from the GPU pool. Use standard-rwo (pd-balanced) or "
            "premium-rwo (pd-ssd), which wait for the first pod, or remove storageClass (default standard-rwo)",
        )
    if not cluster.is_gke:
        return p  # managed pools on kubeconfig are rejected by _pools_need_gke
    region = cluster.region
    for j, pool in enumerate(cfg.node_pools):
        if not pool.managed:
            continue  # existing nodes: their zones are theirs
        key = f"nodePools[{j}].zones"
        for k, zone in enumerate(pool.zones):
            if not ZONE.match(zone):
                p.add(f"{key}[{k}]", f"'{zone}' is not a zone name; use <region>-<letter>, e.g. {region}-a")
            elif region_of(zone) != region:
                p.add(
                    f"{key}[{k}]",
                    f"'{zone}' is not in the cluster's region {region} (cluster.location: {cluster.location}); "
                    f"GKE places a pool's nodes only in its cluster's region. Use a {region} zone with L4 GPUs "
                    f"({l4_zones_hint(region)})",
                )
        if len(pool.zones) > 1:
            p.add(
                key,
                f"{pool.zones} spans {len(pool.zones)} zones; a GPU pool sits in one zone because its models' "
                "cache disks are zonal and a pod can only come back in its disk's zone "
                "(docs/concepts/pools.md). Keep one zone, or declare one pool per zone and spread the models over them",
            )
        elif not pool.zones and cluster.is_regional and default_l4_zone(region) is None:
            p.add(
                key,
                f"is required on the regional cluster {cluster.location}, whose L4 zones are not in the platform's "
                "table: the pool would spread over the region's zones while each model's zonal cache disk pins it "
                "to the zone of its first pod. List the region's L4 zones with "
                f"{l4_zones_hint(region or '')} and set one, e.g. zones: [{region}-a]",
            )
    return p


def node_pool_plan(cfg: Any) -> dict[str, Any]:
    """The stack output `nodePools`: per pool what GKE will really run (totals, not per-zone counts)."""
    out: dict[str, Any] = {}
    for pool in cfg.node_pools:
        if not pool.managed:
            out[pool.name] = {"managed": False, "role": pool.role}
            continue
        out[pool.name] = {
            "machineType": pool.machine_type,
            "provisioning": "spot" if pool.spot else "on-demand",
            "zones": pool_zones(cfg, pool),
            "minNodes": cfg.effective_min_nodes(pool),
            "maxNodes": pool.max_nodes,
            "maxGpus": pool.gpu_capacity,
        }
    cluster = cfg.cluster
    if cluster.is_gke and cluster.create:
        zones = system_pool_zones(cfg)
        nodes = cluster.system_pool_nodes(len(zones) or None)
        out["system"] = {
            "machineType": cluster.system_machine_type,
            "zones": zones or (f"{nodes['zones']} (GKE default)" if cluster.is_regional else [cluster.location]),
            "minNodes": nodes["minNodes"],
            "maxNodes": nodes["maxNodes"],
            "initialNodes": nodes["initialPerZone"] * nodes["zones"],
        }
    return out
