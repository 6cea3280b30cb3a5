"""The engine tier's day-2 checks (e2e/day2.py) decide pass or fail: each one must be able to fail."""

import copy

from e2e import day2
from tests.conftest import stack_values

NS = "llm-platform:"


class TestVersionsMustEqualTheSdkPins:
    def test_pins_come_from_requirements(self, tmp_path):
        req = tmp_path / "requirements.txt"
        req.write_text("pulumi==3.272.0\npulumi-kubernetes==4.32.0\npulumi-random==4.21.1\n")
        assert day2.sdk_pins(req) == {"kubernetes": "4.32.0", "random": "4.21.1"}

    def test_the_repo_pins_the_providers_the_tier_builds(self):
        assert day2.sdk_pins() == {"kubernetes": "4.32.0", "random": "4.21.1"}

    def test_an_unknown_or_other_version_fails(self):
        pins = {"kubernetes": "4.32.0", "random": "4.21.1"}
        good = {"pulumi": "3.274.1", "languageHost": "3.259.0", "kubernetes": "4.32.0", "random": "4.21.1"}
        assert day2.version_errors(good, pins) == []
        errors = day2.version_errors({**good, "kubernetes": "4.25.0-alpha.1768448096", "languageHost": "?"}, pins)
        assert any("kubernetes provider that ran is '4.25.0-alpha.1768448096'" in e for e in errors), errors
        assert any("languageHost" in e for e in errors), errors


class TestSecretHashes:
    def test_a_changed_value_in_any_phase_is_named(self):
        phases = {"up": {"a": "1", "b": "2"}, "flip": {"a": "1", "b": "2"}, "reUp": {"a": "1", "b": "3"}}
        assert day2.hashes_unchanged(phases) == ["b"]
        assert day2.hashes_unchanged({"up": {"a": "1"}, "flip": {"a": "1"}}) == []

    def test_state_hashes_read_random_password_results_and_never_keep_them(self):
        export = {
            "deployment": {
                "resources": [
                    {
                        "type": day2.RANDOM_PASSWORD,
                        "urn": "urn:pulumi:s::p::llm-platform:gateway:LiteLLMGateway$random:index/randomPassword:"
                        "RandomPassword::llm-platform-gateway-salt-key",
                        "outputs": {"result": "s3cr3t-value"},
                    },
                    {"type": "kubernetes:core/v1:Secret", "urn": "urn:x", "outputs": {}},
                ]
            }
        }
        hashes = day2.state_password_hashes(export)
        assert list(hashes) == ["RandomPassword/llm-platform-gateway-salt-key"]
        assert "s3cr3t" not in str(hashes) and hashes == {
            "RandomPassword/llm-platform-gateway-salt-key": day2.short_hash("s3cr3t-value")
        }

    def test_cluster_hashes_cover_the_salt_and_the_master_key_only(self):
        secrets = [
            {"metadata": {"namespace": "litellm", "name": "litellm-salt-key"}, "data": {"LITELLM_SALT_KEY": "YQ=="}},
            {
                "metadata": {"namespace": "litellm", "name": "litellm-secrets"},
                "data": {"LITELLM_MASTER_KEY": "bQ==", "UPSTREAM": "dQ=="},
            },
            {"metadata": {"namespace": "other", "name": "litellm-salt-key"}, "data": {"x": "eA=="}},
        ]
        got = day2.cluster_secret_hashes(secrets, "litellm")
        assert set(got) == {"Secret/litellm/litellm-salt-key", "Secret/litellm/litellm-secrets:LITELLM_MASTER_KEY"}


class TestPathFlips:
    def test_dev_flips_one_vllm_model_by_path_and_restores_it(self):
        flips, model = day2.path_flips(stack_values("dev"))
        assert model == "coder-chat"
        assert flips == [
            (f"{NS}models[0].replicas", "0", "1"),
            (f"{NS}models[0].gpuMemoryUtilization", "0.85", "0.9"),
            (f"{NS}models[0].enablePrefixCaching", "false", "true"),
        ]

    def test_a_llama_model_flips_context_and_jinja_and_absent_keys_are_removed_after(self):
        config = {NS + "models": [{"name": "m", "engine": "llamacpp", "replicas": 1, "contextSize": 16384}]}
        flips, _ = day2.path_flips(config)
        assert flips[1:] == [(f"{NS}models[0].contextSize", "8192", "16384"), (f"{NS}models[0].jinja", "false", None)]

    def test_no_model_with_a_replica_means_no_path_flip(self):
        config = copy.deepcopy(stack_values("dev"))
        for m in config[NS + "models"]:
            m["replicas"] = 0
        assert day2.path_flips(config) == ([], None)

    def test_typed_in_file_reads_a_path(self):
        doc = {"config": {NS + "models": [{"replicas": 0, "gpuMemoryUtilization": 0.85, "enablePrefixCaching": False}]}}
        assert day2.typed_in_file(doc, f"{NS}models[0].replicas") == 0
        assert day2.typed_in_file(doc, f"{NS}models[0].enablePrefixCaching") is False


class TestUpgradeFindsStatefulReplacements:
    URN = "urn:pulumi:dev::llm-platform::llm-platform:platform:LlmPlatform${}::{}"

    def test_replaced_and_deleted_are_split_and_stateful_ones_named(self):
        pvc = self.URN.format("kubernetes:core/v1:PersistentVolumeClaim", "llm-platform-coder-chat-cache")
        dep = self.URN.format("kubernetes:apps/v1:Deployment", "llm-platform-coder-chat")
        salt = self.URN.format("kubernetes:core/v1:Secret", "llm-platform-gateway-salt-key")
        preview = {
            "steps": [
                {"op": "same", "urn": "urn:x"},
                {"op": "replace", "urn": pvc},
                {"op": "update", "urn": dep},
                {"op": "delete", "urn": salt},
            ]
        }
        changes = day2.upgrade_changes(preview)
        assert changes["replaced"] == [pvc] and changes["deleted"] == [salt] and len(changes["changed"]) == 3
        assert day2.stateful_urns(changes["replaced"] + changes["deleted"]) == [pvc, salt]
        assert day2.stateful_urns([dep]) == []
