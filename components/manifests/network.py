"""NetworkPolicies (networking.k8s.io/v1) as plain dicts: default deny in every platform namespace, then the
few paths the platform needs.

- serving: only the gateway and the smoke-test Job reach the model ports; model pods egress only to DNS and,
  for the GGUF staging init containers of CPU llama.cpp pods, the hub on 443 (a policy cannot select an init
  container, so the whole pod gets it). GPU backends reach nothing: their weight-stage Job pods get DNS and the
  hub, and the release and cache-grow Job pods DNS and the API server.
- gateway: only the front-ends, the key and smoke Jobs, and `network.gatewayIngressFrom` reach LiteLLM on 4000;
  only LiteLLM (and the CNPG operator, for status) reaches Postgres.
- front-ends: egress to the gateway (and the hub for their embedders); ingress only from
  `network.frontendIngressFrom` (`kubectl port-forward` is loopback inside the pod and never filtered).
- the metrics scrapers (GKE Managed Prometheus in gmp-system, or gke-gmp-system on Autopilot, or
  prometheus-operator's namespace) reach the metrics ports.
- DNS (UDP and TCP 53) for every pod: kube-dns's pods, NodeLocal DNSCache (169.254.20.10), Cloud DNS through the
  metadata server (169.254.169.254) and the kube-dns Service IP, which NodeLocal DNSCache answers on without
  Service translation (models/network.py: kubeDnsIp).

Kubelet probes are not affected: on GKE Dataplane V2 (Cilium) traffic from the pod's own node is always
allowed, and Calico does the same by default.
"""

import ipaddress
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from models.network import cluster_dns_cidrs
from models.platform import PlatformConfig

from . import redis
from . import workloads as wl
from .common import metadata
from .database import METRICS_PORT, OPERATOR_NAMESPACE

NS_LABEL = "kubernetes.io/metadata.name"  # set by the API server on every namespace (Kubernetes >= 1.21)
DNS_NAMESPACE = "kube-system"
DNS_PODS = ["kube-dns", "node-local-dns"]  # k8s-app of kube-dns and NodeLocal DNSCache (GKE, kubeadm)
HTTPS = 443
GKE_METADATA, GKE_METADATA_LEGACY = "169.254.169.254/32", "169.254.169.252/32"
MONGODB_PORT = 27017
ANYWHERE = "0.0.0.0/0"


# ---- small pieces ------------------------------------------------------------------------------------------


def tcp(*ports: int) -> list[dict[str, Any]]:
    return [{"protocol": "TCP", "port": p} for p in sorted(set(ports))]


def names_selector(names: Iterable[str]) -> dict[str, Any]:
    """Pods whose app.kubernetes.io/name is one of `names`."""
    values = sorted(set(names))
    if len(values) == 1:
        return {"matchLabels": {wl.NAME_LABEL: values[0]}}
    return {"matchExpressions": [{"key": wl.NAME_LABEL, "operator": "In", "values": values}]}


def in_namespace(namespace: str | list[str], pods: dict[str, Any] | None = None) -> dict[str, Any]:
    """Pods of one namespace, or of any of several."""
    names = [namespace] if isinstance(namespace, str) else sorted(set(namespace))
    ns_sel = (
        {"matchLabels": {NS_LABEL: names[0]}}
        if len(names) == 1
        else {"matchExpressions": [{"key": NS_LABEL, "operator": "In", "values": names}]}
    )
    peer: dict[str, Any] = {"namespaceSelector": ns_sel}
    if pods is not None:
        peer["podSelector"] = pods
    return peer


def ip_block(cidr: str, excepts: list[str] | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"cidr": cidr}
    if excepts:
        block["except"] = list(excepts)
    return {"ipBlock": block}


def policy(
    name: str, namespace: str, pods: dict[str, Any], *, ingress: list | None = None, egress: list | None = None
) -> dict[str, Any]:
    """One policy; a direction is listed in policyTypes only when given (None leaves it untouched)."""
    types: list[str] = []
    spec: dict[str, Any] = {"podSelector": pods}
    if ingress is not None:
        types.append("Ingress")
        spec["ingress"] = ingress
    if egress is not None:
        types.append("Egress")
        spec["egress"] = egress
    spec["policyTypes"] = types
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": metadata(name, namespace, "network"),
        "spec": spec,
    }


def rule(peers: list[dict[str, Any]], ports: list[dict[str, Any]], direction: str) -> dict[str, Any]:
    return {"from" if direction == "ingress" else "to": peers, "ports": ports}


# ---- who is who ----------------------------------------------------------------------------------------------


