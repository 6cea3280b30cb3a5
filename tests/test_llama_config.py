"""llama.cpp config rules at load time, without Pulumi: one class per rule, asserting the key path and the fix."""

import pytest
from pydantic import ValidationError

from models import ConfigError, parse_config
from models.llama_rules import gpu_demands
from models.llamacpp import LlamaCppModelSpec
from tests.llama_seed import seed_raw


@pytest.fixture
def seed():
    return seed_raw()


def reject(raw) -> str:
    with pytest.raises(ConfigError) as exc:
        parse_config(raw)
    return str(exc.value)


def vllm_model(pool: str, **extra) -> dict:
    return {
        "name": "coder-chat",
        "engine": "vllm",
        "pool": pool,
        "replicas": 1,
        "weightsGiB": 5.6,
        "modelName": "Qwen/Qwen2.5-Coder-7B-Instruct-AWQ",
        "quantization": "awq_marlin",
        "inputCostPerToken": 5e-7,
        "outputCostPerToken": 1.5e-6,
        **extra,
    }


class TestSeedStackIsValid:
    def test_parses_into_the_union(self, seed):
        cfg = parse_config(seed)
        assert all(isinstance(m, LlamaCppModelSpec) for m in cfg.models)
        assert [(m.name, m.placement, m.pool) for m in cfg.models] == [
            ("GLM-4.7-Flash", "static", "static-a"),
            ("Qwen3-Coder-30B-A3B", "static", "static-b"),
            ("DeepSeek-R1-Distill-Qwen-14B", "swap", None),
            ("Llama-3.1-8B-Instruct", "swap", None),
        ]
        assert cfg.swap.pool == "swap" and cfg.swap.exclusive and cfg.swap.health_check_timeout == 300
        assert [p.role for p in cfg.node_pools] == ["static-a", "static-b", "swap"]
        with pytest.raises(ValidationError):
            cfg.models[0].context_size = 1  # type: ignore[misc]

    def test_images_pinned_to_one_build(self, seed):
        images = parse_config(seed).images
        assert images.llamacpp.endswith(":server-cuda-b10775")
        assert images.llama_swap.endswith("-cuda-b10775-non-root")
        assert images.gguf_fetch.endswith(":full-b10775"), "the plain CPU full image: fetching needs no GPU"

    def test_mixes_with_vllm_models(self, seed):
        seed["nodePools"].append(
            {
                "name": "l4-coder",
                "machineType": "g2-standard-8",
                "maxNodes": 1,
                "role": "coder",
                "zones": ["us-central1-a"],
            }
        )
        seed["models"].append(vllm_model("l4-coder"))
        assert [m.engine for m in parse_config(seed).models] == ["llamacpp"] * 4 + ["vllm"]


class TestTransparentNames:
    @pytest.mark.parametrize("name", ["GLM 4.7", "-GLM", "a/b", "GLM:4.7", "x" * 65, ""])
    def test_rejects_names_unsafe_for_llama_swap_and_litellm(self, seed, name):
        seed["models"][0]["name"] = name
        assert "models[0].name: " in reject(seed)

    @pytest.mark.parametrize("name", ["GLM-4.7-Flash", "Qwen3_Coder", "x" * 64, "7b"])
    def test_accepts_human_readable_names(self, seed, name):
        seed["models"][0]["name"] = name
        assert parse_config(seed).models[0].served_name == name


class TestOneBackendPerName:
    def test_same_name_static_and_swap(self, seed):
        seed["models"][2]["name"] = "GLM-4.7-Flash"
        assert "models[0].name, models[2].name: 'GLM-4.7-Flash' is used more than once" in reject(seed)

    def test_names_differing_only_in_case(self, seed):
        seed["models"][3]["name"] = "glm-4.7-flash"
        msg = reject(seed)
        assert "models[3].name: 'glm-4.7-flash' differs only in case from models[0].name 'GLM-4.7-Flash'" in msg
        assert "exactly one backend" in msg

    def test_llama_name_equal_to_a_vllm_name(self, seed):
        seed["nodePools"].append({"name": "l4-coder", "machineType": "g2-standard-8", "maxNodes": 1, "role": "coder"})
        seed["models"][0]["name"] = "Coder-Chat"
        seed["models"].append(vllm_model("l4-coder", name="coder-chat"))
        assert "models[4].name: 'coder-chat' differs only in case from models[0].name 'Coder-Chat'" in reject(seed)


