"""The smoke-test script against a local stub gateway: it waits for a cold model up to a deadline, then fails loudly.

The stub answers /v1/models at once and 503 ("still loading") on inference until `ready_after` seconds have
passed, the way LiteLLM's availability hook answers while a vLLM pod loads its weights.
"""

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from components.manifests.smoke import SCRIPT
from tests.consumers.stub_openai import send_json

MODEL = "coder-chat"


@contextlib.contextmanager
def stub_gateway(ready_after: float, cold_status: int = 503, models_ready_after: float = 0.0, swap_lists=(MODEL,)):
    start = time.monotonic()
    posts: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            if time.monotonic() - start < models_ready_after:
                return send_json(self, 503, {"error": "gateway starting"})
            if self.path == "/direct/models":  # llama-swap's own /v1/models: every configured model
                return send_json(self, 200, {"object": "list", "data": [{"id": m} for m in swap_lists]})
            send_json(self, 200, {"data": [{"id": MODEL}]})

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            posts.append(self.path)
            if time.monotonic() - start < ready_after:
                return send_json(self, cold_status, {"error": f"model '{MODEL}' is not available (still loading)"})
            send_json(self, 200, {"choices": [{"message": {"content": "pong"}}]})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", posts
    finally:
        server.shutdown()


def smoke(
    tmp_path, url: str, deadline: float, replicas: int = 1, check: str = "generate"
) -> tuple[subprocess.CompletedProcess, float]:
    direct = {"url": url + "/direct", "model": MODEL if check == "membership" else "m"}
    models = [{"name": MODEL, "mode": "chat", "replicas": replicas, "direct": direct, "check": check}]
    (tmp_path / "models.json").write_text(json.dumps(models))
    env = {
        **os.environ,
        "GATEWAY_URL": url,
        "GATEWAY_KEY": "sk-test",
        "UPSTREAM_KEY": "up",
        "MODELS_FILE": str(tmp_path / "models.json"),
        "READY_DEADLINE_SECONDS": str(deadline),
        "POLL_SECONDS": "0.2",
    }
    t0 = time.monotonic()
    res = subprocess.run(
        [sys.executable, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    return res, time.monotonic() - t0


class TestWaitsForAColdModel:
    def test_model_that_comes_up_before_the_deadline_passes(self, tmp_path):
        with stub_gateway(ready_after=1.5) as (url, _):
            res, _ = smoke(tmp_path, url, deadline=20)
        assert res.returncode == 0, res.stdout
        assert "WAIT coder-chat [chat]" in res.stdout and "still loading?" in res.stdout
        assert f"PASS {MODEL} [chat] listed gateway=200" in res.stdout and "direct=200" in res.stdout

    def test_gateway_still_starting_is_waited_for(self, tmp_path):
        with stub_gateway(ready_after=0, models_ready_after=1.0) as (url, _):
            res, _ = smoke(tmp_path, url, deadline=20)
        assert res.returncode == 0, res.stdout
        assert "WAIT gateway /v1/models returned 503" in res.stdout


class TestFailsLoudlyAtTheDeadline:
    def test_model_that_never_comes_up_fails_nonzero_with_a_clear_line(self, tmp_path):
        with stub_gateway(ready_after=3600) as (url, _):
            res, took = smoke(tmp_path, url, deadline=2)
        assert res.returncode == 1
        assert f"FAIL {MODEL} [chat] never came up within 2s (READY_DEADLINE_SECONDS): listed gateway=503" in res.stdout
        assert "smoke: 1 models checked, 1 failure(s)" in res.stdout
        assert 2 <= took < 15, "it waited for the deadline, and not much longer"

    @pytest.mark.parametrize("status", [400, 401, 404])
    def test_a_refusal_waiting_cannot_fix_fails_at_once(self, tmp_path, status):
        with stub_gateway(ready_after=3600, cold_status=status) as (url, _):
            res, took = smoke(tmp_path, url, deadline=60)
        assert res.returncode == 1 and f"FAIL {MODEL} [chat] listed gateway={status}" in res.stdout
        assert "WAIT" not in res.stdout and took < 15

    def test_scaled_to_zero_model_is_not_waited_for(self, tmp_path):
        with stub_gateway(ready_after=3600) as (url, _):
            res, took = smoke(tmp_path, url, deadline=60, replicas=0)
        assert res.returncode == 0, res.stdout
        assert "fails fast: scaled to zero" in res.stdout and "WAIT" not in res.stdout and took < 15


class TestSwapModelsByMembership:
    """A generation per llama-swap model would load it and evict the model live users are on."""

    def test_a_listed_swap_model_passes_without_a_single_generation(self, tmp_path):
        with stub_gateway(ready_after=3600) as (url, posts):
            res, took = smoke(tmp_path, url, deadline=60, check="membership")
        assert res.returncode == 0, res.stdout
        assert posts == [], "no completion request reached the gateway or llama-swap"
        assert f"PASS {MODEL} [chat] listed swap member: llama-swap /v1/models=200" in res.stdout and took < 15

    def test_a_swap_model_llama_swap_does_not_list_fails(self, tmp_path):
        with stub_gateway(ready_after=3600, swap_lists=("other",)) as (url, posts):
            res, _ = smoke(tmp_path, url, deadline=60, check="membership")
        assert res.returncode == 1 and f"does not list '{MODEL}'" in res.stdout and posts == []
