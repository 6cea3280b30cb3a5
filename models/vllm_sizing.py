"""Will vLLM start? Weights plus the KV cache of one full maxModelLen sequence must fit the GPU budget.

vLLM 0.11 (v1/worker/gpu_worker.py, v1/core/kv_cache_utils.py) gives the KV cache what is left of
VRAM x gpuMemoryUtilization after the weights, the profile run's peak activations and non-torch memory, and
refuses to start ("To serve at least one request with the models's max seq len ...") when that cannot hold
one sequence of max_model_len tokens.
"""

from dataclasses import dataclass
from typing import Protocol

from pydantic import Field, model_validator

from .base import Spec
from .model_shapes import Shape, known_models, known_shape

__all__ = ["Shape", "known_models", "known_shape"]

GIB = 1024**3
# Inside the utilisation budget, per GPU: the profile run's peak activations (vLLM's default on a GPU under
# 70 GiB is 2048 batched tokens: a few hundred MiB for the 7B-32B models here) plus non-torch memory
# (cuBLAS/NCCL workspaces, sampler buffers). 1 GiB covers them with room; CUDA graphs are captured after the
# KV cache is sized, from the (1 - utilisation) share outside the budget, so they are not counted here.
OVERHEAD_GIB_PER_GPU = 1.0
BLOCK_TOKENS = 16  # vLLM allocates the KV cache in blocks of 16 tokens
# vLLM 0.11's default max_num_batched_tokens for the API server on a GPU under 70 GiB (EngineArgs defaults).
DEFAULT_BATCHED_TOKENS = 2048
# Above this, CUDA graph capture (sized after the KV cache, outside the budget) runs out of memory on an L4.
MAX_GPU_MEMORY_UTILIZATION = 0.95


class ModelShapeSpec(Spec):
    """`modelShape:` for a model outside the table; the names and values are those of its config.json."""

    num_hidden_layers: int | None = Field(default=None, ge=1, le=1024)
    num_key_value_heads: int | None = Field(default=None, ge=1, le=1024)
    head_dim: int | None = Field(default=None, ge=1, le=4096)
    max_position_embeddings: int | None = Field(default=None, ge=512)
    encoder_only: bool = False
    # Sliding-window attention (Gemma 2/3, Mistral v0.1): config.json's sliding_window, and how many layers
    # still attend to the whole context (Gemma 2: half; Gemma 3: num_hidden_layers // sliding_window_pattern).
    sliding_window: int | None = Field(default=None, ge=1)
    global_layers: int | None = Field(default=None, ge=0)
    # Multi-head latent attention (DeepSeek-V2/V3 family): config.json's kv_lora_rank and qk_rope_head_dim.
    kv_lora_rank: int | None = Field(default=None, ge=1, le=65536)
    qk_rope_head_dim: int | None = Field(default=None, ge=1, le=4096)

    @model_validator(mode="after")
    def _complete(self) -> "ModelShapeSpec":
        mla = self.kv_lora_rank is not None or self.qk_rope_head_dim is not None
        geometry = {"numHiddenLayers": self.num_hidden_layers}
        if mla:
            geometry |= {"kvLoraRank": self.kv_lora_rank, "qkRopeHeadDim": self.qk_rope_head_dim}
        else:
            geometry |= {"numKeyValueHeads": self.num_key_value_heads, "headDim": self.head_dim}
        missing = [k for k, v in geometry.items() if v is None]
        if not self.encoder_only and missing:
            raise ValueError(
                f"{missing[0]}: is required to size the KV cache; copy num_hidden_layers, num_key_value_heads "
                "and head_dim (or hidden_size / num_attention_heads) from the model's config.json (an MLA "
                "model: num_hidden_layers, kv_lora_rank and qk_rope_head_dim), or set encoderOnly: true for "
                "an encoder-only embedding model"
            )
        if (self.sliding_window is None) != (self.global_layers is None):
            have, need = ("slidingWindow", "globalLayers") if self.sliding_window else ("globalLayers", "slidingWindow")
            raise ValueError(
                f"{need}: is required with {have}; set slidingWindow to config.json's sliding_window and "
                "globalLayers to the layers that attend to the whole context (Gemma 2: num_hidden_layers / 2, "
                "Gemma 3: num_hidden_layers // sliding_window_pattern), or remove both"
            )
        if self.global_layers is not None and self.num_hidden_layers and self.global_layers > self.num_hidden_layers:
            raise ValueError(
                f"globalLayers: {self.global_layers} is more than numHiddenLayers ({self.num_hidden_layers}); "
                "count only the full-attention layers"
            )
        return self

    def shape(self) -> Shape:
        mla = self.kv_lora_rank is not None
        return Shape(
            self.num_hidden_layers or 0,
            1 if mla else self.num_key_value_heads or 0,
            (self.kv_lora_rank or 0) + (self.qk_rope_head_dim or 0) if mla else self.head_dim or 0,
            self.max_position_embeddings or 0,
            self.encoder_only,
            sliding_window=self.sliding_window or 0,
            global_layers=self.global_layers or 0,
            kv_lora_rank=self.kv_lora_rank or 0,
            qk_rope_head_dim=self.qk_rope_head_dim or 0,
        )


