"""A fully offloaded llama.cpp model whose KV cache at contextSize cannot fit next to its GGUF is refused."""

import copy

import pytest

from models import ConfigError, config_from_pulumi_values, parse_config
from models.llama_sizing import cache_type, kv_bytes, kv_cells
from models.model_shapes import Shape, gguf_shape
from tests.conftest import raw_config
from tests.llama_seed import seed_values

GIB = 1024**3


def seed(**changes_by_repo) -> dict:
    raw = copy.deepcopy(config_from_pulumi_values(seed_values()))
    for m in raw["models"]:
        for repo, changes in changes_by_repo.items():
            if m.get("ggufRepo", "").endswith(repo):
                m.update(changes)
    return raw


def lines(raw) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        parse_config(raw)
    return exc.value.lines


class TestKvNextToWeights:
    def test_qwen3_coder_30b_at_131072_is_refused_with_the_longest_context_that_fits(self):
        (line,) = lines(seed(**{"Qwen3-Coder-30B-A3B-Instruct-GGUF": {"contextSize": 131072}}))
        # 48 layers x 4 KV heads x 128 x (2 + 2) B = 96 KiB a token: 12 GiB at 131072
        assert line.startswith("models[1].contextSize: 131072 tokens need 12.00 GiB of KV cache")
        assert "leaves 3.95 GiB" in line and "Set contextSize to at most 43008" in line

    def test_the_suggested_context_and_a_quantized_cache_are_accepted(self):
        parse_config(seed(**{"Qwen3-Coder-30B-A3B-Instruct-GGUF": {"contextSize": 43008}}))
        q8 = ["--cache-type-k", "q8_0", "--cache-type-v=q8_0"]
        parse_config(seed(**{"Qwen3-Coder-30B-A3B-Instruct-GGUF": {"contextSize": 65536, "extraArgs": q8}}))

    def test_context_0_means_the_trained_length(self):
        (line,) = lines(seed(**{"Qwen3-Coder-30B-A3B-Instruct-GGUF": {"contextSize": 0}}))
        assert line.startswith("models[1].contextSize: 262144 tokens (the model trained length: contextSize 0)")

    def test_a_partially_offloaded_model_is_not_judged_on_vram(self):
        parse_config(seed(**{"Qwen3-Coder-30B-A3B-Instruct-GGUF": {"contextSize": 131072, "gpuLayers": 30}}))

    def test_the_seed_stack_as_shipped_fits_and_is_fully_checked(self):
        assert parse_config(config_from_pulumi_values(seed_values())).warnings() == []

    def test_a_declared_shape_is_used_for_a_repo_outside_the_table(self):
        shape = {"numHiddenLayers": 48, "numKeyValueHeads": 4, "headDim": 128}
        raw = seed(**{"Qwen3-Coder-30B-A3B-Instruct-GGUF": {"ggufRepo": "acme/coder-GGUF", "contextSize": 131072}})
        cfg = parse_config(raw)
        assert cfg.warnings()[0].startswith("models[1].modelShape: 'acme/coder-GGUF' is not in the KV-cache sizing")
        raw = seed(
            **{
                "Qwen3-Coder-30B-A3B-Instruct-GGUF": {
                    "ggufRepo": "acme/coder-GGUF",
                    "contextSize": 131072,
                    "modelShape": shape,
                }
            }
        )
        assert lines(raw)[0].startswith("models[1].contextSize: 131072 tokens need 12.00 GiB")


