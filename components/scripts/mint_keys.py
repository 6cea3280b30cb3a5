#!/usr/bin/env python3
"""Reconcile the gateway's virtual keys with their declaration; keep each in Secret `litellm-key-<alias>`.

Runs as the awaited litellm-keys Job on every change and as a CronJob in between, so keys heal without a
config change. The two never run at once: each holds the `litellm-keys` Lease (coordination.k8s.io) while it
works, and every Secret write carries the resourceVersion it read (a concurrent writer gets 409, not a lost key).
Per declared key (shapes: LiteLLM 1.102.4 key_management_endpoints.py, tests/contracts):
- the Secret's key is looked up with /key/info by its sha256 (never the key in a URL). 200 and not blocked:
  kept, and only the fields that differ from the declaration go to /key/update (an explicit null clears a
  removed limit; an unchanged budget_duration is never sent, because sending it restarts the budget window).
- blocked: an operator blocked it, so it is never re-minted. `disabled: true` in config keeps it blocked (and
  blocks an active key); otherwise the run fails loudly for that key.
- 404 (gone), a key with another alias, or no key in the Secret: the alias may still be taken (lost Secret,
  crash between generate and Secret write), and /key/generate refuses a taken alias. So the old key is deleted,
  but only when every key holding the alias carries metadata.managed_by = llm-platform (a hand-minted key is
  never deleted: the run fails for that alias instead); then a new one is generated and written into the
  Secret (which Pulumi created: the reconciler only patches its data).
- anything else (401, 403, 5xx, no database): fail loudly, change nothing for that key.
Every run, each consumer Deployment whose pod-template stamp (a hash prefix of its key) differs is patched, so a
roll that failed once is retried. Keys this reconciler minted whose alias is no longer declared are deleted by
their token (Pulumi deletes their Secrets). Key values are never printed. Stdlib only.

Env: LITELLM_URL, LITELLM_MASTER_KEY, KEYS_FILE (JSON: {"keys": [...], "lease": {namespace, name}}),
     K8S_API (default in-cluster), K8S_TOKEN_FILE, K8S_CA_FILE, WAIT_SECONDS (gateway readiness wait),
     HOSTNAME (the Lease holder).
"""

import base64
import calendar
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
KEY_STAMP = "llm-platform/key-hash"  # pod-template annotation: sha256 prefix of the key the pods should read
FIELD_MANAGER = "llm-platform-keys"
MANAGED_BY = "llm-platform"  # metadata.managed_by of every key minted here ("managed-by" before issue 20)
LEASE_SECONDS = 900  # longer than either Job's activeDeadlineSeconds: a crashed holder's Lease expires after it


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


def stamp_of(key: str) -> str:
    """What consumer pods are stamped with: enough of the key's sha256 to tell keys apart, useless to a thief."""
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def read_secret(kube: Http, ns: str, name: str) -> tuple[str | None, str | None]:
    """(the Secret's resourceVersion, the key it holds). Pulumi creates the Secret; missing is an error."""
    status, body = kube.call("GET", f"/api/v1/namespaces/{ns}/secrets/{name}")
    if status == 404:
        raise Failed(f"mint-keys: Secret {ns}/{name} does not exist; `pulumi up` creates it before this Job runs")
    if status != 200:
        raise Failed(f"mint-keys: reading Secret {ns}/{name} failed ({status}); check the Job's RBAC")
    raw = (body.get("data") or {}).get(SECRET_KEY)
    return body["metadata"].get("resourceVersion"), base64.b64decode(raw).decode() if raw else None


def write_secret(kube: Http, ns: str, name: str, value: str, version: str | None) -> None:
    """Only the data, and only if nobody wrote the Secret since it was read (409 otherwise)."""
    patch = {
        "metadata": {"resourceVersion": version},
        "data": {SECRET_KEY: base64.b64encode(value.encode()).decode()},
    }
    status, _ = kube.call(
        "PATCH",
        f"/api/v1/namespaces/{ns}/secrets/{name}?fieldManager={FIELD_MANAGER}",
        patch,
        content_type="application/merge-patch+json",
    )
    if status == 409:
        raise Failed(f"mint-keys: Secret {ns}/{name} changed while this run held it (409); the next run retries")
    if status != 200:
        raise Failed(f"mint-keys: writing Secret {ns}/{name} failed ({status}); check the Job's RBAC")


