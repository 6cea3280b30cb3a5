"""The pure vLLM builders: args and pod spec from a spec, no Pulumi engine involved."""

from components.manifests import vllm
from models import parse_config


def spec(dev_raw, **changes):
    dev_raw["models"][0].update(changes)
    return parse_config(dev_raw).models[0]


class TestVllmArgs:
    def test_dev_chat_args(self, dev_raw):
        args = vllm.vllm_args(spec(dev_raw))
        assert args[0] == "Qwen/Qwen2.5-Coder-7B-Instruct-AWQ"
        assert "--served-model-name=qwen2.5-coder-7b-instruct" in args
        assert "--quantization=awq_marlin" in args
        assert "--max-model-len=16384" in args
        assert "--gpu-memory-utilization=0.9" in args
        assert "--enable-prefix-caching" in args
        assert not any(a.startswith("--api-key") for a in args), "the key comes from VLLM_API_KEY, never args"

    def test_unset_fields_leave_vllm_defaults(self, dev_raw):
        args = vllm.vllm_args(spec(dev_raw))
        for flag in (
            "--max-num-seqs",
            "--enable-chunked-prefill",
            "--no-enable-chunked-prefill",
            "--tool-call-parser",
            "--reasoning-parser",
            "--chat-template",
            "--cpu-offload-gb",
        ):
            assert not any(a.startswith(flag) for a in args), flag

    def test_every_crd_field_maps_to_a_flag(self, dev_raw):
        args = vllm.vllm_args(
            spec(
                dev_raw,
                enableChunkedPrefill=False,
                maxNumBatchedTokens=4096,
                maxNumSeqs=16,
                dtype="float16",
                disableCustomAllReduce=True,
                cpuOffloadGB=2,
                toolCallParser="hermes",
                enableAutoToolChoice=True,
                reasoningParser="deepseek_r1",
                revision="abc123",
                chatTemplate="{{ messages }}",
                extraArgs=["--seed=7"],
            )
        )
        for expected in (
            "--no-enable-chunked-prefill",
            "--max-num-batched-tokens=4096",
            "--max-num-seqs=16",
            "--dtype=float16",
            "--disable-custom-all-reduce",
            "--cpu-offload-gb=2",
            "--tool-call-parser=hermes",
            "--enable-auto-tool-choice",
            "--reasoning-parser=deepseek_r1",
            "--revision=abc123",
            f"--chat-template={vllm.TEMPLATE_MOUNT}/{vllm.TEMPLATE_FILE}",
        ):
            assert expected in args
        assert args[-1] == "--seed=7", "extraArgs come last so they can override"

    def test_extra_args_cannot_steal_owned_flags(self, dev_raw):
        import pytest

        from models import ConfigError

        dev_raw["models"][0]["extraArgs"] = ["--port=9000"]
        with pytest.raises(ConfigError, match=r"models\[0\].extraArgs: sets --port"):
            parse_config(dev_raw)


class TestPodResources:
    def test_memory_fits_node_and_weights(self, dev_raw):
        cfg = parse_config(dev_raw)
        m, pool = cfg.models[0], cfg.node_pools[0]
        res = vllm.pod_resources(m, pool.shape, pool.gpu_resource)
        req = int(res["requests"]["memory"].removesuffix("Gi"))
        lim = int(res["limits"]["memory"].removesuffix("Gi"))
        assert m.weights_gib < req <= lim < pool.shape.allocatable_ram_gib
        assert res["limits"]["nvidia.com/gpu"] == res["requests"]["nvidia.com/gpu"] == "1"
