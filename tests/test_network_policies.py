"""NetworkPolicies, checked on the rendered plan with a small evaluator (tests/netpol.py).

Pods are built from the rendered Deployments and Jobs (their template labels and container ports), so the
policies are tested against the labels the workloads really carry.
"""

import copy

import kubernetes_validate
import pytest

from models import ConfigError, parse_config
from tests.conftest import plan_for, raw_config
from tests.netpol import External, Pod, Policies, container_port, pods_of

HUB = External("18.164.174.17")  # a public address (huggingface.co's CDN range)
PRIVATE_HTTPS = External("10.20.0.5")  # something inside the VPC
CONTROL_PLANE = External("172.16.0.2")  # a private GKE control plane endpoint
CNPG_OPERATOR = Pod("cnpg-operator", "cnpg-system", {"app.kubernetes.io/name": "cloudnative-pg"})
GMP_COLLECTOR = Pod("collector", "gmp-system", {"app.kubernetes.io/name": "collector"})
AUTOPILOT_COLLECTOR = Pod("collector", "gke-gmp-system", {"app.kubernetes.io/name": "collector"})
NODELOCAL_DNS = External("169.254.20.10")  # NodeLocal DNSCache (Autopilot; Standard from 1.34.1-gke.3720000)
METADATA = External("169.254.169.254")  # Cloud DNS for GKE answers here; so does the metadata server on 80
KUBE_DNS_SVC = External("34.118.224.10")  # kube-dns's ClusterIP in GKE's default Service range
KUBE_DNS = Pod("kube-dns", "kube-system", {"k8s-app": "kube-dns"})
RANDOM = Pod("random", "default", {"app": "random"})
INGRESS = Pod("ingress-nginx", "ingress-nginx", {"app.kubernetes.io/name": "ingress-nginx"})


class World:
    """The rendered pods of a plan and its policies."""

    def __init__(self, plan):
        self.plan = plan
        self.net = Policies(plan.k8s)
        self.pods = pods_of(plan.k8s)
        (cluster,) = plan.find("Cluster")
        self.db = Pod(
            "litellm-db-1",
            cluster["metadata"]["namespace"],
            {"cnpg.io/cluster": cluster["metadata"]["name"], "cnpg.io/instanceRole": "primary"},
        )
        self.models = [
            d for d in plan.find("Deployment") if d["metadata"]["labels"]["app.kubernetes.io/component"] == "model"
        ]
        self.frontends = [
            self.pods[d["metadata"]["name"]]
            for d in plan.find("Deployment")
            if d["metadata"]["labels"]["app.kubernetes.io/component"] == "frontend"
        ]

    def pod(self, prefix: str) -> Pod:
        """A pod by its object name (Jobs carry a hash suffix: smoke-test-1a2b3c4d)."""
        if prefix in self.pods:
            return self.pods[prefix]
        (match,) = [
            p
            for n, p in self.pods.items()
            if n == prefix or (n.startswith(prefix + "-") and not n.removeprefix(prefix + "-").count("-"))
        ]
        return match

    def port(self, name: str) -> int:
        return container_port(self.plan.one("Deployment", name))

    def ok(self, src, dst, port, protocol="TCP") -> bool:
        return self.net.allowed(src, dst, port, protocol)


@pytest.fixture(scope="module")
def world(dev_plan):
    return World(dev_plan)


def render(mutate) -> World:
    raw = copy.deepcopy(raw_config("dev"))
    mutate(raw)
    return World(plan_for(raw))


class TestDefaultDenyInEveryPlatformNamespace:
    def test_each_namespace_denies_both_ways(self, world):
        namespaces = [n["metadata"]["name"] for n in world.plan.find("Namespace")]
        assert len(namespaces) == 3
        for ns in namespaces:
            (deny,) = world.plan.find("NetworkPolicy", "default-deny", ns)
            assert deny["spec"] == {
                "podSelector": {},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [],
                "egress": [],
            }

    def test_every_platform_pod_is_isolated_both_ways(self, world):
        for pod in [*world.pods.values(), world.db]:
            assert world.net.isolated(pod, "Ingress") and world.net.isolated(pod, "Egress"), pod

    def test_an_unknown_pod_in_a_platform_namespace_reaches_nothing(self, world):
        for ns in ("serving", "litellm", "experience"):
            stranger = Pod("debug", ns, {"app": "debug"})
            assert not world.ok(stranger, world.pod("litellm"), 4000)
            assert not world.ok(stranger, world.pod("coder-chat"), world.port("coder-chat"))
            assert not world.ok(stranger, HUB, 443)
            assert world.ok(stranger, KUBE_DNS, 53, "UDP"), "DNS stays open to every pod"

    def test_disabled_renders_no_policy(self):
        w = render(lambda raw: raw.setdefault("network", {}).update(enabled=False))
        assert not w.plan.find("NetworkPolicy")


