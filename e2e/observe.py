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
GPU_RESOURCES = ("nvidia.com/gpu", "amd.com/gpu")
NAME_LABEL = "app.kubernetes.io/name"


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


def expected_roles(config: dict[str, Any]) -> dict[str, str | None]:
    """Model name -> the role of the pool it runs on (None: CPU nodes), from the stack's own config."""
    ns = "llm-platform:"
    pools = {p["name"]: p.get("role") for p in config.get(ns + "nodePools") or []}
    roles: dict[str, str | None] = {}
    for m in config.get(ns + "models") or []:
        if m.get("engine") == "external":
            continue
        cpu = m.get("engine") == "llamacpp" and m.get("placement") == "cpu"
        roles[m["name"].lower()] = None if cpu else pools.get(m.get("pool"))
    return roles


def _is_live(pod: dict[str, Any]) -> bool:
    return pod.get("status", {}).get("phase") not in ("Succeeded", "Failed")


def placement(cluster: Cluster, config: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """Every pod that requests a GPU or belongs to a model: node, role, GPUs; and what is wrong."""
    nodes = {n["metadata"]["name"]: n for n in cluster.nodes()}
    roles = expected_roles(config)
    rows: list[dict[str, Any]] = []
    errors: list[str] = []
    used: dict[str, int] = {}
    for pod in cluster.get("pods"):
        if not _is_live(pod):
            continue
        meta, spec = pod["metadata"], pod.get("spec", {})
        app = (meta.get("labels") or {}).get(NAME_LABEL, "")
        gpus = pod_gpus(pod)
        selector = (spec.get("nodeSelector") or {}).get(ROLE_LABEL)
        model = next((m for m in roles if app.lower() == m or app.lower().startswith(m + "-")), None)
        if gpus == 0 and model is None and selector is None:
            continue
        expected = roles[model] if model is not None else selector
        node = spec.get("nodeName")
        node_role = ((nodes.get(node) or {}).get("metadata", {}).get("labels") or {}).get(ROLE_LABEL) if node else None
        name = f"{meta['namespace']}/{meta['name']}"
        rows.append(
            {"pod": name, "node": node, "nodeRole": node_role, "expectedRole": expected, "gpus": gpus, "model": model}
        )
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
    phases = {"Bound": 0, "Pending": 0}
    for pvc in cluster.get("pvc"):
        phase = pvc.get("status", {}).get("phase", "Pending")
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
