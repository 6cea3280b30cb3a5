"""What the real control plane refuses or cannot place, and that the e2e report says so."""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from e2e import observe
from tests.engine.conftest import CLUSTER_DIR, CLUSTER_REPO

pytestmark = [pytest.mark.engine, pytest.mark.consumer]
DEV = CLUSTER_REPO / "Pulumi.dev.yaml"


@pytest.fixture(scope="module")
def kubeconfig(engine_env) -> Path:
    cluster_dir = CLUSTER_DIR
    res = subprocess.run(
        [sys.executable, "-m", "e2e.cluster", "up", "--stack-file", str(DEV), "--dir", str(cluster_dir)],
        cwd=CLUSTER_REPO,
        env=engine_env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    return Path(res.stdout.strip().splitlines()[-1])


def kubectl(kubeconfig: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["kubectl", "--kubeconfig", str(kubeconfig), *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def pod(name: str, namespace: str, **spec) -> str:
    container = {"name": "c", "image": "registry.k8s.io/pause:3.10", **spec.pop("container", {})}
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"containers": [container], **spec},
        }
    )


class TestPodSecurityBaseline:
    def test_privileged_pod_is_rejected(self, kubeconfig, engine_env):
        ns = "e2e-psa-baseline"
        kubectl(kubeconfig, "create", "namespace", ns)
        kubectl(kubeconfig, "label", "--overwrite", "namespace", ns, "pod-security.kubernetes.io/enforce=baseline")
        try:
            res = kubectl(
                kubeconfig,
                "apply",
                "-f",
                "-",
                stdin=pod("privileged", ns, container={"securityContext": {"privileged": True}}),
            )
            assert res.returncode != 0
            assert "violates PodSecurity" in res.stderr and "privileged" in res.stderr, res.stderr
            ok = kubectl(kubeconfig, "apply", "-f", "-", stdin=pod("plain", ns))
            assert ok.returncode == 0, ok.stderr  # the same pod without privileged is admitted
        finally:
            kubectl(kubeconfig, "delete", "namespace", ns, "--wait=false")


class TestGpuOverCapacity:
    def test_pod_asking_more_gpus_than_a_node_has_stays_pending_and_is_reported(self, kubeconfig, engine_env):
        ns = "e2e-gpu-capacity"
        kubectl(kubeconfig, "create", "namespace", ns)
        try:
            # dev's l4-coder pool: g2-standard-8 nodes, one L4 each; two GPUs fit on no node of role coder.
            manifest = pod(
                "too-many-gpus",
                ns,
                container={"resources": {"limits": {"nvidia.com/gpu": "2"}}},
                nodeSelector={"ai.llm.role": "coder"},
                tolerations=[{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
            )
            res = kubectl(kubeconfig, "apply", "-f", "-", stdin=manifest)
            assert res.returncode == 0, res.stderr
            time.sleep(10)  # the scheduler has had its chances
            got = json.loads(kubectl(kubeconfig, "get", "pod", "-n", ns, "too-many-gpus", "-o", "json").stdout)
            assert got["status"]["phase"] == "Pending" and not got["spec"].get("nodeName")
            reasons = [c.get("reason") for c in got["status"].get("conditions", [])]
            assert "Unschedulable" in reasons, got["status"]
            config = {
                "llm-platform:nodePools": [{"name": "l4-coder", "role": "coder"}],
                "llm-platform:models": [],
            }
            rows, errors = observe.placement(observe.Cluster(kubeconfig), config)
            assert any(r["pod"] == f"{ns}/too-many-gpus" and r["node"] is None for r in rows)
            assert any(f"{ns}/too-many-gpus: requests 2 GPU(s) and is Pending" in e for e in errors), errors
        finally:
            kubectl(kubeconfig, "delete", "namespace", ns, "--wait=false")


class TestKeyReconcilerMayOnlyStamp:
    """The ValidatingAdmissionPolicy of components/manifests/keys_admission.py on a real API server: the reconciler's
    ServiceAccount may patch a consumer's stamp annotation, and is refused any other change."""

    def test_stamp_is_admitted_and_an_image_change_is_denied(self, kubeconfig, engine_env):
        import yaml

        from components.manifests import keys_admission
        from models import config_from_pulumi_values, parse_config, read_stack_file

        cfg = parse_config(config_from_pulumi_values(read_stack_file(DEV)))
        ns, name = "e2e-key-stamp", "e2e-key-stamp-only"
        policy, binding = keys_admission.policy(cfg), keys_admission.binding(cfg)
        policy["metadata"]["name"] = binding["metadata"]["name"] = binding["spec"]["policyName"] = name
        binding["spec"]["matchResources"]["namespaceSelector"]["matchExpressions"][0]["values"] = [ns]
        user = f"system:serviceaccount:{cfg.namespaces.gateway}:litellm-keys"
        rbac = [
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": {"name": "patch-deployments", "namespace": ns},
                "rules": [{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "patch"]}],
            },
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": {"name": "patch-deployments", "namespace": ns},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "patch-deployments"},
                "subjects": [{"kind": "User", "name": user, "apiGroup": "rbac.authorization.k8s.io"}],
            },
        ]
        deployment = {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "consumer", "namespace": ns},
            "spec": {
                "replicas": 0,
                "selector": {"matchLabels": {"app": "consumer"}},
                "template": {
                    "metadata": {"labels": {"app": "consumer"}},
                    "spec": {"containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10"}]},
                },
            },
        }
        kubectl(kubeconfig, "create", "namespace", ns)
        try:
            docs = yaml.safe_dump_all([policy, binding, *rbac, deployment])
            res = kubectl(kubeconfig, "apply", "-f", "-", stdin=docs)
            assert res.returncode == 0, res.stderr

            def patch(body: dict) -> subprocess.CompletedProcess:
                return kubectl(
                    kubeconfig, "--as", user, "-n", ns, "patch", "deployment", "consumer", "-p", json.dumps(body)
                )

            def image(tag: str) -> dict:
                return {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": f"busybox:{tag}"}]}}}}

            # Each try sets an image it has not set before: a no-op patch is admitted even once the policy is loaded,
            # so resetting the image between tries would race the policy load. The policy and the RoleBinding take
            # effect once the API server's informers have them: until then a try is admitted or forbidden.
            for attempt in range(60):
                denied = patch(image(f"1.{attempt}"))
                if "may change only the pod-template annotation" in denied.stderr:
                    break
                time.sleep(1)
            assert denied.returncode != 0 and "may change only the pod-template annotation" in denied.stderr, denied
            stamp = patch({"spec": {"template": {"metadata": {"annotations": {keys_admission.KEY_STAMP: "abc123"}}}}})
            assert stamp.returncode == 0, stamp.stderr
            other = patch({"spec": {"template": {"metadata": {"annotations": {"other": "x"}}}}})
            assert other.returncode != 0 and "another template annotation changed" in other.stderr, other.stderr
            assert (
                kubectl(
                    kubeconfig, "-n", ns, "patch", "deployment", "consumer", "-p", json.dumps(image("1.99"))
                ).returncode
                == 0
            )
        finally:
            kubectl(kubeconfig, "delete", "namespace", ns, "--wait=false")
            kubectl(kubeconfig, "delete", "validatingadmissionpolicybinding,validatingadmissionpolicy", name)