class TestOnlyGatewayReachesModels:
    def test_gateway_and_smoke_reach_every_model_port(self, world):
        assert len(world.models) == 4
        for d in world.models:
            model, port = world.pods[d["metadata"]["name"]], container_port(d)
            assert world.ok(world.pod("litellm"), model, port), model
            assert world.ok(world.pod("smoke-test"), model, port), model

    def test_nothing_else_reaches_a_model(self, world):
        others = [*world.frontends, world.pod("litellm-keys"), world.db, RANDOM, INGRESS, CNPG_OPERATOR]
        others += [world.pods[d["metadata"]["name"]] for d in world.models]
        for d in world.models:
            model, port = world.pods[d["metadata"]["name"]], container_port(d)
            for src in others:
                if src != model:
                    assert not world.ok(src, model, port), f"{src} -> {model}:{port}"

    def test_named_paths(self, world):
        chat = world.pod("coder-chat")
        assert world.ok(world.pod("litellm"), chat, 8000)
        assert not world.ok(world.pod("open-webui"), chat, 8000)
        assert not world.ok(world.pod("tabby"), chat, 8000)

    def test_only_the_serving_port(self, world):
        chat = world.pod("coder-chat")
        assert not world.ok(world.pod("litellm"), chat, 8080)
        assert not world.ok(world.pod("litellm"), chat, 22)
        embeddings = world.pod("llama-embeddings")
        assert world.ok(world.pod("litellm"), embeddings, world.port("llama-embeddings"))
        assert not world.ok(world.pod("litellm"), embeddings, 8000)


class TestOnlyFrontendsAndIngressReachGateway:
    def test_frontends_and_jobs_reach_the_gateway(self, world):
        gw, port = world.pod("litellm"), world.port("litellm")
        assert {p.name for p in world.frontends} == {"open-webui", "tabby"}
        for src in [*world.frontends, world.pod("litellm-keys"), world.pod("smoke-test")]:
            assert world.ok(src, gw, port), src

    def test_nothing_else_reaches_the_gateway(self, world):
        gw, port = world.pod("litellm"), world.port("litellm")
        for src in [
            RANDOM,
            INGRESS,
            world.pod("coder-chat"),
            world.db,
            Pod("other", "experience", {"app.kubernetes.io/name": "other"}),
            External("203.0.113.9"),
        ]:
            assert not world.ok(src, gw, port), src

    def test_configured_ingress_namespace_is_let_in(self):
        peer = {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}},
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": "ingress-nginx"}},
        }
        w = render(lambda raw: raw.setdefault("network", {}).update(gatewayIngressFrom=[peer]))
        gw, port = w.pod("litellm"), w.port("litellm")
        assert w.ok(INGRESS, gw, port)
        assert not w.ok(Pod("other", "ingress-nginx", {"app": "other"}), gw, port)
        assert not w.ok(RANDOM, gw, port)
        assert not w.ok(INGRESS, w.pod("coder-chat"), w.port("coder-chat")), "the ingress reaches only the gateway"

    def test_configured_ip_block_is_let_in(self):
        block = {"ipBlock": {"cidr": "130.211.0.0/22"}}  # e.g. a Google load balancer range
        w = render(lambda raw: raw.setdefault("network", {}).update(gatewayIngressFrom=[block]))
        assert w.ok(External("130.211.1.7"), w.pod("litellm"), w.port("litellm"))
        assert not w.ok(External("130.212.1.7"), w.pod("litellm"), w.port("litellm"))

    def test_frontends_closed_unless_configured(self, world):
        webui = world.pod("open-webui")
        assert not world.ok(RANDOM, webui, world.port("open-webui"))
        w = render(
            lambda raw: raw.setdefault("network", {}).update(
                frontendIngressFrom=[
                    {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}
                ]
            )
        )
        assert w.ok(INGRESS, w.pod("open-webui"), w.port("open-webui"))
        assert w.ok(INGRESS, w.pod("tabby"), w.port("tabby"))
        assert not w.ok(RANDOM, w.pod("tabby"), w.port("tabby"))


