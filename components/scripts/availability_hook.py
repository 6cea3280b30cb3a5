"""LiteLLM pre-call hook: refuse a model whose backend has no ready pod, at once and saying so (503, Retry-After).

A Service with no ready endpoints (the model is scaled to zero, or still loading) refuses connections; without
this hook LiteLLM would report an opaque connection error. The render writes `availability.json`
(alias -> {host, port, hint}) next to this file in the gateway ConfigMap. It lists every self-hosted model
and does not change when replicas change, so scaling a model never restarts the gateway.

With storeModelInDb the render also writes `runtime_models.json` ({connectTimeoutSeconds, declared}): a model
not declared in the stack (added at run time through the UI or POST /model/new) is first reached with a TCP
connection to its api_base, bounded by that timeout. LiteLLM 1.102.4 has no connect timeout of its own (a
timeout from config bounds connect and read alike), so an endpoint the NetworkPolicy drops would otherwise hold
the request for the whole request timeout.
"""

import asyncio
import contextlib
import json
import os
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import HTTPException
from litellm.integrations.custom_logger import CustomLogger

_FILE = Path(__file__).with_name("availability.json")
_RUNTIME_FILE = Path(__file__).with_name("runtime_models.json")
# On-demand models (issue 16): {retryAfterSeconds, holdSeconds, lingerSeconds, port, redis}; absent when none is.
_DEMAND_FILE = Path(__file__).with_name("demand.json")
CONNECT_TIMEOUT = 1.5
# Seconds a client should wait before retrying a model that is not ready (seed 001: vllm-chill's Retry-After: 30).
# LiteLLM 1.102.4 copies an HTTPException's headers onto the error response of /chat/completions and
# /embeddings (common_request_processing.py), but its /completions endpoint re-raises without them
# (proxy_server.py completion()): RetryAfterOn503 below adds the header to that refusal too.
RETRY_AFTER_S = int(
    (json.loads(_DEMAND_FILE.read_text()) if _DEMAND_FILE.exists() else {}).get("retryAfterSeconds", 30)
)
REFUSAL_TYPE = "model_not_available"
LOADING_TYPE, DISABLED_TYPE = "model_loading", "model_disabled"
REFUSAL_TYPES = (REFUSAL_TYPE, LOADING_TYPE, DISABLED_TYPE)
# Demand, what KEDA scales on: a refused request counts for DEMAND_WINDOW_S or until the model answers; an
# admitted one until it ends (at most INFLIGHT_S, so a lost end event cannot hold a GPU forever).
DEMAND_WINDOW_S, INFLIGHT_S = 60, 3600
DEMAND_METADATA = "llm_platform_demand"
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
                refusal = any(t.encode() in body for t in REFUSAL_TYPES)
                if refusal and not any(k.lower() == b"retry-after" for k, _ in headers):
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


class DemandBook:
    """Per model, two sets of request id -> expiry (epoch s): `refused` (answered 503 in the last minute) and
    `inflight` (admitted, not yet ended). In the gateway's Redis when it has one, so every process and pod adds
    to one count (sorted sets); else in this process (the gateway then runs one process)."""

    KINDS = ("refused", "inflight")

    def __init__(self, client=None) -> None:
        self.client = client
        self.local: dict[str, dict[str, float]] = {}
        self.lock = threading.Lock()

    @staticmethod
    def key(model: str, kind: str) -> str:
        return f"llm-platform:demand:{model}:{kind}"

    def mark(self, model: str, kind: str, rid: str, ttl: float) -> None:
        key, expiry = self.key(model, kind), time.time() + ttl
        if self.client is not None:
            pipe = self.client.pipeline()
            pipe.zadd(key, {rid: expiry})
            pipe.expire(key, int(ttl) + 60)
            pipe.execute()
            return
        with self.lock:
            self.local.setdefault(key, {})[rid] = expiry

    def drop(self, model: str, kind: str, rid: str | None = None) -> None:
        """Forget one request (it ended), or the whole set (None: the model answers again, refusals are served)."""
        key = self.key(model, kind)
        if self.client is not None:
            self.client.delete(key) if rid is None else self.client.zrem(key, rid)
            return
        with self.lock:
            if rid is None:
                self.local.pop(key, None)
            else:
                self.local.get(key, {}).pop(rid, None)

    def count(self, model: str) -> int:
        now, total = time.time(), 0
        for kind in self.KINDS:
            key = self.key(model, kind)
            if self.client is not None:
                self.client.zremrangebyscore(key, 0, now)  # scores are expiry times
                total += int(self.client.zcard(key))
                continue
            with self.lock:
                book = self.local.get(key, {})
                for rid in [r for r, exp in book.items() if exp <= now]:
                    del book[rid]
                total += len(book)
        return total


