"""GKE node pools, zones, disks and Spot: what the program sends GCP and Kubernetes (issue 10, points 3-8).

The GCP provider cannot run here, so these read the gcp.container inputs the program declares under mocks and
count nodes the way GKE does: min/max_node_count and initial_node_count per zone, total_* for the whole pool.
"""

import copy
import subprocess
import sys

import pytest

from models import ConfigError, parse_config
from offline.mocks import PlatformMocks
from offline.plan import Plan
from tests.conftest import ROOT, plan_for, raw_config
from tests.llama_seed import seed_raw

STACKS = {"dev": lambda: raw_config("dev"), "prod": lambda: raw_config("prod"), "llama-seed": seed_raw}
GPU_POOL = "gcp:container/nodePool:NodePool"


def stack(name: str) -> dict:
    return copy.deepcopy(STACKS[name]())


def gke_zones(inputs: dict, cluster_location: str) -> int:
    """How many zones GKE puts a pool in: its node_locations, else the cluster's (3 for a region)."""
    if inputs.get("nodeLocations"):
        return len(inputs["nodeLocations"])
    return 3 if cluster_location.count("-") == 1 else 1


def gke_node_range(inputs: dict, cluster_location: str) -> tuple[int, int]:
    """(min, max) nodes GKE runs for these NodePool inputs."""
    auto = inputs["autoscaling"]
    if "totalMaxNodeCount" in auto:
        assert "maxNodeCount" not in auto and "minNodeCount" not in auto, "GKE refuses total and per-zone limits"
        return auto.get("totalMinNodeCount", 0), auto["totalMaxNodeCount"]
    zones = gke_zones(inputs, cluster_location)
    return auto.get("minNodeCount", 0) * zones, auto["maxNodeCount"] * zones


def pools(plan: Plan) -> dict[str, dict]:
    return {inputs["name"]: inputs for typ, _, inputs in plan.gcp if typ == GPU_POOL}


def errors(raw: dict) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        parse_config(raw)
    return exc.value.lines


@pytest.fixture(scope="module")
def plans() -> dict[str, Plan]:
    return {name: plan_for(stack(name)) for name in STACKS}


class TestNodeCountsAreTotals:
    """maxNodes is what GKE may run in all, the number the GPU budget, cost plan and outputs use."""

    @pytest.mark.parametrize("name", list(STACKS))
    def test_gpu_pool_runs_at_most_max_nodes(self, plans, name):
        cfg = parse_config(stack(name))
        declared = pools(plans[name])
        for pool in (p for p in cfg.node_pools if p.managed):
            lo, hi = gke_node_range(declared[pool.name], cfg.cluster.location)
            assert (lo, hi) == (cfg.effective_min_nodes(pool), pool.max_nodes), pool.name
            assert hi * pool.shape.gpus == pool.gpu_capacity  # what the GPU-budget rule allows
            assert gke_zones(declared[pool.name], cfg.cluster.location) == 1
            # initial_node_count is per zone: the one zone's count is the pool's.
            assert declared[pool.name]["initialNodeCount"] == cfg.effective_min_nodes(pool)

    def test_prod_max_nodes_2_is_2_l4_nodes_not_6(self, plans):
        chat = pools(plans["prod"])["l4-chat"]
        assert gke_node_range(chat, "us-central1") == (0, 2)

    def test_created_system_pool_counts_totals(self, plans):
        system = pools(plans["prod"])["system"]
        assert system["autoscaling"] == {"totalMinNodeCount": 2, "totalMaxNodeCount": 4}
        # Regional: GKE starts initialNodeCount in each of its 3 default zones; the autoscaler settles to 2..4.
        assert system["initialNodeCount"] == 1 and 2 <= 3 * system["initialNodeCount"] <= 4

    def test_created_system_pool_reaches_every_gpu_zone(self, plans):
        # The weight-stage Jobs run on a CPU node in the GPU pool's zone: GKE's own three zones might miss it.
        declared = pools(plans["prod"])
        gpu_zones = {z for n, p in declared.items() if n != "system" for z in p["nodeLocations"]}
        assert gpu_zones and gpu_zones <= set(declared["system"]["nodeLocations"])
        assert len(declared["system"]["nodeLocations"]) == 3, "filled up to GKE's three with the region's L4 zones"

    def test_cost_plan_and_outputs_count_what_gke_runs(self, plans):
        out = plans["prod"].outputs
        cfg = parse_config(stack("prod"))
        for pool in cfg.node_pools:
            cost = out["costPlan"]["pools"][pool.name]
            _, hi = gke_node_range(pools(plans["prod"])[pool.name], "us-central1")
            assert cost["maxNodes"] == hi and cost["planned"]["nodes"] <= hi
            assert out["nodePools"][pool.name]["maxNodes"] == hi
            assert out["nodePools"][pool.name]["maxGpus"] == hi * pool.shape.gpus
            assert cost["zones"] == out["nodePools"][pool.name]["zones"] == [pool.zones[0]]
        assert out["nodePools"]["system"] == {
            "machineType": "e2-standard-4",
            "zones": ["us-central1-a", "us-central1-b", "us-central1-c"],
            "minNodes": 2,
            "maxNodes": 4,
            "initialNodes": 3,
        }

    def test_zonal_cluster_pool_sits_in_the_cluster_zone(self):
        raw = stack("dev")
        raw["cluster"]["location"] = "us-central1-b"
        del raw["nodePools"][0]["zones"]
        (pool,) = pools(plan_for(raw)).values()
        assert pool["nodeLocations"] == ["us-central1-b"] and pool["location"] == "us-central1-b"


