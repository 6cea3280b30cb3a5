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

GIB = 1024**3
# Inside the utilisation budget, per GPU: the profile run's peak activations (vLLM's default on a GPU under
# 70 GiB is 2048 batched tokens: a few hundred MiB for the 7B-32B models here) plus non-torch memory
# (cuBLAS/NCCL workspaces, sampler buffers). 1 GiB covers them with room; CUDA graphs are captured after the
# KV cache is sized, from the (1 - utilisation) share outside the budget, so they are not counted here.
OVERHEAD_GIB_PER_GPU = 1.0
BLOCK_TOKENS = 16  # vLLM allocates the KV cache in blocks of 16 tokens


@dataclass(frozen=True)
class Shape:
    """The attention geometry of a model's config.json; encoder-only models keep no KV cache in vLLM."""

    layers: int = 0
    kv_heads: int = 0
    head_dim: int = 0
    max_position: int = 0
    encoder_only: bool = False


_QWEN25 = 32768  # max_position_embeddings of every Qwen2.5(-Coder) config.json
# config.json of each model the stacks serve (head_dim = hidden_size / num_attention_heads):
_SHAPES: dict[str, Shape] = {
    # 28 layers, hidden 1536, 12 heads, 2 KV heads
    "qwen/qwen2.5-coder-1.5b": Shape(28, 2, 128, _QWEN25),
    # 28 layers, hidden 3584, 28 heads, 4 KV heads
    "qwen/qwen2.5-coder-7b": Shape(28, 4, 128, _QWEN25),
    # 48 layers, hidden 5120, 40 heads, 8 KV heads
    "qwen/qwen2.5-coder-14b": Shape(48, 8, 128, _QWEN25),
    # 64 layers, hidden 5120, 40 heads, 8 KV heads
    "qwen/qwen2.5-coder-32b": Shape(64, 8, 128, _QWEN25),
    # XLM-RoBERTa encoder (24 layers, hidden 1024): pooling only, no KV cache; 8194 positions - 2 padding
    "baai/bge-m3": Shape(max_position=8192, encoder_only=True),
}
# Instruct, AWQ and GPTQ variants keep the base model's geometry.
_SUFFIXES = ("-instruct-awq", "-instruct-gptq-int4", "-instruct-gptq-int8", "-instruct", "-awq")


def known_shape(model_name: str) -> Shape | None:
    name = model_name.lower()
    for suffix in ("", *_SUFFIXES):
        if name.endswith(suffix) and (shape := _SHAPES.get(name[: len(name) - len(suffix)])):
            return shape
    return None


def known_models() -> list[str]:
    return sorted(_SHAPES)


class ModelShapeSpec(Spec):
    """`modelShape:` for a model outside the table; the names and values are those of its config.json."""

    num_hidden_layers: int | None = Field(default=None, ge=1, le=1024)
    num_key_value_heads: int | None = Field(default=None, ge=1, le=1024)
    head_dim: int | None = Field(default=None, ge=1, le=4096)
    max_position_embeddings: int | None = Field(default=None, ge=512)
    encoder_only: bool = False

    @model_validator(mode="after")
    def _complete(self) -> "ModelShapeSpec":
        geometry = {
            "numHiddenLayers": self.num_hidden_layers,
            "numKeyValueHeads": self.num_key_value_heads,
            "headDim": self.head_dim,
        }
        missing = [k for k, v in geometry.items() if v is None]
        if not self.encoder_only and missing:
            raise ValueError(
                f"{missing[0]}: is required to size the KV cache; copy num_hidden_layers, num_key_value_heads "
                "and head_dim (or hidden_size / num_attention_heads) from the model's config.json, or set "
                "encoderOnly: true for an encoder-only embedding model"
            )
        return self

    def shape(self) -> Shape:
        return Shape(
            self.num_hidden_layers or 0,
            self.num_key_value_heads or 0,
            self.head_dim or 0,
            self.max_position_embeddings or 0,
            self.encoder_only,
        )


def kv_bytes_per_token(shape: Shape, kv_dtype_bytes: int, tensor_parallel: int) -> int:
    """K and V, every layer, summed over the GPUs: a KV head is split across TP ranks, or replicated."""
    if shape.encoder_only:
        return 0
    heads_per_gpu = max(1, shape.kv_heads // tensor_parallel)
    return 2 * shape.layers * heads_per_gpu * tensor_parallel * shape.head_dim * kv_dtype_bytes


def kv_dtype_bytes(kv_cache_dtype: str, dtype: str) -> int:
    if kv_cache_dtype.startswith("fp8"):
        return 1
    if kv_cache_dtype == "auto" and dtype in ("float", "float32"):
        return 4
    return 2  # bfloat16/float16 (the auto dtype of every half-precision or AWQ checkpoint)


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


def fit(shape: Shape, *, budget_gib: float, weights_gib: float, tp: int, max_model_len: int, kv_bytes: int) -> Fit:
    per_token = kv_bytes_per_token(shape, kv_bytes, tp)
    blocks = -(-max_model_len // BLOCK_TOKENS)
    kv_gib = blocks * BLOCK_TOKENS * per_token / GIB
    overhead = OVERHEAD_GIB_PER_GPU * tp
    left = budget_gib - weights_gib - overhead
    longest = max_model_len if per_token == 0 else max(0, int(left * GIB // per_token) // BLOCK_TOKENS * BLOCK_TOKENS)
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


def kv_cache_problem(m: SizedModel, vram_gib: float) -> tuple[str, str] | None:
    """(key suffix, message) when vLLM would refuse to start for lack of KV-cache memory; None when it fits."""
    shape = m.model_shape.shape() if m.model_shape else known_shape(m.model_name)
    if shape is None:
        return (
            "modelShape",
            f"'{m.model_name}' is not in the KV-cache sizing table (known: {', '.join(known_models())}); set "
            "modelShape.numHiddenLayers, numKeyValueHeads and headDim from its config.json (head_dim, or "
            "hidden_size / num_attention_heads), or modelShape.encoderOnly: true for an encoder-only embedding "
            "model, so the platform can check that the weights plus the KV cache fit VRAM",
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
    f = fit(shape, budget_gib=budget, weights_gib=m.weights_gib, tp=tp, max_model_len=max_len, kv_bytes=kv_bytes)
    if f.fits:
        return None
    left = budget - f.weights_gib - f.overhead_gib
    how = f"is unset, so vLLM takes the model's full {max_len} tokens, which" if m.max_model_len is None else ""
    return (
        "maxModelLen",
        f"{how or f'{max_len} tokens'} need {f.kv_gib:.2f} GiB of KV cache for one full sequence (2 x "
        f"{shape.layers} layers x {shape.kv_heads} KV heads x head size {shape.head_dim} x {kv_bytes} B per "
        f"token), but {vram_gib} GiB VRAM x gpuMemoryUtilization {m.gpu_memory_utilization} x "
        f"tensorParallelSize {tp} = {budget:.2f} GiB, less {f.weights_gib} GiB of weights and "
        f"{f.overhead_gib:g} GiB of vLLM overhead (activations, workspaces), leaves {left:.2f} GiB; vLLM "
        f"refuses to start. Set maxModelLen to at most {f.max_fitting_len}, raise gpuMemoryUtilization "
        "(0.95 at most: CUDA graphs use the rest), set kvCacheDtype: fp8, or raise tensorParallelSize",
    )
