"""The local control plane behaves as a GKE cluster does for what the program declares.

A real kube-apiserver (PodSecurity, RBAC), kube-controller-manager and kube-scheduler on kwok's GKE-shaped fake
nodes: the dev stack's rendered manifests are accepted, Deployments become Available, Jobs Complete, PVCs Bound,
GPU pods land only on their pool's role, and what GKE refuses is refused here too.
"""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from e2e.cluster import Cluster, load_stack
from e2e.nodes import FAKE_LABEL, stack_nodes
from tests.engine.control_plane import cluster_bin

pytestmark = [pytest.mark.engine, pytest.mark.consumer]  # consumer: out of the fast `-m "not consumer"` tier

ROOT = Path(__file__).resolve().parents[2]
DEV = ROOT / "Pulumi.dev.yaml"
K8S_VERSION = "v1.34.4"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    bin_dir = cluster_bin()
    c = Cluster(tmp_path_factory.mktemp("cluster"), bin_dir)
    try:
        c.up(load_stack(DEV))
        yield c
    finally:
        c.down()


def get(c: Cluster, *args: str) -> dict:
    return json.loads(c.kubectl("get", *args, "-o", "json").stdout)


def wait_until(what: str, check, timeout: float = 180):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(1)
    raise AssertionError(f"{what} not reached in {timeout:.0f}s")


@pytest.fixture(scope="module")
def dev_applied(cluster, tmp_path_factory):
    """The dev stack's rendered objects, applied as `pulumi up` would create them."""
    out = tmp_path_factory.mktemp("render")
    subprocess.run([sys.executable, "render.py", "--stack-file", str(DEV), "--out", str(out)], cwd=ROOT, check=True)
    files = sorted((out / "k8s").glob("*.yaml"))
    namespaces = [f for f in files if f.name.startswith("_cluster--namespace--")]
    cluster.kubectl("apply", "--server-side", *[a for f in namespaces for a in ("-f", str(f))])
    rest = [f for f in files if f not in namespaces]
    cluster.kubectl("apply", "--server-side", *[a for f in rest for a in ("-f", str(f))])
    return [yaml.safe_load(f.read_text()) for f in rest]


class TestControlPlaneVersion:
    def test_api_server_reports_its_release(self, cluster):
        # Without the gitVersion ldflags /version says v0.0.0 and the kubernetes provider takes old-cluster paths.
        version = json.loads(cluster.kubectl("get", "--raw", "/version").stdout)
        assert version["gitVersion"] == K8S_VERSION
        assert (version["major"], version["minor"]) == ("1", K8S_VERSION.split(".")[1])


class TestFakeNodesFollowTheStack:
    def test_gpu_node_is_shaped_labelled_and_tainted_like_gke(self, cluster):
        nodes = {n["metadata"]["name"]: n for n in get(cluster, "nodes", "-l", f"{FAKE_LABEL}=true")["items"]}
        want = {n["metadata"]["name"] for n in stack_nodes(load_stack(DEV))}
        assert set(nodes) == want
        gpu = nodes["gke-ai-dev-l4-coder-0"]
        labels = gpu["metadata"]["labels"]
        assert labels["ai.llm.role"] == "coder"
        assert labels["cloud.google.com/gke-nodepool"] == "l4-coder"
        assert labels["cloud.google.com/gke-accelerator"] == "nvidia-l4"
        assert labels["node.kubernetes.io/instance-type"] == "g2-standard-8"
        assert {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"} in gpu["spec"]["taints"]
        alloc = gpu["status"]["allocatable"]
        assert alloc["nvidia.com/gpu"] == "1"
        assert alloc["cpu"] == "7910m"  # 8 vCPUs less GKE's kube-reserved CPU
        ready = {c["type"]: c["status"] for c in gpu["status"]["conditions"]}
        assert ready["Ready"] == "True"

    def test_storage_classes_and_crds_are_installed(self, cluster):
        classes = {s["metadata"]["name"]: s for s in get(cluster, "storageclass")["items"]}
        assert classes["premium-rwo"]["volumeBindingMode"] == "WaitForFirstConsumer"
        default = [n for n, s in classes.items() if s["metadata"]["annotations"].get(
            "storageclass.kubernetes.io/is-default-class") == "true"]  # fmt: skip
        assert default == ["standard-rwo"]
        crds = {c["metadata"]["name"] for c in get(cluster, "crd")["items"]}
        assert {"clusters.postgresql.cnpg.io", "podmonitorings.monitoring.googleapis.com",
                "servicemonitors.monitoring.coreos.com", "podmonitors.monitoring.coreos.com"} <= crds  # fmt: skip


class TestDevStackRuns:
    def test_deployments_become_available(self, cluster, dev_applied):
        deployments = [(o["metadata"]["namespace"], o["metadata"]["name"], o["spec"].get("replicas", 1))
                       for o in dev_applied if o["kind"] == "Deployment"]  # fmt: skip
        assert any(r for _, _, r in deployments)

        def available():
            for ns, name, replicas in deployments:
                st = get(cluster, "deployment", name, "-n", ns).get("status", {})
                if st.get("availableReplicas", 0) != replicas:
                    return False
            return True

        wait_until("every Deployment Available", available)

    def test_jobs_complete(self, cluster, dev_applied):
        jobs = [(o["metadata"]["namespace"], o["metadata"]["name"]) for o in dev_applied if o["kind"] == "Job"]
        assert jobs

        def complete():
            for ns, name in jobs:
                conds = get(cluster, "job", name, "-n", ns).get("status", {}).get("conditions", [])
                if not any(c["type"] == "Complete" and c["status"] == "True" for c in conds):
                    return False
            return True

        wait_until("every Job Complete", complete)

    def test_claims_of_running_pods_are_bound_and_the_others_wait(self, cluster, dev_applied):
        # GKE's classes bind on first consumer: a replicas: 0 model's cache claim stays Pending, as on GKE.
        def mounted():
            names = set()
            for pod in get(cluster, "pods", "-A")["items"]:
                for vol in pod["spec"].get("volumes", []):
                    if "persistentVolumeClaim" in vol:
                        names.add((pod["metadata"]["namespace"], vol["persistentVolumeClaim"]["claimName"]))
            return names

        used = wait_until("pods mounting claims", mounted)

        def phases():
            got = {(p["metadata"]["namespace"], p["metadata"]["name"]): p["status"].get("phase")
                   for p in get(cluster, "pvc", "-A")["items"]}  # fmt: skip
            return got if all(got.get(k) == "Bound" for k in used) else None

        got = wait_until("claims of running pods Bound", phases)
        assert got[("serving", "coder-chat-model-cache")] == "Bound"
        assert got[("serving", "coder-fim-model-cache")] == "Pending"  # replicas: 0 in dev

    def test_gpu_pods_run_only_on_their_role(self, cluster, dev_applied):
        def placed():
            pods = get(cluster, "pods", "-n", "serving", "-l", "app.kubernetes.io/name=coder-chat")["items"]
            return pods if pods and all(p["spec"].get("nodeName") for p in pods) else None

        nodes = {n["metadata"]["name"]: n["metadata"]["labels"] for n in get(cluster, "nodes")["items"]}
        for pod in wait_until("coder-chat scheduled", placed):
            assert nodes[pod["spec"]["nodeName"]].get("ai.llm.role") == "coder"
        for pod in get(cluster, "pods", "-A")["items"]:
            gpus = sum(int(c.get("resources", {}).get("requests", {}).get("nvidia.com/gpu", 0))
                       for c in pod["spec"]["containers"])  # fmt: skip
            node = pod["spec"].get("nodeName")
            if node and not gpus:
                assert "ai.llm.role" not in nodes[node], f"{pod['metadata']['name']} (no GPU) landed on a GPU node"


def _gpu_pod(name: str, namespace: str, gpus: int) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "nodeSelector": {"ai.llm.role": "coder"},
            "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
            "containers": [{"name": "c", "image": "busybox", "resources": {"limits": {"nvidia.com/gpu": str(gpus)}}}],
        },
    }