class TestKvBytes:
    def test_conversions_resolve_to_the_original_geometry(self):
        assert gguf_shape("bartowski/Meta-Llama-3.1-8B-Instruct-GGUF") == gguf_shape(
            "unsloth/Llama-3.1-8B-Instruct-GGUF"
        )
        assert gguf_shape("unsloth/GLM-4.7-Flash-GGUF").is_mla
        assert gguf_shape("acme/unknown-GGUF") is None

    def test_mla_keeps_one_latent_and_sliding_layers_their_window(self):
        glm = gguf_shape("unsloth/GLM-4.7-Flash-GGUF")
        assert kv_bytes(glm, 1024) == 47 * 576 * 2 * 1024
        assert kv_bytes(glm, 1000) == kv_bytes(glm, 1024), "llama.cpp pads the context to 256 cells"
        gemma = gguf_shape("unsloth/gemma-3-4b-it-GGUF")
        per_layer = 4 * 256 * 4
        # --parallel unset: 4 slots on one unified stream, so a sliding layer keeps 4 windows and a micro-batch
        assert kv_bytes(gemma, 32768) == per_layer * (5 * 32768 + 29 * (4 * 1024 + 512))
        # one stream per slot (--parallel 2): each keeps one window and a micro-batch
        assert kv_bytes(gemma, 32768, slots=2, unified=False) == per_layer * (5 * 32768 + 29 * 2 * (1024 + 512))

    def test_cells_as_the_real_server_reported_them(self):
        # Recorded from the pinned llama-server on the tiny Gemma-3 GGUF (window 100, 1 full + 5 sliding layers);
        # tests/consumers/test_llama_kv_consumer.py re-runs these against the server itself.
        tiny = Shape(6, 2, 32, 32768, sliding_window=100, global_layers=1)
        assert kv_cells(tiny, 8192) == (8192, 1024)
        assert kv_cells(tiny, 1000, slots=1, unified=False) == (1024, 768)
        assert kv_cells(tiny, 1000, slots=3, unified=False) == (3 * 512, 3 * 512)
        assert kv_cells(tiny, 3000, slots=3, unified=False, ubatch=256) == (3 * 1024, 3 * 512)
        assert kv_cells(tiny, 3000, swa_full=True) == (3072, 3072)

    def test_cache_types_come_from_extra_args(self):
        assert cache_type([], ("-ctk", "--cache-type-k")) == "f16"
        assert cache_type(["-ctk", "q4_0"], ("-ctk", "--cache-type-k")) == "q4_0"
        assert cache_type(["--cache-type-v=Q8_0"], ("-ctv", "--cache-type-v")) == "q8_0"
        llama = gguf_shape("bartowski/Meta-Llama-3.1-8B-Instruct-GGUF")
        assert kv_bytes(llama, 4096, "q8_0", "q8_0") == 32 * 8 * 128 * 2 * 34 / 32 * 4096


def swap_stack(models: int, exclusive: bool, context: int = 32768) -> dict:
    from scripts.rule_edits import add_llama, add_pool

    raw = copy.deepcopy(raw_config("dev"))
    add_pool(raw, name="swap")
    raw["swap"] = {"pool": "swap", "exclusive": exclusive}
    for i in range(models):
        add_llama(
            raw,
            name=f"Llama-{i}",
            placement="swap",
            ggufRepo="bartowski/Meta-Llama-3.1-8B-Instruct-GGUF",
            weightsGiB=4.9,
            contextSize=context,
        )
    return raw


class TestSwapModelsAllAtOnce:
    """exclusive: false loads every swap model at once: GGUFs, KV caches and each server's buffers share one GPU."""

    def test_three_8b_models_at_32k_do_not_fit_one_l4_together(self):
        # 4.9 GiB of GGUF + 4 GiB of KV (32 layers x 8 KV heads x 128 x 4 B x 32768) + 1 GiB each: 29.7 > 24;
        # their GGUFs alone (14.7 GiB) pass the weights rule
        (line,) = lines(swap_stack(3, exclusive=False))
        assert line.startswith("swap.exclusive: false keeps every swap model loaded at once")
        assert "need 29.70 GiB of VRAM" in line and "Llama-0 4.9 + 4.00 KV" in line
        assert "Set exclusive: true" in line

    def test_two_fit_and_exclusive_is_never_summed(self):
        parse_config(swap_stack(2, exclusive=False))  # 19.8 GiB
        parse_config(swap_stack(3, exclusive=True))  # one at a time: 9.9 GiB
        parse_config(swap_stack(3, exclusive=False, context=8192))  # 3 x (4.9 + 1 + 1) GiB