class TestOnlyGatewayReachesPostgres:
    def test_gateway_reaches_postgres(self, world):
        assert world.ok(world.pod("litellm"), world.db, 5432)
        assert not world.ok(world.pod("litellm"), world.db, 8000)

    def test_nothing_else_reaches_postgres(self, world):
        for src in [
            world.pod("coder-chat"),
            *world.frontends,
            world.pod("smoke-test"),
            world.pod("litellm-keys"),
            RANDOM,
            GMP_COLLECTOR,
        ]:
            assert not world.ok(src, world.db, 5432), src

    def test_cnpg_operator_and_replicas(self, world):
        assert world.ok(CNPG_OPERATOR, world.db, 8000) and world.ok(CNPG_OPERATOR, world.db, 5432)
        replica = Pod("litellm-db-2", world.db.namespace, {**world.db.labels, "cnpg.io/instanceRole": "replica"})
        assert world.ok(replica, world.db, 5432)
        assert world.ok(world.db, CONTROL_PLANE, 443), "the instance manager watches its Cluster"


class TestModelPodsReachTheHub:
    def test_model_pods_call_the_hub_on_443_only(self, world):
        for d in world.models:
            pod = world.pods[d["metadata"]["name"]]
            assert world.ok(pod, HUB, 443), pod
            assert not world.ok(pod, HUB, 80), pod
            assert not world.ok(pod, PRIVATE_HTTPS, 443), "private ranges are not the internet"
            assert not world.ok(pod, RANDOM, 443)

    def test_frontends_fetch_embedders(self, world):
        for pod in world.frontends:
            assert world.ok(pod, HUB, 443) and not world.ok(pod, world.pod("coder-chat"), 8000)

    def test_gateway_has_no_internet_without_external_models(self, world):
        assert not world.ok(world.pod("litellm"), HUB, 443)

    def test_hub_egress_can_be_turned_off(self):
        w = render(lambda raw: raw.setdefault("network", {}).update(allowHubEgress=False))
        assert not w.ok(w.pod("coder-chat"), HUB, 443)
        assert not w.ok(w.pod("open-webui"), HUB, 443)


class TestEgressIsDnsAndWhatEachNeeds:
    def test_dns_for_every_pod(self, world):
        for pod in [*world.pods.values(), world.db]:
            assert world.ok(pod, KUBE_DNS, 53, "UDP") and world.ok(pod, KUBE_DNS, 53, "TCP"), pod
            # The API-server rule (default 0.0.0.0/0 on 443) also covers a kube-system pod's 443.
            if pod not in (world.pod("litellm-keys"), world.db):
                assert not world.ok(pod, KUBE_DNS, 443), pod

    def test_models_call_nothing_in_cluster(self, world):
        for d in world.models:
            pod = world.pods[d["metadata"]["name"]]
            assert not world.ok(pod, world.pod("litellm"), 4000)
            assert not world.ok(pod, world.db, 5432)

    def test_key_job_reaches_gateway_and_api_server(self, world):
        job = world.pod("litellm-keys")
        assert world.ok(job, world.pod("litellm"), 4000)
        assert world.ok(job, CONTROL_PLANE, 443)
        assert not world.ok(job, world.pod("coder-chat"), 8000)

    def test_api_server_cidr_narrows_the_key_job(self):
        w = render(lambda raw: raw.setdefault("network", {}).update(apiServer={"cidr": "172.16.0.2/32"}))
        job = w.pod("litellm-keys")
        assert w.ok(job, CONTROL_PLANE, 443)
        assert not w.ok(job, HUB, 443), "with the control plane named, the Job has no internet"

    def test_smoke_job_reaches_gateway_and_models(self, world):
        smoke = world.pod("smoke-test")
        assert world.ok(smoke, world.pod("litellm"), 4000)
        assert world.ok(smoke, world.pod("coder-chat"), 8000)
        assert not world.ok(smoke, HUB, 443) and not world.ok(smoke, world.db, 5432)

    def test_frontends_reach_only_the_gateway_in_cluster(self, world):
        for pod in world.frontends:
            assert world.ok(pod, world.pod("litellm"), 4000)
            assert not world.ok(pod, world.db, 5432)