class TestSchedulerRefusesWhatGkeRefuses:
    def test_gpu_request_above_the_machine_stays_pending(self, cluster, dev_applied):
        cluster.kubectl("create", "namespace", "gpu-probe", check=False)
        cluster.apply([_gpu_pod("two-gpus", "gpu-probe", 2)])  # g2-standard-8 carries one L4

        def unschedulable():
            pod = get(cluster, "pod", "two-gpus", "-n", "gpu-probe")
            conds = {c["type"]: c for c in pod["status"].get("conditions", [])}
            cond = conds.get("PodScheduled")
            return cond if cond and cond["reason"] == "Unschedulable" else None

        cond = wait_until("two-gpus Unschedulable", unschedulable, 60)
        assert "nvidia.com/gpu" in cond["message"]
        assert not get(cluster, "pod", "two-gpus", "-n", "gpu-probe")["spec"].get("nodeName")

    def test_gpu_pod_without_the_toleration_is_not_placed_on_a_gpu_node(self, cluster):
        cluster.kubectl("create", "namespace", "gpu-probe", check=False)
        pod = _gpu_pod("untolerated", "gpu-probe", 1)
        pod["spec"].pop("tolerations")
        cluster.apply([pod])

        def unschedulable():
            p = get(cluster, "pod", "untolerated", "-n", "gpu-probe")
            conds = {c["type"]: c for c in p["status"].get("conditions", [])}
            cond = conds.get("PodScheduled")
            return cond if cond and cond["reason"] == "Unschedulable" else None

        assert "untolerated taint" in wait_until("untolerated Unschedulable", unschedulable, 60)["message"]


class TestPodSecurityAdmission:
    def test_privileged_pod_is_rejected_in_a_baseline_namespace(self, cluster):
        cluster.apply([{
            "apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": "psa-probe", "labels": {"pod-security.kubernetes.io/enforce": "baseline"}},
        }])  # fmt: skip
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "privileged", "namespace": "psa-probe"},
            "spec": {"containers": [{"name": "c", "image": "busybox", "securityContext": {"privileged": True}}]},
        }
        res = cluster.kubectl("apply", "-f", "-", stdin=json.dumps(pod), check=False)
        assert res.returncode != 0
        assert 'violates PodSecurity "baseline:latest"' in res.stderr
        assert "privileged" in res.stderr
        # The same pod unprivileged is admitted: the refusal is PodSecurity's, not a broken server.
        pod["spec"]["containers"][0].pop("securityContext")
        cluster.kubectl("apply", "-f", "-", stdin=json.dumps(pod))


class TestReuseAndRestack:
    def test_second_up_reuses_the_running_cluster(self, cluster):
        pid = cluster.state()["pids"]["kube-apiserver"]
        cluster.up(load_stack(DEV))
        assert cluster.state()["reused"] is True
        assert cluster.state()["pids"]["kube-apiserver"] == pid

    def test_up_with_another_stack_swaps_the_fake_nodes(self, cluster):
        seed = load_stack(ROOT / "examples" / "Pulumi.llama-seed.yaml")
        cluster.up(seed)
        have = {n["metadata"]["name"] for n in get(cluster, "nodes", "-l", f"{FAKE_LABEL}=true")["items"]}
        assert have == {n["metadata"]["name"] for n in stack_nodes(seed)}