def namespaces(cfg: PlatformConfig) -> list[str]:
    ns = cfg.namespaces
    out = [ns.serving, ns.gateway] + ([ns.frontends] if wl.frontends_namespace_used(cfg) else [])
    return list(dict.fromkeys(out))


def gateway_pods(cfg: PlatformConfig) -> dict[str, Any]:
    return in_namespace(cfg.namespaces.gateway, names_selector([wl.GATEWAY_NAME]))


def scraper_peer(cfg: PlatformConfig) -> dict[str, Any] | None:
    """Who scrapes /metrics: GMP's collectors (only their node's pods) or prometheus-operator's Prometheus."""
    if cfg.scrape_mode() == "none":
        return None
    obs = cfg.observability
    pods = (
        {"matchLabels": dict(obs.prometheus_pod_selector.match_labels)}
        if cfg.scrape_mode() == "servicemonitor" and obs.prometheus_pod_selector
        else None
    )
    return in_namespace(cfg.prometheus_namespaces(), pods)


def api_server_rule(cfg: PlatformConfig) -> dict[str, Any]:
    # The control plane as the pod sees it after Service translation: GKE's endpoint on 443 (a private
    # cluster's is in a private range, hence 0.0.0.0/0 by default); kubeadm/kind listen on 6443.
    api = cfg.network.api_server
    ports = api.ports or ([HTTPS] if cfg.cluster.is_gke else [HTTPS, 6443])
    return rule([ip_block(api.cidr)], tcp(*ports), "egress")


def internet_rule(cfg: PlatformConfig, ports: Iterable[int] = (HTTPS,)) -> dict[str, Any]:
    net = cfg.network.internet
    return rule([ip_block(net.cidr, net.except_)], tcp(*ports), "egress")


def backend_rules(cfg: PlatformConfig) -> list[dict[str, Any]]:
    """Egress to every model backend, one rule per port (vLLM 8000, llama.cpp 8080)."""
    by_port: dict[int, list[str]] = {}
    for b in wl.backends(cfg):
        by_port.setdefault(b.port, []).append(b.name)
    return [
        rule([in_namespace(cfg.namespaces.serving, names_selector(names))], tcp(port), "egress")
        for port, names in sorted(by_port.items())
    ]


def external_ports(cfg: PlatformConfig) -> list[int]:
    """Ports of the external model endpoints the gateway calls (443 for https)."""
    ports = set()
    for m in cfg.models:
        if m.engine == "external" and m.register_in_gateway:
            url = urlsplit(str(m.api_base))
            ports.add(url.port or (443 if url.scheme == "https" else 80))
    return sorted(ports)


# ---- the policies ------------------------------------------------------------------------------------------


def baseline(cfg: PlatformConfig, namespace: str) -> list[dict[str, Any]]:
    """Default deny both ways, then DNS for every pod of the namespace."""
    dns_peers = [
        in_namespace(DNS_NAMESPACE, {"matchExpressions": [{"key": "k8s-app", "operator": "In", "values": DNS_PODS}]})
    ]
    # NodeLocal DNSCache, Cloud DNS and the kube-dns Service IP: no pod selector matches a node-local address.
    dns_peers += [ip_block(c) for c in cluster_dns_cidrs(cfg.network)]
    dns_ports = [{"protocol": proto, "port": 53} for proto in ("UDP", "TCP")]
    return [
        policy("default-deny", namespace, {}, ingress=[], egress=[]),
        policy("allow-dns", namespace, {}, egress=[rule(dns_peers, dns_ports, "egress")]),
    ]


def serving_policies(cfg: PlatformConfig) -> list[dict[str, Any]]:
    ns, out = cfg.namespaces.serving, list[dict[str, Any]]()
    backends = wl.backends(cfg)
    if not backends:
        return out
    callers = [gateway_pods(cfg)]
    if smoke := wl.smoke_job_name(cfg):
        callers.append(in_namespace(cfg.namespaces.gateway, names_selector([smoke])))
    scraper = scraper_peer(cfg)
    by_port: dict[int, list[str]] = {}
    for b in backends:
        by_port.setdefault(b.port, []).append(b.name)
    for port, names in sorted(by_port.items()):
        ingress = [rule(callers, tcp(port), "ingress")]
        if scraper:
            ingress.append(rule([scraper], tcp(port), "ingress"))  # /metrics is on the serving port
        out.append(policy(f"models-{port}-ingress", ns, names_selector(names), ingress=ingress))
    if cfg.network.allow_hub_egress:
        # CPU llama.cpp pods stage their GGUF in an init container (a policy cannot select one: the pod gets it);
        # GPU backends are staged by the weight-stage Jobs, so their pods never reach the internet.
        if fetchers := wl.gguf_fetching_pods(cfg):
            out.append(policy("models-hub-egress", ns, names_selector(fetchers), egress=[internet_rule(cfg)]))
        if wl.weight_stage_used(cfg):
            out.append(policy("weight-stage-egress", ns, names_selector([wl.STAGE_POD]), egress=[internet_rule(cfg)]))
    if wl.weight_stage_used(cfg):  # scales its model to 0 and grows its claim through the API, nothing else
        out.append(policy("weight-release-egress", ns, names_selector([wl.RELEASE_POD]), egress=[api_server_rule(cfg)]))
    if wl.cache_growth_used(cfg):  # grows the llama.cpp cache claims through the API, nothing else
        out.append(policy("cache-grow-egress", ns, names_selector([wl.GROW_POD]), egress=[api_server_rule(cfg)]))
    return out


