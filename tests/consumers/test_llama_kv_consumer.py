"""Real consumer: the KV cache the platform budgets for a llama model is the one the real llama-server allocates.

models/llama_sizing.py refuses a fully offloaded model whose KV cache at contextSize cannot fit beside its GGUF.
Here the rendered llama-server args of a model with the tiny GGUF's geometry (tests/consumers/tiny_gguf.py) run
on the real server, which reports its KV buffer ("llama_kv_cache: size = ... MiB (N cells, ...)"): the bytes
must equal models.llama_sizing.kv_bytes for the same context and cache types, and --ctx-size must be the total
over the parallel slots (split into per-slot streams, not multiplied by them).
"""

import copy
import re

import pytest

from components.manifests.llamacpp import llama_server_args
from models import config_from_pulumi_values, parse_config
from models.llama_sizing import kv_bytes, llama_shape
from tests.consumers.llama_server import free_port, run_llama_server
from tests.consumers.require import llama_binary
from tests.consumers.tiny_gguf import N_EMBD, N_HEAD, N_HEAD_KV, N_LAYER, ensure_tiny_gguf
from tests.llama_seed import seed_values

pytestmark = pytest.mark.consumer

# "size = 4.00 MiB (4096 cells, 2 layers, 2/2 seqs)": cells per stream; seqs = slots / KV streams (1: unified)
KV_LINE = re.compile(r"llama_kv_cache: size =\s+([\d.]+) MiB \(\s*(\d+) cells,\s+\d+ layers,\s+\d+/(\d+) seqs")
TINY_SHAPE = {"numHiddenLayers": N_LAYER, "numKeyValueHeads": N_HEAD_KV, "headDim": N_EMBD // N_HEAD}


def tiny_model(context: int, extra: list[str], **fields):
    raw = copy.deepcopy(config_from_pulumi_values(seed_values()))
    llama = next(m for m in raw["models"] if m.get("placement") == "static")
    llama.update(ggufRepo="acme/tiny-GGUF", contextSize=context, modelShape=TINY_SHAPE, extraArgs=extra, **fields)
    cfg = parse_config(raw)
    return next(m for m in cfg.models if m.engine == "llamacpp" and m.gguf_repo == "acme/tiny-GGUF")


@pytest.mark.parametrize(
    "context,extra,fields,types",
    [
        (4096, [], {}, ("f16", "f16")),
        (8192, [], {"parallel": 2}, ("f16", "f16")),
        (2048, ["--cache-type-k", "f32", "--cache-type-v", "f32"], {}, ("f32", "f32")),
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
    mib, cells, streams = float(found.group(1)), int(found.group(2)), int(found.group(3))
    assert cells * streams == context  # the whole --ctx-size over all slots, whatever --parallel is
    assert mib * 1024**2 == kv_bytes(llama_shape(spec), context, *types)
