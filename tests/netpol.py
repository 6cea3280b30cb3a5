"""A tiny NetworkPolicy evaluator over rendered manifests (networking.k8s.io/v1 semantics).

- A pod selected by any policy whose policyTypes include a direction is isolated for that direction; a
  connection is then allowed only if some rule of some such policy matches the peer and the port.
- Traffic needs both: egress allowed at the source and ingress allowed at the destination.
- namespaceSelector matches the namespace's `kubernetes.io/metadata.name` label; a peer with only a
  podSelector means the policy's own namespace.
- ipBlock is matched against the peer's IP, pods included (what a pod IP matches is implementation-defined, so
  this is the stricter reading for "denied" checks).
"""

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

NS_LABEL = "kubernetes.io/metadata.name"
_POD_IPS = ipaddress.ip_network("10.64.0.0/14").hosts()  # GKE's default pod range


@dataclass(frozen=True)
class Pod:
    name: str
    namespace: str
    labels: dict = field(hash=False)
    ip: str = field(default_factory=lambda: str(next(_POD_IPS)))
    ports: dict = field(default_factory=dict, hash=False)  # container port name -> number

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class External:
    ip: str

    def __str__(self) -> str:
        return self.ip


Endpoint = Pod | External


def selector_matches(sel: dict[str, Any], labels: dict[str, str]) -> bool:
    for key, value in (sel.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for exp in sel.get("matchExpressions") or []:
        key, op, values = exp["key"], exp["operator"], exp.get("values") or []
        ok = {
            "In": key in labels and labels[key] in values,
            "NotIn": key not in labels or labels[key] not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[op]
        if not ok:
            return False
    return True


def _in_block(block: dict[str, Any], ip: str) -> bool:
    addr = ipaddress.ip_address(ip)
    if addr not in ipaddress.ip_network(block["cidr"]):
        return False
    return not any(addr in ipaddress.ip_network(e) for e in block.get("except") or [])


def peer_matches(peer: dict[str, Any], policy_ns: str, ep: Endpoint) -> bool:
    if "ipBlock" in peer:
        return _in_block(peer["ipBlock"], ep.ip)
    if not isinstance(ep, Pod):
        return False
    ns_sel = peer.get("namespaceSelector")
    ns_ok = ep.namespace == policy_ns if ns_sel is None else selector_matches(ns_sel, {NS_LABEL: ep.namespace})
    pod_sel = peer.get("podSelector")
    return ns_ok and (pod_sel is None or selector_matches(pod_sel, ep.labels))


def port_matches(ports: list[dict[str, Any]] | None, subject: Endpoint, port: int, protocol: str) -> bool:
    if not ports:
        return True
    for p in ports:
        if p.get("protocol", "TCP") != protocol:
            continue
        want = p.get("port")
        if want is None:
            return True
        if isinstance(want, str):  # a named port of the pod the policy selects
            want = subject.ports.get(want) if isinstance(subject, Pod) else None
            if want is None:
                continue
        if want <= port <= p.get("endPort", want):
            return True
    return False


def policy_types(policy: dict[str, Any]) -> list[str]:
    spec = policy["spec"]
    return spec.get("policyTypes") or (["Ingress"] + (["Egress"] if "egress" in spec else []))


class Policies:
    def __init__(self, manifests: Iterable[dict[str, Any]]):
        self.policies = [m for m in manifests if m["kind"] == "NetworkPolicy"]

    def selecting(self, pod: Pod, direction: str) -> list[dict[str, Any]]:
        return [
            p
            for p in self.policies
            if p["metadata"]["namespace"] == pod.namespace
            and direction in policy_types(p)
            and selector_matches(p["spec"]["podSelector"], pod.labels)
        ]

    def _direction(
        self, subject: Endpoint, peer: Endpoint, direction: str, port: int, protocol: str, port_owner: Endpoint
    ) -> bool:
        if not isinstance(subject, Pod):
            return True  # outside the cluster: no policy applies there
        selecting = self.selecting(subject, direction)
        if not selecting:
            return True  # not isolated in this direction
        key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
        for pol in selecting:
            for rule in pol["spec"].get(key) or []:
                peers = rule.get(peers_key)
                if (
                    not peers or any(peer_matches(x, pol["metadata"]["namespace"], peer) for x in peers)
                ) and port_matches(rule.get("ports"), port_owner, port, protocol):
                    return True
        return False

    def allowed(self, src: Endpoint, dst: Endpoint, port: int, protocol: str = "TCP") -> bool:
        return self._direction(src, dst, "Egress", port, protocol, dst) and self._direction(
            dst, src, "Ingress", port, protocol, dst
        )

    def isolated(self, pod: Pod, direction: str) -> bool:
        return bool(self.selecting(pod, direction))


def pods_of(manifests: Iterable[dict[str, Any]]) -> dict[str, Pod]:
    """One Pod per rendered Deployment/Job (template labels, namespace, container ports), by object name."""
    out = {}
    for m in manifests:
        if m["kind"] not in ("Deployment", "Job", "StatefulSet", "DaemonSet"):
            continue
        template = m["spec"]["template"]
        ports = {
            p["name"]: p["containerPort"]
            for c in template["spec"]["containers"]
            for p in c.get("ports", [])
            if p.get("name")
        }
        out[m["metadata"]["name"]] = Pod(
            m["metadata"]["name"], m["metadata"]["namespace"], dict(template["metadata"]["labels"]), ports=ports
        )
    return out


def container_port(manifest: dict[str, Any], name: str = "http") -> int:
    ports = [
        p["containerPort"]
        for c in manifest["spec"]["template"]["spec"]["containers"]
        for p in c.get("ports", [])
        if p.get("name") == name
    ]
    assert len(ports) == 1, f"{manifest['metadata']['name']} has no single port named {name}"
    return ports[0]
