"""External models (seed 004): an OpenAI-compatible endpoint elsewhere, registered beside the self-hosted ones.

The gateway carries the LiteMaaS catalog metadata in `model_info`; the limits and prices in `litellm_params`.
The endpoint's API key is read from an existing Secret in the gateway namespace, never from stack config.
"""

import re
from typing import Literal

from pydantic import AnyHttpUrl, Field, field_validator

from .gateway import SecretRef
from .llamacpp import LlamaName
from .serving import GatewayEntry

_PROVIDER_MODEL = re.compile(r"^[a-z0-9_-]+/\S+$")


class ExternalModelSpec(GatewayEntry):
    name: LlamaName
    engine: Literal["external"]
    api_base: AnyHttpUrl
    api_key_secret: SecretRef | None = None
    litellm_model: str = Field(min_length=3)
    # LiteMaaS catalog metadata (seed 004 "Model Parameters Reference"), defaults as documented there.
    display_name: str | None = None
    description: str = "AI model"
    provider: str = "openshift-ai"
    category: str = "general"
    context_length: int | None = Field(default=None, ge=1)
    supports_streaming: bool = True
    availability: Literal["available", "unavailable", "deprecated"] = "available"

    @field_validator("litellm_model")
    @classmethod
    def _provider_prefixed(cls, value: str) -> str:
        if not _PROVIDER_MODEL.match(value):
            raise ValueError(
                f"'{value}' has no provider prefix; use LiteLLM's '<provider>/<model>' form "
                "(e.g. 'openai/granite-3-2-8b-instruct' for an OpenAI-compatible endpoint)"
            )
        return value

    @property
    def served_name(self) -> str:
        return self.litellm_model.split("/", 1)[1]

    @property
    def key_env(self) -> str:
        """The gateway env var holding this endpoint's key (from api_key_secret)."""
        return "EXTERNAL_" + re.sub(r"[^A-Z0-9]", "_", self.name.upper()) + "_API_KEY"
