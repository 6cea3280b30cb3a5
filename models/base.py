"""Shared pydantic base: frozen, strict about unknown keys, camelCase on the wire."""

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class Spec(BaseModel):
    """Every config block: immutable, rejects unknown keys, reads camelCase keys."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        str_strip_whitespace=True,
        # No config number is infinite or NaN; allowed, `.inf` would render as --cpu-offload-gb=inf or a
        # "max_budget": Infinity that LiteLLM cannot store.
        allow_inf_nan=False,
    )
