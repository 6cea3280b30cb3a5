"""Will llama-server load? A fully offloaded GGUF plus its KV cache at contextSize must fit one GPU.

The rendered args always set --ctx-size and --n-gpu-layers, so llama.cpp's --fit (on by default from the pinned
build on, which only adjusts *unset* arguments) never shrinks the context or moves layers to the CPU: a KV cache
that does not fit next to the weights fails the load with a CUDA out-of-memory error and the pod crash-loops.
llama.cpp keeps K and V for every token of the context (--ctx-size is the total over all --parallel slots) in
the cache types of --cache-type-k/-v (f16 by default); sliding-window layers keep only the window and a
micro-batch; an MLA model (DeepSeek-V2 and kin) keeps one latent per token and layer, K only.
tests/consumers/test_llama_kv_consumer.py checks these bytes against the KV buffer the real llama-server reports.
"""

from typing import Any

from .model_shapes import Shape, gguf_shape

GIB = 1024**3
UBATCH = 512  # llama-server's default --ubatch-size: what a sliding-window layer keeps beyond the window
# Bytes per element of each --cache-type-k/-v (ggml block sizes: q8_0 34 B per 32 values, q4_0 18 B, ...).
CACHE_TYPE_BYTES = {
    "f32": 4.0,
    "f16": 2.0,
    "bf16": 2.0,
    "q8_0": 34 / 32,
    "q5_1": 24 / 32,
    "q5_0": 22 / 32,
    "q4_1": 20 / 32,
    "q4_0": 18 / 32,
    "iq4_nl": 18 / 32,
}
_K_FLAGS = ("-ctk", "--cache-type-k")
_V_FLAGS = ("-ctv", "--cache-type-v")


def cache_type(extra_args: list[str], flags: tuple[str, ...]) -> str:
    """The cache type extraArgs set (`--cache-type-k q8_0` or `--cache-type-k=q8_0`), else llama.cpp's f16."""
    found = "f16"
    for i, arg in enumerate(extra_args):
        flag, eq, value = arg.partition("=")
        if flag in flags:
            found = value if eq else (extra_args[i + 1] if i + 1 < len(extra_args) else found)
    return found.lower()


def layer_bytes(shape: Shape, k_type: str = "f16", v_type: str = "f16") -> float:
    """One layer's KV bytes per token."""
    if shape.encoder_only:
        return 0.0
    k, v = CACHE_TYPE_BYTES.get(k_type, 2.0), CACHE_TYPE_BYTES.get(v_type, 2.0)
    return shape.head_dim * k if shape.is_mla else shape.kv_heads * shape.head_dim * (k + v)


def kv_bytes(shape: Shape, context: int, k_type: str = "f16", v_type: str = "f16") -> float:
    """Bytes of llama.cpp's KV cache for `context` tokens."""
    window = min(context, shape.sliding_window + UBATCH) if shape.sliding_window else 0
    return layer_bytes(shape, k_type, v_type) * (shape.full_layers * context + shape.sliding_layers * window)


def llama_shape(m: Any) -> Shape | None:
    return m.model_shape.shape() if m.model_shape else gguf_shape(m.gguf_repo)


def kv_problem(m: Any, vram_gib: float, headroom_gib: float) -> str | None:
    """Why a fully offloaded model's KV cache at contextSize does not fit next to its weights, or None."""
    shape = llama_shape(m)
    if shape is None or not m.full_offload:
        return None
    context = m.context_size or shape.max_position
    if not context:
        return None
    k_type, v_type = cache_type(m.extra_args, _K_FLAGS), cache_type(m.extra_args, _V_FLAGS)
    kv = kv_bytes(shape, context, k_type, v_type) / GIB
    left = vram_gib - headroom_gib - m.weights_gib
    if m.weights_gib > vram_gib - headroom_gib or kv <= left:
        return None  # the weights alone not fitting is the weightsGiB rule's line
    per_token = layer_bytes(shape, k_type, v_type) * shape.full_layers
    window = kv_bytes(shape, context, k_type, v_type) - per_token * context  # the sliding layers' fixed share
    longest = int((left * GIB - window) // per_token) // 256 * 256 if per_token else 0
    fix = f"Set contextSize to at most {longest}, " if longest >= 256 else "Set a smaller contextSize, "
    return (
        f"{context} tokens{' (the model trained length: contextSize 0)' if not m.context_size else ''} need "
        f"{kv:.2f} GiB of KV cache ({shape.describe()}, K {k_type} / V {v_type}), but one {vram_gib:g} GiB GPU "
        f"less {m.weights_gib:g} GiB of GGUF and {headroom_gib:g} GiB for compute buffers leaves {left:.2f} GiB; "
        f"llama-server fails to load with a CUDA out-of-memory error. {fix}quantize the cache "
        "(extraArgs: [--cache-type-k, q8_0, --cache-type-v, q8_0], V needs flashAttn: on), or set gpuLayers "
        "to a layer count to keep part of the model in host RAM"
    )


def unknown_shape_warning(m: Any) -> str | None:
    if m.placement == "cpu" or llama_shape(m) is not None:
        return None
    return (
        f"'{m.gguf_repo}' is not in the KV-cache sizing table, so preview cannot check that the GGUF plus the KV "
        f"cache of contextSize {m.context_size or '(trained length)'} fit the GPU (llama-server fails to load when "
        "they do not); add modelShape.numHiddenLayers, numKeyValueHeads and headDim from the original model's "
        "config.json (plus slidingWindow and globalLayers for sliding-window attention, or kvLoraRank and "
        "qkRopeHeadDim instead of the heads for MLA; maxPositionEmbeddings for contextSize 0)"
    )
