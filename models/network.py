"""The network block (`llm-platform:network`): who may reach the gateway and front-ends, and where pods may egress.

Every platform namespace gets a default-deny NetworkPolicy (components/manifests/network.py); these settings only
name the outside peers the platform cannot know: the ingress in front of the gateway, the internet ranges the
weight downloads use, and the Kubernetes API server the key Job calls.
"""

import ipaddress
import re

from pydantic import Field, field_validator, model_validator

from .base import Spec

# RFC 1918, carrier-grade NAT, link-local (metadata server) and loopback: never "the internet".
PRIVATE_RANGES = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16", "127.0.0.0/8"]
# DNS answers a pod may get without any DNS pod in the path (NetworkPolicy sees these as plain addresses):
NODELOCAL_DNS = "169.254.20.10/32"  # NodeLocal DNSCache's link-local listener (Autopilot; Standard >= 1.34.1)
METADATA_DNS = "169.254.169.254/32"  # Cloud DNS for GKE answers through the node's metadata server
# Where a kube-dns Service IP can be when kubeDnsIp is not given: RFC 1918 / CGNAT service ranges, and the
# range GKE gives Services by default since 1.27 (34.118.224.0/20, kube-dns at 34.118.224.10).
GKE_DEFAULT_SERVICE_RANGE = "34.118.224.0/20"
SERVICE_RANGES = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", GKE_DEFAULT_SERVICE_RANGE]
_LABEL_NAME = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")


def cidr(value: str) -> str:
    return _cidr(value)


def _cidr(value: str) -> str:
    try:
        net = ipaddress.ip_network(value, strict=True)
    except ValueError:
        raise ValueError(
            f"'{value}' is not a network CIDR; write it as address/prefix with no host bits set, "
            "e.g. 10.0.0.0/8 or 203.0.113.7/32"
        ) from None
    return str(net)


class LabelSelectorSpec(Spec):
    """A Kubernetes label selector, equality only (`matchLabels`)."""

    match_labels: dict[str, str] = Field(default_factory=dict)

    @field_validator("match_labels")
    @classmethod
    def _labels(cls, labels: dict[str, str]) -> dict[str, str]:
        for key, value in labels.items():
            if not _LABEL_NAME.match(key) or len(key) > 253:
                raise ValueError(f"'{key}' is not a valid label key; use e.g. app.kubernetes.io/name")
            if not _LABEL_VALUE.match(value):
                raise ValueError(
                    f"'{value}' (label {key}) is not a valid label value; use at most 63 letters, "
                    "digits, '-', '_' or '.', starting and ending with a letter or digit"
                )
        return labels


def _strictly_inside(
    inner: ipaddress.IPv4Network | ipaddress.IPv6Network, outer: ipaddress.IPv4Network | ipaddress.IPv6Network
) -> bool:
    if isinstance(inner, ipaddress.IPv4Network) and isinstance(outer, ipaddress.IPv4Network):
        return inner != outer and inner.subnet_of(outer)
    if isinstance(inner, ipaddress.IPv6Network) and isinstance(outer, ipaddress.IPv6Network):
        return inner != outer and inner.subnet_of(outer)
    return False  # an IPv6 except in an IPv4 cidr (or the reverse)


class IpBlockSpec(Spec):
    cidr: str
    except_: list[str] = Field(default_factory=list, alias="except")

    @field_validator("cidr")
    @classmethod
    def _valid_cidr(cls, value: str) -> str:
        return _cidr(value)

    @field_validator("except_")
    @classmethod
    def _valid_excepts(cls, values: list[str]) -> list[str]:
        return [_cidr(v) for v in values]

    @model_validator(mode="after")
    def _excepts_inside(self) -> "IpBlockSpec":
        outer = ipaddress.ip_network(self.cidr)
        for value in self.except_:
            inner = ipaddress.ip_network(value)
            if not _strictly_inside(inner, outer):
                raise ValueError(
                    f"except: '{value}' is not strictly inside cidr '{self.cidr}'; Kubernetes rejects "
                    "it. Drop it or widen the cidr"
                )
        return self

    def manifest(self) -> dict:
        block: dict = {"cidr": self.cidr}
        if self.except_:
            block["except"] = list(self.except_)
        return block


