"""LiteLLM pre-call hook: refuse a model whose backend has no ready pod, at once and saying so (503, Retry-After).

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
# Seconds a client should wait before retrying a model that is not ready (seed 001: vllm-chill's Retry-After: 30).
# LiteLLM 1.102.4 copies an HTTPException's headers onto the error response of /chat/completions and
# /embeddings (common_request_processing.py), but its /completions endpoint re-raises without them
# (proxy_server.py completion()): RetryAfterOn503 below adds the header to that refusal too.
RETRY_AFTER_S = 30
REFUSAL_TYPE = "model_not_available"
# Seconds a probe result is reused: a pod that just went away may still be tried for UP_TTL.
UP_TTL, DOWN_TTL = 1.0, 2.0


class RetryAfterOn503:
    """ASGI wrapper: a 503 whose body is this hook's refusal gets Retry-After if the proxy dropped it.
    Only 503 responses are held back (they are small JSON); everything else streams through untouched."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope.get("type") != "http":
            return await self.app(scope, receive, send)
        held: list[dict] = []

        async def send_with_retry_after(message: dict) -> None:
            if message["type"] == "http.response.start" and message.get("status") == 503:
                held.append(message)
                return
            if held and message["type"] == "http.response.body":
                held.append(message)
                if message.get("more_body"):
                    return
                start, *bodies = held
                held.clear()
                headers = list(start.get("headers", []))
                body = b"".join(m.get("body", b"") for m in bodies)
                if REFUSAL_TYPE.encode() in body and not any(k.lower() == b"retry-after" for k, _ in headers):
                    headers.append((b"retry-after", str(RETRY_AFTER_S).encode()))
                await send({**start, "headers": headers})
                for m in bodies:
                    await send(m)
                return
            await send(message)

        return await self.app(scope, receive, send_with_retry_after)


def install_retry_after() -> None:
    """Wrap the proxy's ASGI stack (already built when LiteLLM imports this callback at startup)."""
    try:
        from litellm.proxy.proxy_server import app
    except ImportError:  # not inside the proxy (unit use): nothing to wrap
        return
    stack = getattr(app, "middleware_stack", None)
    if stack is None:
        app.add_middleware(RetryAfterOn503)
    elif not isinstance(stack, RetryAfterOn503):
        app.middleware_stack = RetryAfterOn503(stack)


class Availability(CustomLogger):
    def __init__(self) -> None:
        super().__init__()
        install_retry_after()
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
                "type": REFUSAL_TYPE,
            },
            headers={"Retry-After": str(RETRY_AFTER_S)},
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
