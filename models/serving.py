"""Model blocks: *what* to serve. The vLLM fields keep the VLLMModel CRD names (seed 001)."""

import math
from typing import Literal

from pydantic import Field, model_validator

from .base import Spec
from .common import DnsName, PositiveGiB, TokenPrice
from .scaling import DEFAULT_STARTUP_S, ScalingSpec, scaling_problem
from .vllm_sizing import MAX_GPU_MEMORY_UTILIZATION, ModelShapeSpec

# Each enum is a subset of what vLLM 0.11 registers (ModelDType, CacheDType, ToolParserManager,
# ReasoningParserManager, QUANTIZATION_METHODS); tests/consumers/test_vllm_parser.py checks it against vLLM itself.
Dtype = Literal["auto", "half", "float16", "bfloat16", "float", "float32"]
KvCacheDtype = Literal["auto", "bfloat16", "fp8", "fp8_e4m3", "fp8_e5m2"]
ToolCallParser = Literal["", "hermes", "mistral", "llama3_json", "internlm", "qwen3_coder", "granite"]
ReasoningParser = Literal["", "deepseek_r1", "qwen3"]
Quantization = Literal[
    "awq",
    "awq_marlin",
    "gptq",
    "gptq_marlin",
    "fp8",
    "bitsandbytes",
    "compressed-tensors",
    "gguf",
    "experts_int8",
    "modelopt",
    "mxfp4",
]
# What the gateway registers: chat -> /v1/chat/completions, completion (FIM) -> /v1/completions.
Mode = Literal["chat", "completion", "embedding"]


class GatewayEntry(Spec):
    """Fields every engine shares: the tenant alias, replicas, and gateway pricing."""

    name: str
    replicas: int = Field(default=0, ge=0, le=64)
    mode: Mode = "chat"
    register_in_gateway: bool = True
    input_cost_per_token: TokenPrice | None = None
    output_cost_per_token: TokenPrice | None = None
    rpm: int | None = Field(default=None, ge=1)
    tpm: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _priced_when_registered(self) -> "GatewayEntry":
        if not self.register_in_gateway:
            return self
        missing = [
            k
            for k, v in (
                ("inputCostPerToken", self.input_cost_per_token),
                ("outputCostPerToken", self.output_cost_per_token),
            )
            if v is None
        ]
        if missing:
            raise ValueError(
                f"{missing[0]}: model '{self.name}' is registered in the gateway without {' and '.join(missing)}; "
                "without a per-token price every call costs $0 and budgets never bind. Set illustrative "
                "prices or your GPU amortisation (e.g. inputCostPerToken: 0.0000005, "
                "outputCostPerToken: 0.0000015), or set registerInGateway: false"
            )
        if self.input_cost_per_token == 0 and self.output_cost_per_token == 0:
            raise ValueError(
                f"inputCostPerToken: model '{self.name}' has both prices at 0, so budgets never bind; set a non-zero "
                "inputCostPerToken or outputCostPerToken"
            )
        return self


