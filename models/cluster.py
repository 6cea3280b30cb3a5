"""Where the platform runs: the GKE cluster and its GPU node pools.

Node counts here are totals: GKE's autoscaling.min/max_node_count and initial_node_count count per zone, so the
components send total_min/total_max_node_count and pin every GPU pool to one zone (docs/concepts/pools.md).
"""

import math
import re
from typing import Any, Literal

from pydantic import Field, model_validator

from .base import Spec
from .common import DnsName, PositiveGiB
from .machines import G2_MACHINES, L4_VRAM_GIB, MachineShape
from .maintenance import MaintenanceSpec

MachineType = Literal[
    "g2-standard-4",
    "g2-standard-8",
    "g2-standard-12",
    "g2-standard-16",
    "g2-standard-24",
    "g2-standard-32",
    "g2-standard-48",
    "g2-standard-96",
]
GpuResource = Literal["nvidia.com/gpu", "amd.com/gpu"]

REGION = re.compile(r"^[a-z]+-[a-z]+[0-9]+$")
ZONE = re.compile(r"^([a-z]+-[a-z]+[0-9]+)-[a-z]$")
ROLE_LABEL = "ai.llm.role"  # the GPU pools' node label; model pods require it
# GKE spreads a regional cluster's node pools over three zones of the region unless told otherwise.
GKE_DEFAULT_ZONES = 3


def region_of(location: str) -> str | None:
    """The region of a region or zone name, None for anything else."""
    if REGION.match(location):
        return location
    zone = ZONE.match(location)
    return zone.group(1) if zone else None


def l4_zones_hint(region: str) -> str:
    return f'gcloud compute accelerator-types list --filter="name=nvidia-l4 AND zone~{region}"'


# Zones with NVIDIA L4 (G2 machines) per region, from Google Cloud's "GPU regions and zones" table
# (cloud.google.com/compute/docs/gpus/gpu-regions-zones); documentation only, not checked against an account:
# a zone's stock and a project's quota still vary. A regional cluster's pool without `zones` takes the first.
L4_ZONES: dict[str, tuple[str, ...]] = {
    "us-central1": ("us-central1-a", "us-central1-b", "us-central1-c"),
    "us-east1": ("us-east1-b", "us-east1-c", "us-east1-d"),
    "us-east4": ("us-east4-a", "us-east4-c"),
    "us-west1": ("us-west1-a", "us-west1-b", "us-west1-c"),
    "us-west4": ("us-west4-a", "us-west4-c"),
    "europe-west1": ("europe-west1-b", "europe-west1-c"),
    "europe-west4": ("europe-west4-a", "europe-west4-b", "europe-west4-c"),
    "asia-east1": ("asia-east1-a", "asia-east1-c"),
    "asia-northeast1": ("asia-northeast1-a", "asia-northeast1-c"),
    "asia-southeast1": ("asia-southeast1-a", "asia-southeast1-b", "asia-southeast1-c"),
}


def default_l4_zone(region: str | None) -> str | None:
    zones = L4_ZONES.get(region or "")
    return zones[0] if zones else None


