#!/usr/bin/env python3
"""Smoke-test every exposed model: through the gateway with a minted key, and directly against its backend.

One line per model, exit 1 on any failure. Runs as the smoke-test Job or from a laptop with port-forwards:

    GATEWAY_URL=http://127.0.0.1:4000 GATEWAY_KEY=sk-... UPSTREAM_KEY=... MODELS_FILE=smoke.json \
        python3 components/scripts/smoke_test_in_pod.py

MODELS_FILE is the JSON the render writes into the smoke-test ConfigMap: a list of
{name, mode, replicas, direct: {url, model} | null, check: generate | membership}. A llama-swap model
(check: membership) passes when the gateway and llama-swap's /v1/models list it: no generation, which would make
llama-swap load it and unload the model live users are on. A model at 0 replicas passes when the gateway refuses it
fast with a message that says so. A running model may still be loading (about 10 minutes on a fresh node): while
its answers are retryable (no connection, 408, 429, 5xx) it is polled every POLL_SECONDS until one shared deadline,
READY_DEADLINE_SECONDS (default 1200) after the start; a model that never comes up fails with a line saying so. A
refusal that waiting cannot fix (400, 401, 403, 404, a model the gateway does not list) fails at once. Stdlib only.
"""

import json
import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

FAST_FAIL_SECONDS = float(os.environ.get("FAST_FAIL_SECONDS", "5"))
TIMEOUT = float(os.environ.get("REQUEST_TIMEOUT", "120"))
DEADLINE = float(os.environ.get("READY_DEADLINE_SECONDS", "1200"))
POLL = float(os.environ.get("POLL_SECONDS", "15"))
FIM_PROMPT = "<|fim_prefix|>def add(a, b):\n    return <|fim_suffix|>\n<|fim_middle|>"


def call(url: str, key: str | None, body: dict | None = None, timeout: float = TIMEOUT) -> tuple[int, Any, float]:
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    req = urllib.request.Request(
        url,
        data=json.dumps(body).encode() if body is not None else None,
        headers=headers,
        method="POST" if body is not None else "GET",
    )
    start = time.monotonic()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read() or b"null"), time.monotonic() - start
    except urllib.error.HTTPError as err:
        text = err.read().decode(errors="replace")
        return err.code, text, time.monotonic() - start
    except OSError as err:
        return 0, str(err), time.monotonic() - start


def request_for(mode: str, model: str) -> tuple[str, dict]:
    if mode == "completion":  # FIM goes to raw completions: the chat template would mangle FIM tokens
        return "/completions", {"model": model, "prompt": FIM_PROMPT, "max_tokens": 8, "temperature": 0}
    if mode == "embedding":
        return "/embeddings", {"model": model, "input": "ping"}
    return "/chat/completions", {
        "model": model,
        "messages": [{"role": "user", "content": "ping"}],
        "max_tokens": 8,
        "temperature": 0,
    }


def answered(mode: str, status: int, body: Any) -> bool:
    if status != 200 or not isinstance(body, dict):
        return False
    data = body.get("data") if mode == "embedding" else body.get("choices")
    return bool(data)


def retryable(status: int) -> bool:
    """Answers a loading model or a starting gateway gives; anything else is a verdict."""
    return status == 0 or status in (408, 425, 429) or status >= 500


def check(
    model: dict, gateway: str, key: str, upstream_key: str | None, listed: set[str], timeout: float = TIMEOUT
) -> tuple[bool, bool, str]:
    """(passed, worth retrying, the report line)."""
    name, mode = model["name"], model.get("mode", "chat")
    parts, ok = [], name in listed
    parts.append("listed" if ok else "NOT in /v1/models")
    if model.get("replicas", 1) != 0 and model.get("check") == "membership":
        return membership(model, listed, upstream_key, timeout, parts)
    path, body = request_for(mode, name)
    status, resp, secs = call(gateway.rstrip("/") + "/v1" + path, key, body, timeout)
    if model.get("replicas", 1) == 0:
        text = json.dumps(resp) if not isinstance(resp, str) else resp
        fast = status >= 400 and secs <= FAST_FAIL_SECONDS and ("scaled to zero" in text or "not available" in text)
        ok = ok and fast
        parts.append(
            f"gateway={status} in {secs:.2f}s ({'fails fast: scaled to zero' if fast else 'expected a fast refusal'})"
        )
        return ok, False, " ".join(parts)
    good = answered(mode, status, resp)
    retry = name in listed and not good and retryable(status)
    ok = ok and good
    parts.append(f"gateway={status} ({secs:.2f}s)" + ("" if good else f" body={str(resp)[:160]!r}"))
    direct = model.get("direct")
    if direct:
        path, body = request_for(mode, direct["model"])
        status, resp, secs = call(direct["url"].rstrip("/") + path, upstream_key, body, timeout)
        good = answered(mode, status, resp)
        retry = retry or (name in listed and ok and not good and retryable(status))
        ok = ok and good
        parts.append(f"direct={status} ({secs:.2f}s)" + ("" if good else f" body={str(resp)[:160]!r}"))
    else:
        parts.append("direct=n/a")
    return ok, retry, " ".join(parts)


