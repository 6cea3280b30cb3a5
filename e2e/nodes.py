"""Fake nodes for a stack, shaped and labelled as GKE would make them (kwok plays their kubelets).

GPU pools: one node per `maxNodes`, the G2 machine's allocatable CPU/memory, `nvidia.com/gpu` (or `amd.com/gpu`)
capacity, the pool's `ai.llm.role` label, GKE's node-pool/accelerator/zone labels and GKE's GPU taint.
CPU ("system") pool: what the stack's GKE cluster gets for everything else (components/cluster.py).
"""

import re
from dataclasses import dataclass
from typing import Any

from components.manifests.common import ROLE_LABEL
from models.cluster import ClusterSpec, NodePoolSpec
from models.machines import G2_MACHINES, gke_memory_reservation_gib
from models.platform import PlatformConfig

FAKE_LABEL = "llm-platform.test/fake-node"  # every node this harness owns; `sync` deletes the rest of them
KWOK_ANNOTATION = "kwok.x-k8s.io/node"  # kwok manages nodes carrying kwok.x-k8s.io/node=fake
MAX_PODS = 110  # GKE Standard's default maximum pods per node
SYSTEM_POOL = "system"  # the CPU pool components/cluster.py declares with `create: true`
DEFAULT_SYSTEM_MACHINE = "e2-standard-4"
# components/cluster.py autoscales the system pool from systemNodes to systemNodes + 2.
SYSTEM_AUTOSCALE_HEADROOM = 2
# GiB of RAM per vCPU for the general-purpose shapes a system pool uses (cloud.google.com/compute/docs/machine-types).
_RAM_PER_VCPU = {"standard": 4, "highmem": 8, "highcpu": 1}
_ZONE = re.compile(r"^[a-z]+-[a-z]+\d+-[a-z]$")


@dataclass(frozen=True)
class Shape:
    vcpus: int
    ram_gib: float
    gpus: int = 0


def machine_shape(machine_type: str) -> Shape:
    """vCPUs, RAM and GPUs of a GCE machine type: the G2 table, or <family>-{standard,highmem,highcpu}-<n>."""
    if machine_type in G2_MACHINES:
        g2 = G2_MACHINES[machine_type]
        return Shape(g2.vcpus, g2.host_ram_gib, g2.gpus)
    m = re.fullmatch(r"[a-z0-9]+-(standard|highmem|highcpu)-(\d+)", machine_type)
    if not m:
        raise ValueError(f"cluster.systemMachineType: unknown machine type {machine_type!r} for a fake node")
    vcpus = int(m.group(2))
    return Shape(vcpus, float(vcpus * _RAM_PER_VCPU[m.group(1)]))


def gke_cpu_reservation_millicores(vcpus: int) -> int:
    """GKE's kube-reserved CPU: 6% of the first core, 1% of the next, 0.5% of the next 2, 0.25% above 4."""
    tiers = [(1, 0.06), (1, 0.01), (2, 0.005), (float("inf"), 0.0025)]
    reserved, left = 0.0, float(vcpus)
    for size, fraction in tiers:
        take = min(left, size)
        reserved += take * fraction
        left -= take
    return round(reserved * 1000)


def allocatable(shape: Shape, disk_gb: int, gpu_resource: str | None) -> tuple[dict[str, str], dict[str, str]]:
    """(capacity, allocatable) as GKE's kubelet reports them."""
    mem_mib = int(shape.ram_gib * 1024)
    reserved_mib = int(gke_memory_reservation_gib(shape.ram_gib) * 1024)  # includes the 100 MiB eviction threshold
    capacity = {
        "cpu": str(shape.vcpus),
        "memory": f"{mem_mib}Mi",
        "pods": str(MAX_PODS),
        "ephemeral-storage": f"{disk_gb}G",
    }
    alloc = {
        "cpu": f"{shape.vcpus * 1000 - gke_cpu_reservation_millicores(shape.vcpus)}m",
        "memory": f"{mem_mib - reserved_mib}Mi",
        "pods": str(MAX_PODS),
        # GKE keeps 10% of the boot disk for eviction plus a system reservation; ~80% is left for pods.
        "ephemeral-storage": f"{int(disk_gb * 0.8)}G",
    }
    if gpu_resource and shape.gpus:
        capacity[gpu_resource] = alloc[gpu_resource] = str(shape.gpus)
    return capacity, alloc