class TestOneZonePerGpuPool:
    """A model's cache disk is zonal: its GPU pool must live in exactly one zone of the cluster's region."""

    def test_regional_pool_takes_the_first_l4_zone_of_a_known_region(self):
        raw = stack("dev")
        del raw["nodePools"][0]["zones"]
        cfg = parse_config(raw)
        assert cfg.pool_zones(cfg.node_pools[0]) == ["us-central1-a"]

    def test_regional_pool_outside_the_zone_table_needs_a_zone(self):
        raw = stack("dev")
        del raw["nodePools"][0]["zones"]
        raw["cluster"]["location"] = "me-central2"
        lines = [ln for ln in errors(raw) if ln.startswith("nodePools[0].zones: ")]
        assert lines[0].startswith("nodePools[0].zones: is required on the regional cluster me-central2")
        assert "zones: [me-central2-a]" in lines[0] and "gcloud compute accelerator-types list" in lines[0]

    def test_multi_zone_pool_is_refused(self):
        raw = stack("prod")
        raw["nodePools"][0]["zones"] = ["us-central1-a", "us-central1-b", "us-central1-c"]
        (line,) = errors(raw)
        assert line.startswith("nodePools[0].zones: ") and "spans 3 zones" in line
        assert "declare one pool per zone" in line

    def test_zone_outside_the_region(self):
        raw = stack("dev")
        raw["nodePools"][0]["zones"] = ["europe-west4-a"]
        (line,) = errors(raw)
        assert line.startswith("nodePools[0].zones[0]: 'europe-west4-a' is not in the cluster's region us-central1")

    def test_zone_name_shape(self):
        raw = stack("dev")
        raw["nodePools"][0]["zones"] = ["us-central1"]
        (line,) = errors(raw)
        assert line.startswith("nodePools[0].zones[0]: 'us-central1' is not a zone name")

    def test_cluster_location_is_a_region_or_zone(self):
        raw = stack("dev")
        raw["cluster"]["location"] = "iowa"
        assert errors(raw)[0].startswith("cluster.location: 'iowa' is neither a region nor a zone")


class TestStorageClassWaitsForFirstConsumer:
    """Every PVC names a class that binds with its first pod, so the disk is made in the pod's (pool's) zone."""

    def pvc_classes(self, plan: Plan) -> set:
        classes = {p["spec"].get("storageClassName") for p in plan.find("PersistentVolumeClaim")}
        for c in plan.find("Cluster"):  # CNPG
            classes.add(c["spec"]["storage"].get("storageClass"))
        return classes

    def test_dev_defaults_to_standard_rwo(self, plans):
        assert self.pvc_classes(plans["dev"]) == {"standard-rwo"}

    def test_configured_class_everywhere(self, plans):
        assert self.pvc_classes(plans["prod"]) == {"premium-rwo"}
        assert self.pvc_classes(plans["llama-seed"]) == {"premium-rwo"}

    def test_kubeconfig_keeps_the_cluster_default(self):
        plan = plan_for(stack_file_raw("local"))
        assert plan.find("PersistentVolumeClaim") or plan.find("Deployment")
        assert all("storageClassName" not in p["spec"] for p in plan.find("PersistentVolumeClaim"))

    def test_legacy_standard_is_refused_on_gke(self):
        raw = stack("dev")
        raw["storageClass"] = "standard"
        (line,) = errors(raw)
        assert line.startswith("storageClass: 'standard' is GKE's legacy") and "standard-rwo" in line

    def test_a_class_change_never_replaces_a_claim(self, plans):
        plan = plans["dev"]
        for name, manifest in zip(plan.names, plan.k8s, strict=True):
            if manifest["kind"] == "PersistentVolumeClaim":
                assert "spec.storageClassName" in plan.options[name]["ignore_changes"], name

    def test_created_cluster_enables_the_pd_csi_driver(self, plans):
        (cluster,) = [i for t, _, i in plans["prod"].gcp if t == "gcp:container/cluster:Cluster"]
        assert cluster["addonsConfig"] == {"gcePersistentDiskCsiDriverConfig": {"enabled": True}}