class TestStaticPlacement:
    def test_static_needs_a_pool(self, seed):
        del seed["models"][0]["pool"]
        assert "models[0].pool: a static llama model is pinned to a role-labelled node pool" in reject(seed)

    def test_pool_must_exist(self, seed):
        seed["models"][0]["pool"] = "static-c"
        assert "models[0].pool: 'static-c' is not a declared node pool (known: static-a, static-b, swap)" in reject(
            seed
        )

    def test_pool_must_have_a_role(self, seed):
        del seed["nodePools"][0]["role"]
        assert "nodePools[0].role: is required" in reject(seed)

    def test_two_static_models_cannot_share_a_one_gpu_pool(self, seed):
        seed["models"][1]["pool"] = "static-a"
        msg = reject(seed)
        assert (
            "models[1].pool: pool 'static-a' (role static-a, 1 GPU per node) is already pinned by models[0] "
            "'GLM-4.7-Flash'" in msg
        )
        assert "own pool with its own role, or use placement: swap" in msg

    def test_not_even_on_a_bigger_pool(self, seed):
        # the stable Service llama-<role> names one model: a second on the same role has no name of its own
        seed["nodePools"][0].update(machineType="g2-standard-24", maxNodes=2)
        seed["models"][1]["pool"] = "static-a"
        assert "is already pinned by models[0]" in reject(seed)

    def test_at_most_one_replica(self, seed):
        seed["models"][0]["replicas"] = 2
        assert "models[0].replicas: 2 is more than 1" in reject(seed)


class TestSwapSection:
    def test_swap_model_without_swap_section(self, seed):
        del seed["swap"]
        msg = reject(seed)
        assert "models[2].placement: 'DeepSeek-R1-Distill-Qwen-14B' is a swap model but no swap: section" in msg
        assert "models[3].placement:" in msg

    def test_swap_section_without_swap_models(self, seed):
        seed["models"] = seed["models"][:2]
        assert "swap: declares a llama-swap pool but no model has placement: swap" in reject(seed)

    def test_swap_pool_must_exist(self, seed):
        seed["swap"]["pool"] = "nope"
        assert "swap.pool: 'nope' is not a declared node pool (known: static-a, static-b, swap)" in reject(seed)

    @pytest.mark.parametrize(
        "key,value,needle",
        [
            (
                "pool",
                "swap",
                "models[2].pool: is set on swap model 'DeepSeek-R1-Distill-Qwen-14B'; swap models run on swap.pool",
            ),
            ("cacheGiB", 20, "models[2].cacheGiB: is set on swap model"),
            ("replicas", 1, "models[2].replicas: is set on swap model"),
        ],
    )
    def test_per_model_fields_belong_to_the_pool(self, seed, key, value, needle):
        seed["models"][2][key] = value
        assert needle in reject(seed)

    def test_health_check_timeout_minimum(self, seed):
        seed["swap"]["healthCheckTimeout"] = 10
        assert "swap.healthCheckTimeout: input should be greater than or equal to 15" in reject(seed)

    def test_gateway_must_outwait_a_swap_in(self, seed):
        seed["gateway"]["requestTimeout"] = 300
        msg = reject(seed)
        assert "swap.healthCheckTimeout: 300s is not below gateway.requestTimeout (300s)" in msg

    def test_cache_holds_every_swap_gguf(self, seed):
        seed["swap"]["cacheGiB"] = 12
        assert (
            "swap.cacheGiB: 12 is smaller than the 13.0 GiB of swap-model GGUFs; set cacheGiB to at least 13"
            in reject(seed)
        )

    def test_default_cache_holds_every_swap_gguf(self, seed):
        from models.llama_rules import swap_cache_gib, swap_models

        del seed["swap"]["cacheGiB"]
        cfg = parse_config(seed)
        assert swap_cache_gib(cfg) >= sum(m.weights_gib for m in swap_models(cfg))


class TestGpuBudgetCountsLlama:
    def test_demands(self, seed):
        assert gpu_demands(parse_config(seed)) == [
            ("static-a", "GLM-4.7-Flash", 1, 1),
            ("static-b", "Qwen3-Coder-30B-A3B", 1, 1),
            ("swap", "llama-swap", 1, 1),
        ]

    def test_static_model_and_swap_pool_on_one_gpu(self, seed):
        seed["swap"]["pool"] = "static-a"
        msg = reject(seed)
        assert "nodePools[0].maxNodes: pool 'static-a' would need 2 GPUs (GLM-4.7-Flash=1x1, llama-swap=1x1" in msg

    def test_a_second_node_fits_both(self, seed):
        seed["swap"]["pool"] = "static-a"
        seed["nodePools"][0]["maxNodes"] = 2
        assert parse_config(seed).swap.pool == "static-a"

    def test_vllm_and_static_llama_on_one_gpu(self, seed):
        seed["models"].append(vllm_model("static-a"))
        assert "pool 'static-a' would need 2 GPUs (GLM-4.7-Flash=1x1, coder-chat=1x1" in reject(seed)

    def test_parked_models_do_not_count(self, seed):
        seed["swap"]["pool"] = "static-a"
        seed["models"][0]["replicas"] = 0
        assert parse_config(seed).swap.pool == "static-a"

    def test_scale_to_zero_still_budgets_the_declared_plan(self, seed):
        seed["swap"]["pool"] = "static-a"
        seed["scaleToZero"] = True
        assert "would need 2 GPUs" in reject(seed)

    def test_effective_demand_follows_scale_to_zero(self, seed):
        seed["scaleToZero"] = True
        assert {r for _, _, r, _ in gpu_demands(parse_config(seed), effective=True)} == {0}


