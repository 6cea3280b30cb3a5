"""Pinned default images. A stack may override each under `images:`; `latest` is refused there."""

DEFAULT_IMAGES: dict[str, str] = {
    "vllm": "vllm/vllm-openai:v0.11.0",
    "litellm": "ghcr.io/berriai/litellm:main-v1.77.7-stable",
}
