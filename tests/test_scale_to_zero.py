"""`llm-platform:scaleToZero` and per-model replica flips, proved on the rendered plan (offline.plan)."""

import copy
from pathlib import Path

import pytest

from offline.plan import gpus_per_pod, pod_spec, requested_gpus
from offline.report import summary
from offline.stateful import stateful_objects
from tests.conftest import plan_for, raw_config

NODE_POOL = "gcp:container/nodePool:NodePool"


def busy_dev() -> dict:
    """dev with room for both models and a warm node, so the flip has something to take away."""
    raw = copy.deepcopy(raw_config("dev"))
    raw["nodePools"][0].update(minNodes=1, maxNodes=2)
    raw["models"][1]["replicas"] = 1
    return raw


def flip(raw: dict, on: bool) -> dict:
    return {**copy.deepcopy(raw), "scaleToZero": on}


def gpu_deployments(plan) -> dict[str, int]:
    return {
        d["metadata"]["name"]: d["spec"]["replicas"] for d in plan.find("Deployment") if gpus_per_pod(pod_spec(d)) > 0
    }


def cpu_workloads(plan) -> dict[str, int]:
    return {
        f"{m['kind']}/{m['metadata'].get('namespace')}/{m['metadata']['name']}": m["spec"].get("replicas", 1)
        for m in plan.k8s
        if pod_spec(m) is not None and m["kind"] != "Job" and gpus_per_pod(pod_spec(m)) == 0
    }


def by_identity(plan) -> dict[str, dict]:
    """Manifests keyed by kind/namespace/name: registration order is not stable between runs."""
    return {f"{m['kind']}/{m['metadata'].get('namespace')}/{m['metadata']['name']}": m for m in plan.k8s}


def node_pools(plan) -> dict[str, dict]:
    return {name: inputs for typ, name, inputs in plan.gcp if typ == NODE_POOL}


def is_gpu_pool(inputs: dict) -> bool:
    return bool(inputs.get("nodeConfig", {}).get("guestAccelerators"))


@pytest.fixture(scope="module")
def dev_flips():
    raw = busy_dev()
    return raw, plan_for(flip(raw, False)), plan_for(flip(raw, True)), plan_for(flip(raw, False))


@pytest.fixture(scope="module")
def prod_flips():
    raw = copy.deepcopy(raw_config("prod"))
    raw["models"][0]["replicas"] = 1  # one model on, so there is something to scale away
    return raw, plan_for(flip(raw, False)), plan_for(flip(raw, True))


