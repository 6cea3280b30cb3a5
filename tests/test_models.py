"""Config rules, without Pulumi: one class per rule, each asserting the key path and the fix."""

import copy

import pytest
from pydantic import ValidationError

from models import ConfigError, PlatformConfig, parse_config


def reject(raw) -> str:
    with pytest.raises(ConfigError) as exc:
        parse_config(raw)
    return str(exc.value)


def chat(raw):
    return raw["models"][0]


def drop_clients(raw):
    """Remove the gateway keys and front-ends, for tests that rename or unregister a model they use."""
    raw["gateway"]["keys"] = []
    raw["gateway"].pop("smokeTest", None)
    raw.pop("frontends", None)


class TestDevStackIsValid:
    def test_parses_and_is_frozen(self, dev_raw):
        cfg = parse_config(dev_raw)
        assert isinstance(cfg, PlatformConfig)
        assert [m.name for m in cfg.models] == ["coder-chat", "coder-fim", "coder-agent", "embeddings"]
        with pytest.raises(ValidationError):
            cfg.models[0].replicas = 3  # type: ignore[misc]


class TestCrdRules:
    @pytest.mark.parametrize(
        "key,value,needle",
        [
            ("dtype", "fp16", "models[0].dtype: must be one of 'auto', 'half'"),
            ("toolCallParser", "qwen", "models[0].toolCallParser: must be one of ''"),
            ("reasoningParser", "qwen2", "models[0].reasoningParser: must be one of ''"),
            ("tensorParallelSize", 0, "models[0].tensorParallelSize: input should be greater than or equal to 1"),
            ("maxModelLen", 511, "models[0].maxModelLen: input should be greater than or equal to 512"),
            (
                "gpuMemoryUtilization",
                0.05,
                "models[0].gpuMemoryUtilization: input should be greater than or equal to 0.1",
            ),
            ("gpuMemoryUtilization", 1.01, "models[0].gpuMemoryUtilization: input should be less than or equal to 1"),
        ],
    )
    def test_rejects_out_of_enum_or_range(self, dev_raw, key, value, needle):
        chat(dev_raw)[key] = value
        assert needle in reject(dev_raw)

    @pytest.mark.parametrize(
        "key,value",
        [
            ("dtype", "bfloat16"),
            ("toolCallParser", "qwen3_coder"),
            ("reasoningParser", "deepseek_r1"),
            ("maxModelLen", 512),
            ("gpuMemoryUtilization", 0.1),
            ("gpuMemoryUtilization", 0.95),  # above: _utilisation_leaves_graphs
        ],
    )
    def test_accepts_boundaries(self, dev_raw, key, value):
        chat(dev_raw).update({key: value, "weightsGiB": 0.2})  # small enough that 0.1 of an L4 holds the KV cache too
        assert (
            getattr(
                parse_config(dev_raw).models[0],
                {
                    "dtype": "dtype",
                    "toolCallParser": "tool_call_parser",
                    "reasoningParser": "reasoning_parser",
                    "maxModelLen": "max_model_len",
                    "gpuMemoryUtilization": "gpu_memory_utilization",
                }[key],
            )
            == value
        )


class TestAutoToolChoiceNeedsParser:
    def test_rejected_without_parser(self, dev_raw):
        chat(dev_raw)["enableAutoToolChoice"] = True
        msg = reject(dev_raw)
        assert "models[0].enableAutoToolChoice:" in msg and "Set toolCallParser" in msg

    def test_accepted_with_parser(self, dev_raw):
        chat(dev_raw).update(enableAutoToolChoice=True, toolCallParser="hermes")
        assert parse_config(dev_raw).models[0].enable_auto_tool_choice


class TestUniqueNames:
    def test_duplicate_alias(self, dev_raw):
        dev_raw["models"][1]["name"] = "coder-chat"
        assert "models[0].name, models[1].name: 'coder-chat' is used more than once" in reject(dev_raw)

    def test_duplicate_served_name(self, dev_raw):
        dev_raw["models"][1]["servedModelName"] = "qwen2.5-coder-7b-instruct"
        assert "models[0].servedModelName, models[1].servedModelName" in reject(dev_raw)


class TestDnsNames:
    @pytest.mark.parametrize("name", ["Coder-Chat", "coder_chat", "-chat", "chat-", "a" * 41])
    def test_rejects_bad_names(self, dev_raw, name):
        chat(dev_raw)["name"] = name
        msg = reject(dev_raw)
        assert "models[0].name:" in msg
        assert ("DNS-1123" in msg) or ("at most 40" in msg)

    def test_accepts_forty_characters(self, dev_raw):
        drop_clients(dev_raw)  # the dev keys and front-ends name coder-chat
        chat(dev_raw)["name"] = "a" * 40
        assert parse_config(dev_raw).models[0].name == "a" * 40


class TestUnknownPool:
    def test_names_known_pools(self, dev_raw):
        dev_raw["models"][1]["pool"] = "l4-big"
        msg = reject(dev_raw)
        assert "models[1].pool: 'l4-big' is not a declared node pool (known: l4-coder)" in msg


class TestPricing:
    @pytest.mark.parametrize("key", ["inputCostPerToken", "outputCostPerToken"])
    def test_registered_model_needs_both_prices(self, dev_raw, key):
        del chat(dev_raw)[key]
        msg = reject(dev_raw)
        assert f"models[0].{key}:" in msg and "budgets never bind" in msg

    def test_zero_prices_rejected(self, dev_raw):
        chat(dev_raw).update(inputCostPerToken=0, outputCostPerToken=0)
        assert "both prices at 0" in reject(dev_raw)

    def test_unregistered_model_may_be_unpriced(self, dev_raw):
        for k in ("inputCostPerToken", "outputCostPerToken"):
            del chat(dev_raw)[k]
        chat(dev_raw)["registerInGateway"] = False
        drop_clients(dev_raw)  # the dev keys and front-ends call coder-chat through the gateway
        assert parse_config(dev_raw).models[0].input_cost_per_token is None


