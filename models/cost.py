"""Cost plan: what the GPU node pools cost per month, idle and at the planned replicas. Pure; no Pulumi.

Per pool:
- idle    = the nodes the autoscaler keeps even with no GPU pod: minNodes (0 under scaleToZero);
- planned = the nodes the planned replicas need: ceil(GPUs requested / GPUs per node), at least the idle
            nodes and at most maxNodes. A lower bound when tensor-parallel replicas fragment nodes.
GPU-hours count every GPU on a running node (what is billed), per 730-hour month; dollars use the spot
price where the pool is spot. `monthly` adds boot disks, PVCs and the cluster fee (models/cost_extras.py) to
the GPU nodes. Not costed: the system pool's CPU nodes, egress, and `managed: false` pools (existing nodes).
Prices are per region (models/pricing.py); a region outside the table uses us-central1's and warns.
"""

import math
from typing import Any

from .cost_extras import extras
from .llama_rules import gpu_demands
from .platform_spec import PlatformSpec
from .pricing import HOURS_PER_MONTH, node_price, price_table


def _requested_gpus(cfg: PlatformSpec) -> dict[str, int]:
    out = {p.name: 0 for p in cfg.node_pools}
    for pool, _, replicas, gpus in gpu_demands(cfg, effective=True):  # vLLM, static llama, the llama-swap pool
        if pool in out:
            out[pool] += replicas * gpus
    return out


def _money(x: float) -> float:
    return round(x, 2)


def _level(nodes: int, gpus_per_node: int, price: float) -> dict[str, Any]:
    return {
        "nodes": nodes,
        "gpus": nodes * gpus_per_node,
        "gpuHoursPerMonth": nodes * gpus_per_node * HOURS_PER_MONTH,
        "usdPerMonth": _money(nodes * price * HOURS_PER_MONTH),
    }


def pool_cost(
    pool: Any,
    *,
    requested: int,
    min_nodes: int,
    overrides: dict,
    zones: list[str] | None = None,
    region: str | None = None,
) -> dict[str, Any]:
    gpus_per_node = pool.shape.gpus
    price, source = node_price(pool.machine_type, pool.spot, overrides, region)
    needed = math.ceil(requested / gpus_per_node)
    planned = min(pool.max_nodes, max(min_nodes, needed))  # node counts are pool totals (one zone per pool)
    return {
        "machineType": pool.machine_type,
        "zones": list(zones or pool.zones),
        "maxNodes": pool.max_nodes,
        "provisioning": "spot" if pool.spot else "on-demand",
        "gpusPerNode": gpus_per_node,
        "usdPerNodeHour": price,
        "priceSource": source,
        "gpusRequested": requested,
        "idle": _level(min_nodes, gpus_per_node, price),
        "planned": _level(planned, gpus_per_node, price),
    }


def cost_plan(cfg: PlatformSpec) -> dict[str, Any]:
    """The stack output `costPlan` and <out>/cost.yaml: per pool and in total, idle and planned."""
    requested = _requested_gpus(cfg)
    pools = {
        p.name: pool_cost(
            p,
            requested=requested[p.name],
            min_nodes=cfg.effective_min_nodes(p),
            overrides=cfg.pricing,
            zones=cfg.pool_zones(p),
            region=cfg.cluster.region,
        )
        for p in cfg.node_pools
        if getattr(p, "managed", True)
    }
    for m in cfg.on_demand_models:  # what an on-demand model costs while KEDA keeps it up (idle: nothing)
        if (pool := pools.get(m.pool)) is not None:
            nodes_per_replica = math.ceil(m.tensor_parallel_size / pool["gpusPerNode"])
            usd = nodes_per_replica * pool["usdPerNodeHour"]
            pool.setdefault("onDemandUsdPerHourWhileUp", {})[m.name] = usd
    total = {
        level: {
            key: _money(sum(p[level][key] for p in pools.values()))
            if key == "usdPerMonth"
            else sum(p[level][key] for p in pools.values())
            for key in ("nodes", "gpus", "gpuHoursPerMonth", "usdPerMonth")
        }
        for level in ("idle", "planned")
    }
    nodes = {level: {name: p[level]["nodes"] for name, p in pools.items()} for level in ("idle", "planned")}
    more = extras(cfg, nodes, HOURS_PER_MONTH)
    fixed = more["pvcs"]["usdPerMonth"] + more["clusterFeeUsdPerMonth"]
    monthly = {
        level: _money(total[level]["usdPerMonth"] + more["bootDisks"][level]["usdPerMonth"] + fixed)
        for level in ("idle", "planned")
    }
    return {
        "currency": "USD",
        "hoursPerMonth": HOURS_PER_MONTH,
        "priceTable": price_table(cfg.cluster.region),
        "scaleToZero": cfg.scale_to_zero,
        "pools": pools,
        # managed: false pools are existing nodes this stack neither creates nor prices.
        "notCosted": [p.name for p in cfg.node_pools if not getattr(p, "managed", True)],
        "total": total,  # GPU nodes
        **more,
        "monthly": monthly,  # GPU nodes + boot disks + PVCs + cluster fee
    }


def format_cost_plan(plan: dict[str, Any]) -> list[str]:
    """Summary lines for the render output; the idle line is the one scaleToZero drives to $0."""
    if not plan:
        return []
    lines = [f"cost plan (GPU nodes, {plan['hoursPerMonth']} h/month, prices {plan['priceTable']} unless overridden):"]
    for name, p in plan["pools"].items():
        lines.append(
            f"  pool {name}: {p['machineType']} {p['provisioning']} ${p['usdPerNodeHour']:.4f}/node-hour "
            f"({p['priceSource']}), {p['gpusRequested']} GPU(s) requested, at most {p['maxNodes']} node(s) "
            f"in {', '.join(p['zones']) or 'the cluster zone'}"
        )
        for level in ("idle", "planned"):
            x = p[level]
            lines.append(
                f"    {level:<8} {x['nodes']:>3} node(s) {x['gpuHoursPerMonth']:>7} GPU-h/month "
                f"{'$' + format(x['usdPerMonth'], ',.2f'):>12}/month"
            )
        for model, usd in p.get("onDemandUsdPerHourWhileUp", {}).items():
            lines.append(f"    on demand {model}: ${usd:.4f}/hour while up, $0 while idle at zero")
    for name in plan.get("notCosted", []):
        lines.append(f"  pool {name}: existing nodes (managed: false), not costed")
    idle, planned = plan["total"]["idle"], plan["total"]["planned"]
    lines.append(
        f"  idle GPU cost:    ${idle['usdPerMonth']:,.2f}/month ({idle['gpuHoursPerMonth']} GPU-hours)"
        + ("  [scaleToZero]" if plan["scaleToZero"] else "")
    )
    lines.append(f"  planned GPU cost: ${planned['usdPerMonth']:,.2f}/month ({planned['gpuHoursPerMonth']} GPU-hours)")
    if "monthly" in plan:
        boot, claims = plan["bootDisks"], plan["pvcs"]
        lines.append(
            f"  disks and fee:    boot disks ${boot['idle']['usdPerMonth']:,.2f} idle / "
            f"${boot['planned']['usdPerMonth']:,.2f} planned, PVCs {sum(claims['gib'].values())} GiB "
            f"{claims['disk']} ${claims['usdPerMonth']:,.2f}, cluster fee ${plan['clusterFeeUsdPerMonth']:,.2f}"
        )
        monthly = plan["monthly"]
        lines.append(f"  monthly total:    ${monthly['idle']:,.2f} idle, ${monthly['planned']:,.2f} planned")
    return lines