class TestDnsWorksUnderNodeLocalDnsCacheAndCloudDns:
    """Under NodeLocal DNSCache pods query the kube-dns Service IP and a host-network cache answers (also on
    169.254.20.10); under Cloud DNS the node's metadata server answers on 169.254.169.254. No pod selector
    matches either, so only ipBlocks let DNS through."""

    def every_pod(self, world):
        return [*world.pods.values(), world.db, Pod("debug", "serving", {"app": "debug"})]

    @pytest.mark.parametrize("server", [NODELOCAL_DNS, METADATA, KUBE_DNS_SVC], ids=str)
    def test_every_pod_resolves_on_udp_and_tcp(self, world, server):
        for pod in self.every_pod(world):
            assert world.ok(pod, server, 53, "UDP") and world.ok(pod, server, 53, "TCP"), (pod, server)

    def test_only_port_53(self, world):
        for pod in self.every_pod(world):
            # 80 on the metadata server hands out credentials: DNS must not open it. Only the Postgres pods (Barman
            # Cloud's Workload Identity token, database_policies) reach it on 80, by their own policy.
            if pod != world.db:
                assert not world.ok(pod, METADATA, 80), pod
            assert not world.ok(pod, NODELOCAL_DNS, 8080, "TCP"), pod
        assert not world.ok(world.pod("litellm"), KUBE_DNS_SVC, 443)

    def test_kube_dns_ip_narrows_the_service_rule_to_one_address(self):
        w = render(lambda raw: raw.setdefault("network", {}).update(kubeDnsIp="10.0.0.10"))
        chat = w.pod("coder-chat")
        assert w.ok(chat, External("10.0.0.10"), 53, "UDP") and w.ok(chat, External("10.0.0.10"), 53, "TCP")
        assert not w.ok(chat, External("10.0.0.11"), 53, "UDP")
        assert not w.ok(chat, KUBE_DNS_SVC, 53, "UDP"), "with the IP named, other Service ranges are closed"
        assert w.ok(chat, NODELOCAL_DNS, 53, "UDP") and w.ok(chat, METADATA, 53, "UDP")

    def test_without_kube_dns_ip_any_service_range_but_not_the_internet(self, world):
        chat = world.pod("coder-chat")
        for ip in ("10.96.0.10", "172.20.0.10", "192.168.0.10", "34.118.224.10"):
            assert world.ok(chat, External(ip), 53, "UDP"), ip
        assert not world.ok(chat, External("8.8.8.8"), 53, "UDP"), "no public resolver: DNS goes through the cluster"

    def test_bad_kube_dns_ip_names_the_key_and_the_fix(self):
        raw = raw_config("dev")
        raw["network"] = {"kubeDnsIp": "kube-dns"}
        with pytest.raises(ConfigError) as exc:
            parse_config(raw)
        (line,) = [ln for ln in exc.value.lines if ln.startswith("network.kubeDnsIp:")]
        assert "kubectl -n kube-system get svc kube-dns" in line


class TestScrapersReachMetrics:
    @pytest.mark.parametrize("collector", [GMP_COLLECTOR, AUTOPILOT_COLLECTOR], ids=str)
    def test_gmp_collectors_reach_each_metrics_port(self, world, collector):
        for d in [*world.models, world.plan.one("Deployment", "litellm")]:
            pod = world.pods[d["metadata"]["name"]]
            assert world.ok(collector, pod, container_port(d)), pod
        assert not world.ok(collector, world.db, 5432)
        assert not world.ok(Pod("other", "kube-system", collector.labels), world.pod("litellm"), 4000)

    def test_servicemonitor_lets_in_the_prometheus_namespace(self):
        w = render(
            lambda raw: raw.update(
                observability={
                    "scrape": "servicemonitor",
                    "prometheusNamespace": "monitoring",
                    "prometheusPodSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
                }
            )
        )
        prom = Pod("prometheus-0", "monitoring", {"app.kubernetes.io/name": "prometheus"})
        assert w.ok(prom, w.pod("coder-chat"), 8000) and w.ok(prom, w.pod("litellm"), 4000)
        assert not w.ok(Pod("grafana", "monitoring", {"app.kubernetes.io/name": "grafana"}), w.pod("litellm"), 4000)
        assert not w.ok(GMP_COLLECTOR, w.pod("coder-chat"), 8000)
        assert not w.ok(AUTOPILOT_COLLECTOR, w.pod("coder-chat"), 8000)

    def test_no_scraping_no_scraper(self):
        w = render(lambda raw: raw.update(observability={"scrape": "none"}))
        assert not w.ok(GMP_COLLECTOR, w.pod("coder-chat"), 8000)