def layer_bytes_per_token(shape: Shape, kv_dtype_bytes: int, tensor_parallel: int) -> int:
    """One layer's KV bytes per token, summed over the GPUs: K and V split across TP ranks (or replicated when
    there are fewer KV heads than ranks); an MLA latent is K only and replicated on every rank."""
    if shape.encoder_only:
        return 0
    if shape.is_mla:
        return shape.head_dim * kv_dtype_bytes * tensor_parallel
    heads_per_gpu = max(1, shape.kv_heads // tensor_parallel)
    return 2 * heads_per_gpu * tensor_parallel * shape.head_dim * kv_dtype_bytes


def kv_bytes_per_token(shape: Shape, kv_dtype_bytes: int, tensor_parallel: int) -> int:
    """Bytes per token of context over the full-attention layers (sliding layers are bounded by their window)."""
    return shape.full_layers * layer_bytes_per_token(shape, kv_dtype_bytes, tensor_parallel)


def kv_dtype_bytes(kv_cache_dtype: str, dtype: str) -> int:
    if kv_cache_dtype.startswith("fp8"):
        return 1
    if kv_cache_dtype == "auto" and dtype in ("float", "float32"):
        return 4
    return 2  # bfloat16/float16 (the auto dtype of every half-precision or AWQ checkpoint)


def _blocks(tokens: int) -> int:
    return -(-tokens // BLOCK_TOKENS)


def sliding_bytes(shape: Shape, per_layer: int, max_model_len: int, batched_tokens: int) -> int:
    """vLLM's SlidingWindowSpec.max_memory_usage_bytes over the sliding layers: the window less one plus a
    batch of new tokens (at most the sequence), plus one block because a window need not start on a block."""
    if not shape.sliding_window:
        return 0
    tokens = min(shape.sliding_window - 1 + batched_tokens, max_model_len)
    return shape.sliding_layers * (_blocks(tokens) + 1) * BLOCK_TOKENS * per_layer


@dataclass(frozen=True)
class Fit:
    budget_gib: float  # VRAM x utilisation x TP (+ CPU offload)
    weights_gib: float
    overhead_gib: float
    kv_gib: float  # one full sequence of max_model_len tokens
    max_model_len: int
    max_fitting_len: int  # the longest context that fits, in whole KV blocks

    @property
    def fits(self) -> bool:
        return self.weights_gib + self.overhead_gib + self.kv_gib <= self.budget_gib


def fit(
    shape: Shape,
    *,
    budget_gib: float,
    weights_gib: float,
    tp: int,
    max_model_len: int,
    kv_bytes: int,
    batched_tokens: int = DEFAULT_BATCHED_TOKENS,
) -> Fit:
    per_layer = layer_bytes_per_token(shape, kv_bytes, tp)
    per_token = shape.full_layers * per_layer
    window = sliding_bytes(shape, per_layer, max_model_len, batched_tokens)
    kv_gib = (_blocks(max_model_len) * BLOCK_TOKENS * per_token + window) / GIB
    overhead = OVERHEAD_GIB_PER_GPU * tp
    left = budget_gib - weights_gib - overhead - window / GIB
    if per_token == 0:
        longest = max_model_len if left >= 0 else 0
    else:
        longest = max(0, int(left * GIB // per_token) // BLOCK_TOKENS * BLOCK_TOKENS)
    return Fit(budget_gib, weights_gib, overhead, kv_gib, max_model_len, longest)


class SizedModel(Protocol):
    """The VllmModelSpec fields the rule reads (serving.py imports this module, so no import back)."""

    @property
    def model_name(self) -> str: ...
    @property
    def model_shape(self) -> ModelShapeSpec | None: ...
    @property
    def max_model_len(self) -> int | None: ...
    @property
    def tensor_parallel_size(self) -> int: ...
    @property
    def gpu_memory_utilization(self) -> float: ...
    @property
    def cpu_offload_gb(self) -> float: ...
    @property
    def kv_cache_dtype(self) -> str | None: ...
    @property
    def dtype(self) -> str: ...
    @property
    def weights_gib(self) -> float: ...
    @property
    def max_num_batched_tokens(self) -> int | None: ...
    @property
    def extra_args(self) -> list[str]: ...


SHAPE_FIELDS = (
    "modelShape.numHiddenLayers, numKeyValueHeads and headDim from its config.json (head_dim, or hidden_size / "
    "num_attention_heads) and maxPositionEmbeddings (plus slidingWindow and globalLayers for sliding-window "
    "attention, or kvLoraRank and qkRopeHeadDim instead of the heads for MLA), or modelShape.encoderOnly: true "
    "for an encoder-only embedding model"
)


def shape_of(m: SizedModel) -> Shape | None:
    return m.model_shape.shape() if m.model_shape else known_shape(m.model_name)


def rope_scaled(m: SizedModel) -> bool:
    """extraArgs extend the context with RoPE scaling (vLLM then derives a longer max_model_len)."""
    return any(a.split("=", 1)[0] == "--rope-scaling" or "rope_scaling" in a for a in m.extra_args)


def unknown_model_warning(m: SizedModel) -> tuple[str, str] | None:
    """A model outside the table with maxModelLen set starts or not on its own geometry: warn, do not refuse."""
    if shape_of(m) is not None or m.max_model_len is None:
        return None
    return (
        "modelShape",
        f"'{m.model_name}' is not in the KV-cache sizing table, so preview cannot check that the weights plus "
        f"one {m.max_model_len}-token sequence fit VRAM (vLLM refuses to start when they do not); add {SHAPE_FIELDS}",
    )


def context_problem(m: SizedModel) -> tuple[str, str] | None:
    """maxModelLen beyond the model's positions: vLLM 0.11 refuses it unless RoPE scaling extends them."""
    shape = shape_of(m)
    if shape is None or not shape.max_position or m.max_model_len is None or rope_scaled(m):
        return None
    if m.max_model_len <= shape.max_position:
        return None
    return (
        "maxModelLen",
        f"{m.max_model_len} is above the {shape.max_position} positions of '{m.model_name}' "
        "(max_position_embeddings in its config.json) and no RoPE scaling is set; vLLM refuses to start. Set "
        f"maxModelLen to at most {shape.max_position}, or extend the context with RoPE scaling in extraArgs "
        """(e.g. --rope-scaling={"rope_type":"yarn","factor":2.0,"original_max_position_embeddings":"""
        f"{shape.max_position}}}) where the model card documents it",
    )


def kv_cache_problem(m: SizedModel, vram_gib: float) -> tuple[str, str] | None:
    """(key suffix, message) when vLLM would refuse to start for lack of KV-cache memory; None when it fits."""
    shape = shape_of(m)
    if shape is None:
        if m.max_model_len is not None:
            return None  # unknown_model_warning
        return (
            "maxModelLen",
            f"is not set and '{m.model_name}' is not in the KV-cache sizing table (known: "
            f"{', '.join(known_models())}), so vLLM would size the KV cache for the model's full, unknown "
            f"context; set maxModelLen, and for the exact check {SHAPE_FIELDS}",
        )
    max_len = m.max_model_len or shape.max_position
    if not max_len:
        return (
            "maxModelLen",
            "is not set and modelShape.maxPositionEmbeddings is unknown, so vLLM would size the KV cache for the "
            "model's full context; set maxModelLen (or modelShape.maxPositionEmbeddings from config.json)",
        )
    tp = m.tensor_parallel_size
    budget = vram_gib * m.gpu_memory_utilization * tp + m.cpu_offload_gb * 0.931
    kv_bytes = kv_dtype_bytes(m.kv_cache_dtype or "auto", m.dtype)
    batched = m.max_num_batched_tokens or DEFAULT_BATCHED_TOKENS
    f = fit(
        shape,
        budget_gib=budget,
        weights_gib=m.weights_gib,
        tp=tp,
        max_model_len=max_len,
        kv_bytes=kv_bytes,
        batched_tokens=batched,
    )
    if f.fits:
        return None
    left = budget - f.weights_gib - f.overhead_gib
    how = f"is unset, so vLLM takes the model's full {max_len} tokens, which" if m.max_model_len is None else ""
    return (
        "maxModelLen",
        f"{how or f'{max_len} tokens'} need {f.kv_gib:.2f} GiB of KV cache for one full sequence "
        f"({shape.describe()} x {kv_bytes} B per token), but {vram_gib} GiB VRAM x gpuMemoryUtilization "
        f"{m.gpu_memory_utilization} x tensorParallelSize {tp} = {budget:.2f} GiB, less {f.weights_gib} GiB of "
        f"weights and {f.overhead_gib:g} GiB of vLLM overhead (activations, workspaces), leaves {left:.2f} GiB; "
        f"vLLM refuses to start. Set maxModelLen to at most {f.max_fitting_len}, raise gpuMemoryUtilization "
        "(0.95 at most: CUDA graphs use the rest), set kvCacheDtype: fp8, or raise tensorParallelSize",
    )