def gateway_policies(cfg: PlatformConfig) -> list[dict[str, Any]]:
    ns, out = cfg.namespaces.gateway, []
    gw_pods = names_selector([wl.GATEWAY_NAME])
    callers = (
        [in_namespace(cfg.namespaces.frontends, names_selector(n for n, _ in wl.frontend_pods(cfg)))]
        if wl.frontend_pods(cfg)
        else []
    )
    jobs = [n for n in (wl.key_job_name(cfg), wl.smoke_job_name(cfg)) if n]
    if jobs:
        callers.append(in_namespace(ns, names_selector(jobs)))
    callers += [p.manifest() for p in cfg.network.gateway_ingress_from]
    ingress = [rule(callers, tcp(wl.GATEWAY_PORT), "ingress")] if callers else []
    if scraper := scraper_peer(cfg):
        ingress.append(rule([scraper], tcp(wl.GATEWAY_PORT), "ingress"))
    if ingress:
        out.append(policy("litellm-ingress", ns, gw_pods, ingress=ingress))

    egress = backend_rules(cfg) + database_egress(cfg)
    if (shared := redis_egress(cfg)) is not None:
        egress.append(shared)
    if external_ports(cfg):
        # External endpoints may sit on private addresses too (an in-VPC LiteMaaS): any address, their ports.
        egress.append(rule([ip_block(ANYWHERE)], tcp(*external_ports(cfg)), "egress"))
    runtime = cfg.gateway.runtime_model_egress
    if runtime is not None and cfg.gateway.store_model_in_db:  # models added in the UI or by /model/new
        egress.append(rule([ip_block(c) for c in runtime.cidrs], tcp(*runtime.ports), "egress"))
    if egress:
        out.append(policy("litellm-egress", ns, gw_pods, egress=egress))
    if db_egress := database_egress(cfg):  # the migration Job: the database, nothing else
        out.append(policy("litellm-migrate-egress", ns, names_selector([wl.MIGRATE_NAME]), egress=db_egress))

    to_gateway = rule([in_namespace(ns, gw_pods)], tcp(wl.GATEWAY_PORT), "egress")
    if key_job := wl.key_job_name(cfg):  # mints keys through the gateway, writes them as Secrets through the API
        out.append(
            policy(
                "litellm-keys-egress",
                ns,
                names_selector([key_job]),
                egress=[to_gateway, api_server_rule(cfg)],
            )
        )
    if smoke := wl.smoke_job_name(cfg):  # every model through the gateway, and each backend directly
        out.append(
            policy(
                "smoke-test-egress",
                ns,
                names_selector([smoke]),
                egress=[to_gateway, *backend_rules(cfg)],
            )
        )
    for c in wl.database_clusters(cfg):
        out += database_policies(cfg, c)
    if redis.mode(cfg) == "incluster":  # only the gateway talks to its Redis; Redis itself calls nothing
        pods = names_selector([redis.NAME])
        ingress = [rule([in_namespace(ns, gw_pods)], tcp(redis.PORT), "ingress")]
        out.append(policy(f"{redis.NAME}-ingress", ns, pods, ingress=ingress))
    return out


def database_egress(cfg: PlatformConfig) -> list[dict[str, Any]]:
    ns = cfg.namespaces.gateway
    if wl.database_cluster(cfg):
        # Every declared Cluster (a restore runs two): switching `cluster` then never waits on a policy update.
        peers = [in_namespace(ns, {"matchLabels": {wl.CNPG_CLUSTER_LABEL: c}}) for c in wl.database_clusters(cfg)]
        return [rule(peers, tcp(5432), "egress")]
    if cfg.gateway.database.mode == "existing":
        # An existing Postgres may be anywhere (Cloud SQL private IP, another namespace): its port only.
        return [rule([ip_block(ANYWHERE)], tcp(5432), "egress")]
    return []


