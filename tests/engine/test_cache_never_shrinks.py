"""Cache claims never shrink, on the real API server (issue 15, 2c): release_cache.py, run with the token of the
rendered cache-grow account (its Role as the stack declares it), grows a bound claim, keeps the live size when
the configured one is smaller (the real API server refuses that shrink), leaves an unbound claim alone, and
scales the model's Deployment to 0 before staging. The claim is bound by the real controller-manager to a static
PV of a StorageClass that allows expansion, as GKE's standard-rwo does."""

import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from components.manifests import cache_growth as cg
from components.manifests.weight_stage import RELEASE_SCRIPT
from models import parse_config
from tests.engine.test_admission import kubeconfig, kubectl  # noqa: F401 (the module fixture)
from tests.llama_seed import seed_raw

pytestmark = [pytest.mark.engine, pytest.mark.consumer]
CLASS = "e2e-expandable"


def apply(kube: Path, *objs: dict) -> None:
    res = kubectl(kube, "apply", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": objs}))
    assert res.returncode == 0, res.stderr


def claim(name: str, ns: str, size: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": CLASS,
            "resources": {"requests": {"storage": size}},
        },
    }


def volume(name: str, size: str, ns: str, claim_name: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": name},
        "spec": {
            "capacity": {"storage": size},
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": CLASS,
            "persistentVolumeReclaimPolicy": "Delete",
            "hostPath": {"path": f"/tmp/{name}"},
            "claimRef": {"namespace": ns, "name": claim_name},
        },
    }


def pvc(kube: Path, ns: str, name: str) -> dict:
    res = kubectl(kube, "get", "pvc", "-n", ns, name, "-o", "json")
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def wait_bound(kube: Path, ns: str, name: str) -> None:
    deadline = time.monotonic() + 90
    while pvc(kube, ns, name).get("status", {}).get("phase") != "Bound":
        assert time.monotonic() < deadline, f"claim {name} never bound: {pvc(kube, ns, name)}"
        time.sleep(1)


@pytest.fixture(scope="module")
def grow_env(kubeconfig, tmp_path_factory):
    """The rendered cache-grow account in a fresh namespace, and the env release_cache.py runs with in its Job."""
    cfg = parse_config(seed_raw())
    ns = cfg.namespaces.serving
    kubectl(kubeconfig, "delete", "namespace", ns, "--wait=true", "--timeout=90s")
    kubectl(kubeconfig, "create", "namespace", ns)
    apply(kubeconfig, *cg.shared(cfg))
    apply(
        kubeconfig,
        {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {"name": CLASS},
            "provisioner": "kubernetes.io/no-provisioner",
            "allowVolumeExpansion": True,
            "volumeBindingMode": "Immediate",
        },
    )
    token = kubectl(kubeconfig, "create", "token", cg.NAME, "-n", ns, "--duration=1h")
    assert token.returncode == 0, token.stderr
    tmp = tmp_path_factory.mktemp("grow")
    (tmp / "token").write_text(token.stdout.strip())
    cluster = yaml.safe_load(kubeconfig.read_text())["clusters"][0]["cluster"]
    (tmp / "ca.crt").write_bytes(base64.b64decode(cluster["certificate-authority-data"]))
    env = {
        **os.environ,
        "NAMESPACE": ns,
        "K8S_API": cluster["server"],
        "K8S_TOKEN_FILE": str(tmp / "token"),
        "K8S_CA_FILE": str(tmp / "ca.crt"),
        "WAIT_SECONDS": "60",
    }
    yield kubeconfig, ns, env
    kubectl(kubeconfig, "delete", "namespace", ns, "--wait=false")
    for pv in ("e2e-grow-a", "e2e-grow-b"):
        kubectl(kubeconfig, "delete", "pv", pv, "--wait=false")


def run(env: dict, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(RELEASE_SCRIPT)], env={**env, **extra}, capture_output=True, text=True, timeout=120
    )


class TestCacheNeverShrinks:
    def test_bound_claim_grows_and_never_shrinks(self, grow_env):
        kube, ns, env = grow_env
        name = "llama-static-a-cache"  # a claim the rendered Role names
        apply(kube, volume("e2e-grow-a", "24Gi", ns, name), claim(name, ns, "24Gi"))
        wait_bound(kube, ns, name)
        res = run(env, PVC=name, CACHE_SIZE="40Gi")
        assert res.returncode == 0, res.stderr
        assert f"claim {ns}/{name} grown from 24Gi to 40Gi" in res.stdout
        assert pvc(kube, ns, name)["spec"]["resources"]["requests"]["storage"] == "40Gi"
        # a smaller model: the script keeps the live size and succeeds
        res = run(env, PVC=name, CACHE_SIZE="20Gi")
        assert res.returncode == 0, res.stderr
        assert "keeps its live size 40Gi (a claim never shrinks)" in res.stdout
        assert pvc(kube, ns, name)["spec"]["resources"]["requests"]["storage"] == "40Gi"
        # ... which is what the real API server would have refused
        shrink = {"spec": {"resources": {"requests": {"storage": "20Gi"}}}}
        refused = kubectl(kube, "patch", "pvc", "-n", ns, name, "--type=merge", "-p", json.dumps(shrink))
        assert refused.returncode != 0 and "less than" in refused.stderr, refused.stderr

    def test_an_unbound_claim_is_left_alone(self, grow_env):
        kube, ns, env = grow_env
        name = "llama-swap-cache"
        apply(kube, claim(name, ns, "30Gi"))  # no volume: Pending
        res = run(env, PVC=name, CACHE_SIZE="60Gi")
        assert res.returncode == 0, res.stderr
        assert "not bound yet: Kubernetes resizes bound claims only" in res.stdout
        assert pvc(kube, ns, name)["spec"]["resources"]["requests"]["storage"] == "30Gi"

    def test_the_account_may_touch_only_its_claims(self, grow_env):
        kube, ns, env = grow_env
        apply(kube, volume("e2e-grow-b", "5Gi", ns, "other"), claim("other", ns, "5Gi"))
        wait_bound(kube, ns, "other")
        res = run(env, PVC="other", CACHE_SIZE="10Gi")
        assert res.returncode != 0 and "(403)" in res.stderr, res.stdout + res.stderr

    def test_release_scales_the_deployment_to_zero_first(self, grow_env):
        kube, ns, env = grow_env
        name = "llama-static-b"  # a Deployment the rendered Role may scale
        deploy = {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": ns},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": name}},
                "template": {
                    "metadata": {"labels": {"app": name}},
                    # no node has this label: the pod stays Pending, and still counts as a replica
                    "spec": {
                        "nodeSelector": {"e2e/nowhere": "true"},
                        "containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10"}],
                    },
                },
            },
        }
        apply(kube, deploy)
        deadline = time.monotonic() + 60
        while (
            json.loads(kubectl(kube, "get", "deploy", "-n", ns, name, "-o", "json").stdout)
            .get("status", {})
            .get("replicas")
            != 1
        ):
            assert time.monotonic() < deadline, "the Deployment never reported its pod"
            time.sleep(1)
        res = run(env, DEPLOYMENT=name)
        assert res.returncode == 0, res.stderr
        assert f"release: {ns}/{name} scaled to 0; the cache disk is free for staging" in res.stdout
        live = json.loads(kubectl(kube, "get", "deploy", "-n", ns, name, "-o", "json").stdout)
        assert live["spec"]["replicas"] == 0 and not live["status"].get("replicas")
