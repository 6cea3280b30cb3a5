"""In-process HTTP fakes that speak recorded contracts: LiteLLM's key API and the Kubernetes Secret API."""

import base64
import copy
import json
import secrets
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from tests.consumers.stub_openai import send_json

CONTRACT = json.loads((Path(__file__).parent / "contracts" / "litellm_keys.json").read_text())


class FakeLiteLLM:
    def __init__(self, master: str):
        self.master = master
        self.keys: dict[str, dict] = {}
        self.calls: list[tuple[str, str, dict | None]] = []
        self.contract_violations: list[str] = []

    def handle(self, method: str, url: str, auth: str, body: dict | None) -> tuple[int, object]:
        path = urlparse(url).path
        self.calls.append((method, path, body))
        if path == "/health/readiness":
            return 200, {"status": "healthy"}
        if auth != f"Bearer {self.master}":
            return 401, {"error": {"message": "Authentication Error, invalid master key"}}
        if path == "/key/generate" and method == "POST":
            extra = set(body) - set(CONTRACT["generate"]["request_fields"])
            if extra:
                self.contract_violations.append(f"generate: unknown fields {sorted(extra)}")
            key = "sk-" + secrets.token_hex(12)
            resp = copy.deepcopy(CONTRACT["generate"]["response"])
            resp.update({k: v for k, v in body.items() if k in resp}, key=key, token_id=secrets.token_hex(8))
            self.keys[key] = {**body, "blocked": None, "spend": 0.0}
            return 200, resp
        if path == "/key/info" and method == "GET":
            key = parse_qs(urlparse(url).query).get("key", [""])[0]
            if key not in self.keys:
                c = CONTRACT["info"]["unknown_key"]
                return c["status"], c["body"]
            resp = copy.deepcopy(CONTRACT["info"]["response"])
            resp["key"] = key
            resp["info"].update({k: v for k, v in self.keys[key].items() if k in resp["info"]})
            return 200, resp
        if path == "/key/update" and method == "POST":
            extra = set(body) - set(CONTRACT["update"]["request_fields"])
            if extra:
                self.contract_violations.append(f"update: unknown fields {sorted(extra)}")
            if body.get("key") not in self.keys:
                return 404, {"detail": "key not found"}
            self.keys[body["key"]].update({k: v for k, v in body.items() if k != "key"})
            return 200, {"key": body["key"], **self.keys[body["key"]]}
        return 404, {"detail": "Not Found"}


class FakeKube:
    def __init__(self, token: str):
        self.token = token
        self.secrets: dict[tuple[str, str], dict] = {}

    def value(self, ns: str, name: str) -> str | None:
        s = self.secrets.get((ns, name))
        return base64.b64decode(s["data"]["api-key"]).decode() if s else None

    def handle(self, method: str, url: str, auth: str, body: dict | None) -> tuple[int, object]:
        if auth != f"Bearer {self.token}":
            return 401, {"kind": "Status", "code": 401}
        parts = urlparse(url).path.strip("/").split("/")  # api v1 namespaces NS secrets [NAME]
        ns = parts[3]
        if method == "GET":
            s = self.secrets.get((ns, parts[5]))
            return (200, s) if s else (404, {"kind": "Status", "code": 404})
        if method == "POST":
            key = (ns, body["metadata"]["name"])
            if key in self.secrets:
                return 409, {"kind": "Status", "code": 409}
            self.secrets[key] = body
            return 201, body
        if method == "PUT":
            self.secrets[(ns, parts[5])] = body
            return 200, body
        return 405, {}


@contextmanager
def serve(fake):
    class Handler(BaseHTTPRequestHandler):
        def _do(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(n)) if n else None
            send_json(self, *fake.handle(self.command, self.path, self.headers.get("Authorization", ""), body))

        do_GET = do_POST = do_PUT = _do

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
