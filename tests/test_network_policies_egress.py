"""NetworkPolicies, egress side: every pod resolves DNS (kube-dns, NodeLocal DNSCache, Cloud DNS) on port 53
only, and otherwise reaches just what it needs (the Hugging Face hub, the gateway, the API server). Also: bad
network config is refused with the key named.

Checked on the rendered plan with a small evaluator (tests/netpol.py, world in tests/netpol_world.py).
"""

import pytest

from models import ConfigError, parse_config
from tests.conftest import raw_config
from tests.netpol import External, Pod
from tests.netpol_world import (
    CONTROL_PLANE,
    HUB,
    KUBE_DNS,
    KUBE_DNS_SVC,
    METADATA,
    NODELOCAL_DNS,
    PRIVATE_HTTPS,
    RANDOM,
    render,
    world,  # noqa: F401 (the shared fixture)
)

NAME = "app.kubernetes.io/name"


class TestModelPodsReachTheHub:
    def stage_pods(self, world):
        pods = [p for n, p in world.pods.items() if p.labels.get("app.kubernetes.io/name") == "weight-stage"]
        assert pods, "dev stages coder-chat"
        return pods

    def test_weight_stage_jobs_reach_dns_and_the_hub_on_443_and_nothing_more(self, world):
        for pod in self.stage_pods(world):
            assert world.ok(pod, HUB, 443), pod
            assert world.ok(pod, KUBE_DNS, 53, "UDP")
            assert not world.ok(pod, HUB, 80), pod
            assert not world.ok(pod, PRIVATE_HTTPS, 443), "private ranges are not the internet"
            assert not world.ok(pod, CONTROL_PLANE, 443), "the stage never calls the API server"
            assert not world.ok(pod, RANDOM, 443)
            assert not world.ok(pod, world.pod("litellm"), 4000)
            assert not world.ok(pod, world.pod("coder-chat"), 8000)

    def test_vllm_pods_reach_no_internet_their_weights_are_staged_by_the_job(self, world):
        for d in world.models:
            pod = world.pods[d["metadata"]["name"]]
            vllm = any(c["name"] == "vllm" for c in d["spec"]["template"]["spec"]["containers"])
            # llama.cpp pods still stage their GGUF in an init container
            assert world.ok(pod, HUB, 443) is (not vllm), pod
            assert not world.ok(pod, HUB, 80), pod
            assert not world.ok(pod, PRIVATE_HTTPS, 443), "private ranges are not the internet"
            assert not world.ok(pod, RANDOM, 443)

    def test_release_jobs_reach_only_the_api_server(self, world):
        (pod,) = [p for p in world.pods.values() if p.labels.get("app.kubernetes.io/name") == "weight-release"]
        assert world.ok(pod, CONTROL_PLANE, 443)
        assert not world.ok(pod, world.pod("coder-chat"), 8000) and not world.ok(pod, world.pod("litellm"), 4000)

    def test_frontends_fetch_embedders(self, world):
        for pod in world.frontends:
            assert world.ok(pod, HUB, 443) and not world.ok(pod, world.pod("coder-chat"), 8000)

    def test_gateway_has_no_internet_without_external_models(self, world):
        assert not world.ok(world.pod("litellm"), HUB, 443)

    def test_gateway_reaches_the_runtime_model_subnet_only(self, world):
        # dev: storeModelInDb with runtimeModelEgress 10.20.0.0/16 on 443 and 8000
        gw = world.pod("litellm")
        assert world.ok(gw, PRIVATE_HTTPS, 443) and not world.ok(gw, PRIVATE_HTTPS, 80)
        assert not world.ok(gw, world.db, 8000), "the subnet is not the cluster's pods"

    def test_hub_egress_can_be_turned_off(self):
        w = render(lambda raw: raw.setdefault("network", {}).update(allowHubEgress=False))
        assert not w.ok(w.pod("coder-chat"), HUB, 443)
        assert not any(
            w.ok(p, HUB, 443) for p in w.pods.values() if p.labels.get("app.kubernetes.io/name") == "weight-stage"
        )
        assert not w.ok(w.pod("open-webui"), HUB, 443)


class TestEgressIsDnsAndWhatEachNeeds:
    def test_dns_for_every_pod(self, world):
        for pod in [*world.pods.values(), world.db]:
            assert world.ok(pod, KUBE_DNS, 53, "UDP") and world.ok(pod, KUBE_DNS, 53, "TCP"), pod
            # The API-server rule (default 0.0.0.0/0 on 443) also covers a kube-system pod's 443.
            if pod not in (world.pod("litellm-keys"), world.db) and pod.labels.get(NAME) not in (
                "weight-release",
                "cache-grow",
            ):
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


def test_gpu_llama_backends_reach_no_internet_their_ggufs_are_staged_by_jobs():
    from tests.llama_seed import seed_plan
    from tests.netpol_world import World

    w = World(seed_plan())
    for name in ("llama-static-a", "llama-static-b", "llama-swap"):
        assert not w.ok(w.pods[name], HUB, 443), name
    stages = [p for p in w.pods.values() if p.labels.get(NAME) == "weight-stage"]
    assert len(stages) == 3 and all(w.ok(p, HUB, 443) and not w.ok(p, PRIVATE_HTTPS, 443) for p in stages)