class TestGgufSizing:
    def test_gguf_over_host_ram(self, seed):
        seed["nodePools"][0]["machineType"] = "g2-standard-4"  # 16 GB host
        msg = reject(seed)
        assert "models[0].weightsGiB: 17.1 GiB of GGUF ('GLM-4.7-Flash') exceeds the" in msg
        assert "g2-standard-4 (pool 'static-a')" in msg and "Use a bigger machine type or a smaller quant" in msg

    def test_full_offload_over_vram(self, seed):
        seed["nodePools"][0]["machineType"] = "g2-standard-16"
        seed["models"][0].update(weightsGiB=21.5, cacheGiB=30)
        msg = reject(seed)
        assert "models[0].weightsGiB: 21.5 GiB of GGUF ('GLM-4.7-Flash') does not fit the 21.35 GiB of VRAM" in msg
        assert "set gpuLayers to a layer count" in msg

    def test_partial_offload_may_exceed_vram(self, seed):
        seed["nodePools"][0]["machineType"] = "g2-standard-16"
        seed["models"][0].update(weightsGiB=30, cacheGiB=40, gpuLayers=30)
        assert parse_config(seed).models[0].gpu_layers == 30

    def test_partial_offload_still_needs_host_ram(self, seed):
        seed["models"][0].update(weightsGiB=30, cacheGiB=40, gpuLayers=30)  # g2-standard-8: ~28 GiB
        assert "models[0].weightsGiB: 30 GiB of GGUF" in reject(seed)

    def test_swap_models_sized_on_the_swap_pool(self, seed):
        seed["nodePools"][2]["machineType"] = "g2-standard-4"
        assert "models[2].weightsGiB: 8.4 GiB" not in reject_or_empty(seed)
        seed["models"][2]["weightsGiB"] = 14
        seed["swap"]["cacheGiB"] = 40
        assert "models[2].weightsGiB: 14 GiB of GGUF ('DeepSeek-R1-Distill-Qwen-14B') exceeds" in reject(seed)

    def test_non_exclusive_swap_must_fit_together(self, seed):
        seed["swap"]["exclusive"] = False
        assert parse_config(seed).swap.exclusive is False  # 8.4 + 4.6 GiB fit one L4
        seed["models"][3].update(weightsGiB=14)
        seed["swap"]["cacheGiB"] = 40
        msg = reject(seed)
        assert "swap.exclusive: 22.4 GiB of GGUF (all swap models at once, exclusive: false) does not fit" in msg

    def test_static_cache_holds_the_gguf(self, seed):
        seed["models"][0]["cacheGiB"] = 10
        assert "models[0].cacheGiB: 10 is smaller than weightsGiB (17.1)" in reject(seed)


def reject_or_empty(raw) -> str:
    try:
        parse_config(raw)
        return ""
    except ConfigError as exc:
        return str(exc)


class TestGgufSource:
    def test_needs_quant_or_file(self, seed):
        del seed["models"][0]["quant"]
        assert "models[0].quant: is required without ggufFile" in reject(seed)

    def test_file_alone_is_enough(self, seed):
        del seed["models"][0]["quant"]
        seed["models"][0]["ggufFile"] = "GLM-4.7-Flash-Q4_K_M.gguf"
        assert parse_config(seed).models[0].gguf_file == "GLM-4.7-Flash-Q4_K_M.gguf"

    def test_file_must_match_quant(self, seed):
        seed["models"][0]["ggufFile"] = "GLM-4.7-Flash-Q8_0.gguf"
        assert "models[0].ggufFile: 'GLM-4.7-Flash-Q8_0.gguf' does not match quant 'Q4_K_M'" in reject(seed)

    @pytest.mark.parametrize(
        "key,value",
        [
            ("ggufRepo", "GLM-4.7-Flash-GGUF"),
            ("ggufRepo", "a/b/c"),
            ("ggufFile", "../x.gguf"),
            ("ggufFile", "/abs.gguf"),
            ("ggufFile", "x.bin"),
            ("quant", "Q4 K M"),
        ],
    )
    def test_rejects_bad_sources(self, seed, key, value):
        seed["models"][0][key] = value
        assert f"models[0].{key}: " in reject(seed)


