"""Where the platform runs: the GKE cluster and its GPU node pools."""

from typing import Literal, Optional

from pydantic import Field, model_validator

from .base import Spec
from .common import DnsName
from .machines import G2_MACHINES, MachineShape

MachineType = Literal[
    "g2-standard-4", "g2-standard-8", "g2-standard-12", "g2-standard-16",
    "g2-standard-24", "g2-standard-32", "g2-standard-48", "g2-standard-96",
]
GpuResource = Literal["nvidia.com/gpu", "amd.com/gpu"]


class ClusterSpec(Spec):
    """The GKE cluster the pools join. Existing by default; `create: true` declares it."""

    name: DnsName
    location: str = Field(min_length=1)
    project: Optional[str] = None
    create: bool = False
    release_channel: Literal["RAPID", "REGULAR", "STABLE"] = "REGULAR"
    # CPU pool for the gateway and front-ends, used only when this stack creates the cluster.
    system_machine_type: str = "e2-standard-4"
    system_nodes: int = Field(default=1, ge=1, le=10)
    deletion_protection: bool = True


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
    zones: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _min_within_max(self) -> "NodePoolSpec":
        if self.min_nodes > self.max_nodes:
            raise ValueError(
                f"minNodes: {self.min_nodes} is above maxNodes ({self.max_nodes}); "
                "lower minNodes or raise maxNodes"
            )
        return self

    @property
    def shape(self) -> MachineShape:
        return G2_MACHINES[self.machine_type]

    @property
    def gpu_capacity(self) -> int:
        """GPUs the pool can ever offer: one L4 runs one model at a time."""
        return self.max_nodes * self.shape.gpus
