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
PAD = 256  # llama.cpp pads the context and each KV cache to this many cells
AUTO_SLOTS = 4  # --parallel unset: llama-server runs 4 slots on one unified KV buffer
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
K_FLAGS = ("-ctk", "--cache-type-k")
V_FLAGS = ("-ctv", "--cache-type-v")
UNQUANTIZED = ("f32", "f16", "bf16")  # cache types that need no flash attention
# Values per block of the quantized cache types (ggml): a head must hold whole blocks.
BLOCK_VALUES = {"q8_0": 32, "q5_1": 32, "q5_0": 32, "q4_1": 32, "q4_0": 32, "iq4_nl": 32}
_UB_FLAGS = ("-ub", "--ubatch-size")


def flag_value(extra_args: list[str], flags: tuple[str, ...]) -> str | None:
    """The last value extraArgs give one of `flags` (`--flag value` or `--flag=value`), else None."""
    found = None
    for i, arg in enumerate(extra_args):
        flag, eq, value = arg.partition("=")
        if flag in flags:
            found = value if eq else (extra_args[i + 1] if i + 1 < len(extra_args) else found)
    return found


def cache_type(extra_args: list[str], flags: tuple[str, ...]) -> str:
    """The cache type extraArgs set (`--cache-type-k q8_0` or `--cache-type-k=q8_0`), else llama.cpp's f16."""
    return (flag_value(extra_args, flags) or "f16").lower()


def layer_bytes(shape: Shape, k_type: str = "f16", v_type: str = "f16") -> float:
    """One layer's KV bytes per token."""
    if shape.encoder_only:
        return 0.0
    k, v = CACHE_TYPE_BYTES.get(k_type, 2.0), CACHE_TYPE_BYTES.get(v_type, 2.0)
    return shape.head_dim * k if shape.is_mla else shape.kv_heads * shape.head_dim * (k + v)


