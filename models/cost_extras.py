"""What the cost plan adds beside GPU node-hours: boot disks, PersistentVolumeClaims and the GKE cluster fee.

PRICES, us-central1, USD, list prices (Google Cloud "Disk and image pricing" and "GKE pricing" pages): pd-balanced
0.10 and pd-ssd 0.17 per GB-month, pd-standard 0.04; the GKE cluster management fee 0.10 per cluster-hour (the
free tier credits one zonal or Autopilot cluster per billing account, not counted here). Figures in GiB are billed
as GB-months of provisioned size. Only what this stack creates is counted: the fee when it creates the cluster,
the system pool's boot disks likewise, GPU pool boot disks at the idle and planned node counts, and every PVC
(model caches, the llama-swap cache, the CNPG database), which exist even with every model scaled to zero.
"""

from typing import Any

from .llama_rules import swap_cache_gib, swap_models
from .platform_spec import PlatformSpec

DISK_USD_PER_GB_MONTH = {"pd-balanced": 0.10, "pd-ssd": 0.17, "pd-standard": 0.04}
# The StorageClasses GKE ships, by the disk type they provision.
CLASS_DISK = {"standard-rwo": "pd-balanced", "premium-rwo": "pd-ssd", "standard": "pd-standard"}
CLUSTER_FEE_USD_PER_HOUR = 0.10
SYSTEM_BOOT_DISK_GB = 100  # GKE's default boot disk (pd-balanced) for the created system pool


def pvcs(cfg: PlatformSpec) -> dict[str, int]:
    """GiB of every PVC the stack declares, by a readable name."""
    out: dict[str, int] = {}
    for m in cfg.models:
        if m.engine == "vllm" or (m.engine == "llamacpp" and m.placement != "swap"):
            out[f"model cache {m.name}"] = m.cache_size_gib
    if cfg.swap and swap_models(cfg):
        out["llama-swap cache"] = swap_cache_gib(cfg)
    db = cfg.gateway.database
    if db.mode == "cnpg":  # every instance has its data and its WAL volume
        out["gateway database"] = db.storage_gib * db.instances
        out["gateway database WAL"] = db.wal_storage_gib * db.instances
    for key, fe in cfg.frontends.enabled():  # each front-end keeps its data on a PVC
        out[f"{key} data"] = fe.storage_gib
    return out


def extras(cfg: PlatformSpec, nodes: dict[str, dict[str, int]], hours: int) -> dict[str, Any]:
    """`nodes`: per level ("idle", "planned") the GPU node count of each costed pool."""
    pvc_disk = CLASS_DISK.get(cfg.storage_class_name or "standard-rwo", "pd-balanced")
    claims = pvcs(cfg)
    pvc_usd = round(sum(claims.values()) * DISK_USD_PER_GB_MONTH[pvc_disk], 2)
    created = cfg.cluster.is_gke and cfg.cluster.create
    system_gb = SYSTEM_BOOT_DISK_GB * cfg.cluster.system_pool_nodes()["minNodes"] if created else 0
    pools = {p.name: p for p in cfg.node_pools}
    boot: dict[str, Any] = {}
    for level, counts in nodes.items():
        gb = system_gb + sum(n * pools[name].disk_size_gb for name, n in counts.items())
        boot[level] = {"gb": gb, "usdPerMonth": round(gb * DISK_USD_PER_GB_MONTH["pd-balanced"], 2)}
    fee = round(CLUSTER_FEE_USD_PER_HOUR * hours, 2) if created else 0.0
    return {
        "bootDisks": boot,
        "pvcs": {"disk": pvc_disk, "gib": claims, "usdPerMonth": pvc_usd},
        "clusterFeeUsdPerMonth": fee,
    }
