"""What each GKE G2 machine shape offers. Source: cloud.google.com/compute/docs/gpus (G2 table)."""

from dataclasses import dataclass

# NVIDIA L4: 24 GB GDDR6 = 22.35 GiB; that is what vLLM's utilisation fraction applies to.
L4_VRAM_GIB = 22.35


@dataclass(frozen=True)
class MachineShape:
    gpus: int
    vcpus: int
    host_ram_gib: float

    @property
    def allocatable_ram_gib(self) -> float:
        """Host RAM a pod can get: GKE reserves memory for the kubelet and system daemons."""
        return round(self.host_ram_gib - gke_memory_reservation_gib(self.host_ram_gib), 2)


G2_MACHINES: dict[str, MachineShape] = {
    "g2-standard-4": MachineShape(gpus=1, vcpus=4, host_ram_gib=16),
    "g2-standard-8": MachineShape(gpus=1, vcpus=8, host_ram_gib=32),
    "g2-standard-12": MachineShape(gpus=1, vcpus=12, host_ram_gib=48),
    "g2-standard-16": MachineShape(gpus=1, vcpus=16, host_ram_gib=64),
    "g2-standard-24": MachineShape(gpus=2, vcpus=24, host_ram_gib=96),
    "g2-standard-32": MachineShape(gpus=1, vcpus=32, host_ram_gib=128),
    "g2-standard-48": MachineShape(gpus=4, vcpus=48, host_ram_gib=192),
    "g2-standard-96": MachineShape(gpus=8, vcpus=96, host_ram_gib=384),
}


def gke_memory_reservation_gib(ram_gib: float) -> float:
    """GKE's documented kube-reserved memory tiers plus the 100 MiB eviction threshold."""
    tiers = [(4, 0.25), (4, 0.20), (8, 0.10), (112, 0.06), (float("inf"), 0.02)]
    reserved, left = 0.0, ram_gib
    for size, fraction in tiers:
        take = min(left, size)
        reserved += take * fraction
        left -= take
        if left <= 0:
            break
    return reserved + 100 / 1024
