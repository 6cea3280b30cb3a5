"""Per-environment stacks: every Pulumi.<stack>.yaml renders; prod is its own, stricter environment."""

import re

import pytest

from components.manifests.vllm import vllm_args
from models import ConfigError, parse_config
from offline.mocks import run_program
from tests.conftest import NS, ROOT, plan_for, raw_config, stack_values

STACKS = sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in ROOT.glob("Pulumi.*.yaml"))
CODE = [p for d in ("models", "components", "offline") for p in (ROOT / d).rglob("*.py")] + [ROOT / "__main__.py"]


def raw_config_gcp(stack: str) -> dict:
    return {k: v for k, v in stack_values(stack).items() if k in ("gcp:project",)}


class TestEveryStack:
    @pytest.mark.parametrize("stack", STACKS)
    def test_parses_and_renders(self, stack):
        plan = plan_for(raw_config(stack), stack=stack)
        assert plan.find("Deployment", "litellm") and "costPlan" in plan.outputs

    def test_environment_values_live_only_in_stack_files(self):
        values = set()
        for stack in STACKS:
            raw = raw_config(stack)
            cluster = raw.get("cluster", {})
            values |= {cluster.get("name"), cluster.get("project"), cluster.get("context")}
            values |= set(raw_config_gcp(stack).values())
        values.discard(None)
        assert values
        for path in CODE:
            text = path.read_text()
            for value in values:
                # As a string literal: "local" (the local stack's cluster) is also a word in comments and code.
                assert not re.search(rf"[\"']{re.escape(value)}[\"']", text), f"{path.name} hard-codes {value!r}"


class TestProdStack:
    @pytest.fixture(scope="class")
    def prod(self):
        return raw_config("prod")

    def test_separate_cluster_and_project(self, prod):
        dev = raw_config("dev")
        assert prod["cluster"]["name"] != dev["cluster"]["name"]
        assert raw_config_gcp("prod") != raw_config_gcp("dev")
        assert prod["cluster"]["project"] == raw_config_gcp("prod")["gcp:project"]

    def test_stricter_settings(self, prod):
        cfg = parse_config(prod)
        assert cfg.cluster.create and cfg.cluster.deletion_protection and cfg.cluster.release_channel == "STABLE"
        assert cfg.gateway.replicas >= 2 and cfg.cluster.system_nodes >= 2
        assert cfg.node_pools and not any(p.spot for p in cfg.node_pools)
        assert not cfg.scale_to_zero

    def test_more_models_all_at_zero(self, prod):
        cfg = parse_config(prod)
        assert len(cfg.models) > len(raw_config("dev")["models"])
        assert [m.replicas for m in cfg.models] == [0] * len(cfg.models)

    def test_agent_model_calls_tools(self, prod):
        agent = next(m for m in parse_config(prod).models if m.name == "coder-agent")
        args = vllm_args(agent)
        assert "--tool-call-parser=hermes" in args and "--enable-auto-tool-choice" in args
        assert agent.model_name.endswith("14B-Instruct-AWQ") and agent.quantization == "awq_marlin"

    def test_cluster_is_declared_and_protected(self):
        plan = plan_for(raw_config("prod"), stack="prod")
        (cluster,) = [(n, i) for t, n, i in plan.gcp if t == "gcp:container/cluster:Cluster"]
        assert cluster[1]["deletionProtection"] is True
        assert plan.options[cluster[0]]["protect"] is True


class TestKubeconfigTarget:
    """`cluster.target: kubeconfig` runs on any existing context (kind, minikube) with no GCP resource."""

    def local(self, **cluster) -> dict:
        """A minimal non-GKE stack: no pools, no models, just the gateway (keys and front-ends need models)."""
        return {"cluster": {"target": "kubeconfig", "name": "laptop", **cluster}, "gateway": {"replicas": 1}}

    def test_no_gcp_resources(self):
        cap = run_program({NS + k: v for k, v in self.local(context="kind-llm").items()}, "local")
        assert not [r for r in cap.resources if r.type.startswith("gcp:")]
        providers = [r for r in cap.resources if r.type == "pulumi:providers:kubernetes"]
        # the stack's provider, and the one that adopts existing key Secrets (components/key_secrets.py)
        assert len(providers) == 2 and sum(bool(p.inputs.get("upsertExistingObjects")) for p in providers) == 1
        for provider in providers:
            assert provider.inputs.get("context") == "kind-llm" and "kubeconfig" not in provider.inputs

    def test_gateway_still_renders(self):
        plan = plan_for(self.local())
        assert plan.one("Deployment", "litellm") and plan.outputs["costPlan"]["pools"] == {}

    def test_gpu_pools_need_gke(self):
        raw = self.local()
        raw["nodePools"] = raw_config("dev")["nodePools"]
        with pytest.raises(ConfigError) as exc:
            parse_config(raw)
        assert exc.value.lines[0].startswith("nodePools: GPU node pools are GKE node pools")

    @pytest.mark.parametrize(
        "cluster,line",
        [
            ({"target": "gke", "name": "x"}, "cluster.location: is required for a GKE cluster"),
            (
                {"target": "gke", "name": "x", "location": "us-central1", "context": "kind"},
                "cluster.context: only applies to target: kubeconfig",
            ),
            (
                {"target": "kubeconfig", "name": "x", "location": "us-central1"},
                "cluster.location: only applies to target: gke",
            ),
            ({"target": "aws", "name": "x"}, "cluster.target: must be one of 'gke' or 'kubeconfig'"),
        ],
    )
    def test_target_fields(self, cluster, line):
        raw = self.local()
        raw["cluster"] = cluster
        with pytest.raises(ConfigError) as exc:
            parse_config(raw)
        assert exc.value.lines[0].startswith(line), exc.value.lines
