"""vLLM starts only when the weights plus the KV cache of one full maxModelLen sequence fit VRAM x utilisation."""

import copy

import pytest

from components.manifests import vllm
from models import ConfigError, parse_config
from models.vllm_sizing import OVERHEAD_GIB_PER_GPU, Shape, fit, known_shape, kv_bytes_per_token
from tests.conftest import ROOT, raw_config
from tests.llama_seed import SEED_FILE


def prod_xl(**changes):
    raw = copy.deepcopy(raw_config("prod"))
    xl = next(m for m in raw["models"] if m["name"] == "coder-chat-xl")
    xl.update(changes)
    return raw


def rejects(raw) -> str:
    with pytest.raises(ConfigError) as exc:
        parse_config(raw)
    return str(exc.value)


class TestKvCacheFitsVram:
    def test_bytes_per_token_is_2_x_layers_x_kv_heads_x_head_size_x_dtype(self):
        qwen32 = known_shape("Qwen/Qwen2.5-Coder-32B-Instruct-AWQ")
        assert qwen32 == Shape(64, 8, 128, 32768)
        assert kv_bytes_per_token(qwen32, 2, 1) == 2 * 64 * 8 * 128 * 2 == 256 * 1024
        assert kv_bytes_per_token(qwen32, 1, 1) == 128 * 1024  # fp8 KV cache
        # TP splits the KV heads, so the total stays the same; fewer heads than GPUs are replicated
        assert kv_bytes_per_token(qwen32, 2, 2) == 256 * 1024
        assert kv_bytes_per_token(known_shape("Qwen/Qwen2.5-Coder-1.5B"), 2, 4) == 2 * 28 * 1 * 4 * 128 * 2

    def test_prod_32b_at_8192_tokens_is_refused_with_the_fix(self):
        # 22.35 x 0.95 = 21.23 GiB - 18.5 weights - 1 overhead = 1.73 GiB < 2 GiB for 8192 x 256 KiB
        msg = rejects(prod_xl(maxModelLen=8192))
        assert "models[3].maxModelLen: 8192 tokens need 2.00 GiB of KV cache" in msg
        assert "leaves 1.73 GiB; vLLM refuses to start" in msg
        assert "Set maxModelLen to at most 7088" in msg and "kvCacheDtype: fp8" in msg

    def test_the_suggested_fixes_pass(self):
        parse_config(prod_xl(maxModelLen=7088))
        parse_config(prod_xl(maxModelLen=8192, kvCacheDtype="fp8"))
        assert "maxModelLen" in rejects(prod_xl(maxModelLen=7104))  # one KV block (16 tokens) more

    def test_prod_as_shipped_fits(self):
        cfg = parse_config(raw_config("prod"))
        xl = next(m for m in cfg.models if m.name == "coder-chat-xl")
        assert xl.max_model_len == 6144 and xl.gpu_memory_utilization == 0.95

    def test_unset_max_model_len_means_the_models_full_context(self):
        raw = prod_xl()
        del next(m for m in raw["models"] if m["name"] == "coder-chat-xl")["maxModelLen"]
        assert "maxModelLen: is unset, so vLLM takes the model's full 32768 tokens" in rejects(raw)

    def test_overhead_is_per_gpu_and_the_cache_is_whole_blocks(self):
        qwen7 = known_shape("Qwen/Qwen2.5-Coder-7B-Instruct-AWQ")
        f = fit(qwen7, budget_gib=2 * 22.35 * 0.9, weights_gib=5.6, tp=2, max_model_len=1000, kv_bytes=2)
        assert f.overhead_gib == 2 * OVERHEAD_GIB_PER_GPU
        assert f.kv_gib * 1024**3 == 1008 * 2 * 28 * 4 * 128 * 2  # 1000 tokens -> 63 blocks of 16


class TestModelShapeForOtherModels:
    def test_a_model_outside_the_table_with_max_model_len_is_warned_not_refused(self):
        cfg = parse_config(prod_xl(modelName="acme/coder-32b-awq"))
        (warning,) = cfg.warnings()
        assert warning.startswith("models[3].modelShape: 'acme/coder-32b-awq' is not in the KV-cache sizing table")
        assert "numHiddenLayers, numKeyValueHeads and headDim from its config.json" in warning
        assert parse_config(raw_config("prod")).warnings() == []

    def test_a_model_outside_the_table_without_max_model_len_is_refused(self):
        raw = prod_xl(modelName="acme/coder-32b-awq")
        del next(m for m in raw["models"] if m["name"] == "coder-chat-xl")["maxModelLen"]
        msg = rejects(raw)
        assert "models[3].maxModelLen: is not set and 'acme/coder-32b-awq' is not in the KV-cache sizing" in msg

    def test_a_declared_shape_is_used(self):
        shape = {"numHiddenLayers": 64, "numKeyValueHeads": 8, "headDim": 128}
        parse_config(prod_xl(modelName="acme/coder-32b-awq", modelShape=shape))
        big = {**shape, "numKeyValueHeads": 16}  # 512 KiB a token: 3 GiB at 6144
        assert "models[3].maxModelLen: 6144 tokens need 3.00 GiB" in rejects(
            prod_xl(modelName="acme/coder-32b-awq", modelShape=big)
        )

    def test_an_incomplete_shape_names_the_missing_field(self):
        msg = rejects(prod_xl(modelName="acme/x", modelShape={"numKeyValueHeads": 8, "headDim": 128}))
        assert "models[3].modelShape.numHiddenLayers: is required to size the KV cache" in msg

    def test_encoder_only_models_keep_no_kv_cache(self):
        assert known_shape("BAAI/bge-m3").encoder_only
        parse_config(prod_xl(modelName="acme/encoder", modelShape={"encoderOnly": True}))


class TestVllmFlagsVllm011Accepts:
    def test_embedding_uses_the_pooling_runner_not_the_deprecated_task(self):
        cfg = parse_config(raw_config("prod"))
        embed = next(m for m in cfg.models if m.name == "coder-embed")
        args = vllm.vllm_args(embed)
        assert "--runner=pooling" in args and not any(a.startswith("--task") for a in args)

    def test_kv_cache_dtype_is_rendered_when_set(self):
        cfg = parse_config(prod_xl(maxModelLen=8192, kvCacheDtype="fp8"))
        assert "--kv-cache-dtype=fp8" in vllm.vllm_args(cfg.models[3])
        assert not any(a.startswith("--kv-cache-dtype") for a in vllm.vllm_args(cfg.models[0]))

    @pytest.mark.parametrize(
        "key,value", [("toolCallParser", "internlm2"), ("quantization", "squeezellm"), ("quantization", "marlin")]
    )
    def test_values_vllm_011_no_longer_registers_are_refused(self, key, value):
        raw = copy.deepcopy(raw_config("dev"))
        raw["models"][0][key] = value
        assert f"models[0].{key}" in rejects(raw)


class TestVllmImageIsDigestPinned:
    @pytest.mark.parametrize("stack", ["Pulumi.dev.yaml", "Pulumi.prod.yaml", "Pulumi.local.yaml", SEED_FILE])
    def test_every_stack_pins_the_vllm_image_by_digest(self, stack):
        from models import read_stack_file
        from models.images import DEFAULT_IMAGES

        images = read_stack_file(ROOT / stack).get("llm-platform:images", {})
        assert "@sha256:" in images.get("vllm", DEFAULT_IMAGES["vllm"])
