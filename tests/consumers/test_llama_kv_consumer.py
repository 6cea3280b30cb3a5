"""Real consumer: the KV cache the platform budgets for a llama model is the one the real llama-server allocates.

models/llama_sizing.py refuses a fully offloaded model whose KV cache at contextSize cannot fit beside its GGUF.
Here the rendered llama-server args of a model with the tiny GGUF's geometry (tests/consumers/tiny_gguf.py) run
on the real server, which reports its KV buffer ("llama_kv_cache: size = ... MiB (N cells, ...)"): the bytes
must equal models.llama_sizing.kv_bytes for the same context, cache types and slot layout, and --ctx-size must
be the total over the parallel slots (split into per-slot streams, not multiplied by them). A sliding-window model
(a tiny Gemma-3 GGUF: 5 of 6 layers attend to a window) gets two caches, whose sum must match too: on one
unified stream (--parallel unset) a sliding layer keeps a window per slot plus a micro-batch, with --parallel one
window per stream; caches are padded to 256 cells.
"""

import copy
import re

import pytest

from components.manifests.llamacpp import llama_server_args
from models import ConfigError, config_from_pulumi_values, parse_config
from models.llama_sizing import K_FLAGS, V_FLAGS, cache_type, kv_bytes, kv_cells, kv_layout, llama_shape
from tests.consumers.llama_server import LlamaServerError, free_port, run_llama_server
from tests.consumers.require import llama_binary
from tests.consumers.tiny_gguf import N_EMBD, N_HEAD, N_HEAD_KV, N_LAYER, ensure_tiny_gguf
from tests.consumers.tiny_swa_gguf import GLOBAL_LAYERS, ensure_tiny_swa_gguf
from tests.consumers.tiny_swa_gguf import HEAD_DIM as SWA_HEAD_DIM
from tests.consumers.tiny_swa_gguf import N_HEAD_KV as SWA_HEAD_KV
from tests.consumers.tiny_swa_gguf import N_LAYER as SWA_LAYERS
from tests.llama_seed import seed_values

pytestmark = pytest.mark.consumer

