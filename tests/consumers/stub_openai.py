"""OpenAI-compatible stub upstream (stands in for vLLM / llama.cpp) for tests that need no real model."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# Fixed token accounting returned by the stub for every generation request, so
# cost assertions are exact: cost = 11 * input_cost + 7 * output_cost.
STUB_PROMPT_TOKENS = 11
STUB_COMPLETION_TOKENS = 7
STUB_USAGE = {
    "prompt_tokens": STUB_PROMPT_TOKENS,
    "completion_tokens": STUB_COMPLETION_TOKENS,
    "total_tokens": STUB_PROMPT_TOKENS + STUB_COMPLETION_TOKENS,
}
STUB_REPLY = "stub reply"


def send_json(handler: BaseHTTPRequestHandler, status: int, payload: Any) -> None:
    """Write one JSON response on a stdlib request handler."""
    data = json.dumps(payload).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


# --------------------------------------------------------------------------- #
# stub OpenAI-compatible upstream (stands in for vLLM / llama.cpp server)
# --------------------------------------------------------------------------- #
@dataclass
class StubOpenAI:
    base_url: str  # ends in /v1, ready to use as litellm api_base
    port: int
    served_name: str
    api_key: str | None
    # every request seen: method, path, headers (lower-cased keys), body
    requests: list[dict] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None
    fail_next: int = 0  # answer this many POSTs with 500 first (a backend lost with its Spot node)


def _make_handler(stub: StubOpenAI):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # keep pytest output clean
            pass

        def _send(self, status: int, payload: Any) -> None:
            send_json(self, status, payload)

        def _error(self, status: int, message: str, etype: str) -> None:
            self._send(status, {"error": {"message": message, "type": etype, "param": None, "code": status}})

        def _authorized(self) -> bool:
            if stub.api_key is None:
                return True
            if self.headers.get("Authorization", "") == f"Bearer {stub.api_key}":
                return True
            self._error(401, "invalid upstream api key", "authentication_error")
            return False

        def _record(self, body: Any) -> None:
            stub.requests.append(
                {
                    "method": self.command,
                    "path": self.path,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": body,
                }
            )

        def do_GET(self):
            self._record(None)
            if self.path.rstrip("/") == "/health":
                return self._send(200, {})
            if not self._authorized():
                return
            if self.path.rstrip("/") == "/v1/models":
                return self._send(
                    200,
                    {
                        "object": "list",
                        "data": [{"id": stub.served_name, "object": "model", "created": 0, "owned_by": "stub"}],
                    },
                )
            self._error(404, f"no route {self.path}", "not_found_error")

        def do_POST(self):
            n = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(n) if n else b""
            try:
                body = json.loads(raw) if raw else {}
            except ValueError:
                body = None
            self._record(body)
            if not self._authorized():
                return
            if stub.fail_next > 0:
                stub.fail_next -= 1
                return self._error(500, "upstream lost", "internal_server_error")
            if not isinstance(body, dict):
                return self._error(400, "body must be a JSON object", "invalid_request_error")
            model = body.get("model")
            if model != stub.served_name:
                return self._error(404, f"The model `{model}` does not exist.", "NotFoundError")
            path = self.path.rstrip("/")
            now = int(time.time())
            if path == "/v1/chat/completions":
                if body.get("stream"):
                    return self._stream_chat(model, now)
                return self._send(
                    200,
                    {
                        "id": "chatcmpl-stub",
                        "object": "chat.completion",
                        "created": now,
                        "model": model,
                        "choices": [
                            {
                                "index": 0,
                                "finish_reason": "stop",
                                "message": {"role": "assistant", "content": STUB_REPLY},
                            }
                        ],
                        "usage": dict(STUB_USAGE),
                    },
                )
            if path == "/v1/completions":
                return self._send(
                    200,
                    {
                        "id": "cmpl-stub",
                        "object": "text_completion",
                        "created": now,
                        "model": model,
                        "choices": [{"index": 0, "text": STUB_REPLY, "finish_reason": "stop", "logprobs": None}],
                        "usage": dict(STUB_USAGE),
                    },
                )
            if path == "/v1/embeddings":
                inp = body.get("input")
                items = inp if isinstance(inp, list) else [inp]
                return self._send(
                    200,
                    {
                        "object": "list",
                        "model": model,
                        "data": [
                            {"object": "embedding", "index": i, "embedding": [0.1, 0.2, 0.3, 0.4]}
                            for i in range(len(items))
                        ],
                        "usage": {"prompt_tokens": STUB_PROMPT_TOKENS, "total_tokens": STUB_PROMPT_TOKENS},
                    },
                )
            self._error(404, f"no route {self.path}", "not_found_error")

        def _stream_chat(self, model: str, now: int) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            base = {"id": "chatcmpl-stub", "object": "chat.completion.chunk", "created": now, "model": model}
            chunks = [
                {
                    **base,
                    "choices": [
                        {"index": 0, "delta": {"role": "assistant", "content": STUB_REPLY}, "finish_reason": None}
                    ],
                },
                {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], "usage": dict(STUB_USAGE)},
            ]
            for c in chunks:
                self.wfile.write(f"data: {json.dumps(c)}\n\n".encode())
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
            self.close_connection = True

    return Handler


@contextlib.contextmanager
def run_stub_openai(port: int, served_name: str, api_key: str | None = None) -> Iterator[StubOpenAI]:
    """OpenAI-compatible stub on 127.0.0.1:<port> serving one model name.

    Answers GET /v1/models, POST /v1/chat/completions (incl. stream),
    /v1/completions and /v1/embeddings with a fixed ``usage`` block
    (:data:`STUB_USAGE`). Returns 401 when ``api_key`` is set and the bearer
    token differs, 404 for an unknown model. Received requests are recorded in
    ``stub.requests``.
    """
    stub = StubOpenAI(base_url=f"http://127.0.0.1:{port}/v1", port=port, served_name=served_name, api_key=api_key)
    server = ThreadingHTTPServer(("127.0.0.1", port), _make_handler(stub))
    server.daemon_threads = True
    stub.server = server
    t = threading.Thread(target=server.serve_forever, name=f"stub-openai-{port}", daemon=True)
    t.start()
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
        t.join(timeout=5)