def redis_egress(cfg: PlatformConfig) -> dict[str, Any] | None:
    """The gateway to its Redis: the in-cluster pods, or an external host (Memorystore: an IP in the VPC)."""
    addr = redis.address(cfg)
    if addr is None:
        return None
    if redis.mode(cfg) == "incluster":
        peer = in_namespace(cfg.namespaces.gateway, names_selector([redis.NAME]))
    else:
        try:
            peer = ip_block(str(ipaddress.ip_network(addr[0])))
        except ValueError:  # a DNS name: any address, that port only
            peer = ip_block(ANYWHERE)
    return rule([peer], tcp(addr[1]), "egress")


def database_policies(cfg: PlatformConfig, cluster: str) -> list[dict[str, Any]]:
    ns = cfg.namespaces.gateway
    pods = {"matchLabels": {wl.CNPG_CLUSTER_LABEL: cluster}}
    peers_in_cluster = in_namespace(ns, pods)  # replication between instances, join/initdb Jobs
    ingress = [
        rule([gateway_pods(cfg), in_namespace(ns, names_selector([wl.MIGRATE_NAME]))], tcp(5432), "ingress"),
        rule([in_namespace(OPERATOR_NAMESPACE), peers_in_cluster], tcp(*wl.CNPG_PORTS), "ingress"),
    ]
    if scraper := scraper_peer(cfg):  # the instance manager's exporter
        ingress.append(rule([scraper], tcp(METRICS_PORT), "ingress"))
    # The instance manager watches its Cluster through the Kubernetes API.
    egress = [rule([peers_in_cluster], tcp(*wl.CNPG_PORTS), "egress"), api_server_rule(cfg)]
    db = cfg.gateway.database
    if cfg.cluster.is_gke and (db.backup.on or db.restore is not None):
        egress += gcs_egress(cfg)
    return [
        policy(f"{cluster}-ingress", ns, pods, ingress=ingress),
        policy(f"{cluster}-egress", ns, pods, egress=egress),
    ]


def gcs_egress(cfg: PlatformConfig) -> list[dict[str, Any]]:
    """Barman Cloud's sidecar: GCS on 443, and the GKE metadata server for its Workload Identity token. Its
    address depends on the dataplane: 169.254.169.254 on 80/8080 (Dataplane V2), 169.254.169.252 on 987/988
    (Calico and the legacy dataplane); both are allowed, as an existing cluster may run either."""
    return [
        internet_rule(cfg),
        rule([ip_block(GKE_METADATA)], tcp(80, 8080), "egress"),
        rule([ip_block(GKE_METADATA_LEGACY)], tcp(987, 988), "egress"),
    ]


def frontend_policies(cfg: PlatformConfig) -> list[dict[str, Any]]:
    ns, pods = cfg.namespaces.frontends, wl.frontend_pods(cfg)
    if not pods:
        return []
    selected = names_selector(n for n, _ in pods)
    out = []
    if cfg.network.frontend_ingress_from:
        peers = [p.manifest() for p in cfg.network.frontend_ingress_from]
        out.append(
            policy(
                "frontends-ingress", ns, selected, ingress=[rule(peers, tcp(*(port for _, port in pods)), "ingress")]
            )
        )
    egress = [rule([gateway_pods(cfg)], tcp(wl.GATEWAY_PORT), "egress")]
    if cfg.network.allow_hub_egress:  # Open WebUI's RAG embedder, Tabby's default embedder
        egress.append(internet_rule(cfg))
    out.append(policy("frontends-egress", ns, selected, egress=egress))
    if any(key == "librechat" for key, _ in cfg.frontends.enabled()):
        # LibreChat's existing MongoDB (mongoUriSecret) may be anywhere: its port only.
        out.append(
            policy(
                "librechat-mongodb-egress",
                ns,
                names_selector([wl.FRONTEND_PODS["librechat"][0]]),
                egress=[rule([ip_block(ANYWHERE)], tcp(MONGODB_PORT), "egress")],
            )
        )
    return out


def policies(cfg: PlatformConfig) -> list[dict[str, Any]]:
    """Every NetworkPolicy of the stack (none when network.enabled is false)."""
    if not cfg.network.enabled:
        return []
    out = [p for ns in namespaces(cfg) for p in baseline(cfg, ns)]
    out += serving_policies(cfg) + gateway_policies(cfg)
    from . import scaling

    out += scaling.policies(cfg)
    if wl.frontends_namespace_used(cfg):
        out += frontend_policies(cfg)
    return out