# "size = 4.00 MiB (4096 cells, 2 layers, 2/2 seqs)": cells per stream; seqs = slots / KV streams (1: unified)
KV_LINE = re.compile(r"llama_kv_cache: size =\s+([\d.]+) MiB \(\s*(\d+) cells,\s+(\d+) layers,\s+\d+/(\d+) seqs")
TINY_SHAPE = {"numHiddenLayers": N_LAYER, "numKeyValueHeads": N_HEAD_KV, "headDim": N_EMBD // N_HEAD}
WINDOW = 100  # not a multiple of 256: the padding shows
SWA_SHAPE = {
    "numHiddenLayers": SWA_LAYERS,
    "numKeyValueHeads": SWA_HEAD_KV,
    "headDim": SWA_HEAD_DIM,
    "slidingWindow": WINDOW,
    "globalLayers": GLOBAL_LAYERS,
}


def tiny_model(context: int, extra: list[str], shape: dict = TINY_SHAPE, **fields):
    raw = copy.deepcopy(config_from_pulumi_values(seed_values()))
    llama = next(m for m in raw["models"] if m.get("placement") == "static")
    llama.update(ggufRepo="acme/tiny-GGUF", contextSize=context, modelShape=shape, extraArgs=extra, **fields)
    cfg = parse_config(raw)
    return next(m for m in cfg.models if m.engine == "llamacpp" and m.gguf_repo == "acme/tiny-GGUF")


@pytest.mark.parametrize(
    "context,extra,fields,types",
    [
        (4096, [], {}, ("f16", "f16")),
        (8192, [], {"parallel": 2}, ("f16", "f16")),
        (2048, ["--cache-type-k", "f32", "--cache-type-v", "f32"], {}, ("f32", "f32")),
        (4096, ["--cache-type-k", "q8_0"], {"flashAttn": "off"}, ("q8_0", "f16")),
        (1000, [], {"parallel": 3}, ("f16", "f16")),
    ],
)
def test_the_real_server_allocates_the_budgeted_kv_cache(tmp_path, context, extra, fields, types):
    binary = llama_binary()
    gguf = ensure_tiny_gguf(tmp_path / "tiny.gguf")
    spec = tiny_model(context, extra, **fields)
    args = llama_server_args(spec, str(gguf), port=str(free_port()), host="127.0.0.1")
    assert ["--ctx-size", str(context)] == args[args.index("--ctx-size") : args.index("--ctx-size") + 2]
    with run_llama_server([*args, "-lv", "4"], bin_path=binary) as server:
        pass
    found = KV_LINE.search(server.log())
    assert found, server.log_tail()
    mib, cells, streams = float(found.group(1)), int(found.group(2)), int(found.group(4))
    assert cells * streams >= context  # the whole --ctx-size over all slots, whatever --parallel is
    assert abs(mib - kv_bytes(llama_shape(spec), context, *types, **kv_layout(spec)) / 1024**2) < 0.006  # 2 decimals


@pytest.mark.parametrize(
    "context,extra,fields",
    [
        (8192, [], {}),  # --parallel unset: 4 slots on one unified stream
        (8192, [], {"parallel": 2}),  # one stream per slot
        (1000, [], {"parallel": 3}),
        (3000, ["--ubatch-size", "256"], {"parallel": 3, "batchSize": 256}),
        (3000, ["--swa-full"], {}),
        (8192, ["--cache-type-k", "q8_0", "--cache-type-v", "q8_0"], {"parallel": 1, "flashAttn": "on"}),
        (4096, ["--cache-type-k", "q4_0"], {"flashAttn": "off"}),  # a quantized K alone needs no flash attention
    ],
)
def test_a_sliding_window_model_gets_the_budgeted_caches(tmp_path, context, extra, fields):
    binary = llama_binary()
    gguf = ensure_tiny_swa_gguf(tmp_path / "tiny-swa.gguf", WINDOW)
    spec = tiny_model(context, extra, SWA_SHAPE, **fields)
    args = llama_server_args(spec, str(gguf), port=str(free_port()), host="127.0.0.1")
    with run_llama_server([*args, "-lv", "4"], bin_path=binary) as server:
        pass
    caches = [(float(mib), int(c) * int(n), int(layers)) for mib, c, layers, n in KV_LINE.findall(server.log())]
    assert len(caches) == 2, server.log_tail()  # the full-context layers' cache first, then the sliding-window one
    (full_mib, full_cells, full_layers), (swa_mib, swa_cells, swa_layers) = caches
    shape, layout = llama_shape(spec), kv_layout(spec)
    assert (full_layers, swa_layers) == (shape.full_layers, shape.sliding_layers)
    assert (full_cells, swa_cells) == kv_cells(shape, context, **layout)
    types = (cache_type(extra, K_FLAGS), cache_type(extra, V_FLAGS))
    # the log prints MiB to two decimals
    assert abs(full_mib + swa_mib - kv_bytes(shape, context, *types, **layout) / 1024**2) < 0.011


def test_a_quantized_cache_on_a_head_size_its_blocks_do_not_divide_is_refused_as_the_server_refuses_it(tmp_path):
    """The tiny llama's heads are 16 wide; q8_0 packs 32 values a block (as Phi-2's 80-wide heads would fail)."""
    extra = ["--cache-type-k", "q8_0"]
    with pytest.raises(ConfigError, match="head size 16 is not a multiple of 32"):
        tiny_model(4096, extra, flashAttn="on")
    tiny_model(4096, extra, flashAttn="off")  # accepted: without flash attention the server takes it (case above)
    ok = tiny_model(4096, [], flashAttn="on")
    args = llama_server_args(ok, str(ensure_tiny_gguf(tmp_path / "tiny.gguf")), port=str(free_port()), host="127.0.0.1")
    with (
        pytest.raises(LlamaServerError, match="K cache type q8_0 with block size 32 does not divide n_embd_head_k=16"),
        run_llama_server([*args, *extra], bin_path=llama_binary()),
    ):
        pass


def test_a_quantized_v_cache_without_flash_attention_is_refused_as_the_server_refuses_it(tmp_path):
    """The config rule (models/llamacpp.py) matches the real server: it exits at load on this very config."""
    extra = ["--cache-type-v", "q8_0"]
    with pytest.raises(ConfigError, match="flashAttn: is off, and extraArgs set --cache-type-v q8_0"):
        tiny_model(4096, extra, SWA_SHAPE, flashAttn="off")
    spec = tiny_model(4096, extra, SWA_SHAPE, flashAttn="on")
    gguf = ensure_tiny_swa_gguf(tmp_path / "tiny-swa.gguf", WINDOW)
    args = llama_server_args(spec, str(gguf), port=str(free_port()), host="127.0.0.1")
    args[args.index("--flash-attn") + 1] = "off"  # what the refused config would have rendered
    with (
        pytest.raises(LlamaServerError, match="quantized V cache requires flash_attn"),
        run_llama_server(args, bin_path=llama_binary()),
    ):
        pass