class ClusterSpec(Spec):
    """Where the platform runs. `target: gke` (default): a GKE cluster the GPU pools join, existing by default,
    declared with `create: true`. `target: kubeconfig`: any existing Kubernetes context (kind, minikube, ...),
    with no GCP resources and no GPU pools."""

    target: Literal["gke", "kubeconfig"] = "gke"
    name: DnsName
    location: str | None = Field(default=None, min_length=1)
    project: str | None = None
    # kubeconfig target: the context to use (default: the kubeconfig's current context).
    context: str | None = Field(default=None, min_length=1)
    create: bool = False
    release_channel: Literal["RAPID", "REGULAR", "STABLE"] = "REGULAR"
    # CPU pool for the gateway and front-ends, used only when this stack creates the cluster.
    system_machine_type: str = "e2-standard-4"
    system_nodes: int = Field(default=1, ge=1, le=10)
    deletion_protection: bool = True
    # GPU (and system) pools run with workload_metadata_config GKE_METADATA, which needs Workload Identity on
    # the cluster. Created clusters always have it; an existing cluster is checked at deploy time. false: an
    # existing cluster without it, pools then use GCE_METADATA (pods can reach the node service account).
    workload_identity: bool = True
    # When GKE may upgrade a created cluster (models/maintenance.py); default weekends 03:00-11:00 UTC.
    maintenance: MaintenanceSpec | None = None
    # The node pools' service account: an existing one's email, or (default, GKE) a dedicated least-privilege
    # account this stack creates (components/node_service_account.py), never the Compute Engine default.
    node_service_account: str | None = Field(default=None, pattern=r"^[a-z][-a-z0-9]{4,28}[a-z0-9]@[-a-z0-9.]+$")

    @model_validator(mode="after")
    def _target_fields(self) -> "ClusterSpec":
        if self.target == "gke":
            if not self.location:
                raise ValueError("location: is required for a GKE cluster; set the region or zone, e.g. us-central1")
            if self.context:
                raise ValueError(
                    "context: only applies to target: kubeconfig; remove it (GKE credentials come "
                    "from the cluster itself)"
                )
            if region_of(self.location) is None:
                raise ValueError(
                    f"location: '{self.location}' is neither a region nor a zone; use a region such as "
                    "us-central1 (regional cluster) or a zone such as us-central1-a (zonal cluster)"
                )
            if self.maintenance is not None and not self.create:
                raise ValueError(
                    "maintenance: only applies to a cluster this stack creates (create: true); set an existing "
                    f"cluster's window with gcloud container clusters update {self.name} --location={self.location} "
                    "--maintenance-window-start=... --maintenance-window-end=... --maintenance-window-recurrence=..., "
                    "and remove maintenance"
                )
            if self.create and not self.workload_identity:
                raise ValueError(
                    "workloadIdentity: false only describes an existing cluster; a cluster this stack creates "
                    "always gets Workload Identity (<project>.svc.id.goog). Remove workloadIdentity"
                )
            return self
        gke_only = [
            k for k, v in (("location", self.location), ("project", self.project), ("create", self.create)) if v
        ]
        if gke_only:
            raise ValueError(
                f"{gke_only[0]}: only applies to target: gke; remove {', '.join(gke_only)} or set target: gke"
            )
        return self

    @property
    def is_gke(self) -> bool:
        return self.target == "gke"

    @property
    def region(self) -> str | None:
        return region_of(self.location) if self.location else None

    @property
    def is_regional(self) -> bool:
        return bool(self.location) and self.location == self.region

    @property
    def workload_metadata_mode(self) -> str:
        """The node pools' metadata mode: the GKE metadata server needs Workload Identity on the cluster."""
        return "GKE_METADATA" if self.workload_identity else "GCE_METADATA"

    def system_pool_nodes(self, zones: int | None = None) -> dict[str, int]:
        """The created cluster's system pool: totals (what GKE runs) and the per-zone initial count GKE wants.
        A regional cluster spreads the pool over `zones` zones (models/zones.py system_pool_zones; GKE's default
        is GKE_DEFAULT_ZONES), so it starts with at least that many nodes and the autoscaler settles within
        [total min, total max]."""
        zones = (zones or GKE_DEFAULT_ZONES) if self.is_regional else 1
        return {
            "zones": zones,
            "initialPerZone": math.ceil(self.system_nodes / zones),
            "minNodes": self.system_nodes,
            "maxNodes": self.system_nodes + 2,
        }

    @property
    def maintenance_policy(self) -> dict[str, Any] | None:
        """A created cluster's maintenance_policy: the configured window, or the default one."""
        return (self.maintenance or MaintenanceSpec()).policy() if self.create else None

    @property
    def gke_location(self) -> str:
        """The region or zone of a GKE cluster (the validator requires it for target: gke)."""
        if self.location is None:
            raise RuntimeError("cluster.location is only set for target: gke")
        return self.location


class NodePoolSpec(Spec):
    """A GPU node pool: *where* models run. `role` becomes the node label ai.llm.role."""

    name: DnsName
    machine_type: MachineType
    min_nodes: int = Field(default=0, ge=0, le=100)
    max_nodes: int = Field(ge=1, le=100)
    spot: bool = False
    role: DnsName
    gpu_resource: GpuResource = "nvidia.com/gpu"
    disk_size_gb: int = Field(default=200, ge=50, le=4096)
    # GKE's driver install: DEFAULT is the version GKE qualified for the node version (it moves only with node
    # upgrades, inside the maintenance window); LATEST follows new drivers as GKE ships them.
    gpu_driver_version: Literal["DEFAULT", "LATEST"] = "DEFAULT"
    # The pool's single zone on a regional cluster (rule in platform.py): its models' cache disks are zonal.
    zones: list[str] = Field(default_factory=list)
    # false: pre-existing nodes labelled ai.llm.role=<role>, not declared as a GKE pool (required for AMD GPUs);
    # machineType then names the G2 shape whose CPU/RAM the nodes at least match, vramGiB one GPU's memory.
    managed: bool = True
    vram_gib: PositiveGiB | None = Field(default=None, alias="vramGiB")

    @model_validator(mode="after")
    def _amd_is_unmanaged(self) -> "NodePoolSpec":
        if self.gpu_resource == "amd.com/gpu" and self.managed:
            raise ValueError(
                "managed: GKE cannot create a pool with gpuResource amd.com/gpu (G2 machines carry NVIDIA L4); "
                "set managed: false to run on existing nodes labelled ai.llm.role=<role> (and vramGiB to one "
                "GPU's memory), or use gpuResource: nvidia.com/gpu"
            )
        if not self.managed and self.vram_gib is None:
            raise ValueError(
                "vramGiB: is required when managed: false; the platform does not know the GPUs of "
                "nodes it does not create. Set one GPU's memory in GiB (e.g. 24)"
            )
        if self.managed and self.vram_gib is not None:
            raise ValueError(
                f"vramGiB: a managed pool's GPU is an NVIDIA L4 ({L4_VRAM_GIB} GiB); remove "
                "vramGiB or set managed: false"
            )
        return self

    @model_validator(mode="after")
    def _min_within_max(self) -> "NodePoolSpec":
        if self.min_nodes > self.max_nodes:
            raise ValueError(
                f"minNodes: {self.min_nodes} is above maxNodes ({self.max_nodes}); lower minNodes or raise maxNodes"
            )
        return self

    @property
    def shape(self) -> MachineShape:
        return G2_MACHINES[self.machine_type]

    @property
    def gpu_vram_gib(self) -> float:
        return self.vram_gib or L4_VRAM_GIB

    @property
    def gpu_capacity(self) -> int:
        """GPUs the pool can ever offer: one L4 runs one model at a time."""
        return self.max_nodes * self.shape.gpus