class VllmModelSpec(GatewayEntry):
    """One vLLM endpoint: a PVC weight cache, a Deployment and a Service."""

    name: DnsName
    engine: Literal["vllm"]
    pool: DnsName
    weights_gib: PositiveGiB = Field(alias="weightsGiB")
    cache_gib: int | None = Field(default=None, alias="cacheGiB", ge=1, le=65536)

    model_name: str = Field(min_length=1)
    served_model_name: str | None = Field(default=None, min_length=1)
    revision: str | None = None
    quantization: Quantization | None = None
    dtype: Dtype = "auto"
    max_model_len: int | None = Field(default=None, ge=512)
    kv_cache_dtype: KvCacheDtype | None = None
    # Attention geometry for the KV-cache sizing rule, for a model outside models/vllm_sizing.py's table.
    model_shape: ModelShapeSpec | None = None
    gpu_memory_utilization: float = Field(default=0.9, ge=0.1, le=1.0)  # above 0.95: _utilisation_leaves_graphs
    tensor_parallel_size: int = Field(default=1, ge=1)
    enable_chunked_prefill: bool | None = None
    max_num_batched_tokens: int | None = Field(default=None, ge=1)
    max_num_seqs: int | None = Field(default=None, ge=1)
    enable_prefix_caching: bool | None = None
    disable_custom_all_reduce: bool = False
    cpu_offload_gb: float = Field(
        default=0, alias="cpuOffloadGB", ge=0, le=1024, allow_inf_nan=False
    )  # no host has more; an unbounded float turns the sizing math into NaN
    tool_call_parser: ToolCallParser = ""
    reasoning_parser: ReasoningParser = ""
    enable_auto_tool_choice: bool = False
    chat_template: str | None = Field(default=None, min_length=1)
    extra_args: list[str] = Field(default_factory=list)
    # How long vLLM may load before the startupProbe restarts it; on demand, idleMinutes must be longer.
    startup_seconds: int = Field(default=DEFAULT_STARTUP_S, ge=30, le=14400)
    # fixed replicas, or onDemand: scaled from zero by KEDA on the gateway's demand (models/scaling.py).
    scaling: ScalingSpec = ScalingSpec()

    @model_validator(mode="after")
    def _scaling_outlives_startup(self) -> "VllmModelSpec":
        if problem := scaling_problem(self.scaling, self.replicas, self.startup_seconds):
            raise ValueError(f"{problem[0]}: {problem[1]}")
        return self

    @model_validator(mode="after")
    def _tool_choice_needs_parser(self) -> "VllmModelSpec":
        if self.enable_auto_tool_choice and not self.tool_call_parser:
            raise ValueError(
                "enableAutoToolChoice: is true but toolCallParser is empty; vLLM refuses to start. "
                "Set toolCallParser (e.g. hermes for Qwen2.5) or set enableAutoToolChoice: false"
            )
        return self

    @model_validator(mode="after")
    def _utilisation_leaves_graphs(self) -> "VllmModelSpec":
        if self.gpu_memory_utilization > MAX_GPU_MEMORY_UTILIZATION:
            raise ValueError(
                f"gpuMemoryUtilization: {self.gpu_memory_utilization} is above {MAX_GPU_MEMORY_UTILIZATION}; vLLM "
                "captures CUDA graphs after sizing the KV cache, from the memory outside this fraction, so 0.96-0.99 "
                "risk an out-of-memory at start (1.0 is refused by vLLM 0.11). Set at most 0.95, and shorten "
                "maxModelLen or set kvCacheDtype: fp8 if the KV cache needs the room"
            )
        return self

    @model_validator(mode="after")
    def _cache_holds_weights(self) -> "VllmModelSpec":
        if self.cache_gib is not None and self.cache_gib < self.weights_gib:
            raise ValueError(
                f"cacheGiB: {self.cache_gib} is smaller than weightsGiB ({self.weights_gib}); the "
                f"weights cannot be staged. Set cacheGiB to at least {math.ceil(self.weights_gib)} "
                "(a bound PVC can grow but never shrink)"
            )
        return self

    @model_validator(mode="after")
    def _extra_args_are_flags(self) -> "VllmModelSpec":
        owned = {"--model", "--served-model-name", "--port", "--host", "--api-key"}
        for arg in self.extra_args:
            if arg.split("=", 1)[0] in owned:
                raise ValueError(
                    f"extraArgs: sets {arg.split('=', 1)[0]}, which the platform owns; "
                    "use the matching model field instead"
                )
        return self

    @property
    def served_name(self) -> str:
        return self.served_model_name or self.model_name.rsplit("/", 1)[-1].lower()

    @property
    def cache_size_gib(self) -> int:
        """Default PVC: weights plus half again for revisions and the HF download temp files."""
        return self.cache_gib or max(10, math.ceil(self.weights_gib * 1.5))