class PeerSpec(Spec):
    """One NetworkPolicy peer: pods picked by namespace and/or pod labels, or an IP block (not both)."""

    namespace_selector: LabelSelectorSpec | None = None
    pod_selector: LabelSelectorSpec | None = None
    ip_block: IpBlockSpec | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> "PeerSpec":
        selectors = self.namespace_selector is not None or self.pod_selector is not None
        if self.ip_block is not None and selectors:
            raise ValueError(
                "ipBlock: cannot be combined with namespaceSelector/podSelector in one peer; split it into two entries"
            )
        if self.ip_block is None and not selectors:
            raise ValueError(
                "a peer needs namespaceSelector, podSelector or ipBlock; e.g. "
                "{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ingress-nginx}}}"
            )
        return self

    def manifest(self) -> dict:
        if self.ip_block is not None:
            return {"ipBlock": self.ip_block.manifest()}
        out: dict = {}
        if self.namespace_selector is not None:
            out["namespaceSelector"] = {"matchLabels": dict(self.namespace_selector.match_labels)}
        if self.pod_selector is not None:
            out["podSelector"] = {"matchLabels": dict(self.pod_selector.match_labels)}
        return out


Port = Field(ge=1, le=65535)


class ApiServerSpec(Spec):
    """Where the key Job reaches the Kubernetes API. NetworkPolicy sees the endpoint after Service translation,
    so this is the control plane's own address and port, not kubernetes.default's ClusterIP."""

    cidr: str = "0.0.0.0/0"
    # None: 443 on GKE (its endpoint), 443 and 6443 (kubeadm, kind) on a kubeconfig cluster.
    ports: list[int] | None = Field(default=None, min_length=1)

    @field_validator("cidr")
    @classmethod
    def _valid_cidr(cls, value: str) -> str:
        return _cidr(value)

    @field_validator("ports")
    @classmethod
    def _valid_ports(cls, ports: list[int] | None) -> list[int] | None:
        for p in ports or []:
            if not 1 <= p <= 65535:
                raise ValueError(f"{p} is not a TCP port; use 1-65535 (GKE: 443, kubeadm/kind: 6443)")
        return ports


class NetworkSpec(Spec):
    # false: no NetworkPolicy at all (a cluster without a policy engine ignores them anyway).
    enabled: bool = True
    # Who besides the front-ends may call the gateway on 4000 (an ingress controller, a GCLB range, ...).
    gateway_ingress_from: list[PeerSpec] = Field(default_factory=list)
    # Who may open the front-ends' web ports. Empty: only `kubectl port-forward` (loopback, not filtered).
    frontend_ingress_from: list[PeerSpec] = Field(default_factory=list)
    # Model pods (weight/GGUF staging) and front-ends (embedder downloads) may call the hub on 443.
    allow_hub_egress: bool = True
    # What "the internet" is for the hub, and for the gateway's external model endpoints.
    internet: IpBlockSpec = IpBlockSpec(cidr="0.0.0.0/0", **{"except": PRIVATE_RANGES})
    api_server: ApiServerSpec = ApiServerSpec()
    # The kube-dns Service's ClusterIP (kubectl -n kube-system get svc kube-dns -o jsonpath='{.spec.clusterIP}').
    # Under NodeLocal DNSCache pods query it and the node answers without Service translation, so the policy
    # must name it. None: port 53 to any address a Service range can have (SERVICE_RANGES).
    kube_dns_ip: str | None = None
    # Extra DNS servers (a stub-domain resolver in the VPC, ...); NodeLocal DNSCache and Cloud DNS are built in.
    dns_cidrs: list[str] = Field(default_factory=list)

    @field_validator("dns_cidrs")
    @classmethod
    def _valid_dns(cls, values: list[str]) -> list[str]:
        return [_cidr(v) for v in values]

    @field_validator("kube_dns_ip")
    @classmethod
    def _valid_kube_dns_ip(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            raise ValueError(
                f"'{value}' is not an IP address; set the kube-dns Service's ClusterIP, as printed by "
                "kubectl -n kube-system get svc kube-dns -o jsonpath='{.spec.clusterIP}' (e.g. 34.118.224.10)"
            ) from None


def cluster_dns_cidrs(net: NetworkSpec) -> list[str]:
    """Addresses every pod may send DNS (53) to besides kube-dns's pods: NodeLocal DNSCache, Cloud DNS, the
    kube-dns Service IP (or, unknown, every range it can be in) and any configured extra server."""
    service = [str(ipaddress.ip_network(net.kube_dns_ip))] if net.kube_dns_ip else list(SERVICE_RANGES)
    return list(dict.fromkeys([NODELOCAL_DNS, METADATA_DNS, *service, *net.dns_cidrs]))
