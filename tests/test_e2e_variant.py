"""e2e/stack_variant.py: a GKE stack's kubeconfig variant changes only what must change, and still validates."""

from pathlib import Path

import pytest
import yaml

from e2e.driver import diff_types
from e2e.engine import change_counts, changed_types
from e2e.stack_variant import kubeconfig_variant, stack_name, write_variant
from models import config_from_pulumi_values, parse_config, read_stack_file

REPO = Path(__file__).resolve().parent.parent
STACKS = ["Pulumi.dev.yaml", "Pulumi.prod.yaml", "Pulumi.local.yaml", "examples/Pulumi.llama-seed.yaml"]


class TestKubeconfigVariant:
    @pytest.mark.parametrize("stack_file", STACKS)
    def test_variant_validates_and_keeps_models(self, stack_file, tmp_path):
        src = REPO / stack_file
        path, _ = write_variant(src, tmp_path, "e2e-x", "llm-platform-local")
        cfg = parse_config(config_from_pulumi_values(read_stack_file(path)))
        orig = parse_config(config_from_pulumi_values(read_stack_file(src)))
        assert cfg.cluster.target == "kubeconfig" and cfg.cluster.context == "llm-platform-local"
        assert cfg.models == orig.models
        assert [(p.name, p.role, p.machine_type, p.max_nodes) for p in cfg.node_pools] == [
            (p.name, p.role, p.machine_type, p.max_nodes) for p in orig.node_pools
        ]
        assert all(not p.managed for p in cfg.node_pools)
        assert cfg.namespaces == orig.namespaces and cfg.gateway.keys == orig.gateway.keys

    def test_only_what_must_change(self):
        doc = yaml.safe_load((REPO / "Pulumi.dev.yaml").read_text())
        variant, changes = kubeconfig_variant(doc, "ctx")
        before, after = doc["config"], variant["config"]
        differing = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
        assert differing == {
            "llm-platform:cluster",
            "llm-platform:nodePools",
            "llm-platform:observability",
            "llm-platform:gateway",
        }
        assert after["llm-platform:cluster"] == {"name": "ai-dev", "target": "kubeconfig", "context": "ctx"}
        db_before = before["llm-platform:gateway"].get("database", {})
        assert after["llm-platform:gateway"]["database"] == {
            **db_before,
            "operator": "existing",
            **({"backup": {"enabled": False}} if db_before.get("backup", {}).get("enabled") else {}),
        }
        assert {k: v for k, v in after["llm-platform:gateway"].items() if k != "database"} == {
            k: v for k, v in before["llm-platform:gateway"].items() if k != "database"
        }
        assert len(changes) >= 4

    def test_secure_values_and_salt_are_dropped(self):
        doc = {"encryptionsalt": "v1:abc", "config": {"llm-platform:x": {"secure": "AAA"}, "gcp:project": "p"}}
        variant, changes = kubeconfig_variant(doc, None)
        assert "encryptionsalt" not in variant and "llm-platform:x" not in variant["config"]
        assert variant["config"]["gcp:project"] == "p" and any("secure" in c for c in changes)

    def test_stack_name(self):
        assert stack_name(Path("examples/Pulumi.llama-seed.yaml")) == ("llama-seed", None)

    def test_a_file_not_named_pulumi_stack_yaml_gives_its_base_name_and_says_so(self):
        name, note = stack_name(Path("../shared/seeds/seed 002.yaml"))
        assert name == "seed-002"
        assert note is not None and "Pulumi.<stack>.yaml" in note and "seed 002.yaml" in note


class TestPreviewParsing:
    def test_change_counts_ignore_same(self):
        assert change_counts({"changeSummary": {"same": 40, "update": 2}}) == {"update": 2}
        assert change_counts(None) == {}

    def test_changed_types_from_steps(self):
        steps = [
            {"op": "update", "urn": "urn:pulumi:s::p::kubernetes:apps/v1:Deployment::a"},
            {"op": "same", "urn": "urn:pulumi:s::p::kubernetes:core/v1:Secret::b"},
        ]
        assert changed_types({"steps": steps}) == {"kubernetes:apps/v1:Deployment": 1}

    def test_diff_types_from_text(self):
        text = (
            "  pulumi:pulumi:Stack: (same)\n"
            "      ~ kubernetes:apps/v1:Deployment: (update)\n"
            "      ~ kubernetes:apps/v1:Deployment: (update)\n"
            "      +-kubernetes:batch/v1:Job: (replace)\n"
        )
        assert diff_types(text) == {"kubernetes:apps/v1:Deployment": 2, "kubernetes:batch/v1:Job": 1}
