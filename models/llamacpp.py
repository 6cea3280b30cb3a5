"""llama.cpp models (seed 003): GGUF served by a pinned llama-server, or on demand by the llama-swap pool.

A llama model's `name` is its transparent, human-readable tenant name (e.g. `GLM-4.7-Flash`): the gateway
routes on it, llama-server reports it as its alias and llama-swap uses it as the model ID. Kubernetes names
never derive from it; they derive from the pool role (`llama-<role>`) or are `llama-swap`.
"""

import math
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from .base import Spec
from .common import DnsName, PositiveGiB
from .llama_sizing import UNQUANTIZED, V_FLAGS, cache_type
from .serving import GatewayEntry
from .vllm_sizing import ModelShapeSpec

# Per GPU backend, the static servers and the llama-swap image run the same llama.cpp build, so a rendered
# flag means the same thing on both (llama-swap tags are v<release>-<backend>-b<llama.cpp build>[-non-root], built
# FROM llama.cpp's server-<backend>-b<build>). llama-swap serves Prometheus /metrics from v212 on; these are the
# releases whose tags are recorded in public sources (v252-cuda-b10775, v245-rocm-b10200). Tags, not digests: no
# digest of them could be checked here. CUDA runs the -non-root variant (user 10001, as the pod runs); AMD pods run
# the server as root (ROCm device groups), so ROCm keeps the root variant.
LLAMA_IMAGES: dict[str, str] = {
    "llamacpp": "ghcr.io/ggml-org/llama.cpp:server-cuda-b10775",
    "llamacpp_rocm": "ghcr.io/ggml-org/llama.cpp:server-rocm-b10200",
    "llama_swap": "ghcr.io/mostlygeek/llama-swap:v252-cuda-b10775-non-root",
    "llama_swap_rocm": "ghcr.io/mostlygeek/llama-swap:v245-rocm-b10200",
    # Staging on every pod, NVIDIA, AMD or CPU: the plain CPU "full" image (python3 + huggingface_hub). Fetching
    # touches no GPU, and a vendor image would pull gigabytes of CUDA or ROCm libraries onto the wrong node.
    "gguf_fetch": "ghcr.io/ggml-org/llama.cpp:full-b10775",
    # The CPU server of the same release for `placement: cpu` models (no CUDA libraries on CPU nodes).
    "llamacpp_cpu": "ghcr.io/ggml-org/llama.cpp:server-b10775",
}

LLAMA_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
HF_REPO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
QUANT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
# "all" renders as 999: every llama.cpp build reads it as "offload every layer".
ALL_LAYERS = 999

# Flags the platform renders itself, or that have a model field; extraArgs may not set them.
OWNED_FLAGS = {
    "-m": "the staged GGUF path",
    "--model": "the staged GGUF path",
    "-hf": "ggufRepo",
    "--hf-repo": "ggufRepo",
    "-hff": "ggufFile",
    "--hf-file": "ggufFile",
    "-a": "name",
    "--alias": "name",
    "--host": "the platform",
    "--port": "the platform",
    "--api-key": "the shared upstream key (env LLAMA_API_KEY)",
    "--api-key-file": "the shared upstream key (env LLAMA_API_KEY)",
    "-c": "contextSize",
    "--ctx-size": "contextSize",
    "-ngl": "gpuLayers",
    "--gpu-layers": "gpuLayers",
    "--n-gpu-layers": "gpuLayers",
    "-b": "batchSize",
    "--batch-size": "batchSize",
    "-t": "threads",
    "--threads": "threads",
    "-np": "parallel",
    "--parallel": "parallel",
    "-fa": "flashAttn",
    "--flash-attn": "flashAttn",
    "--jinja": "jinja",
    "--no-jinja": "jinja",
    "--metrics": "the platform (always on)",
    "--embeddings": "mode: embedding",
}
# For `mode: embedding` the physical batch is the context size (llama_server_args); extraArgs may not shrink it.
EMBEDDING_OWNED_FLAGS = ("-ub", "--ubatch-size")


def _llama_name(value: str) -> str:
    if not LLAMA_NAME.match(value):
        raise ValueError(
            f"'{value}' is not usable as a llama-swap model ID and LiteLLM model name; use 1-64 letters, digits, "
            "'.', '_' or '-', starting with a letter or digit (e.g. 'GLM-4.7-Flash')"
        )
    return value


def _hf_repo(value: str) -> str:
    if not HF_REPO.match(value):
        raise ValueError(
            f"'{value}' is not a Hugging Face repo id; use '<org>/<repo>' (e.g. 'unsloth/GLM-4.7-Flash-GGUF')"
        )
    return value


