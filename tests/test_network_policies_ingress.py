"""NetworkPolicies, ingress side: default deny, and only the intended peers reach models, the gateway,
Postgres and the metrics ports. Also: every policy is valid Kubernetes, and the evaluator follows NetworkPolicy
semantics (so these checks cannot pass vacuously).

Checked on the rendered plan with a small evaluator (tests/netpol.py, world in tests/netpol_world.py).
"""

import kubernetes_validate
import pytest

from tests.conftest import plan_for, raw_config
from tests.netpol import External, Pod, Policies, container_port
from tests.netpol_world import (
    AUTOPILOT_COLLECTOR,
    CNPG_OPERATOR,
    CONTROL_PLANE,
    GMP_COLLECTOR,
    HUB,
    INGRESS,
    KUBE_DNS,
    RANDOM,
    render,
    world,  # noqa: F401 (the shared fixture)
)


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
