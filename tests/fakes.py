"""In-process HTTP fakes that speak recorded contracts: LiteLLM's key API and the Kubernetes Secret API.

FakeLiteLLM follows tests/contracts/litellm_keys.json (recorded from LiteLLM 1.102.4's
key_management_endpoints.py): keys are stored by their sha256 token as the proxy does, aliases are unique,
/key/update is a merge patch whose explicit nulls clear and whose budget_duration restarts the budget window,
/key/delete frees aliases. `fail[(method, path)] = (status, body)` makes one endpoint answer an error.
"""

import base64
import copy
import hashlib
import itertools
import json
import secrets
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from tests.consumers.stub_openai import send_json

CONTRACT = json.loads((Path(__file__).parent / "contracts" / "litellm_keys.json").read_text())


def token_of(key: str) -> str:
    """utils._hash_token_if_needed: an sk- key is hashed, anything else is taken as the hash already."""
    return hashlib.sha256(key.encode()).hexdigest() if key.startswith("sk-") else key


class FakeLiteLLM:
    def __init__(self, master: str):
        self.master = master
        self.rows: dict[str, dict] = {}  # token (sha256) -> row, as LiteLLM_VerificationToken
        self.values: dict[str, str] = {}  # token -> the plaintext key the fake handed out (tests only)
        self.calls: list[tuple[str, str, dict | None]] = []
        self.urls: list[str] = []
        self.contract_violations: list[str] = []
        self.fail: dict[tuple[str, str], tuple[int, object]] = {}
        self._clock = itertools.count(1)  # stands in for get_budget_reset_time(): every window start differs

    # test helpers
    def row(self, key: str) -> dict | None:
        return self.rows.get(token_of(key))

    def by_alias(self, alias: str) -> list[dict]:
        return [r for r in self.rows.values() if r.get("key_alias") == alias]

    def _check(self, what: str, body: dict) -> None:
        extra = set(body) - set(CONTRACT[what]["request_fields"])
        if extra:
            self.contract_violations.append(f"{what}: unknown fields {sorted(extra)}")

    def _window(self, row: dict) -> None:
        row["budget_reset_at"] = f"window-{next(self._clock)}" if row.get("budget_duration") else None

    def handle(self, method: str, url: str, auth: str, body: dict | None) -> tuple[int, object]:
        path = urlparse(url).path
        self.calls.append((method, path, body))
        self.urls.append(url)
        if path == "/health/readiness":
            return 200, {"status": "healthy"}
        if auth != f"Bearer {self.master}":
            e = CONTRACT["errors"]["bad_master_key"]
            return e["status"], e["body"]
        if (method, path) in self.fail:
            return self.fail[(method, path)]
        if path == "/key/generate" and method == "POST":
            return self._generate(body or {})
        if path == "/key/info" and method == "GET":
            key = parse_qs(urlparse(url).query).get("key", [""])[0]
            row = self.rows.get(token_of(key))
            if row is None:
                c = CONTRACT["info"]["unknown_key"]
                return c["status"], c["body"]
            resp = copy.deepcopy(CONTRACT["info"]["response"])
            resp["key"] = key
            resp["info"].update({k: copy.deepcopy(v) for k, v in row.items() if k in resp["info"]})
            return 200, resp
        if path == "/key/update" and method == "POST":
            return self._update(body or {})
        if path == "/key/delete" and method == "POST":
            self._check("delete", body or {})
            aliases = set((body or {}).get("key_aliases") or [])
            tokens = {token_of(k) for k in (body or {}).get("keys") or []}
            gone = [t for t, r in self.rows.items() if r.get("key_alias") in aliases or t in tokens]
            if not gone:
                c = CONTRACT["delete"]["none_found"]
                return c["status"], c["body"]
            for t in gone:
                del self.rows[t]
            return 200, {"deleted_keys": sorted(aliases | tokens)}
        if path == "/key/list" and method == "GET":
            return self._list(parse_qs(urlparse(url).query))
        if path == "/key/block" and method == "POST":
            self._check("block", body or {})
            row = self.rows.get(token_of((body or {}).get("key") or ""))
            if row is None:
                c = CONTRACT["block"]["unknown_key"]
                return c["status"], c["body"]
            row["blocked"] = True
            return 200, {"token": token_of(body["key"]), **row}
        return 404, {"detail": "Not Found"}

    def _generate(self, body: dict) -> tuple[int, object]:
        self._check("generate", body)
        alias = body.get("key_alias")
        if alias is not None and self.by_alias(alias):
            c = CONTRACT["generate"]["alias_taken"]
            return c["status"], json.loads(json.dumps(c["body"]).replace("ALIAS", alias))
        key = "sk-" + secrets.token_hex(12)
        resp = copy.deepcopy(CONTRACT["generate"]["response"])
        resp.update({k: v for k, v in body.items() if k in resp}, key=key, token_id=token_of(key))
        row = {**body, "blocked": None, "spend": 0.0}
        self._window(row)
        self.rows[token_of(key)], self.values[token_of(key)] = row, key
        return 200, resp

    def _list(self, query: dict[str, list[str]]) -> tuple[int, object]:
        """list_keys -> _list_key_helper: key_alias is an exact match; return_full_object gives the rows (with
        their token), else only the tokens; `size` per page, `page` from 1."""
        alias = query.get("key_alias", [None])[0]
        size, page = int(query.get("size", ["10"])[0]), int(query.get("page", ["1"])[0])
        rows = [(t, r) for t, r in sorted(self.rows.items()) if alias is None or r.get("key_alias") == alias]
        chunk = rows[(page - 1) * size : page * size]
        full = query.get("return_full_object", ["false"])[0] == "true"
        keys = [{"token": t, **copy.deepcopy(r)} for t, r in chunk] if full else [t for t, _ in chunk]
        pages = max(1, -(-len(rows) // size))
        return 200, {"keys": keys, "total_count": len(rows), "current_page": page, "total_pages": pages}

    def _update(self, body: dict) -> tuple[int, object]:
        self._check("update", body)
        row = self.rows.get(token_of(body.get("key") or ""))
        if row is None:
            c = CONTRACT["update"]["unknown_key"]
            return c["status"], c["body"]
        patch = {k: v for k, v in body.items() if k != "key"}
        row.update(patch)  # merge patch: absent keeps, explicit null clears
        if "budget_duration" in patch:  # prepare_key_update_data: restarts (or, when null, clears) the window
            self._window(row)
        return 200, {"key": body["key"], **row}


class FakeKube:
    """Secrets (GET, merge PATCH with a resourceVersion precondition), Deployments (GET, strategic-merge PATCH of
    the pod template) and Leases (GET, PUT with a resourceVersion precondition) of a namespace."""

    def __init__(self, token: str):
        self.token = token
        self.secrets: dict[tuple[str, str], dict] = {}
        self.deployments: dict[tuple[str, str], dict] = {}
        self.leases: dict[tuple[str, str], dict] = {}
        self.patches: list[tuple[str, str, str, dict]] = []  # (ns, name, content type, body)
        self.calls: list[tuple[str, str]] = []
        self.fail: dict[tuple[str, str], int] = {}  # (method, resource kind) -> status
        self._version = itertools.count(100)

    def version(self) -> str:
        return str(next(self._version))

    def create_secret(self, ns: str, name: str, data: dict | None = None) -> None:
        """What Pulumi does before the reconciler runs (components/key_minter.py)."""
        meta = {"name": name, "namespace": ns, "resourceVersion": self.version()}
        self.secrets[(ns, name)] = {"metadata": meta, "data": dict(data or {})}

    def create_lease(self, ns: str, name: str) -> None:
        self.leases[(ns, name)] = {"metadata": {"name": name, "resourceVersion": self.version()}, "spec": {}}

    def value(self, ns: str, name: str) -> str | None:
        s = self.secrets.get((ns, name))
        raw = s and (s.get("data") or {}).get("api-key")
        return base64.b64decode(raw).decode() if raw else None

    def stamp(self, ns: str, name: str) -> str | None:
        return self.deployments[(ns, name)].get("template", {}).get("annotations", {}).get("llm-platform/key-hash")

    def handle(self, method: str, url: str, auth: str, body: dict | None, ctype: str = "") -> tuple[int, object]:
        if auth != f"Bearer {self.token}":
            return 401, {"kind": "Status", "code": 401}
        parts = urlparse(url).path.strip("/").split("/")  # api v1 namespaces NS secrets [NAME]
        kind = parts[parts.index("namespaces") + 2]
        ns, name = parts[parts.index("namespaces") + 1], parts[parts.index("namespaces") + 3]
        self.calls.append((method, kind))
        if (method, kind) in self.fail:
            return self.fail[(method, kind)], {"kind": "Status", "code": self.fail[(method, kind)]}
        if kind == "deployments":
            return self._deployment(method, ns, name, ctype, body or {})
        if kind == "leases":
            return self._lease(method, ns, name, body or {})
        s = self.secrets.get((ns, name))
        if s is None:
            return 404, {"kind": "Status", "code": 404}
        if method == "GET":
            return 200, s
        if method == "PATCH":
            if ctype != "application/merge-patch+json":
                return 415, {"kind": "Status", "code": 415}
            if (body or {}).get("metadata", {}).get("resourceVersion") not in (None, s["metadata"]["resourceVersion"]):
                return 409, {"kind": "Status", "code": 409, "reason": "Conflict"}
            s.setdefault("data", {}).update((body or {}).get("data") or {})
            s["metadata"]["resourceVersion"] = self.version()
            return 200, s
        return 405, {}

    def _deployment(self, method: str, ns: str, name: str, ctype: str, body: dict) -> tuple[int, object]:
        if (ns, name) not in self.deployments:
            return 404, {"kind": "Status", "code": 404}
        d = self.deployments[(ns, name)]
        if method == "GET":
            return 200, {
                "spec": {"template": {"metadata": {"annotations": dict(d.get("template", {}).get("annotations", {}))}}}
            }
        if method != "PATCH":
            return 405, {}
        if ctype != "application/strategic-merge-patch+json":
            return 415, {"kind": "Status", "code": 415}
        self.patches.append((ns, name, ctype, body))
        d.setdefault("template", {}).setdefault("annotations", {}).update(
            body["spec"]["template"]["metadata"]["annotations"]
        )
        return 200, d

    def _lease(self, method: str, ns: str, name: str, body: dict) -> tuple[int, object]:
        lease = self.leases.get((ns, name))
        if lease is None:
            return 404, {"kind": "Status", "code": 404}
        if method == "GET":
            return 200, copy.deepcopy(lease)
        if method == "PUT":
            if body.get("metadata", {}).get("resourceVersion") != lease["metadata"]["resourceVersion"]:
                return 409, {"kind": "Status", "code": 409, "reason": "Conflict"}
            lease.update(spec=body.get("spec") or {})
            lease["metadata"]["resourceVersion"] = self.version()
            return 200, copy.deepcopy(lease)
        return 405, {}


@contextmanager
def serve(fake):
    class Handler(BaseHTTPRequestHandler):
        def _do(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(n)) if n else None
            auth = self.headers.get("Authorization", "")
            if isinstance(fake, FakeKube):
                send_json(self, *fake.handle(self.command, self.path, auth, body, self.headers.get("Content-Type", "")))
            else:
                send_json(self, *fake.handle(self.command, self.path, auth, body))

        do_GET = do_POST = do_PUT = do_PATCH = _do

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
