"""A weight-stage Job runs on a CPU node in its GPU pool's zone (its cache disk is created there), so on a regional
cluster a CPU pool must reach every GPU pool's zone: the created cluster's system pool lists them, and an existing
cluster without one fails preview with the gcloud fix (issue 15, point 1)."""

import copy

from components.cluster import system_pool_args
from models import parse_config
from models.cluster import ROLE_LABEL
from models.gke_preflight import ClusterNeeds, cpu_zone_problems, needs_of
from models.zones import stage_zones, system_pool_zones
from tests.conftest import raw_config

NEEDS = ClusterNeeds(stage_zones=(("us-central1-a", "l4-coder"),))
GPU = {"guest_accelerators": [{"type": "nvidia-l4", "count": 1}], "labels": {ROLE_LABEL: "coder"}}


def dev(**cluster) -> dict:
    raw = copy.deepcopy(raw_config("dev"))
    raw["cluster"].update(cluster)
    return raw


def pool(zones: list[str], config: dict | None = None) -> dict:
    return {"node_locations": zones, "node_configs": [config or {}]}


class TestStageZones:
    def test_regional_cluster_needs_each_gpu_pools_zone(self):
        assert stage_zones(parse_config(dev())) == [("us-central1-a", "l4-coder")]

    def test_zonal_cluster_needs_nothing(self):
        raw = dev(location="us-central1-a")
        del raw["nodePools"][0]["zones"]
        assert stage_zones(parse_config(raw)) == []

    def test_created_system_pool_covers_the_gpu_zone_and_fills_to_three(self):
        raw = dev(create=True)
        raw["nodePools"][0]["zones"] = ["us-central1-c"]
        assert system_pool_zones(parse_config(raw)) == ["us-central1-a", "us-central1-b", "us-central1-c"]

    def test_region_outside_the_l4_table_gets_the_gpu_zones_only(self):
        raw = dev(create=True, location="me-west1")
        raw["nodePools"][0]["zones"] = ["me-west1-b"]
        assert system_pool_zones(parse_config(raw)) == ["me-west1-b"]

    def test_system_pool_args_carry_the_zones_and_count_per_zone(self):
        spec = parse_config(dev(create=True, systemNodes=2)).cluster
        args = system_pool_args(spec, cluster="c", zones=("us-central1-a", "us-central1-c"))
        assert args["node_locations"] == ["us-central1-a", "us-central1-c"]
        assert args["initial_node_count"] == 1, "2 nodes over 2 zones"
        assert "node_locations" not in system_pool_args(spec, cluster="c"), "no zones: GKE's default"

    def test_needs_carry_both(self):
        needs = needs_of(parse_config(dev(create=True)))
        assert needs.stage_zones == (("us-central1-a", "l4-coder"),)
        assert "us-central1-a" in needs.system_zones


class TestExistingClusterNeedsACpuPoolInTheGpuZone:
    def spec(self):
        return parse_config(dev()).cluster

    def test_a_cpu_pool_in_the_zone_passes(self):
        found = {"node_pools": [pool(["us-central1-a", "us-central1-b"]), pool(["us-central1-a"], GPU)]}
        assert cpu_zone_problems(self.spec(), NEEDS, found) == []

    def test_only_a_gpu_pool_in_the_zone_fails_with_the_fix(self):
        found = {"node_pools": [pool(["us-central1-b", "us-central1-f"]), pool(["us-central1-a"], GPU)]}
        (msg,) = cpu_zone_problems(self.spec(), NEEDS, found)
        assert msg.startswith("nodePools.l4-coder.zones: cluster 'ai-dev' has no CPU node pool in us-central1-a")
        assert "gcloud container node-pools update POOL --cluster=ai-dev --location=us-central1" in msg
        assert "--node-locations=ITS_ZONES,us-central1-a" in msg
        assert "now reach: us-central1-b, us-central1-f" in msg

    def test_a_tainted_cpu_pool_does_not_count(self):
        tainted = {"taints": [{"key": "dedicated", "value": "x", "effect": "NO_SCHEDULE"}]}
        found = {"node_pools": [pool(["us-central1-a"], tainted)]}
        assert len(cpu_zone_problems(self.spec(), NEEDS, found)) == 1
        soft = {"taints": [{"key": "x", "value": "y", "effect": "PREFER_NO_SCHEDULE"}]}
        assert cpu_zone_problems(self.spec(), NEEDS, {"node_pools": [pool(["us-central1-a"], soft)]}) == []

    def test_a_pool_without_its_own_zones_uses_the_clusters(self):
        found = {"node_pools": [pool([])], "node_locations": ["us-central1-a", "us-central1-b"]}
        assert cpu_zone_problems(self.spec(), NEEDS, found) == []
        assert len(cpu_zone_problems(self.spec(), NEEDS, {**found, "node_locations": ["us-central1-b"]})) == 1

    def test_a_lookup_without_pools_is_taken_as_fine(self):
        assert cpu_zone_problems(self.spec(), NEEDS, {"node_pools": []}) == []
