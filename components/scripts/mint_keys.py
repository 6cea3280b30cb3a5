#!/usr/bin/env python3
"""Mint the gateway's virtual keys in-cluster and keep each in Secret `litellm-key-<alias>`.

Idempotent, as the seed's litellm-keys Job: a key already in its Secret that /key/info still accepts is kept
(its scope and budget are brought back to the declared values with /key/update); otherwise a new key is minted
with /key/generate and the Secret written. Key values are never printed. Stdlib only.

Env: LITELLM_URL, LITELLM_MASTER_KEY, KEYS_FILE (JSON list of declared keys),
     K8S_API (default in-cluster), K8S_TOKEN_FILE, K8S_CA_FILE, WAIT_SECONDS (gateway readiness wait).
"""

import base64
import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

SA = "/var/run/secrets/kubernetes.io/serviceaccount"
SECRET_KEY = "api-key"
FIELDS = ("models", "max_budget", "budget_duration", "rpm_limit", "tpm_limit")


class Http:
    def __init__(self, base: str, token: str, ca: str | None = None):
        self.base, self.token = base.rstrip("/"), token
        self.ctx = ssl.create_default_context(cafile=ca) if ca and os.path.exists(ca) else None

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            self.base + path,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=30, context=self.ctx) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as err:
            raw = err.read()
            try:
                return err.code, json.loads(raw)
            except ValueError:
                return err.code, raw.decode(errors="replace")


def wait_ready(gw: Http, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            status, _ = gw.call("GET", "/health/readiness")
            if status == 200:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"mint-keys: gateway {gw.base} not ready after {seconds:.0f}s")
        time.sleep(3)


def read_key(kube: Http, ns: str, name: str) -> str | None:
    status, body = kube.call("GET", f"/api/v1/namespaces/{ns}/secrets/{name}")
    if status == 404:
        return None
    if status != 200:
        raise SystemExit(f"mint-keys: reading Secret {ns}/{name} failed ({status}); check the Job's RBAC")
    raw = (body.get("data") or {}).get(SECRET_KEY)
    return base64.b64decode(raw).decode() if raw else None


def write_key(kube: Http, ns: str, name: str, alias: str, value: str, exists: bool) -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": name,
            "namespace": ns,
            "labels": {"app.kubernetes.io/part-of": "llm-platform", "llm-platform/key-alias": alias},
        },
        "data": {SECRET_KEY: base64.b64encode(value.encode()).decode()},
    }
    if exists:
        status, _body = kube.call("PUT", f"/api/v1/namespaces/{ns}/secrets/{name}", secret)
    else:
        status, _body = kube.call("POST", f"/api/v1/namespaces/{ns}/secrets", secret)
    if status not in (200, 201):
        raise SystemExit(f"mint-keys: writing Secret {ns}/{name} failed ({status}); check the Job's RBAC")


def still_valid(gw: Http, key: str) -> bool:
    status, body = gw.call("GET", f"/key/info?key={urllib.parse.quote(key)}")
    if status != 200 or not isinstance(body, dict):
        return False
    info = body.get("info") or {}
    return not info.get("blocked")


def declared(spec: dict[str, Any]) -> dict[str, Any]:
    return {f: spec[f] for f in FIELDS if spec.get(f) is not None}


def reconcile(gw: Http, kube: Http, spec: dict[str, Any]) -> str:
    alias, ns, name = spec["key_alias"], spec["namespace"], spec["secret_name"]
    current = read_key(kube, ns, name)
    if current and still_valid(gw, current):
        status, body = gw.call("POST", "/key/update", {"key": current, **declared(spec)})
        if status != 200:
            raise SystemExit(f"mint-keys: /key/update for '{alias}' failed ({status}): {body}")
        return "kept"
    status, body = gw.call(
        "POST", "/key/generate", {"key_alias": alias, **declared(spec), "metadata": {"managed-by": "llm-platform"}}
    )
    if status != 200 or not isinstance(body, dict) or not body.get("key"):
        hint = " (virtual keys need the gateway's database: check DATABASE_URL)" if status in (400, 500) else ""
        raise SystemExit(f"mint-keys: /key/generate for '{alias}' failed ({status}){hint}: {body}")
    write_key(kube, ns, name, alias, body["key"], exists=current is not None)
    return "minted" if current is None else "re-minted"


def main() -> int:
    keys = json.loads(Path(os.environ["KEYS_FILE"]).read_text())
    gw = Http(os.environ["LITELLM_URL"], os.environ["LITELLM_MASTER_KEY"])
    api = os.environ.get("K8S_API") or "https://{}:{}".format(
        os.environ.get("KUBERNETES_SERVICE_HOST", "kubernetes.default.svc"),
        os.environ.get("KUBERNETES_SERVICE_PORT", "443"),
    )
    token = Path(os.environ.get("K8S_TOKEN_FILE", f"{SA}/token")).read_text().strip()
    kube = Http(api, token, os.environ.get("K8S_CA_FILE", f"{SA}/ca.crt"))
    wait_ready(gw, float(os.environ.get("WAIT_SECONDS", "600")))
    failed = 0
    for spec in keys:
        try:
            print(
                f"mint-keys: {spec['key_alias']}: {reconcile(gw, kube, spec)} "
                f"-> Secret {spec['namespace']}/{spec['secret_name']}",
                flush=True,
            )
        except SystemExit as exc:
            print(str(exc), file=sys.stderr, flush=True)
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
