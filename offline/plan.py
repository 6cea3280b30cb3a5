"""Read a rendered plan: the Kubernetes manifests and GCP inputs the program declared."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from components.manifests.common import pod_template
from offline.mocks import PlanCapture, unwrap

GPU_RESOURCES = ("nvidia.com/gpu", "amd.com/gpu")
ROLE_LABEL = "ai.llm.role"


@dataclass
class Plan:
    k8s: list[dict[str, Any]]
    gcp: list[tuple[str, str, dict[str, Any]]]  # (type, pulumi name, inputs)
    outputs: dict[str, Any]
    generated_secrets: set[str]
    helm: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (pulumi name, Release inputs)
    options: dict[str, dict[str, Any]] = field(default_factory=dict)  # pulumi name -> protect/retain/ignore
    names: list[str] = field(default_factory=list)  # pulumi name of each k8s manifest, same order
    depends_on: dict[str, list[str]] = field(default_factory=dict)  # pulumi name -> explicit dependencies
    providers: dict[str, str] = field(default_factory=dict)  # pulumi name -> its kubernetes provider's name

    def find(self, kind: str, name: str | None = None, namespace: str | None = None) -> list[dict[str, Any]]:
        return [
            m
            for m in self.k8s
            if m["kind"] == kind
            and (name is None or m["metadata"]["name"] == name)
            and (namespace is None or m["metadata"].get("namespace") == namespace)
        ]

    def one(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any]:
        found = self.find(kind, name, namespace)
        assert len(found) == 1, f"expected one {kind}/{name}, found {len(found)}"
        return found[0]


def to_plan(capture: PlanCapture) -> Plan:
    k8s, gcp, helm, names = [], [], [], []
    for r in capture.resources:
        if r.type.startswith("kubernetes:helm.sh/"):
            helm.append((r.name, unwrap(r.inputs)))
        elif r.type.startswith("kubernetes:"):
            k8s.append(unwrap(r.inputs))
            names.append(r.name)
        elif r.type.startswith("gcp:"):
            gcp.append((r.type, r.name, unwrap(r.inputs)))
    return Plan(
        k8s,
        gcp,
        capture.outputs,
        capture.generated_secrets,
        helm,
        capture.options,
        names,
        capture.depends_on,
        capture.providers,
    )


def is_kept(plan: Plan, manifest: dict[str, Any]) -> bool:
    """Whether a stack destroy or replacement leaves the object in the cluster."""
    opts = plan.options.get(plan.names[plan.k8s.index(manifest)], {})
    return bool(opts.get("protect") or opts.get("retain_on_delete"))


def pod_spec(manifest: dict[str, Any]) -> dict[str, Any] | None:
    return (pod_template(manifest) or {}).get("spec")


def pod_role(pod: dict[str, Any]) -> str | None:
    role = pod.get("nodeSelector", {}).get(ROLE_LABEL)
    if role:
        return role
    terms = (
        pod.get("affinity", {})
        .get("nodeAffinity", {})
        .get("requiredDuringSchedulingIgnoredDuringExecution", {})
        .get("nodeSelectorTerms", [])
    )
    for term in terms:
        for expr in term.get("matchExpressions", []):
            if expr.get("key") == ROLE_LABEL and expr.get("values"):
                return expr["values"][0]
    return None


def gpus_per_pod(pod: dict[str, Any]) -> int:
    total = 0
    for c in pod.get("containers", []):
        limits = c.get("resources", {}).get("limits", {})
        total += sum(int(limits.get(r, 0)) for r in GPU_RESOURCES)
    return total


def requested_gpus(manifests: Iterable[dict[str, Any]]) -> dict[str, int]:
    """GPUs the workloads ask for at their declared replicas, per node role."""
    out: dict[str, int] = {}
    for m in manifests:
        pod = pod_spec(m)
        if pod is None:
            continue
        gpus = gpus_per_pod(pod)
        if gpus:
            role = pod_role(pod) or "(any)"
            out[role] = out.get(role, 0) + gpus * int(m["spec"].get("replicas", 1))
    return out