class TestExtraArgs:
    @pytest.mark.parametrize(
        "flag,owner",
        [
            ("--port=9000", "the platform"),
            ("-c", "contextSize"),
            ("--flash-attn", "flashAttn"),
            ("--api-key", "LLAMA_API_KEY"),
            ("-hf", "ggufRepo"),
            ("--alias", "name"),
        ],
    )
    def test_cannot_set_owned_flags(self, seed, flag, owner):
        seed["models"][0]["extraArgs"] = [flag]
        msg = reject(seed)
        assert f"models[0].extraArgs: sets {flag.split('=')[0]}, which comes from" in msg and owner in msg

    def test_free_flags_pass(self, seed):
        seed["models"][0]["extraArgs"] = ["--temp", "0.7", "--cache-type-k", "q8_0"]
        assert parse_config(seed).models[0].extra_args[-1] == "q8_0"

    def test_gpu_layers_from_pulumi_config_set(self, seed):
        seed["models"][0]["gpuLayers"] = "30"
        assert parse_config(seed).models[0].gpu_layers == 30

    @pytest.mark.parametrize("value", [-1, 1000, "auto", "half", True, "-3"])
    def test_gpu_layers_domain(self, seed, value):
        seed["models"][0]["gpuLayers"] = value
        assert reject(seed).endswith(
            f"models[0].gpuLayers: {value!r} is not a GPU layer count; use all (every "
            "layer on the GPU, the default) or a count from 0 to 999 to keep the other "
            "layers in host RAM"
        )


class TestAmdPools:
    def amd(self, seed, **extra):
        seed["nodePools"][0].update(gpuResource="amd.com/gpu", **extra)
        return seed

    def test_gke_cannot_create_an_amd_pool(self, seed):
        msg = reject(self.amd(seed))
        assert "nodePools[0].managed: GKE cannot create a pool with gpuResource amd.com/gpu" in msg
        assert "set managed: false" in msg

    def test_unmanaged_pool_needs_vram(self, seed):
        assert "nodePools[0].vramGiB: is required when managed: false" in reject(self.amd(seed, managed=False))

    def test_managed_pool_has_no_vram_override(self, seed):
        seed["nodePools"][0]["vramGiB"] = 40
        assert "nodePools[0].vramGiB: a managed pool's GPU is an NVIDIA L4" in reject(seed)

    def test_unmanaged_amd_pool(self, seed):
        cfg = parse_config(self.amd(seed, managed=False, vramGiB=24))
        assert cfg.node_pools[0].gpu_vram_gib == 24 and not cfg.node_pools[0].managed

    def test_vram_check_uses_the_declared_gpu(self, seed):
        self.amd(seed, managed=False, vramGiB=16)
        assert "does not fit the 15 GiB of VRAM left on one 16 GiB GPU of pool 'static-a'" in reject(seed)


class TestLlamaImagePins:
    @pytest.mark.parametrize(
        "key,ref",
        [
            ("llamacpp", "ghcr.io/ggml-org/llama.cpp"),
            ("llamaSwap", "ghcr.io/mostlygeek/llama-swap:latest"),
            ("ggufFetch", "ghcr.io/ggml-org/llama.cpp:latest"),
        ],
    )
    def test_unpinned_rejected(self, seed, key, ref):
        seed["images"] = {key: ref}
        assert f"images.{key}:" in reject(seed)

    def test_static_and_swap_builds_must_match(self, seed):
        seed["images"] = {"llamaSwap": "ghcr.io/mostlygeek/llama-swap:v199-cuda-b8702"}
        msg = reject(seed)
        assert (
            "images.llamaSwap: 'ghcr.io/mostlygeek/llama-swap:v199-cuda-b8702' bundles llama.cpp b8702 but "
            "images.llamacpp is b10775" in msg
        )

    def test_matching_override_and_digests_pass(self, seed):
        seed["images"] = {
            "llamacpp": "ghcr.io/ggml-org/llama.cpp:server-cuda-b8702",
            "llamaSwap": "ghcr.io/mostlygeek/llama-swap:v199-cuda-b8702",
            "llamaSwapRocm": "ghcr.io/mostlygeek/llama-swap@sha256:" + "0" * 64,
        }
        assert parse_config(seed).images.llama_swap.endswith("b8702")