def redis_client():
    """The gateway's Redis (REDIS_HOST/PORT/PASSWORD, as the Router's), or None."""
    host = os.environ.get("REDIS_HOST")
    if not host:
        return None
    import redis  # installed with litellm[proxy]

    return redis.Redis(
        host=host,
        port=int(os.environ.get("REDIS_PORT", "6379")),
        password=os.environ.get("REDIS_PASSWORD") or None,
        socket_timeout=1.0,
        socket_connect_timeout=1.0,
    )


class DemandCollector:
    """`llm_platform_model_demand{model}` for every on-demand model, read when scraped (KEDA's metrics-api)."""

    def __init__(self, book: DemandBook, models: list[str]) -> None:
        self.book, self.models = book, models

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        gauge = GaugeMetricFamily(
            "llm_platform_model_demand",
            "Requests in flight plus requests refused or finished in the last minute, per on-demand model",
            labels=["model"],
        )
        for model in self.models:
            try:
                gauge.add_metric([model], self.book.count(model))
            except Exception:
                continue
        yield gauge


def serve_demand(book: DemandBook, models: list[str], port: int) -> bool:
    """Serve the gauge on its own port. With several workers one process binds it; with Redis they all
    report the same total, so which one answers does not matter."""
    from prometheus_client import CollectorRegistry, start_http_server

    registry = CollectorRegistry()
    registry.register(DemandCollector(book, models))
    try:
        start_http_server(port, registry=registry)
    except OSError:  # another worker of this pod serves it
        return False
    return True