def _quant(value: str) -> str:
    if not QUANT.match(value):
        raise ValueError(
            f"'{value}' is not a quant filter; use a quant tag as it appears in the file name (e.g. 'Q4_K_M')"
        )
    return value


def _gguf_file(value: str) -> str:
    parts = value.split("/")
    if not value.endswith(".gguf") or value.startswith("/") or ".." in parts or "" in parts:
        raise ValueError(
            f"'{value}' is not a GGUF file path inside the repo; use the repo-relative path of a "
            "'.gguf' file (e.g. 'GLM-4.7-Flash-Q4_K_M.gguf')"
        )
    return value


def _gpu_layers(value: int | str) -> int | str:
    if isinstance(value, str) and value.isdigit():  # `pulumi config set --path` stores numbers as strings
        value = int(value)
    if value == "all" or (isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= ALL_LAYERS):
        return value
    raise ValueError(
        f"{value!r} is not a GPU layer count; use all (every layer on the GPU, the default) or a "
        f"count from 0 to {ALL_LAYERS} to keep the other layers in host RAM"
    )


LlamaName = Annotated[str, AfterValidator(_llama_name)]
HfRepo = Annotated[str, AfterValidator(_hf_repo)]
QuantFilter = Annotated[str, AfterValidator(_quant)]
GgufFile = Annotated[str, AfterValidator(_gguf_file)]
# Checked before pydantic's coercion, so `true` is refused with one message instead of being taken as 1.
GpuLayers = Annotated[int | str, BeforeValidator(_gpu_layers)]


def quant_matches(quant: str, path: str) -> bool:
    """The filter as a delimited token of the repo path: Q4_K_M matches X-Q4_K_M.gguf, not X-Q4_K_M_L.gguf."""
    return re.search(rf"(?<![A-Za-z0-9]){re.escape(quant)}(?![A-Za-z0-9_])", path, re.IGNORECASE) is not None