def membership(
    model: dict, listed: set[str], upstream_key: str | None, timeout: float, parts: list[str]
) -> tuple[bool, bool, str]:
    """A llama-swap model: listed by the gateway and by llama-swap's own /v1/models. No generation, which would
    load it and evict the model live users are on."""
    direct = model["direct"]
    status, resp, secs = call(direct["url"].rstrip("/") + "/models", upstream_key, timeout=timeout)
    ids = {m.get("id") for m in resp.get("data", [])} if status == 200 and isinstance(resp, dict) else set()
    ok = model["name"] in listed and direct["model"] in ids
    parts.append(
        f"swap member: llama-swap /v1/models={status} ({secs:.2f}s) "
        + ("lists it" if direct["model"] in ids else f"does not list {direct['model']!r}")
        + "; no generation (a swap would evict live users' model)"
    )
    return ok, model["name"] in listed and not ok and retryable(status), " ".join(parts)


def list_models(gateway: str, key: str, deadline: float) -> tuple[int, Any]:
    """The gateway's /v1/models, waiting while the gateway itself is not up yet."""
    while True:
        status, body, _ = call(gateway.rstrip("/") + "/v1/models", key, timeout=max(1.0, min(TIMEOUT, left(deadline))))
        if status == 200 or not retryable(status) or left(deadline) <= 0:
            return status, body
        print(f"WAIT gateway /v1/models returned {status}; {left(deadline):.0f}s left", flush=True)
        time.sleep(min(POLL, max(0.0, left(deadline))))


def left(deadline: float) -> float:
    return deadline - time.monotonic()


def wait_for(model: dict, gateway: str, key: str, upstream_key: str | None, listed: set, deadline: float):
    """Check `model` until it passes, fails for good, or the deadline passes; (passed, final line)."""
    tag = f"{model['name']} [{model.get('mode', 'chat')}]"
    while True:
        timeout = max(1.0, min(TIMEOUT, left(deadline)))
        ok, retry, line = check(model, gateway, key, upstream_key, listed, timeout)
        if ok or not retry:
            return ok, f"{'PASS' if ok else 'FAIL'} {tag} {line}"
        if left(deadline) <= 0:
            return False, f"FAIL {tag} never came up within {DEADLINE:.0f}s (READY_DEADLINE_SECONDS): {line}"
        print(f"WAIT {tag} {line}; still loading? {left(deadline):.0f}s left", flush=True)
        time.sleep(min(POLL, max(0.0, left(deadline))))


def main() -> int:
    gateway, key = os.environ["GATEWAY_URL"], os.environ["GATEWAY_KEY"]
    models = json.loads(Path(os.environ["MODELS_FILE"]).read_text())
    deadline = time.monotonic() + DEADLINE
    status, body = list_models(gateway, key, deadline)
    listed = {m["id"] for m in body.get("data", [])} if status == 200 and isinstance(body, dict) else set()
    if status != 200:
        print(f"FAIL gateway /v1/models returned {status}: {str(body)[:200]}")
    failures = 0 if status == 200 else 1
    for model in models:
        ok, line = wait_for(model, gateway, key, os.environ.get("UPSTREAM_KEY"), listed, deadline)
        failures += not ok
        print(line, flush=True)
    print(f"smoke: {len(models)} models checked, {failures} failure(s)", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