class TestNetworkConfigIsValidated:
    @pytest.mark.parametrize(
        "network, where",
        [
            (
                {"gatewayIngressFrom": [{"ipBlock": {"cidr": "10.0.0.1/8"}}]},
                "network.gatewayIngressFrom[0].ipBlock.cidr",
            ),
            ({"gatewayIngressFrom": [{"ipBlock": {"cidr": "nope"}}]}, "network.gatewayIngressFrom[0].ipBlock.cidr"),
            ({"gatewayIngressFrom": [{}]}, "network.gatewayIngressFrom[0]"),
            (
                {
                    "gatewayIngressFrom": [
                        {"ipBlock": {"cidr": "10.0.0.0/8"}, "podSelector": {"matchLabels": {"a": "b"}}}
                    ]
                },
                "network.gatewayIngressFrom[0].ipBlock",
            ),
            ({"internet": {"cidr": "10.0.0.0/8", "except": ["192.168.0.0/16"]}}, "network.internet.except"),
            (
                {"frontendIngressFrom": [{"podSelector": {"matchLabels": {"bad key!": "x"}}}]},
                "network.frontendIngressFrom[0].podSelector.matchLabels",
            ),
            ({"apiServer": {"ports": [0]}}, "network.apiServer.ports"),
            ({"allowHubEgres": True}, "network.allowHubEgres"),
        ],
    )
    def test_bad_network_config_names_the_key(self, network, where):
        raw = raw_config("dev")
        raw["network"] = network
        with pytest.raises(ConfigError) as exc:
            parse_config(raw)
        assert any(line.startswith(where + ":") for line in exc.value.lines), exc.value.lines

    def test_defaults_parse(self):
        cfg = parse_config(raw_config("dev"))
        assert cfg.network.enabled and cfg.network.allow_hub_egress
        assert cfg.network.internet.cidr == "0.0.0.0/0" and "10.0.0.0/8" in cfg.network.internet.except_


class TestPoliciesAreValidKubernetes:
    @pytest.mark.parametrize("stack", ["dev", "prod"])
    def test_strict_schema(self, stack):
        plan = plan_for(raw_config(stack), stack=stack)
        policies = plan.find("NetworkPolicy")
        assert len(policies) >= 10
        for p in policies:
            kubernetes_validate.validate(p, "1.33", strict=True)


class TestEvaluatorFollowsNetworkPolicySemantics:
    """The evaluator itself, on hand-written policies, so the checks above cannot pass vacuously."""

    A = Pod("a", "ns1", {"app": "a"})
    B = Pod("b", "ns2", {"app": "b"})

    @staticmethod
    def pol(ns, selector, types, **rules):
        return {
            "kind": "NetworkPolicy",
            "metadata": {"namespace": ns, "name": "p"},
            "spec": {"podSelector": selector, "policyTypes": types, **rules},
        }

    def test_no_policy_allows_everything(self):
        assert Policies([]).allowed(self.A, self.B, 1234)

    def test_isolation_by_direction(self):
        deny_in = self.pol("ns2", {}, ["Ingress"], ingress=[])
        assert not Policies([deny_in]).allowed(self.A, self.B, 80)
        assert Policies([deny_in]).allowed(self.B, self.A, 80), "egress of b is not isolated"

    def test_union_of_policies_and_namespace_scope(self):
        deny = self.pol("ns2", {}, ["Ingress"], ingress=[])
        allow = self.pol(
            "ns2",
            {"matchLabels": {"app": "b"}},
            ["Ingress"],
            ingress=[
                {
                    "from": [
                        {
                            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ns1"}},
                            "podSelector": {"matchExpressions": [{"key": "app", "operator": "In", "values": ["a"]}]},
                        }
                    ],
                    "ports": [{"protocol": "TCP", "port": 80}],
                }
            ],
        )
        net = Policies([deny, allow])
        assert net.allowed(self.A, self.B, 80)
        assert not net.allowed(self.A, self.B, 81) and not net.allowed(self.A, self.B, 80, "UDP")
        assert not net.allowed(Pod("c", "ns1", {"app": "c"}), self.B, 80)
        pod_only = self.pol("ns2", {}, ["Ingress"], ingress=[{"from": [{"podSelector": {}}]}])
        assert not Policies([pod_only]).allowed(self.A, self.B, 80), "a bare podSelector means the same namespace"
        assert Policies([pod_only]).allowed(Pod("d", "ns2", {}), self.B, 80)

    def test_ip_block_except(self):
        egress = self.pol(
            "ns1", {}, ["Egress"], egress=[{"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}}]}]
        )
        assert Policies([egress]).allowed(self.A, External("8.8.8.8"), 443)
        assert not Policies([egress]).allowed(self.A, External("10.1.2.3"), 443)
