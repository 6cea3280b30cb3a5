"""The LiteLLM gateway block: what a platform engineer tunes on the proxy."""

from typing import Literal

from pydantic import Field

from .base import Spec


class ResourcesSpec(Spec):
    cpu: str = "500m"
    memory: str = "1Gi"
    cpu_limit: str = "2"
    memory_limit: str = "2Gi"


class GatewaySpec(Spec):
    replicas: int = Field(default=1, ge=0, le=20)
    resources: ResourcesSpec = ResourcesSpec()
    # Seconds a request may take upstream; model loads are handled by readiness, not by waiting here.
    request_timeout: int = Field(default=600, ge=1, le=3600)
    # Connection errors fail at once; retries only help flaky upstreams.
    num_retries: int = Field(default=0, ge=0, le=5)
    num_workers: int = Field(default=1, ge=1, le=16)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    drop_params: bool = True
