"""The vLLM sizing rules follow vLLM 0.11: the utilisation cap, the model's positions, sliding-window and MLA KV
caches, and the shape table's rows."""

import copy

import pytest

from models import ConfigError, parse_config
from models.model_shapes import SHAPES, known_shape
from models.vllm_sizing import BLOCK_TOKENS, GIB, fit, layer_bytes_per_token, sliding_bytes
from tests.conftest import raw_config


def dev_model(pool_machine: str = "g2-standard-8", **changes):
    raw = copy.deepcopy(raw_config("dev"))
    raw["nodePools"][0]["machineType"] = pool_machine
    chat = raw["models"][0]
    for k in ("quantization", "maxModelLen"):
        chat.pop(k, None)
    chat.update(changes)
    return raw


def rejects(raw) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        parse_config(raw)
    return exc.value.lines


class TestUtilisationCap:
    def test_above_095_is_refused_with_the_key(self):
        (line,) = rejects(
            dev_model(modelName="Qwen/Qwen2.5-Coder-7B-Instruct-AWQ", maxModelLen=8192, gpuMemoryUtilization=0.97)
        )
        assert line.startswith("models[0].gpuMemoryUtilization: 0.97 is above 0.95")
        assert "CUDA graphs" in line

    def test_095_is_accepted(self):
        parse_config(
            dev_model(modelName="Qwen/Qwen2.5-Coder-7B-Instruct-AWQ", maxModelLen=8192, gpuMemoryUtilization=0.95)
        )


class TestContextWithinPositions:
    def test_qwen_coder_7b_at_65536_without_rope_scaling_is_refused(self):
        lines = rejects(dev_model(modelName="Qwen/Qwen2.5-Coder-7B-Instruct-AWQ", maxModelLen=65536))
        assert lines == [ln for ln in lines if ln.startswith("models[0].maxModelLen: 65536 is above the 32768")]
        assert "--rope-scaling=" in lines[0]

    def test_rope_scaling_in_extra_args_lifts_the_position_limit(self):
        scaling = '--rope-scaling={"rope_type":"yarn","factor":2.0,"original_max_position_embeddings":32768}'
        parse_config(dev_model(modelName="Qwen/Qwen2.5-Coder-7B-Instruct-AWQ", maxModelLen=65536, extraArgs=[scaling]))

    def test_a_declared_shape_limits_positions_too(self):
        shape = {"numHiddenLayers": 28, "numKeyValueHeads": 4, "headDim": 128, "maxPositionEmbeddings": 4096}
        (line,) = rejects(dev_model(modelName="acme/x-7b", modelShape=shape, maxModelLen=8192))
        assert line.startswith("models[0].maxModelLen: 8192 is above the 4096 positions of 'acme/x-7b'")


class TestSlidingWindow:
    def test_gemma3_4b_runs_its_full_context_on_one_l4(self):
        # bf16 4B: 8.6 GiB. 5 global layers x 2 x 4 x 256 x 2 B = 20 KiB a token: 2.5 GiB at 131072, plus
        # 29 sliding layers x (1024 - 1 + 2048 tokens + a block)
        cfg = parse_config(dev_model(modelName="google/gemma-3-4b-it", weightsGiB=8.6, cacheGiB=20))
        assert cfg.models[0].max_model_len is None

    def test_the_same_model_without_sliding_window_would_be_refused(self):
        flat = {"numHiddenLayers": 34, "numKeyValueHeads": 4, "headDim": 256, "maxPositionEmbeddings": 131072}
        lines = rejects(dev_model(modelName="acme/gemma-like", weightsGiB=8.6, cacheGiB=20, modelShape=flat))
        assert lines[0].startswith("models[0].maxModelLen: is unset, so vLLM takes the model's full 131072")

    def test_a_declared_sliding_window_is_used(self):
        shape = {
            "numHiddenLayers": 34,
            "numKeyValueHeads": 4,
            "headDim": 256,
            "maxPositionEmbeddings": 131072,
            "slidingWindow": 1024,
            "globalLayers": 5,
        }
        parse_config(dev_model(modelName="acme/gemma-like", weightsGiB=8.6, cacheGiB=20, modelShape=shape))

    def test_sliding_window_needs_its_global_layer_count(self):
        shape = {"numHiddenLayers": 34, "numKeyValueHeads": 4, "headDim": 256, "slidingWindow": 1024}
        lines = rejects(dev_model(modelName="acme/g", maxModelLen=8192, modelShape=shape))
        assert lines[0].startswith("models[0].modelShape.globalLayers: is required with slidingWindow")

    def test_global_layers_cannot_exceed_layers(self):
        shape = {"numHiddenLayers": 4, "numKeyValueHeads": 4, "headDim": 256, "slidingWindow": 8, "globalLayers": 5}
        lines = rejects(dev_model(modelName="acme/g", maxModelLen=8192, modelShape=shape))
        assert lines[0].startswith("models[0].modelShape.globalLayers: 5 is more than numHiddenLayers (4)")

    def test_sliding_layers_hold_window_plus_a_batch_and_one_block(self):
        g = known_shape("google/gemma-3-4b-it")
        per_layer = layer_bytes_per_token(g, 2, 1)
        assert per_layer == 2 * 4 * 256 * 2
        # min(1024 - 1 + 2048, 131072) = 3071 tokens -> 192 blocks, + 1
        assert sliding_bytes(g, per_layer, 131072, 2048) == 29 * 193 * BLOCK_TOKENS * per_layer
        # a sequence shorter than the window keeps only itself
        assert sliding_bytes(g, per_layer, 512, 2048) == 29 * 33 * BLOCK_TOKENS * per_layer