class LlamaCppModelSpec(GatewayEntry):
    """A GGUF model on llama-server: pinned on its own role-labelled pool, or loaded on demand by llama-swap."""

    name: LlamaName
    engine: Literal["llamacpp"]
    # static: pinned on a role-labelled GPU pool; swap: loaded on demand by llama-swap; cpu: any CPU node, no GPU
    # (e.g. an embeddings model next to the gateway).
    placement: Literal["static", "swap", "cpu"]
    pool: DnsName | None = None
    gguf_repo: HfRepo
    quant: QuantFilter | None = None
    gguf_file: GgufFile | None = None
    revision: str | None = Field(default=None, min_length=1)
    weights_gib: PositiveGiB = Field(alias="weightsGiB")
    cache_gib: int | None = Field(default=None, alias="cacheGiB", ge=1, le=65536)

    # 0 = the model's trained context length.
    context_size: int = Field(default=8192, ge=0, le=1048576)
    # Attention geometry for the KV-cache rule (models/llama_sizing.py) when ggufRepo's model is not in the table.
    model_shape: ModelShapeSpec | None = None
    gpu_layers: GpuLayers = "all"
    batch_size: int | None = Field(default=None, ge=1, le=65536)
    threads: int | None = Field(default=None, ge=1, le=256)
    parallel: int | None = Field(default=None, ge=1, le=256)
    flash_attn: Literal["on", "off", "auto"] | None = None
    jinja: bool = True
    extra_args: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _placement_fields(self) -> "LlamaCppModelSpec":
        if self.placement == "cpu":
            if self.pool is not None:
                raise ValueError(
                    f"pool: is set on CPU model '{self.name}'; CPU models run on the cluster's CPU "
                    "nodes without a GPU. Remove pool, or use placement: static for a GPU pool"
                )
            if self.replicas > 1:
                raise ValueError(
                    f"replicas: {self.replicas} is more than 1; the model's ReadWriteOnce weight "
                    "cache serves one pod. Use 0 or 1"
                )
            return self
        if self.placement == "static":
            if self.pool is None:
                raise ValueError(
                    "pool: a static llama model is pinned to a role-labelled node pool; set pool to one of "
                    "nodePools[].name, or use placement: swap"
                )
            if self.replicas > 1:
                raise ValueError(
                    f"replicas: {self.replicas} is more than 1; a static llama model has one ReadWriteOnce "
                    "weight cache and one GPU node. Use 0 or 1 (move extra demand to the swap pool)"
                )
            return self
        for key, value, fix in (
            ("pool", self.pool, "swap models run on swap.pool; remove pool or use placement: static"),
            ("cacheGiB", self.cache_gib, "swap models share swap.cacheGiB; remove it"),
            (
                "replicas",
                self.replicas or None,
                "llama-swap loads swap models on demand; remove replicas (the pool runs swap.replicas pods)",
            ),
        ):
            if value is not None:
                raise ValueError(f"{key}: is set on swap model '{self.name}'; {fix}")
        return self

    @model_validator(mode="after")
    def _gguf_source(self) -> "LlamaCppModelSpec":
        if not self.quant and not self.gguf_file:
            raise ValueError(
                "quant: is required without ggufFile; set quant to the filename filter of one GGUF in "
                f"{self.gguf_repo} (e.g. Q4_K_M) or ggufFile to its exact path"
            )
        if self.quant and self.gguf_file and not quant_matches(self.quant, self.gguf_file):
            raise ValueError(
                f"ggufFile: '{self.gguf_file}' does not match quant '{self.quant}'; fix one of them "
                "(ggufFile wins when both are set)"
            )
        return self

    @model_validator(mode="after")
    def _cache_holds_weights(self) -> "LlamaCppModelSpec":
        if self.cache_gib is not None and self.cache_gib < self.weights_gib:
            raise ValueError(
                f"cacheGiB: {self.cache_gib} is smaller than weightsGiB ({self.weights_gib}); the GGUF cannot "
                f"be staged. Set cacheGiB to at least {math.ceil(self.weights_gib)}"
            )
        return self

    @model_validator(mode="after")
    def _extra_args_are_free(self) -> "LlamaCppModelSpec":
        for arg in self.extra_args:
            flag = arg.split("=", 1)[0]
            if flag in OWNED_FLAGS:
                raise ValueError(f"extraArgs: sets {flag}, which comes from {OWNED_FLAGS[flag]}; use that instead")
            if self.mode == "embedding" and flag in EMBEDDING_OWNED_FLAGS:
                raise ValueError(
                    f"extraArgs: sets {flag}, which an embedding model takes from contextSize (a whole input "
                    "must fit one physical batch); change contextSize instead"
                )
        v_type = cache_type(self.extra_args, V_FLAGS)
        if self.flash_attn == "off" and v_type not in UNQUANTIZED:
            # the real llama-server exits at load: "quantized V cache requires flash_attn to be enabled"
            raise ValueError(
                f"flashAttn: is off, and extraArgs set --cache-type-v {v_type}: llama-server refuses a quantized V "
                "cache without flash attention and exits at load (the pod crash-loops). Set flashAttn: on (or "
                "remove it: auto), or drop --cache-type-v (a quantized K cache alone works without it)"
            )
        return self

    @property
    def served_name(self) -> str:
        """What llama-server reports (--alias) and llama-swap routes on: the transparent name itself."""
        return self.name

    @property
    def full_offload(self) -> bool:
        if self.placement == "cpu":
            return False
        return isinstance(self.gpu_layers, str) or self.gpu_layers >= ALL_LAYERS  # str: "all"

    @property
    def k8s_name(self) -> str:
        """A CPU model's Deployment/Service name, from its tenant name: `llama-<lowercased, dashed name>`.
        (GPU models' names derive from their pool's role instead.)"""
        return "llama-" + re.sub(r"-+", "-", re.sub(r"[^a-z0-9]", "-", self.name.lower())).strip("-")[:34].strip("-")

    @property
    def static_pool(self) -> str:
        """The pool of a `placement: static` model, which the validator requires."""
        if self.placement != "static" or self.pool is None:
            raise RuntimeError(f"model '{self.name}' is not pinned to a node pool (placement: {self.placement})")
        return self.pool

    @property
    def cache_size_gib(self) -> int:
        """Default PVC: the GGUF plus a quarter for a re-download's temp file and a revision bump."""
        return self.cache_gib or max(10, math.ceil(self.weights_gib * 1.25) + 2)


class SwapSpec(Spec):
    """The llama-swap pool: one pod, one GPU, every `placement: swap` model loaded on demand."""

    pool: DnsName
    replicas: int = Field(default=1, ge=0, le=1)
    # Seconds a loaded model may sit idle before llama-swap unloads it; 0 keeps it until another is needed.
    ttl: int = Field(default=1800, ge=0, le=86400)
    # Seconds llama-swap waits for a swapped-in model to answer /health (llama-swap's minimum is 15).
    health_check_timeout: int = Field(default=300, ge=15, le=3600)
    # One member loaded at a time. The pod has one GPU, so only turn this off if all swap models fit together.
    exclusive: bool = True
    cache_gib: int | None = Field(default=None, alias="cacheGiB", ge=1, le=65536)
    log_level: Literal["debug", "info", "warn", "error"] = "info"
