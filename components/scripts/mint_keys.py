#!/usr/bin/env python3
"""Reconcile the gateway's virtual keys with their declaration; keep each in Secret `litellm-key-<alias>`.

Runs as the awaited litellm-keys Job on every change and as a CronJob in between, so keys heal without a
config change. Per declared key (shapes: LiteLLM 1.102.4 key_management_endpoints.py, tests/contracts):
- the Secret's key is looked up with /key/info by its sha256 (never the key in a URL). 200 and not blocked:
  kept, and only the fields that differ from the declaration go to /key/update (an explicit null clears a
  removed limit; an unchanged budget_duration is never sent, because sending it restarts the budget window).
- 404 (gone), a blocked key, a key with another alias, or no key in the Secret: the alias may still be taken
  (lost Secret, crash between generate and Secret write), and /key/generate refuses a taken alias. So the old
  key is deleted by alias (/key/delete; /key/regenerate is enterprise-only), a new one generated, the Secret
  created (POST) or replaced (PUT) as it exists or not, and the consumer Deployments rolled (a pod-template
  annotation), since they read the key at start only.
- anything else (401, 403, 5xx, no database): fail loudly, change nothing for that key.
Key values are never printed. Stdlib only.

Env: LITELLM_URL, LITELLM_MASTER_KEY, KEYS_FILE (JSON list of declared keys),
     K8S_API (default in-cluster), K8S_TOKEN_FILE, K8S_CA_FILE, WAIT_SECONDS (gateway readiness wait).
"""

import base64
import hashlib
import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

SA = "/var/run/secrets/kubernetes.io/serviceaccount"
SECRET_KEY = "api-key"
LIMITS = ("max_budget", "budget_duration", "rpm_limit", "tpm_limit")
ROLLED_AT = "llm-platform/key-rotated-at"  # pod-template annotation: a change rolls the consumer's pods
FIELD_MANAGER = "llm-platform-keys"


class Http:
    def __init__(self, base: str, token: str, ca: str | None = None):
        self.base, self.token = base.rstrip("/"), token
        self.ctx = ssl.create_default_context(cafile=ca) if ca and os.path.exists(ca) else None

    def call(self, method: str, path: str, body: Any = None, content_type: str = "application/json") -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            self.base + path,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": content_type},
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


class Failed(SystemExit):
    """One key could not be reconciled; the others still are, and the run exits 1."""


def api_error(call: str, alias: str, status: int, body: Any) -> Failed:
    hint = " (virtual keys need the gateway's database: check DATABASE_URL)" if status == 500 else ""
    return Failed(f"mint-keys: {call} for '{alias}' failed ({status}){hint}: {body}")


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


# --- the Kubernetes side ----------------------------------------------------------------------------------------


def read_secret(kube: Http, ns: str, name: str) -> tuple[bool, str | None]:
    """(the Secret exists, the key it holds)."""
    status, body = kube.call("GET", f"/api/v1/namespaces/{ns}/secrets/{name}")
    if status == 404:
        return False, None
    if status != 200:
        raise Failed(f"mint-keys: reading Secret {ns}/{name} failed ({status}); check the Job's RBAC")
    raw = (body.get("data") or {}).get(SECRET_KEY)
    return True, base64.b64decode(raw).decode() if raw else None


def write_secret(kube: Http, ns: str, name: str, alias: str, value: str, exists: bool) -> None:
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
    if exists:  # replace whatever it holds (no key, a stale one): PUT, as POST would answer 409
        status, _ = kube.call("PUT", f"/api/v1/namespaces/{ns}/secrets/{name}", secret)
    else:
        status, _ = kube.call("POST", f"/api/v1/namespaces/{ns}/secrets", secret)
    if status not in (200, 201):
        raise Failed(f"mint-keys: writing Secret {ns}/{name} failed ({status}); check the Job's RBAC")


def roll(kube: Http, consumers: list[dict[str, str]], stamp: str) -> list[str]:
    """Restart the Deployments that read the key (as `kubectl rollout restart` does). Returns those rolled."""
    patch = {"spec": {"template": {"metadata": {"annotations": {ROLLED_AT: stamp}}}}}
    rolled = []
    for c in consumers:
        ns, name = c["namespace"], c["deployment"]
        status, _ = kube.call(
            "PATCH",
            f"/apis/apps/v1/namespaces/{ns}/deployments/{name}?fieldManager={FIELD_MANAGER}",
            patch,
            content_type="application/strategic-merge-patch+json",
        )
        if status == 404:  # not created yet (first `up`): it starts with the new Secret anyway
            continue
        if status != 200:
            raise Failed(f"mint-keys: rolling Deployment {ns}/{name} failed ({status}); check the Job's RBAC")
        rolled.append(f"{ns}/{name}")
    return rolled