def zones_for(cluster: ClusterSpec, pool_zones: list[str]) -> list[str]:
    """The zones a pool's nodes land in: its own list, the cluster's zone, or three zones of its region."""
    if pool_zones:
        return list(pool_zones)
    loc = cluster.location or "local1"
    if _ZONE.match(loc):
        return [loc]
    return [f"{loc}-{z}" for z in "abc"]


def _node(name: str, labels: dict[str, str], taints: list[dict], capacity: dict, alloc: dict) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "cloud.google.com/gke-os-distribution": "cos",
                FAKE_LABEL: "true",
                **labels,
            },
            "annotations": {KWOK_ANNOTATION: "fake", "node.alpha.kubernetes.io/ttl": "0"},
        },
        "spec": {"taints": taints} if taints else {},
        "status": {"capacity": capacity, "allocatable": alloc},
    }


def _zone_labels(zone: str) -> dict[str, str]:
    return {"topology.kubernetes.io/zone": zone, "topology.kubernetes.io/region": zone.rsplit("-", 1)[0]}


def _short(text: str, size: int) -> str:
    return text[:size].rstrip("-")


def gpu_pool_nodes(cfg: PlatformConfig, pool: NodePoolSpec) -> list[dict[str, Any]]:
    shape = machine_shape(pool.machine_type)
    capacity, alloc = allocatable(shape, pool.disk_size_gb, pool.gpu_resource)
    zones = zones_for(cfg.cluster, pool.zones)
    labels = {
        ROLE_LABEL: pool.role,
        "node.kubernetes.io/instance-type": pool.machine_type,
        "cloud.google.com/machine-family": pool.machine_type.split("-")[0],
    }
    if pool.managed:  # a GKE pool; an unmanaged one is a user's own labelled nodes
        labels["cloud.google.com/gke-nodepool"] = pool.name
        labels["cloud.google.com/gke-accelerator"] = "nvidia-l4"
        if pool.spot:
            labels["cloud.google.com/gke-spot"] = "true"
    # GKE taints every GPU node; the program declares the same taint on its pools (components/gpu_node_pool.py).
    taints = [{"key": pool.gpu_resource, "value": "present", "effect": "NoSchedule"}]
    prefix = _short(f"gke-{cfg.cluster.name}-{pool.name}", 50)
    return [
        _node(f"{prefix}-{i}", {**labels, **_zone_labels(zones[i % len(zones)])}, taints, capacity, alloc)
        for i in range(pool.max_nodes)
    ]


def system_nodes(cfg: PlatformConfig) -> list[dict[str, Any]]:
    """The CPU pool at its autoscaling maximum: systemNodes + 2 of systemMachineType (components/cluster.py)."""
    cluster = cfg.cluster
    machine = cluster.system_machine_type or DEFAULT_SYSTEM_MACHINE
    shape = machine_shape(machine)
    capacity, alloc = allocatable(shape, 100, None)
    zones = zones_for(cluster, [])
    count = cluster.system_nodes + SYSTEM_AUTOSCALE_HEADROOM
    labels = {
        "node.kubernetes.io/instance-type": machine,
        "cloud.google.com/machine-family": machine.split("-")[0],
        "cloud.google.com/gke-nodepool": SYSTEM_POOL,
    }
    prefix = _short(f"gke-{cluster.name}-{SYSTEM_POOL}", 50)
    return [
        _node(f"{prefix}-{i}", {**labels, **_zone_labels(zones[i % len(zones)])}, [], capacity, alloc)
        for i in range(count)
    ]


def stack_nodes(cfg: PlatformConfig) -> list[dict[str, Any]]:
    """Every fake node the stack's cluster has at full scale-out."""
    nodes = system_nodes(cfg)
    for pool in cfg.node_pools:
        nodes += gpu_pool_nodes(cfg, pool)
    return nodes