class Availability(CustomLogger):
    def __init__(self) -> None:
        super().__init__()
        install_retry_after()
        self.backends: dict[str, dict] = json.loads(_FILE.read_text()) if _FILE.exists() else {}
        self.runtime: dict | None = json.loads(_RUNTIME_FILE.read_text()) if _RUNTIME_FILE.exists() else None
        self._seen: dict[str, tuple[bool, float]] = {}
        self.demand: dict = json.loads(_DEMAND_FILE.read_text()) if _DEMAND_FILE.exists() else {}
        self.book = DemandBook(redis_client() if self.demand.get("redis") else None)
        on_demand = sorted(m for m, b in self.backends.items() if b.get("onDemand"))
        if on_demand and self.demand.get("port"):
            serve_demand(self.book, on_demand, int(self.demand["port"]))

    @property
    def retry_after(self) -> int:
        return RETRY_AFTER_S

    async def _book(self, method: str, *args) -> None:
        """Update the demand book; Redis away: this request is not counted, the answer does not change."""
        with contextlib.suppress(Exception):
            await asyncio.to_thread(getattr(self.book, method), *args)

    async def _hold(self, backend: dict) -> bool:
        """Wait up to holdSeconds for a loading model's first ready pod (probing each second, not cached)."""
        deadline = time.monotonic() + float(self.demand.get("holdSeconds", 0))
        while time.monotonic() < deadline:
            await asyncio.sleep(min(1.0, max(deadline - time.monotonic(), 0)))
            self._seen.pop(f"{backend['host']}:{backend['port']}", None)
            if await self._up(backend["host"], int(backend["port"])):
                return True
        return False

    async def _up(self, host: str, port: int, timeout: float = CONNECT_TIMEOUT) -> bool:
        key = f"{host}:{port}"
        cached = self._seen.get(key)
        if cached and time.monotonic() < cached[1]:
            return cached[0]
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
            writer.close()
            up = True
        except (TimeoutError, OSError):
            up = False
        self._seen[key] = (up, time.monotonic() + (UP_TTL if up else DOWN_TTL))
        return up

    def _refusal(self, model: str) -> HTTPException:
        backend = self.backends[model]
        if backend.get("onDemand"):
            paused = backend.get("paused", False)
            return HTTPException(
                status_code=503,
                detail={
                    "error": (
                        f"model '{model}' is disabled: llm-platform:scaleToZero holds it at zero even on demand. "
                        f"{backend['hint']}"
                    )
                    if paused
                    else f"model '{model}' is loading on demand (no ready pod yet); retry after {self.retry_after} s",
                    "type": DISABLED_TYPE if paused else LOADING_TYPE,
                },
                headers={"Retry-After": str(self.retry_after)},
            )
        return HTTPException(
            status_code=503,
            detail={
                "error": f"model '{model}' is not available: no ready pod at {backend['host']}:{backend['port']} "
                f"(scaled to zero, or still loading). {backend['hint']}",
                "type": REFUSAL_TYPE,
            },
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )

    def _runtime_endpoints(self, model: str) -> list[tuple[str, int]]:
        """(host, port) of each api_base behind a model added at run time; [] for a declared model, or when the
        proxy's router is not up (unit use)."""
        if self.runtime is None or model in self.backends or model in self.runtime["declared"]:
            return []
        try:
            from litellm.proxy import proxy_server
        except ImportError:
            return []
        router = getattr(proxy_server, "llm_router", None)
        out = []
        for deployment in (router.get_model_list(model_name=model) if router else None) or []:
            base = (deployment.get("litellm_params") or {}).get("api_base")
            if isinstance(base, str) and base.startswith(("http://", "https://")):
                url = urlsplit(base)
                if url.hostname:
                    out.append((url.hostname, url.port or (443 if url.scheme == "https" else 80)))
        return out

    async def async_pre_call_hook(self, user_api_key_dict, cache, data: dict, call_type):
        model = str(data.get("model", ""))
        backend = self.backends.get(model)
        rid = uuid.uuid4().hex
        if backend and not await self._up(backend["host"], int(backend["port"])):
            if not backend.get("onDemand") or backend.get("paused"):
                raise self._refusal(model)
            await self._book("mark", model, "refused", rid, DEMAND_WINDOW_S)  # KEDA sees it at its next poll
            if not await self._hold(backend):
                raise self._refusal(model)
        if backend and backend.get("onDemand"):
            await self._book("drop", model, "refused", None)  # it answers: earlier refusals are served
            await self._book("mark", model, "inflight", rid, INFLIGHT_S)
            metadata = data.get("metadata")
            if isinstance(metadata, dict) or metadata is None:
                data["metadata"] = {**(metadata or {}), DEMAND_METADATA: [model, rid]}
        if endpoints := self._runtime_endpoints(model):
            timeout = float(self.runtime["connectTimeoutSeconds"]) if self.runtime else CONNECT_TIMEOUT
            if not any([await self._up(host, port, timeout) for host, port in endpoints]):
                where = ", ".join(f"{host}:{port}" for host, port in endpoints)
                raise HTTPException(
                    status_code=503,
                    detail={
                        "error": f"model '{model}' (added at run time) is not reachable: no TCP connection to "
                        f"{where} within {timeout:g} s. The gateway may reach only gateway.runtimeModelEgress "
                        "(cidrs and ports of its NetworkPolicy); add the endpoint's range there, or check that "
                        "the endpoint is up.",
                        "type": REFUSAL_TYPE,
                    },
                    headers={"Retry-After": str(RETRY_AFTER_S)},
                )
        return data

    async def _ended(self, kwargs: dict) -> None:
        """A request of an on-demand model ended: it counts for lingerSeconds more (one KEDA poll sees it), so
        KEDA's idle timer starts at the last request."""
        metadata = (kwargs.get("litellm_params") or {}).get("metadata") or {}
        mark = metadata.get(DEMAND_METADATA)
        if isinstance(mark, list) and len(mark) == 2:
            linger = float(self.demand.get("lingerSeconds", 0))
            await self._book("mark", str(mark[0]), "inflight", str(mark[1]), linger)

    async def async_log_success_event(self, kwargs, response_obj, start_time, end_time):
        await self._ended(kwargs)

    async def async_log_failure_event(self, kwargs, response_obj, start_time, end_time):
        await self._ended(kwargs)

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