class TestMla:
    def test_mla_caches_one_latent_per_layer_replicated_on_every_rank(self):
        ds = known_shape("deepseek-ai/DeepSeek-V2-Lite-Chat")
        assert ds.is_mla and ds.head_dim == 512 + 64
        assert layer_bytes_per_token(ds, 2, 1) == 576 * 2
        assert layer_bytes_per_token(ds, 2, 2) == 2 * 576 * 2
        f = fit(ds, budget_gib=2 * 22.35 * 0.9, weights_gib=29.3, tp=2, max_model_len=32768, kv_bytes=2)
        assert f.kv_gib * GIB == 32768 * 27 * 2 * 576 * 2

    def test_deepseek_v2_lite_runs_on_two_l4s_at_32768(self):
        parse_config(
            dev_model(
                "g2-standard-24",
                modelName="deepseek-ai/DeepSeek-V2-Lite-Chat",
                weightsGiB=29.3,
                cacheGiB=60,
                maxModelLen=32768,
                tensorParallelSize=2,
            )
        )

    def test_a_declared_mla_shape_needs_no_kv_heads(self):
        shape = {"numHiddenLayers": 27, "kvLoraRank": 512, "qkRopeHeadDim": 64, "maxPositionEmbeddings": 163840}
        parse_config(
            dev_model(
                "g2-standard-24",
                modelName="acme/mla",
                weightsGiB=29.3,
                cacheGiB=60,
                maxModelLen=32768,
                tensorParallelSize=2,
                modelShape=shape,
            )
        )


class TestShapeTable:
    @pytest.mark.parametrize(
        "name",
        [
            "meta-llama/Llama-3.1-8B-Instruct",
            "meta-llama/Llama-3.2-1B-Instruct",
            "mistralai/Mistral-Nemo-Instruct-2407",
            "google/gemma-2-9b-it",
            "microsoft/Phi-3.5-mini-instruct",
            "microsoft/phi-4",
            "Qwen/Qwen3-8B-AWQ",
            "Qwen/Qwen2.5-72B-Instruct-AWQ",
            "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B",
            "THUDM/glm-4-9b-chat-hf",
            "BAAI/bge-large-en-v1.5",
            "nomic-ai/nomic-embed-text-v1.5",
            "intfloat/e5-mistral-7b-instruct",
        ],
    )
    def test_hub_ids_people_deploy_resolve(self, name):
        assert known_shape(name) is not None

    def test_every_row_is_a_plausible_geometry(self):
        for name, s in SHAPES.items():
            assert s.max_position >= 512, name
            if s.encoder_only:
                continue
            assert s.layers and s.kv_heads and s.head_dim, name
            assert s.head_dim in (64, 96, 128, 256, 576), name
            assert not s.sliding_window or 0 < s.global_layers < s.layers, name

    def test_llama_31_8b_at_its_full_context_is_refused_and_at_32768_fits(self):
        # 32 x 2 x 8 x 128 x 2 B = 128 KiB a token: 16 GiB at 131072 does not fit next to 15 GiB of bf16 weights
        lines = rejects(dev_model(modelName="meta-llama/Llama-3.1-8B-Instruct", weightsGiB=15, cacheGiB=30))
        assert lines[0].startswith("models[0].maxModelLen: is unset, so vLLM takes the model's full 131072")
        parse_config(
            dev_model(modelName="meta-llama/Llama-3.1-8B-Instruct", weightsGiB=15, cacheGiB=30, maxModelLen=16384)
        )


class TestWarningsReachTheUser:
    def test_an_unchecked_model_is_a_stack_output_and_a_summary_line_not_a_failure(self, tmp_path):
        from offline.report import summary
        from tests.conftest import plan_for

        raw = dev_model(modelName="acme/coder-7b", maxModelLen=8192)
        plan = plan_for(raw)
        (warning,) = plan.outputs["configWarnings"]
        assert warning.startswith("models[0].modelShape: 'acme/coder-7b' is not in the KV-cache sizing table")
        assert f"warning: {warning}" in summary(plan, tmp_path).splitlines()
        assert "configWarnings" not in plan_for(raw_config("dev")).outputs
