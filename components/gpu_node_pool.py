"""GpuNodePool: a GKE node pool of L4 machines with a role label and the GPU taint, in one zone.

Counts are totals (total_min/total_max_node_count): GKE's min/max_node_count and initial_node_count count per
zone, so a pool left on a regional cluster's zones would run up to 3x maxNodes. The pool is pinned to its zone
(node_locations) anyway, where initial_node_count (per zone) is the total too.
"""

from typing import Any

import pulumi
import pulumi_gcp as gcp

from components.manifests.common import ROLE_LABEL
from models.cluster import NodePoolSpec

# GPU node create/upgrade regularly exceeds the provider's default 20 minutes.
POOL_TIMEOUTS = pulumi.CustomTimeouts(create="45m", update="45m", delete="30m")
# GKE's default surge upgrade adds a GPU VM before draining one: at a one-GPU quota that VM never comes. Take one
# node down at a time instead (its models are unavailable while it upgrades).
GPU_UPGRADE_SETTINGS = {"strategy": "SURGE", "max_surge": 0, "max_unavailable": 1}


def node_pool_args(
    spec: NodePoolSpec,
    *,
    cluster: Any,
    location: str,
    min_nodes: int,
    zones: list[str],
    project: Any = None,
    workload_metadata: str = "GKE_METADATA",
    service_account: Any = None,
) -> dict[str, Any]:
    """Inputs of gcp.container.NodePool; pure so tests can read them without Pulumi. `zones`: the pool's one
    zone (PlatformConfig.pool_zones; empty only for a zonal cluster's own zone)."""
    args: dict[str, Any] = {
        "name": spec.name,
        "cluster": cluster,
        "location": location,
        "initial_node_count": min_nodes,  # per zone: the pool has one
        "autoscaling": {"total_min_node_count": min_nodes, "total_max_node_count": spec.max_nodes},
        "upgrade_settings": dict(GPU_UPGRADE_SETTINGS),
        "management": {"auto_repair": True, "auto_upgrade": True},
        "node_config": {
            "machine_type": spec.machine_type,
            "spot": spec.spot,
            "disk_size_gb": spec.disk_size_gb,
            "disk_type": "pd-balanced",
            "guest_accelerators": [
                {
                    "type": "nvidia-l4",
                    "count": spec.shape.gpus,
                    "gpu_driver_installation_config": {"gpu_driver_version": spec.gpu_driver_version},
                }
            ],
            "labels": {ROLE_LABEL: spec.role},
            "taints": [{"key": spec.gpu_resource, "value": "present", "effect": "NO_SCHEDULE"}],
            "workload_metadata_config": {"mode": workload_metadata},
            "metadata": {"disable-legacy-endpoints": "true"},
            "oauth_scopes": ["https://www.googleapis.com/auth/cloud-platform"],
            "service_account": service_account,  # components/node_service_account.py, not the compute default
            "shielded_instance_config": {"enable_secure_boot": True, "enable_integrity_monitoring": True},
        },
    }
    if zones:
        args["node_locations"] = list(zones)
    if project:
        args["project"] = project
    return args


class GpuNodePool(pulumi.ComponentResource):
    pool_name: pulumi.Output[str]
    role: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        spec: NodePoolSpec,
        *,
        cluster: Any,
        location: str,
        min_nodes: int,
        zones: list[str] | None = None,
        project: Any = None,
        workload_metadata: str = "GKE_METADATA",
        service_account: Any = None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("llm-platform:gpu:GpuNodePool", name, None, opts)
        pool = gcp.container.NodePool(
            f"{name}-nodepool",
            **node_pool_args(
                spec,
                cluster=cluster,
                location=location,
                min_nodes=min_nodes,
                zones=list(spec.zones) if zones is None else zones,
                project=project,
                workload_metadata=workload_metadata,
                service_account=service_account,
            ),
            opts=pulumi.ResourceOptions(
                parent=self, custom_timeouts=POOL_TIMEOUTS, ignore_changes=["initialNodeCount"]
            ),
        )
        self.pool_name = pool.name
        self.role = pulumi.Output.from_input(spec.role)
        self.register_outputs({"pool_name": self.pool_name, "role": self.role})