class TestScaleToZero:
    def test_requested_gpus_go_from_n_to_zero(self, dev_flips):
        _, before, after, _ = dev_flips
        assert sum(requested_gpus(before.k8s).values()) == 2
        assert before.outputs["gpusRequested"] == {"l4-coder": 2}
        assert set(requested_gpus(after.k8s).values()) == {0}
        assert after.outputs["gpusRequested"] == {"l4-coder": 0}

    def test_every_gpu_deployment_has_zero_replicas(self, dev_flips, prod_flips):
        for _, before, after, *_ in (dev_flips, prod_flips):
            assert gpu_deployments(after) and gpu_deployments(after).keys() == gpu_deployments(before).keys()
            assert set(gpu_deployments(after).values()) == {0}

    def test_every_gpu_node_pool_has_min_zero(self, dev_flips, prod_flips):
        for _, before, after, *_ in (dev_flips, prod_flips):
            pools = node_pools(after)
            assert any(is_gpu_pool(p) for p in pools.values())
            for name, p in pools.items():
                if is_gpu_pool(p):
                    assert p["autoscaling"]["totalMinNodeCount"] == 0 and p["initialNodeCount"] == 0, name
                    max_before = node_pools(before)[name]["autoscaling"]["totalMaxNodeCount"]
                    assert p["autoscaling"]["totalMaxNodeCount"] == max_before
        _, before, _, _ = dev_flips
        assert [p["autoscaling"]["totalMinNodeCount"] for p in node_pools(before).values()] == [1]

    def test_cpu_node_pools_keep_their_size(self, prod_flips):
        _, before, after = prod_flips
        cpu = {n: p["autoscaling"] for n, p in node_pools(before).items() if not is_gpu_pool(p)}
        assert cpu, "prod creates its cluster, so it declares a CPU system pool"
        assert cpu == {n: p["autoscaling"] for n, p in node_pools(after).items() if not is_gpu_pool(p)}
        assert all(a["totalMinNodeCount"] >= 1 for a in cpu.values())

    def test_stateful_objects_are_unchanged(self, dev_flips, prod_flips):
        for _, before, after, *_ in (dev_flips, prod_flips):
            kept = stateful_objects(before)
            assert kept == stateful_objects(after)
            kinds = " ".join(kept)
            for expected in ("PersistentVolumeClaim", "Secret"):
                assert expected in kinds
        _, before, after = prod_flips
        kept = stateful_objects(after)
        protected = [k for k, v in kept.items() if v["protect"] or v["retainOnDelete"]]
        assert any("gcp:container/cluster:Cluster" in k for k in protected), "the GKE cluster is protected"
        assert any(k.endswith("-model-cache") for k in protected), "weight caches outlive the stack"
        databases = [k for k in kept if "postgresql.cnpg.io" in k and " Backup " not in k]
        if before.helm:  # the gateway database, where the stack declares one
            assert databases and all(kept[k]["protect"] for k in databases)
        # A pre-migration Backup records one backup and is replaced per image: retained, never protected.
        assert all(kept[k]["retainOnDelete"] and not kept[k]["protect"] for k in kept if " Backup " in k)

    def test_gateway_and_cpu_workloads_keep_their_replicas(self, dev_flips, prod_flips):
        for raw, before, after, *_ in (dev_flips, prod_flips):
            assert cpu_workloads(before) == cpu_workloads(after)
            assert after.one("Deployment", "litellm")["spec"]["replicas"] == raw["gateway"]["replicas"] >= 1
        _, _, after = prod_flips
        assert after.one("Deployment", "litellm")["spec"]["replicas"] >= 2, "prod runs an HA gateway"

    def test_flipping_back_restores_per_model_replicas(self, dev_flips):
        raw, before, _, back = dev_flips
        configured = {m["name"]: m["replicas"] for m in raw["models"] if m["engine"] == "vllm"}
        assert gpu_deployments(back) == configured and configured["coder-chat"] == configured["coder-fim"] == 1
        assert by_identity(back) == by_identity(before) and node_pools(back) == node_pools(before)

    def test_idle_gpu_cost_is_zero_and_printed(self, dev_flips):
        _, before, after, _ = dev_flips
        assert before.outputs["costPlan"]["total"]["idle"]["usdPerMonth"] > 0
        idle = after.outputs["costPlan"]["total"]["idle"]
        planned = after.outputs["costPlan"]["total"]["planned"]
        assert idle["usdPerMonth"] == planned["usdPerMonth"] == 0
        assert idle["gpuHoursPerMonth"] == planned["gpuHoursPerMonth"] == 0
        text = summary(after, Path("out"))
        assert "idle GPU cost:    $0.00/month (0 GPU-hours)  [scaleToZero]" in text


class TestPerModelFlip:
    """`pulumi config set --path 'llm-platform:models[0].replicas' 1` changes one Deployment and nothing else."""

    def test_prod_default_runs_no_gpu(self):
        plan = plan_for(raw_config("prod"))
        assert set(gpu_deployments(plan).values()) == {0}
        assert plan.outputs["costPlan"]["total"]["planned"]["usdPerMonth"] == 0

    def test_one_model_on(self, prod_flips):
        raw, before, _ = prod_flips
        base = plan_for(raw_config("prod"))
        on = {n: r for n, r in gpu_deployments(before).items() if r}
        assert on == {"coder-chat": 1} and len(gpu_deployments(before)) == len(raw["models"])
        gpus = requested_gpus(before.k8s)
        assert gpus["chat"] == 1 and sum(gpus.values()) == 1
        assert before.outputs["costPlan"]["pools"]["l4-chat"]["planned"]["nodes"] == 1
        assert stateful_objects(before) == stateful_objects(base)
        old, new = by_identity(base), by_identity(before)
        # A model turned on stages its weights first: its release and stage Jobs, the release Job's RBAC, and
        # the stage pods' NetworkPolicies (docs/concepts/weight-staging.md); nothing else appears.
        added = new.keys() - old.keys()
        assert old.keys() <= new.keys() and {k.split("/")[0] for k in added} == {
            "Job",
            "ServiceAccount",
            "Role",
            "RoleBinding",
            "NetworkPolicy",
        }
        assert all(k.split("/")[2].startswith(("coder-chat-", "weight-")) for k in added), added
        changed = [k for k in old if old[k] != new[k]]
        # The gateway may follow (e.g. which models it reports as available); no other model or state moves.
        component = {k: new[k]["metadata"].get("labels", {}).get("app.kubernetes.io/component") for k in changed}
        assert [k for k in changed if component[k] != "gateway"] == ["Deployment/serving/coder-chat"]