def converge_consumers(kube: Http, consumers: list[dict[str, str]], stamp: str) -> list[str]:
    """Patch every Deployment whose pod-template stamp is not the key's (a new key, or a roll that failed
    before): the patch rolls its pods, as `kubectl rollout restart` does. Returns those patched."""
    rolled = []
    for c in consumers:
        ns, name = c["namespace"], c["deployment"]
        path = f"/apis/apps/v1/namespaces/{ns}/deployments/{name}"
        status, body = kube.call("GET", path)
        if status == 404:  # not created yet (first `up`): it starts with the Secret as it is
            continue
        if status != 200:
            raise Failed(f"mint-keys: reading Deployment {ns}/{name} failed ({status}); check the Job's RBAC")
        annotations = (((body.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("annotations")
        if (annotations or {}).get(KEY_STAMP) == stamp:
            continue
        patch = {"spec": {"template": {"metadata": {"annotations": {KEY_STAMP: stamp}}}}}
        status, _ = kube.call(
            "PATCH",
            f"{path}?fieldManager={FIELD_MANAGER}",
            patch,
            content_type="application/strategic-merge-patch+json",
        )
        if status != 200:
            raise Failed(f"mint-keys: rolling Deployment {ns}/{name} failed ({status}); check the Job's RBAC")
        rolled.append(f"{ns}/{name}")
    return rolled


def now_micro() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())


def _parse(ts: str | None) -> float:
    """A Lease's MicroTime (RFC 3339, UTC) as epoch seconds; 0 when unset."""
    if not ts:
        return 0.0
    return float(calendar.timegm(time.strptime(ts.split(".")[0].rstrip("Z"), "%Y-%m-%dT%H:%M:%S")))


def acquire_lease(kube: Http, ns: str, name: str, me: str, wait: float) -> str:
    """Hold the Lease (Pulumi created it) or wait for it; a write carries the resourceVersion it read, so of two
    runs racing for a free Lease one gets 409 and waits. Returns the resourceVersion held."""
    path = f"/apis/coordination.k8s.io/v1/namespaces/{ns}/leases/{name}"
    deadline = time.monotonic() + wait
    while True:
        status, lease = kube.call("GET", path)
        if status != 200:
            raise SystemExit(f"mint-keys: reading Lease {ns}/{name} failed ({status}); check the Job's RBAC")
        spec = lease.get("spec") or {}
        holder = spec.get("holderIdentity")
        expires = _parse(spec.get("renewTime")) + float(spec.get("leaseDurationSeconds") or 0)
        if not holder or holder == me or expires < time.time():
            lease["spec"] = {
                **spec,
                "holderIdentity": me,
                "leaseDurationSeconds": LEASE_SECONDS,
                "acquireTime": now_micro(),
                "renewTime": now_micro(),
            }
            status, body = kube.call("PUT", path, lease)
            if status == 200:
                return body["metadata"]["resourceVersion"]
            if status != 409:
                raise SystemExit(f"mint-keys: taking Lease {ns}/{name} failed ({status}); check the Job's RBAC")
        if time.monotonic() > deadline:
            raise SystemExit(f"mint-keys: Lease {ns}/{name} is held by {holder}; another reconciler is running")
        time.sleep(2)


def release_lease(kube: Http, ns: str, name: str, me: str) -> None:
    path = f"/apis/coordination.k8s.io/v1/namespaces/{ns}/leases/{name}"
    status, lease = kube.call("GET", path)
    if status == 200 and (lease.get("spec") or {}).get("holderIdentity") == me:
        lease["spec"] = {k: v for k, v in lease["spec"].items() if k not in ("holderIdentity", "renewTime")}
        kube.call("PUT", path, lease)  # best effort: an unreleased Lease expires after LEASE_SECONDS


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


def managed(row: dict[str, Any]) -> bool:
    meta = row.get("metadata") or {}
    return MANAGED_BY in (meta.get("managed_by"), meta.get("managed-by"))


def list_keys(gw: Http, alias: str | None = None) -> list[dict[str, Any]]:
    """Full key rows, all pages (of one alias when given: an exact match in 1.102.4)."""
    rows: list[dict[str, Any]] = []
    page = 1
    while True:
        query = {"return_full_object": "true", "size": "100", "page": str(page)}
        if alias is not None:
            query["key_alias"] = alias
        status, body = gw.call("GET", "/key/list?" + urllib.parse.urlencode(query))
        if status != 200 or not isinstance(body, dict):
            raise api_error("/key/list", alias or "*", status, body)
        rows += [k for k in body.get("keys") or [] if isinstance(k, dict)]
        if page >= int(body.get("total_pages") or 1):
            return rows
        page += 1


def free_alias(gw: Http, alias: str) -> bool:
    """Delete the keys holding the alias, so /key/generate accepts it; never a key minted by hand."""
    holders = list_keys(gw, alias)
    foreign = [k for k in holders if not managed(k)]
    if foreign:
        raise Failed(
            f"mint-keys: alias '{alias}' is held by a key this reconciler did not mint (no metadata.managed_by); "
            "it is never deleted: delete or rename that key in LiteLLM, or declare another alias"
        )
    if not holders:
        return False
    status, body = gw.call("POST", "/key/delete", {"keys": [k["token"] for k in holders]})
    if status not in (200, 404):
        raise api_error("/key/delete", alias, status, body)
    return status == 200


def generate(gw: Http, spec: dict[str, Any]) -> str:
    alias = spec["key_alias"]
    body = {"key_alias": alias, "models": list(spec.get("models") or [])}
    body.update({f: spec[f] for f in LIMITS if spec.get(f) is not None})
    body["metadata"] = {"managed_by": MANAGED_BY}
    status, resp = gw.call("POST", "/key/generate", body)
    if status != 200 or not isinstance(resp, dict) or not resp.get("key"):
        raise api_error("/key/generate", alias, status, resp)
    return resp["key"]


def block(gw: Http, alias: str, key: str) -> None:
    status, body = gw.call("POST", "/key/block", {"key": hashlib.sha256(key.encode()).hexdigest()})
    if status != 200:
        raise api_error("/key/block", alias, status, body)


def delete_removed(gw: Http, declared: set[str]) -> list[str]:
    """Keys minted here whose alias is no longer declared: deleted by token, so a hand-minted key never is."""
    gone = [k for k in list_keys(gw) if managed(k) and k.get("key_alias") not in declared and k.get("token")]
    if not gone:
        return []
    status, body = gw.call("POST", "/key/delete", {"keys": [k["token"] for k in gone]})
    if status not in (200, 404):
        raise api_error("/key/delete", "removed keys", status, body)
    return sorted({str(k.get("key_alias")) for k in gone})


# --- one key ----------------------------------------------------------------------------------------------------


def reconcile(gw: Http, kube: Http, spec: dict[str, Any]) -> str:
    alias, ns, name = spec["key_alias"], spec["namespace"], spec["secret_name"]
    version, current = read_secret(kube, ns, name)
    info = key_info(gw, alias, current) if current else None
    ours = info is not None and info.get("key_alias") == alias
    if spec.get("disabled"):
        if ours and not (info or {}).get("blocked") and current:
            block(gw, alias, current)
            return "blocked (disabled in config)"
        return "disabled in config: kept blocked" if ours else "disabled in config: not minted"
    if ours and (info or {}).get("blocked"):
        raise Failed(
            f"mint-keys: the key '{alias}' is blocked in LiteLLM; it is not re-minted. Unblock it (POST /key/unblock) "
            "or keep it blocked with disabled: true on its gateway.keys entry"
        )
    if ours and current:
        diff = changes(spec, info or {})
        outcome = "kept"
        if diff:
            status, body = gw.call("POST", "/key/update", {"key": current, **diff})
            if status != 200:
                raise api_error("/key/update", alias, status, body)
            outcome = f"kept, re-scoped ({', '.join(sorted(diff))})"
    else:
        why = "no key in its Secret" if not current else "gone" if info is None else "foreign"
        freed = free_alias(gw, alias)
        current = generate(gw, spec)
        write_secret(kube, ns, name, current, version)
        outcome = f"{'replaced' if freed else 'minted'} ({why})"
    rolled = converge_consumers(kube, spec.get("consumers") or [], stamp_of(current))
    return f"{outcome}; rolled {', '.join(rolled) or 'nothing'}"


def main() -> int:
    with open(os.environ["KEYS_FILE"]) as f:
        declared = json.load(f)
    keys, lease = declared["keys"], declared["lease"]
    gw = Http(os.environ["LITELLM_URL"], os.environ["LITELLM_MASTER_KEY"])
    api = os.environ.get("K8S_API") or "https://{}:{}".format(
        os.environ.get("KUBERNETES_SERVICE_HOST", "kubernetes.default.svc"),
        os.environ.get("KUBERNETES_SERVICE_PORT", "443"),
    )
    with open(os.environ.get("K8S_TOKEN_FILE", f"{SA}/token")) as f:
        token = f.read().strip()
    kube = Http(api, token, os.environ.get("K8S_CA_FILE", f"{SA}/ca.crt"))
    wait = float(os.environ.get("WAIT_SECONDS", "600"))
    me = os.environ.get("HOSTNAME") or f"mint-keys-{os.getpid()}"
    acquire_lease(kube, lease["namespace"], lease["name"], me, wait)
    failed = 0
    try:
        wait_ready(gw, wait)
        for spec in keys:
            try:
                outcome = reconcile(gw, kube, spec)
                print(f"mint-keys: {spec['key_alias']}: {outcome} -> Secret {spec['namespace']}/{spec['secret_name']}")
            except Failed as exc:
                print(str(exc), file=sys.stderr, flush=True)
                failed += 1
        try:
            for alias in delete_removed(gw, {k["key_alias"] for k in keys}):
                print(f"mint-keys: {alias}: no longer declared, deleted")
        except Failed as exc:
            print(str(exc), file=sys.stderr, flush=True)
            failed += 1
    finally:
        release_lease(kube, lease["namespace"], lease["name"], me)
    sys.stdout.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