class TestSizingTraps:
    def test_weights_over_host_ram(self, dev_raw):
        dev_raw["nodePools"][0]["machineType"] = "g2-standard-4"  # 16 GB host
        chat(dev_raw).update(weightsGiB=18, cacheGiB=40, gpuMemoryUtilization=0.95)
        msg = reject(dev_raw)
        assert "models[0].weightsGiB: 18.0 GiB of weights exceeds the" in msg
        assert "g2-standard-4" in msg and "host RAM" in msg

    def test_same_weights_fit_a_bigger_host(self, dev_raw):
        chat(dev_raw).update(weightsGiB=18, cacheGiB=40, gpuMemoryUtilization=0.95)
        assert parse_config(dev_raw).models[0].weights_gib == 18

    def test_pvc_smaller_than_weights(self, dev_raw):
        chat(dev_raw).update(cacheGiB=5)
        msg = reject(dev_raw)
        assert "models[0].cacheGiB: 5 is smaller than weightsGiB (5.6)" in msg and "at least 6" in msg

    def test_default_pvc_holds_weights(self, dev_raw):
        del chat(dev_raw)["cacheGiB"]
        m = parse_config(dev_raw).models[0]
        assert m.cache_size_gib >= m.weights_gib

    def test_weights_over_vram(self, dev_raw):
        dev_raw["nodePools"][0]["machineType"] = "g2-standard-16"
        chat(dev_raw).update(weightsGiB=21, cacheGiB=40, gpuMemoryUtilization=0.9)
        msg = reject(dev_raw)
        assert "models[0].weightsGiB: 21.0 GiB of weights does not fit" in msg and "tensorParallelSize 1" in msg

    def test_tensor_parallel_spreads_weights(self, dev_raw):
        dev_raw["nodePools"][0]["machineType"] = "g2-standard-24"  # 2 L4
        chat(dev_raw).update(weightsGiB=30, cacheGiB=60, tensorParallelSize=2)
        assert parse_config(dev_raw).models[0].tensor_parallel_size == 2

    def test_tp_above_gpus_per_node(self, dev_raw):
        chat(dev_raw)["tensorParallelSize"] = 2
        msg = reject(dev_raw)
        assert "models[0].tensorParallelSize: 2 is more than the 1 GPU(s) of a g2-standard-8" in msg


class TestGpuBudget:
    def test_two_models_on_one_l4(self, dev_raw):
        dev_raw["models"][1]["replicas"] = 1
        msg = reject(dev_raw)
        assert "nodePools[0].maxNodes: pool 'l4-coder' would need 2 GPUs" in msg
        assert "one L4 runs one model at a time" in msg

    def test_more_nodes_fit(self, dev_raw):
        dev_raw["models"][1]["replicas"] = 1
        dev_raw["nodePools"][0]["maxNodes"] = 2
        assert sum(m.replicas for m in parse_config(dev_raw).models if m.engine == "vllm") == 2

    def test_budget_checked_even_when_scaled_to_zero(self, dev_raw):
        # flipping scaleToZero back must not produce an unschedulable plan
        dev_raw["models"][1]["replicas"] = 1
        dev_raw["scaleToZero"] = True
        assert "would need 2 GPUs" in reject(dev_raw)


class TestUnknownKeys:
    def test_top_level(self, dev_raw):
        dev_raw["modles"] = []
        assert "modles: is not a known key" in reject(dev_raw)

    def test_nested(self, dev_raw):
        dev_raw["nodePools"][0]["gpus"] = 2
        assert "nodePools[0].gpus: is not a known key" in reject(dev_raw)

    def test_missing_required(self, dev_raw):
        del chat(dev_raw)["modelName"]
        assert "models[0].modelName: is required" in reject(dev_raw)

    def test_unknown_engine(self, dev_raw):
        chat(dev_raw)["engine"] = "sglang"
        assert "models[0].engine:" in reject(dev_raw)


class TestImagePins:
    @pytest.mark.parametrize("ref", ["vllm/vllm-openai", "vllm/vllm-openai:latest"])
    def test_unpinned_image_rejected(self, dev_raw, ref):
        dev_raw["images"] = {"vllm": ref}
        assert "images.vllm:" in reject(dev_raw)


class TestScaleToZeroResolution:
    def test_overrides_replicas_and_min_nodes_without_editing(self, dev_raw):
        dev_raw["scaleToZero"] = True
        dev_raw["nodePools"][0]["minNodes"] = 1
        cfg = parse_config(dev_raw)
        assert [cfg.effective_replicas(m) for m in cfg.models] == [0, 0, 0, 1], "the CPU model keeps running"
        assert cfg.effective_min_nodes(cfg.node_pools[0]) == 0
        assert cfg.models[0].replicas == 1 and cfg.node_pools[0].min_nodes == 1


def test_error_lists_every_problem_at_once(dev_raw):
    raw = copy.deepcopy(dev_raw)
    chat(raw).update(dtype="x", maxModelLen=1)
    raw["models"][1]["gpuMemoryUtilization"] = 2
    msg = reject(raw)
    assert msg.count("\n  - ") == 3