# --- the LiteLLM side -------------------------------------------------------------------------------------------


def key_info(gw: Http, alias: str, key: str) -> dict[str, Any] | None:
    """The key's row, or None when LiteLLM answers 404 (gone). Anything else is not proof the key is gone."""
    token = hashlib.sha256(key.encode()).hexdigest()  # LiteLLM's own token hash: the key stays out of URLs
    status, body = gw.call("GET", f"/key/info?key={token}")
    if status == 404:
        return None
    if status != 200 or not isinstance(body, dict) or not isinstance(body.get("info"), dict):
        raise api_error("/key/info", alias, status, body)
    return body["info"]


def changes(spec: dict[str, Any], info: dict[str, Any]) -> dict[str, Any]:
    """Only what differs from the stored key; None (a limit removed from config) is sent as an explicit null."""
    out: dict[str, Any] = {}
    if sorted(spec.get("models") or []) != sorted(info.get("models") or []):
        out["models"] = list(spec.get("models") or [])
    for field in LIMITS:
        if spec.get(field) != info.get(field):  # 5 == 5.0: a budget stored as float is unchanged
            out[field] = spec.get(field)
    return out


def delete_alias(gw: Http, alias: str) -> bool:
    """Free the alias for /key/generate. True when a key held it, False when none did (404)."""
    status, body = gw.call("POST", "/key/delete", {"key_aliases": [alias]})
    if status == 404:
        return False
    if status != 200:
        raise api_error("/key/delete", alias, status, body)
    return True


def generate(gw: Http, spec: dict[str, Any]) -> str:
    alias = spec["key_alias"]
    body = {"key_alias": alias, "models": list(spec.get("models") or [])}
    body.update({f: spec[f] for f in LIMITS if spec.get(f) is not None})
    body["metadata"] = {"managed-by": "llm-platform"}
    status, resp = gw.call("POST", "/key/generate", body)
    if status != 200 or not isinstance(resp, dict) or not resp.get("key"):
        raise api_error("/key/generate", alias, status, resp)
    return resp["key"]


# --- one key ----------------------------------------------------------------------------------------------------


def reconcile(gw: Http, kube: Http, spec: dict[str, Any], stamp: str) -> str:
    alias, ns, name = spec["key_alias"], spec["namespace"], spec["secret_name"]
    exists, current = read_secret(kube, ns, name)
    info = key_info(gw, alias, current) if current else None
    if info is not None and not info.get("blocked") and info.get("key_alias") == alias:
        diff = changes(spec, info)
        if not diff:
            return "kept"
        status, body = gw.call("POST", "/key/update", {"key": current, **diff})
        if status != 200:
            raise api_error("/key/update", alias, status, body)
        return f"kept, re-scoped ({', '.join(sorted(diff))})"
    why = "no key in its Secret" if not current else "gone" if info is None else "blocked or foreign"
    freed = delete_alias(gw, alias)
    write_secret(kube, ns, name, alias, generate(gw, spec), exists)
    rolled = roll(kube, spec.get("consumers") or [], stamp)
    verb = "replaced" if freed else "minted" if not exists else "re-minted"
    return f"{verb} ({why}); rolled {', '.join(rolled) or 'nothing'}"


def main() -> int:
    with open(os.environ["KEYS_FILE"]) as f:
        keys = json.load(f)
    gw = Http(os.environ["LITELLM_URL"], os.environ["LITELLM_MASTER_KEY"])
    api = os.environ.get("K8S_API") or "https://{}:{}".format(
        os.environ.get("KUBERNETES_SERVICE_HOST", "kubernetes.default.svc"),
        os.environ.get("KUBERNETES_SERVICE_PORT", "443"),
    )
    with open(os.environ.get("K8S_TOKEN_FILE", f"{SA}/token")) as f:
        token = f.read().strip()
    kube = Http(api, token, os.environ.get("K8S_CA_FILE", f"{SA}/ca.crt"))
    wait_ready(gw, float(os.environ.get("WAIT_SECONDS", "600")))
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    failed = 0
    for spec in keys:
        try:
            outcome = reconcile(gw, kube, spec, stamp)
            print(f"mint-keys: {spec['key_alias']}: {outcome} -> Secret {spec['namespace']}/{spec['secret_name']}")
        except Failed as exc:
            print(str(exc), file=sys.stderr, flush=True)
            failed += 1
    sys.stdout.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
