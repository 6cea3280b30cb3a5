"""Read the cluster after `pulumi up`: where the model pods landed, GPUs per node, PVCs, stateful objects.

kubectl (built with the control plane) against the harness's kubeconfig, `-o json`: no client library.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROLE_LABEL = "ai.llm.role"
WAIT = ("--ignore-not-found", "--wait=true", "--timeout=420s")  # a loaded 2-core machine needs minutes
GPU_RESOURCES = ("nvidia.com/gpu", "amd.com/gpu")


@dataclass
class Cluster:
    kubeconfig: Path
    kubectl: str = "kubectl"

    def get(self, *what: str) -> list[dict[str, Any]]:
        out = subprocess.run(
            [self.kubectl, "--kubeconfig", str(self.kubeconfig), "get", *what, "-A", "-o", "json"],
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout
        return json.loads(out).get("items", [])

    def delete_namespaces(self, names: set[str]) -> None:
        """A clean slate on a reused cluster: what an earlier run retained (PVCs, databases) goes too."""
        subprocess.run(
            [self.kubectl, "--kubeconfig", str(self.kubeconfig), "delete", "namespace", *sorted(names), *WAIT],
            check=True,
            capture_output=True,
            text=True,
            timeout=480,
        )

    def nodes(self) -> list[dict[str, Any]]:
        out = subprocess.run(
            [self.kubectl, "--kubeconfig", str(self.kubeconfig), "get", "nodes", "-o", "json"],
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout
        return json.loads(out).get("items", [])


def _qty(value: Any) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0


def pod_gpus(pod: dict[str, Any]) -> int:
    total = 0
    for c in pod.get("spec", {}).get("containers", []):
        limits = {**(c.get("resources", {}).get("requests") or {}), **(c.get("resources", {}).get("limits") or {})}
        total += sum(_qty(limits.get(r, 0)) for r in GPU_RESOURCES)
    return total


def pool_roles(config: dict[str, Any]) -> set[str]:
    return {p["role"] for p in config.get("llm-platform:nodePools") or [] if p.get("role")}


def requested_role(pod: dict[str, Any]) -> str | None:
    """The ai.llm.role a pod asks for: nodeSelector, or a required node-affinity `In` term."""
    spec = pod.get("spec", {})
    if ROLE_LABEL in (spec.get("nodeSelector") or {}):
        return spec["nodeSelector"][ROLE_LABEL]
    required = (
        (spec.get("affinity") or {}).get("nodeAffinity", {}).get("requiredDuringSchedulingIgnoredDuringExecution", {})
    )
    for term in required.get("nodeSelectorTerms", []):
        for expr in term.get("matchExpressions", []):
            if expr.get("key") == ROLE_LABEL and expr.get("operator") == "In" and expr.get("values"):
                return expr["values"][0]
    return None


def _is_live(pod: dict[str, Any]) -> bool:
    return pod.get("status", {}).get("phase") not in ("Succeeded", "Failed")


def placement(
    cluster: Cluster, config: dict[str, Any], serving_namespace: str = "serving"
) -> tuple[list[dict[str, Any]], list[str]]:
    """Every model pod (the serving namespace) and every GPU pod: node, its role, the role asked, GPUs;
    and what is wrong: a pod off its role, a role no pool of the stack has, a Pending pod, GPUs over capacity."""
    nodes = {n["metadata"]["name"]: n for n in cluster.nodes()}
    roles = pool_roles(config)
    rows: list[dict[str, Any]] = []
    errors: list[str] = []
    used: dict[str, int] = {}
    for pod in cluster.get("pods"):
        meta, spec = pod["metadata"], pod.get("spec", {})
        gpus = pod_gpus(pod)
        if not _is_live(pod) or (meta["namespace"] != serving_namespace and not gpus):
            continue
        expected = requested_role(pod)
        node = spec.get("nodeName")
        node_role = ((nodes.get(node) or {}).get("metadata", {}).get("labels") or {}).get(ROLE_LABEL) if node else None
        name = f"{meta['namespace']}/{meta['name']}"
        rows.append({"pod": name, "node": node, "nodeRole": node_role, "expectedRole": expected, "gpus": gpus})
        if gpus and expected is None:
            errors.append(f"{name}: requests {gpus} GPU(s) but asks for no {ROLE_LABEL}")
        if expected is not None and expected not in roles:
            errors.append(f"{name}: asks for role {expected}, which no node pool of the stack has")
        if node is None:
            why = next(
                (
                    c.get("message", "")
                    for c in pod.get("status", {}).get("conditions", [])
                    if c["type"] == "PodScheduled"
                ),
                "",
            )
            what = f"requests {gpus} GPU(s) and is Pending" if gpus else "is Pending"
            errors.append(f"{name}: {what} (no node of role {expected} fits){': ' + why if why else ''}")
            continue
        if node_role != expected:
            errors.append(f"{name}: on node {node} of role {node_role}, expected role {expected}")
        used[node] = used.get(node, 0) + gpus
    for node, n in sorted(used.items()):
        alloc = (nodes.get(node) or {}).get("status", {}).get("allocatable", {})
        cap = sum(_qty(alloc.get(r, 0)) for r in GPU_RESOURCES)
        if n > cap:
            errors.append(f"node {node}: {n} GPUs allocated, capacity {cap}")
    return rows, errors


def gpu_pods(cluster: Cluster) -> list[str]:
    return [
        f"{p['metadata']['namespace']}/{p['metadata']['name']}"
        for p in cluster.get("pods")
        if _is_live(p) and pod_gpus(p) > 0 and not p["metadata"].get("deletionTimestamp")
    ]


def pvc_phases(cluster: Cluster) -> dict[str, int]:
    """PVCs by phase. A Pending PVC that no pod uses, of a WaitForFirstConsumer class (GKE's pd.csi classes),
    is counted apart: it binds when its model is scaled up, on GKE as here (a model at replicas: 0)."""
    late = {
        sc["metadata"]["name"]
        for sc in cluster.get("storageclass")
        if sc.get("volumeBindingMode") == "WaitForFirstConsumer"
    }
    default = next(
        (
            sc["metadata"]["name"]
            for sc in cluster.get("storageclass")
            if (sc["metadata"].get("annotations") or {}).get("storageclass.kubernetes.io/is-default-class") == "true"
        ),
        None,
    )
    used = {
        (p["metadata"]["namespace"], v["persistentVolumeClaim"]["claimName"])
        for p in cluster.get("pods")
        for v in p.get("spec", {}).get("volumes") or []
        if "persistentVolumeClaim" in v
    }
    phases = {"Bound": 0, "Pending": 0, "WaitingForFirstConsumer": 0}
    for pvc in cluster.get("pvc"):
        phase = pvc.get("status", {}).get("phase", "Pending")
        key = (pvc["metadata"]["namespace"], pvc["metadata"]["name"])
        sc = pvc.get("spec", {}).get("storageClassName") or default
        if phase == "Pending" and key not in used and sc in late:
            phase = "WaitingForFirstConsumer"
        phases[phase] = phases.get(phase, 0) + 1
    return phases


def stateful(cluster: Cluster) -> dict[str, str]:
    """PVCs and Secrets by kind/namespace/name -> uid: they must survive scaleToZero and its flip back."""
    out: dict[str, str] = {}
    for kind, items in (("PersistentVolumeClaim", cluster.get("pvc")), ("Secret", cluster.get("secrets"))):
        for item in items:
            meta = item["metadata"]
            if kind == "Secret" and item.get("type", "").startswith("kubernetes.io/service-account"):
                continue
            out[f"{kind}/{meta['namespace']}/{meta['name']}"] = meta["uid"]
    return out


def deployment_replicas(cluster: Cluster) -> dict[str, int]:
    return {
        f"{d['metadata']['namespace']}/{d['metadata']['name']}": d.get("spec", {}).get("replicas", 1)
        for d in cluster.get("deployments")
    }


def retained(cluster: Cluster, namespaces: set[str]) -> list[str]:
    """What is left in the stack's namespaces (and cluster-wide CNPG Clusters) after destroy."""
    left: list[str] = []
    kinds = [("PersistentVolumeClaim", "pvc"), ("Secret", "secrets"), ("Cluster", "clusters.postgresql.cnpg.io")]
    for kind, resource in kinds:
        try:
            items = cluster.get(resource)
        except subprocess.CalledProcessError:
            continue
        for item in items:
            meta = item["metadata"]
            if meta.get("namespace") not in namespaces:
                continue
            if kind == "Secret" and item.get("type", "").startswith("kubernetes.io/service-account"):
                continue
            left.append(f"{kind}/{meta['namespace']}/{meta['name']}")
    return sorted(left)


def keepable(cluster: Cluster, namespaces: set[str]) -> list[str]:
    """What destroy must leave, read before it: every PVC in the stack's namespaces, every CNPG Cluster, the salt
    Secret (names as `retained` writes them)."""
    from components.manifests.gateway import SALT_SECRET

    return [
        r
        for r in retained(cluster, namespaces)
        if r.startswith(("PersistentVolumeClaim/", "Cluster/")) or r.endswith("/" + SALT_SECRET)
    ]


def workload_args(cluster: Cluster, namespace: str, deployment: str) -> str:
    """The container commands and args of a Deployment, as one text ("" when it does not exist)."""
    for d in cluster.get("deployments"):
        meta = d["metadata"]
        if meta.get("namespace") == namespace and meta["name"] == deployment:
            containers = d.get("spec", {}).get("template", {}).get("spec", {}).get("containers", [])
            return json.dumps([[*c.get("command", []), *c.get("args", [])] for c in containers])
    return ""
