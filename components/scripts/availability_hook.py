"""LiteLLM pre-call hook: refuse a model whose backend has no ready pod, at once and saying so.

A Service with no ready endpoints (the model is scaled to zero, or still loading) refuses connections; without
this hook LiteLLM would report an opaque connection error. The render writes `availability.json`
(alias -> {host, port, hint}) next to this file in the gateway ConfigMap. It lists every self-hosted model
and does not change when replicas change, so scaling a model never restarts the gateway.
"""

import asyncio
import json
import time
from pathlib import Path

from fastapi import HTTPException
from litellm.integrations.custom_logger import CustomLogger

_FILE = Path(__file__).with_name("availability.json")
CONNECT_TIMEOUT = 1.5
# Seconds a probe result is reused: a pod that just went away may still be tried for UP_TTL.
UP_TTL, DOWN_TTL = 1.0, 2.0


class Availability(CustomLogger):
    def __init__(self) -> None:
        super().__init__()
        self.backends: dict[str, dict] = json.loads(_FILE.read_text()) if _FILE.exists() else {}
        self._seen: dict[str, tuple[bool, float]] = {}

    async def _up(self, host: str, port: int) -> bool:
        key = f"{host}:{port}"
        cached = self._seen.get(key)
        if cached and time.monotonic() < cached[1]:
            return cached[0]
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), CONNECT_TIMEOUT)
            writer.close()
            up = True
        except (TimeoutError, OSError):
            up = False
        self._seen[key] = (up, time.monotonic() + (UP_TTL if up else DOWN_TTL))
        return up

    def _refusal(self, model: str) -> HTTPException:
        backend = self.backends[model]
        return HTTPException(
            status_code=503,
            detail={
                "error": f"model '{model}' is not available: no ready pod at {backend['host']}:{backend['port']} "
                f"(scaled to zero, or still loading). {backend['hint']}",
                "type": "model_not_available",
            },
        )

    async def async_pre_call_hook(self, user_api_key_dict, cache, data: dict, call_type):
        model = str(data.get("model", ""))
        backend = self.backends.get(model)
        if backend and not await self._up(backend["host"], int(backend["port"])):
            raise self._refusal(model)
        return data

    async def async_post_call_failure_hook(
        self, request_data: dict, original_exception: Exception, user_api_key_dict, traceback_str=None
    ):
        # A pod that went away between probes: same answer, and forget the stale "up".
        model = str(request_data.get("model", ""))
        if model in self.backends and "Connection error" in str(original_exception):
            backend = self.backends[model]
            self._seen.pop(f"{backend['host']}:{backend['port']}", None)
            return self._refusal(model)
        return None


availability = Availability()
