"""The attention geometry of the open models people serve on L4s, from each model's config.json.

Source of every row: https://huggingface.co/<repo>/blob/main/config.json for the repo named in the key (the
instruct repo where the base and instruct configs differ); head_dim is config.json's own where it has one, else
hidden_size / num_attention_heads. `max_position` is max_position_embeddings (vLLM's derived max_model_len);
where config.json's rope_scaling already extends it (llama3, longrope, yarn as shipped) that is the extended value.
Every row is held to a public copy of its config.json where one was found (the Hub itself is not reachable
here): tests/contracts/model_configs.json records the copy and its source, tests/test_shape_table_config_json.py
compares; the rows it lists as not found carry the values of the config.json named, unchecked. Sliding-window rows count the full-attention layers:
Gemma 2 alternates (every other layer), Gemma 3 has one full layer per sliding_window_pattern (6) layers.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Shape:
    """What the KV-cache rule needs; encoder-only models keep no KV cache in vLLM."""

    layers: int = 0
    kv_heads: int = 0
    head_dim: int = 0
    max_position: int = 0
    encoder_only: bool = False
    # Sliding-window attention: layers other than `global_layers` keep only the last `sliding_window` tokens.
    sliding_window: int = 0
    global_layers: int = 0
    # Multi-head latent attention (DeepSeek-V2/V3): one latent of kv_lora_rank + qk_rope_head_dim per token and
    # layer, K only (vLLM's MLAAttentionSpec), replicated on every TP rank.
    kv_lora_rank: int = 0
    qk_rope_head_dim: int = 0

    @property
    def is_mla(self) -> bool:
        return self.kv_lora_rank > 0

    @property
    def full_layers(self) -> int:
        return self.global_layers if self.sliding_window else self.layers

    @property
    def sliding_layers(self) -> int:
        return self.layers - self.global_layers if self.sliding_window else 0

    def describe(self) -> str:
        if self.is_mla:
            return f"{self.layers} layers x MLA latent {self.kv_lora_rank}+{self.qk_rope_head_dim}"
        text = f"2 x {self.full_layers} layers x {self.kv_heads} KV heads x head size {self.head_dim}"
        if self.sliding_window:
            text += f" (+ {self.sliding_layers} sliding-window layers of {self.sliding_window} tokens)"
        return text


def _gemma3(layers: int, kv: int, head: int, max_pos: int, window: int) -> Shape:
    return Shape(layers, kv, head, max_pos, sliding_window=window, global_layers=layers // 6)


def _gemma2(layers: int, kv: int, head: int) -> Shape:
    return Shape(layers, kv, head, 8192, sliding_window=4096, global_layers=layers // 2)


_QWEN25 = 32768  # every Qwen2.5(-Coder) instruct config.json (longer needs rope_scaling yarn)
_QWEN3 = 40960  # Qwen3 dense and 30B-A3B (2507 and Coder releases: 262144)
_LLAMA31 = 131072  # rope_scaling llama3 factor 8 (3.2: factor 32) from original 8192

SHAPES: dict[str, Shape] = {
    # Llama 3.x (meta-llama/...) [searched: 3.1-8B 32/8/4096/32 heads; 3.2-1B 16/8/head 64]
    "meta-llama/llama-3.2-1b": Shape(16, 8, 64, _LLAMA31),
    "meta-llama/llama-3.2-3b": Shape(28, 8, 128, _LLAMA31),  # hidden 3072, 24 heads
    "meta-llama/llama-3.1-8b": Shape(32, 8, 128, _LLAMA31),
    "meta-llama/meta-llama-3.1-8b": Shape(32, 8, 128, _LLAMA31),
    "meta-llama/meta-llama-3-8b": Shape(32, 8, 128, 8192),  # [searched] rope_scaling null
    # Mistral (mistralai/...): v0.2/v0.3 dropped v0.1's sliding_window 4096
    "mistralai/mistral-7b-instruct-v0.3": Shape(32, 8, 128, 32768),
    "mistralai/mistral-7b-v0.3": Shape(32, 8, 128, 32768),
    "mistralai/mistral-7b-instruct-v0.2": Shape(32, 8, 128, 32768),
    # hidden 5120, 32 heads, head_dim 128; the instruct config.json went from 1024000 positions to 131072
    "mistralai/mistral-nemo-instruct-2407": Shape(40, 8, 128, 131072),
    "mistralai/mistral-nemo-base-2407": Shape(40, 8, 128, 128000),
    # Gemma 2 (google/...): sliding_window 4096 on alternate layers [searched: Gemma2Config attn_types]
    "google/gemma-2-2b": _gemma2(26, 4, 256),
    "google/gemma-2-9b": _gemma2(42, 8, 256),
    "google/gemma-2-27b": _gemma2(46, 16, 128),
    # Gemma 3 (google/...; text_config of the multimodal 4b/12b/27b): sliding_window_pattern 6
    # [searched: 1b 26 layers/1 KV/256/window 512/32768, global layers 5,11,17,23; 4b 34/4/256/window 1024]
    "google/gemma-3-1b": _gemma3(26, 1, 256, 32768, 512),
    "google/gemma-3-4b": _gemma3(34, 4, 256, 131072, 1024),
    "google/gemma-3-12b": _gemma3(48, 8, 256, 131072, 1024),
    "google/gemma-3-27b": _gemma3(62, 16, 128, 131072, 1024),
    # Phi (microsoft/...): Phi-3 mini has 32 KV heads of 96 (hidden 3072 / 32)
    "microsoft/phi-3-mini-4k": Shape(32, 32, 96, 4096),
    "microsoft/phi-3-mini-128k": Shape(32, 32, 96, 131072),  # longrope
    "microsoft/phi-3.5-mini": Shape(32, 32, 96, 131072),  # longrope
    "microsoft/phi-3-medium-4k": Shape(40, 10, 128, 4096),  # hidden 5120, 40 heads, 10 KV heads
    "microsoft/phi-3-medium-128k": Shape(40, 10, 128, 131072),
    "microsoft/phi-4": Shape(40, 10, 128, 16384),
    "microsoft/phi-4-mini": Shape(32, 8, 128, 131072),  # hidden 3072, 24 heads, longrope
    # Qwen2.5 and Qwen2.5-Coder (Qwen/...)
    "qwen/qwen2.5-0.5b": Shape(24, 2, 64, _QWEN25),  # hidden 896, 14 heads
    "qwen/qwen2.5-1.5b": Shape(28, 2, 128, _QWEN25),  # hidden 1536, 12 heads
    "qwen/qwen2.5-3b": Shape(36, 2, 128, _QWEN25),  # hidden 2048, 16 heads
    "qwen/qwen2.5-7b": Shape(28, 4, 128, _QWEN25),  # hidden 3584, 28 heads
    "qwen/qwen2.5-14b": Shape(48, 8, 128, _QWEN25),  # hidden 5120, 40 heads
    "qwen/qwen2.5-32b": Shape(64, 8, 128, _QWEN25),
    "qwen/qwen2.5-72b": Shape(80, 8, 128, _QWEN25),  # hidden 8192, 64 heads
    "qwen/qwen2.5-coder-0.5b": Shape(24, 2, 64, _QWEN25),
    "qwen/qwen2.5-coder-1.5b": Shape(28, 2, 128, _QWEN25),
    "qwen/qwen2.5-coder-3b": Shape(36, 2, 128, _QWEN25),
    "qwen/qwen2.5-coder-7b": Shape(28, 4, 128, _QWEN25),
    "qwen/qwen2.5-coder-14b": Shape(48, 8, 128, _QWEN25),
    "qwen/qwen2.5-coder-32b": Shape(64, 8, 128, _QWEN25),
    # Qwen3 (Qwen/...): head_dim 128 in config.json
    "qwen/qwen3-0.6b": Shape(28, 8, 128, _QWEN3),
    "qwen/qwen3-1.7b": Shape(28, 8, 128, _QWEN3),
    "qwen/qwen3-4b": Shape(36, 8, 128, _QWEN3),
    "qwen/qwen3-4b-instruct-2507": Shape(36, 8, 128, 262144),
    "qwen/qwen3-8b": Shape(36, 8, 128, _QWEN3),
    "qwen/qwen3-14b": Shape(40, 8, 128, _QWEN3),
    "qwen/qwen3-32b": Shape(64, 8, 128, _QWEN3),
    "qwen/qwen3-30b-a3b": Shape(48, 4, 128, _QWEN3),
    "qwen/qwen3-30b-a3b-instruct-2507": Shape(48, 4, 128, 262144),
    "qwen/qwen3-coder-30b-a3b": Shape(48, 4, 128, 262144),
    # DeepSeek-R1 distills (deepseek-ai/...): Qwen2.5 / Llama-3.1 geometry, 131072 positions
    "deepseek-ai/deepseek-r1-distill-qwen-1.5b": Shape(28, 2, 128, 131072),
    "deepseek-ai/deepseek-r1-distill-qwen-7b": Shape(28, 4, 128, 131072),
    "deepseek-ai/deepseek-r1-distill-qwen-14b": Shape(48, 8, 128, 131072),
    "deepseek-ai/deepseek-r1-distill-qwen-32b": Shape(64, 8, 128, 131072),
    "deepseek-ai/deepseek-r1-distill-llama-8b": Shape(32, 8, 128, _LLAMA31),
    # DeepSeek-V2-Lite: MLA, kv_lora_rank 512, qk_rope_head_dim 64, 27 layers, yarn 40 x 4096
    # [searched: num_layers 27, kv_lora_rank 512, qk_pos_emb_head_dim 64]
    "deepseek-ai/deepseek-v2-lite": Shape(27, 1, 576, 163840, kv_lora_rank=512, qk_rope_head_dim=64),
    # GLM-4.7-Flash (glm4_moe_lite): MLA like DeepSeek-V3, 47 layers, kv_lora_rank 512, qk_rope_head_dim 64
    # [searched: a port's Glm4MoeLiteConfig "values from config.json"; max_position_embeddings 202752]
    "zai-org/glm-4.7-flash": Shape(47, 1, 576, 202752, kv_lora_rank=512, qk_rope_head_dim=64),
    # GLM-4 (THUDM/... and zai-org/...): 40 layers, 2 KV groups of 128
    "thudm/glm-4-9b-chat-hf": Shape(40, 2, 128, 131072),
    "thudm/glm-4-9b-0414": Shape(40, 2, 128, 32768),
    "thudm/glm-z1-9b-0414": Shape(40, 2, 128, 32768),
    "zai-org/glm-4-9b-0414": Shape(40, 2, 128, 32768),
    # Embedders: encoders (no KV cache; max_position = max_position_embeddings less the padding offset)
    "baai/bge-m3": Shape(max_position=8192, encoder_only=True),  # XLM-R, 8194 - 2
    "baai/bge-large-en-v1.5": Shape(max_position=512, encoder_only=True),
    "baai/bge-base-en-v1.5": Shape(max_position=512, encoder_only=True),
    "baai/bge-small-en-v1.5": Shape(max_position=512, encoder_only=True),
    "nomic-ai/nomic-embed-text-v1.5": Shape(max_position=8192, encoder_only=True),  # n_positions 8192 (rotary)
    "nomic-ai/nomic-embed-text-v1": Shape(max_position=8192, encoder_only=True),
    "intfloat/e5-large-v2": Shape(max_position=512, encoder_only=True),
    "intfloat/e5-base-v2": Shape(max_position=512, encoder_only=True),
    "intfloat/multilingual-e5-large": Shape(max_position=512, encoder_only=True),  # XLM-R, 514 - 2
    "intfloat/multilingual-e5-large-instruct": Shape(max_position=512, encoder_only=True),
    # A causal embedder keeps a KV cache like any decoder (Mistral-7B geometry)
    "intfloat/e5-mistral-7b-instruct": Shape(32, 8, 128, 32768),
}
# Instruct, chat, -it and quantized variants keep the base model's geometry; longest suffix first.
SUFFIXES = (
    "-instruct-awq",
    "-instruct-gptq-int4",
    "-instruct-gptq-int8",
    "-instruct-fp8",
    "-it-qat-q4_0-unquantized",
    "-instruct",
    "-awq",
    "-fp8",
    "-it",
    "-chat",
)


def known_shape(model_name: str) -> Shape | None:
    name = model_name.lower()
    for suffix in ("", *SUFFIXES):
        if name.endswith(suffix) and (shape := SHAPES.get(name[: len(name) - len(suffix)])):
            return shape
    return None


def known_models() -> list[str]:
    return sorted(SHAPES)


_BY_REPO_NAME = {key.split("/", 1)[1]: shape for key, shape in SHAPES.items()}


def gguf_shape(gguf_repo: str) -> Shape | None:
    """The geometry of a GGUF conversion (e.g. bartowski/Meta-Llama-3.1-8B-Instruct-GGUF): the table row of the
    original repo name, whoever published the conversion."""
    name = gguf_repo.rsplit("/", 1)[-1].lower().removesuffix("-gguf")
    for suffix in ("", *SUFFIXES):
        if name.endswith(suffix) and (shape := _BY_REPO_NAME.get(name[: len(name) - len(suffix)])):
            return shape
    return None