def stack_file_raw(name: str) -> dict:
    return copy.deepcopy(raw_config(name))


class TestGpuPoolUpgradesNeedNoSpareGpu:
    @pytest.mark.parametrize("name", list(STACKS))
    def test_surge_zero_unavailable_one(self, plans, name):
        gpu_pools = {n: p for n, p in pools(plans[name]).items() if n != "system"}
        assert gpu_pools
        for pool in gpu_pools.values():
            assert pool["upgradeSettings"] == {"strategy": "SURGE", "maxSurge": 0, "maxUnavailable": 1}


class TestWorkloadIdentity:
    def test_created_cluster_enables_it(self, plans):
        (cluster,) = [i for t, _, i in plans["prod"].gcp if t == "gcp:container/cluster:Cluster"]
        assert cluster["workloadIdentityConfig"] == {"workloadPool": "ai-prod-project.svc.id.goog"}

    def test_existing_cluster_without_it_fails_with_the_gcloud_fix(self):
        # In a child process: the failed run leaves the pools' pending inputs behind in this process's runtime.
        code = (
            "import pulumi\n"
            "from offline.mocks import PlatformMocks\n"
            "from tests.conftest import plan_for, raw_config\n"
            "PlatformMocks.existing_workload_pool = None\n"
            "try:\n"
            "    plan_for(raw_config('dev'), {'gcp:project': 'ai-dev-project'})\n"
            "except pulumi.RunError as exc:\n"
            "    print(exc)\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", code], check=True, cwd=ROOT, capture_output=True, text=True, timeout=300
        )
        msg = done.stdout.strip()
        assert msg.startswith("cluster.workloadIdentity: cluster 'ai-dev' (us-central1) has Workload Identity off")
        assert "gcloud container clusters update ai-dev --location=us-central1" in msg
        assert "--workload-pool=ai-dev-project.svc.id.goog" in msg
        assert "cluster.workloadIdentity: false" in msg

    def test_opt_out_runs_pools_on_gce_metadata(self, monkeypatch):
        monkeypatch.setattr(PlatformMocks, "existing_workload_pool", None)
        raw = stack("dev")
        raw["cluster"]["workloadIdentity"] = False
        raw["gateway"]["database"]["backup"] = {"enabled": False}  # backups to GCS need Workload Identity
        (pool,) = pools(plan_for(raw)).values()
        assert pool["nodeConfig"]["workloadMetadataConfig"] == {"mode": "GCE_METADATA"}

    def test_existing_cluster_with_it_uses_gke_metadata(self, plans):
        (pool,) = pools(plans["dev"]).values()
        assert pool["nodeConfig"]["workloadMetadataConfig"] == {"mode": "GKE_METADATA"}

    def test_created_cluster_cannot_opt_out(self):
        raw = stack("prod")
        raw["cluster"]["workloadIdentity"] = False
        assert errors(raw)[0].startswith("cluster.workloadIdentity: false only describes an existing cluster")


class TestSpotGrace:
    """GKE gives ordinary pods 15 s of a preempted Spot VM's 30 s: pods on Spot pools ask for no more."""

    def graces(self, plan: Plan) -> dict[str, int]:
        return {
            d["metadata"]["name"]: d["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
            for d in plan.find("Deployment")
            if d["metadata"]["labels"].get("app.kubernetes.io/component") == "model"
            and d["spec"]["template"]["spec"].get("tolerations")
        }

    def test_vllm_on_spot_pool(self, plans):
        graces = self.graces(plans["dev"])  # l4-coder is spot
        assert graces and set(graces.values()) == {15}

    def test_on_demand_keeps_the_drain(self, plans):
        assert set(self.graces(plans["prod"]).values()) == {60}
        assert set(self.graces(plans["llama-seed"]).values()) == {90}

    def test_llama_on_spot_pool(self):
        raw = stack("llama-seed")
        for pool in raw["nodePools"]:
            pool["spot"] = True
        assert set(self.graces(plan_for(raw)).values()) == {15}


def test_docs_record_the_decisions():
    section = (ROOT / "docs" / "concepts" / "pools.md").read_text()
    for needle in ("totalMaxNodeCount", "standard-rwo", "WaitForFirstConsumer", "maxSurge", "workloadIdentity", "15 s"):
        assert needle in section, needle
