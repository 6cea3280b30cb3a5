#!/usr/bin/env python3
"""Free a model's cache disk for its weight-stage Job, and grow the claim when the model's cacheGiB grew.

1. Scale Deployment DEPLOYMENT to 0 and wait until it reports no pods: the cache is ReadWriteOnce, and the stage
   pod mounts it on a CPU node, which the disk cannot do while it is attached to the GPU node. (A pod still
   terminating keeps the disk a few seconds longer; the stage pod's mount waits for the detach.) A Deployment that
   does not exist yet (the first `up`) needs nothing. `pulumi up` scales it back once the stage succeeded.
2. A claim never shrinks (Kubernetes refuses it): Pulumi ignores the claim's size after creation, and this step
   raises a bound claim to CACHE_SIZE when that is larger, or keeps the live size and says so.
Without DEPLOYMENT only step 2 runs (the llama.cpp cache-grow Jobs, components/manifests/cache_growth.py).
Env: NAMESPACE, DEPLOYMENT, PVC, CACHE_SIZE (e.g. 20Gi), WAIT_SECONDS, K8S_API, K8S_TOKEN_FILE, K8S_CA_FILE.
Stdlib only.
"""

import json
import os
import re
import ssl
import sys
import time
import urllib.error
import urllib.request
from typing import Any

SA = "/var/run/secrets/kubernetes.io/serviceaccount"
MERGE = "application/merge-patch+json"
UNITS = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}


def quantity(text: str) -> int:
    """Bytes of a Kubernetes storage quantity (20Gi, 21474836480, 500M)."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([kMGT]i?|)", text.strip())
    if not m:
        raise ValueError(f"not a storage quantity: {text!r}")
    return int(float(m.group(1)) * UNITS[m.group(2)])


class Kube:
    def __init__(self, base: str, token: str, ca: str | None):
        self.base, self.token = base.rstrip("/"), token
        self.ctx = ssl.create_default_context(cafile=ca) if ca and os.path.exists(ca) else None

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        req = urllib.request.Request(
            self.base + path,
            data=json.dumps(body).encode() if body is not None else None,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": MERGE},
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


def release(kube: Kube, ns: str, name: str, wait: float) -> str:
    path = f"/apis/apps/v1/namespaces/{ns}/deployments/{name}"
    status, body = kube.call("PATCH", f"{path}/scale", {"spec": {"replicas": 0}})
    if status == 404:
        return f"release: no Deployment {ns}/{name} yet; the cache is free"
    if status != 200:
        raise SystemExit(f"release: scaling {ns}/{name} to 0 failed ({status}): {body}")
    deadline = time.monotonic() + wait
    while True:
        status, body = kube.call("GET", path)
        running = ((body.get("status") or {}).get("replicas") or 0) if status == 200 else None
        if running == 0:
            return f"release: {ns}/{name} scaled to 0; the cache disk is free for staging"
        if time.monotonic() > deadline:
            raise SystemExit(f"release: {ns}/{name} still reports {running} pod(s) after {wait:.0f}s")
        time.sleep(3)


def grow(kube: Kube, ns: str, pvc: str, wanted: str) -> str:
    path = f"/api/v1/namespaces/{ns}/persistentvolumeclaims/{pvc}"
    status, body = kube.call("GET", path)
    if status == 404:
        return f"claim {ns}/{pvc} does not exist yet"
    if status != 200:
        raise SystemExit(f"release: reading claim {ns}/{pvc} failed ({status}): {body}")
    live = body["spec"]["resources"]["requests"]["storage"]
    if quantity(live) >= quantity(wanted):
        note = "" if quantity(live) == quantity(wanted) else " (a claim never shrinks)"
        return f"claim {ns}/{pvc} keeps its live size {live}{note}"
    if (body.get("status") or {}).get("phase") != "Bound":
        return f"claim {ns}/{pvc} is {live} and not bound yet: Kubernetes resizes bound claims only"
    status, body = kube.call("PATCH", path, {"spec": {"resources": {"requests": {"storage": wanted}}}})
    if status != 200:
        raise SystemExit(f"release: growing claim {ns}/{pvc} to {wanted} failed ({status}): {body}")
    return f"claim {ns}/{pvc} grown from {live} to {wanted}"


def main() -> int:
    ns, name = os.environ["NAMESPACE"], os.environ.get("DEPLOYMENT", "")
    host, port = os.environ.get("KUBERNETES_SERVICE_HOST"), os.environ.get("KUBERNETES_SERVICE_PORT", "443")
    api = os.environ.get("K8S_API") or f"https://{host}:{port}"
    with open(os.environ.get("K8S_TOKEN_FILE", f"{SA}/token")) as f:
        kube = Kube(api, f.read().strip(), os.environ.get("K8S_CA_FILE", f"{SA}/ca.crt"))
    if name:  # the llama.cpp cache-grow Jobs only grow their claim
        print(release(kube, ns, name, float(os.environ.get("WAIT_SECONDS", "240"))), flush=True)
    if os.environ.get("PVC") and os.environ.get("CACHE_SIZE"):
        print(f"release: {grow(kube, ns, os.environ['PVC'], os.environ['CACHE_SIZE'])}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
