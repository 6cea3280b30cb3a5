"""The world the NetworkPolicy tests check: a plan's rendered pods, its policies, and well-known peers.

Pods are built from the rendered Deployments and Jobs (their template labels and container ports), so the
policies are tested against the labels the workloads really carry. The evaluator is tests/netpol.py.
"""

import copy

import pytest

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
def world(dev_plan) -> World:
    """The dev stack's pods and policies, shared by the ingress and egress tests."""
    return World(dev_plan)


def render(mutate) -> World:
    raw = copy.deepcopy(raw_config("dev"))
    mutate(raw)
    return World(plan_for(raw))
