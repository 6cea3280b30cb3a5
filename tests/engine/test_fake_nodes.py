"""The fake nodes are the nodes GKE would give the stack (no cluster needed: pure functions of the config)."""

from pathlib import Path

import pytest

from e2e.assets import kwok_stages
from e2e.cluster import load_stack
from e2e.nodes import gke_cpu_reservation_millicores, machine_shape, stack_nodes

ROOT = Path(__file__).resolve().parents[2]
STACKS = ["Pulumi.dev.yaml", "Pulumi.prod.yaml", "Pulumi.local.yaml", "examples/Pulumi.llama-seed.yaml"]


class TestGkeAllocatable:
    @pytest.mark.parametrize(("vcpus", "reserved"), [(1, 60), (2, 70), (4, 80), (8, 90), (16, 110), (96, 310)])
    def test_cpu_reservation_follows_gkes_tiers(self, vcpus, reserved):
        assert gke_cpu_reservation_millicores(vcpus) == reserved

    def test_system_machine_types_parse(self):
        assert machine_shape("e2-standard-4").ram_gib == 16
        assert machine_shape("n2-highmem-8").ram_gib == 64
        with pytest.raises(ValueError, match="systemMachineType"):
            machine_shape("weird")


class TestOneNodePerMaxNodes:
    @pytest.mark.parametrize("stack", STACKS)
    def test_every_pool_gets_max_nodes_gpu_nodes_with_its_role(self, stack):
        cfg = load_stack(ROOT / stack)
        nodes = stack_nodes(cfg)
        for pool in cfg.node_pools:
            mine = [n for n in nodes if n["metadata"]["labels"].get("ai.llm.role") == pool.role]
            assert len(mine) == pool.max_nodes
            for node in mine:
                assert node["status"]["allocatable"][pool.gpu_resource] == str(pool.shape.gpus)
                assert node["spec"]["taints"] == [
                    {"key": pool.gpu_resource, "value": "present", "effect": "NoSchedule"}
                ]
                assert node["metadata"]["labels"]["topology.kubernetes.io/zone"]
        cpu = [n for n in nodes if "ai.llm.role" not in n["metadata"]["labels"]]
        assert len(cpu) == cfg.cluster.system_nodes + 2  # components/cluster.py's autoscaling maximum
        assert all("taints" not in n["spec"] for n in cpu)
        assert len({n["metadata"]["name"] for n in nodes}) == len(nodes)


class TestKwokStagesFromTheModule:
    def test_volume_stages_act_on_gkes_classes_and_wait_for_a_node(self):
        try:
            stages = {s["metadata"]["name"]: s for s in kwok_stages()}
        except RuntimeError as exc:  # no go or no module proxy: the engine tier reports it
            pytest.skip(str(exc))
        provision = " ".join(
            e["cel"]["expression"] for e in stages["pvc-provision"]["spec"]["selector"]["matchExpressions"]
        )
        assert "premium-rwo" in provision and "volume.kubernetes.io/selected-node" in provision
        assert {"node-initialize", "node-heartbeat-with-lease", "pod-ready", "pod-complete", "pod-delete",
                "pv-bind"} <= set(stages)  # fmt: skip