def pad(cells: int) -> int:
    """llama.cpp rounds the context and every KV cache up to a multiple of PAD cells."""
    return -(-cells // PAD) * PAD


def kv_cells(
    shape: Shape, context: int, slots: int = AUTO_SLOTS, unified: bool = True, ubatch: int = UBATCH, swa_full=False
) -> tuple[int, int]:
    """(cells of a full-attention layer, cells of a sliding-window layer), summed over the KV streams.
    Unified (llama-server's default when --parallel is unset): one stream of --ctx-size cells, and a sliding
    layer keeps the window of every slot plus a micro-batch. Otherwise one stream per slot, each of
    ctx-size / slots cells, a sliding layer keeping one window plus a micro-batch per stream."""
    streams = 1 if unified else slots
    base = pad(-(-pad(context) // streams))
    if not shape.sliding_window:
        return base * streams, 0
    window = shape.sliding_window * (slots if unified else 1) + ubatch
    swa = base if swa_full else min(base, pad(window))
    return base * streams, swa * streams


def kv_bytes(shape: Shape, context: int, k_type: str = "f16", v_type: str = "f16", **layout: Any) -> float:
    """Bytes of llama.cpp's KV cache for `context` tokens (`layout`: kv_cells' slots, unified, ubatch, swa_full)."""
    full, swa = kv_cells(shape, context, **layout)
    return layer_bytes(shape, k_type, v_type) * (shape.full_layers * full + shape.sliding_layers * swa)


def kv_layout(m: Any) -> dict[str, Any]:
    """How the rendered llama-server lays its KV cache out: slots (--parallel, else auto's 4), unified (auto, or
    --kv-unified / --no-kv-unified in extraArgs), the micro-batch (a pooled embedding's is the context) and
    --swa-full."""
    extra = list(m.extra_args)
    unified = m.parallel is None
    for arg in extra:
        if arg in ("-kvu", "--kv-unified"):
            unified = True
        elif arg in ("-no-kvu", "--no-kv-unified"):
            unified = False
    ubatch = flag_value(extra, _UB_FLAGS)
    default_ubatch = m.context_size if m.mode == "embedding" and m.context_size else UBATCH
    return {
        "slots": m.parallel or AUTO_SLOTS,
        "unified": unified,
        "ubatch": int(ubatch) if ubatch and ubatch.isdigit() else default_ubatch,
        "swa_full": "--swa-full" in extra,
    }


def llama_shape(m: Any) -> Shape | None:
    return m.model_shape.shape() if m.model_shape else gguf_shape(m.gguf_repo)


def kv_gib(m: Any) -> float | None:
    """GiB of the KV cache the rendered llama-server allocates for `m`; None when its shape is unknown."""
    shape = llama_shape(m)
    context = (m.context_size or shape.max_position) if shape else None
    if shape is None or not context:
        return None
    k_type, v_type = cache_type(m.extra_args, K_FLAGS), cache_type(m.extra_args, V_FLAGS)
    return kv_bytes(shape, context, k_type, v_type, **kv_layout(m)) / GIB


def kv_problem(m: Any, vram_gib: float, headroom_gib: float) -> str | None:
    """Why a fully offloaded model's KV cache at contextSize does not fit next to its weights, or None."""
    shape = llama_shape(m)
    if shape is None or not m.full_offload:
        return None
    context = m.context_size or shape.max_position
    if not context:
        return None
    k_type, v_type = cache_type(m.extra_args, K_FLAGS), cache_type(m.extra_args, V_FLAGS)
    layout = kv_layout(m)
    kv = kv_bytes(shape, context, k_type, v_type, **layout) / GIB
    left = vram_gib - headroom_gib - m.weights_gib
    if m.weights_gib > vram_gib - headroom_gib or kv <= left:
        return None  # the weights alone not fitting is the weightsGiB rule's line
    longest = longest_context(shape, left * GIB, k_type, v_type, layout)
    fix = f"Set contextSize to at most {longest}, " if longest >= 256 else "Set a smaller contextSize, "
    return (
        f"{context} tokens{' (the model trained length: contextSize 0)' if not m.context_size else ''} need "
        f"{kv:.2f} GiB of KV cache ({shape.describe()}, K {k_type} / V {v_type}), but one {vram_gib:g} GiB GPU "
        f"less {m.weights_gib:g} GiB of GGUF and {headroom_gib:g} GiB for compute buffers leaves {left:.2f} GiB; "
        f"llama-server fails to load with a CUDA out-of-memory error. {fix}quantize the cache "
        "(extraArgs: [--cache-type-k, q8_0, --cache-type-v, q8_0], V needs flashAttn: on), or set gpuLayers "
        "to a layer count to keep part of the model in host RAM"
    )


def longest_context(shape: Shape, room: float, k_type: str, v_type: str, layout: dict[str, Any]) -> int:
    """The largest multiple of 256 tokens whose KV cache fits in `room` bytes (0 when not even 256 does)."""
    lo, hi = 0, 1 << 24
    while hi - lo > PAD:  # kv_bytes grows with the context: bisect on multiples of PAD
        mid = (lo + hi) // 2 // PAD * PAD
        lo, hi = (mid, hi) if kv_bytes(shape, mid, k_type, v_type, **layout) <= room else (lo, mid)
    return lo


def cache_block_problem(m: Any) -> str | None:
    """A quantized cache type whose blocks do not divide the head size, with flash attention (on, or auto, which
    enables it where the backend can): llama-server exits at load. Without flash attention only K may be
    quantized (models/llamacpp.py), and the real server takes any head size then."""
    shape = llama_shape(m)
    if shape is None or shape.is_mla or shape.encoder_only or m.flash_attn == "off":
        return None
    for side, flags in (("k", K_FLAGS), ("v", V_FLAGS)):
        kind = cache_type(m.extra_args, flags)
        block = BLOCK_VALUES.get(kind, 1)
        if shape.head_dim % block:
            return (
                f"--cache-type-{side} {kind} packs {block} values a block, and this model's head size "
                f'{shape.head_dim} is not a multiple of {block}: llama-server exits at load ("{side.upper()} cache '
                f'type {kind} with block size {block} does not divide n_embd_head_{side}"). Use f16 or bf16 for '
                "this model's cache, or flashAttn: off with a quantized K cache only"
            )
    return None


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
