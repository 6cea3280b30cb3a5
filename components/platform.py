"""LlmPlatform: the whole stack from one PlatformConfig: cluster, GPU pools, namespaces, models, gateway."""

import pulumi

from components.build.common import metadata
from components.cluster import GkeCluster
from components.gateway import LiteLLMGateway
from components.gateway_database import GatewayDatabase
from components.gpu_node_pool import GpuNodePool
from components.k8s import apply
from components.key_minter import KeyMinter
from components.vllm_model import VllmModel
from models.platform import PlatformConfig


def namespace_manifest(name: str, enforce: str) -> dict:
    meta = metadata(name, None, "namespace")
    meta["labels"].update({"pod-security.kubernetes.io/enforce": enforce,
                           "pod-security.kubernetes.io/warn": "restricted"})
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}


class LlmPlatform(pulumi.ComponentResource):
    gateway_url: pulumi.Output[str]
    master_key: pulumi.Output[str]
    model_endpoints: pulumi.Output[dict]
    gpus_requested: pulumi.Output[dict]

    def __init__(self, name: str, spec: PlatformConfig, opts: pulumi.ResourceOptions | None = None):
        super().__init__("llm-platform:platform:LlmPlatform", name, None, opts)
        cluster = GkeCluster(f"{name}-cluster", spec.cluster, opts=pulumi.ResourceOptions(parent=self))
        for pool in spec.node_pools:
            GpuNodePool(f"{name}-{pool.name}", pool, cluster=cluster.cluster_name, location=spec.cluster.location,
                        min_nodes=spec.effective_min_nodes(pool), project=spec.cluster.project,
                        opts=pulumi.ResourceOptions(parent=self))

        k8s_opts = pulumi.ResourceOptions(parent=self, providers={"kubernetes": cluster.provider})
        namespaces = [
            apply(f"{name}-ns-{ns}", namespace_manifest(ns, enforce), k8s_opts)
            for ns, enforce in platform_namespaces(spec)
        ]
        in_ns = pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(depends_on=namespaces))

        models = {m.name: VllmModel(f"{name}-{m.name}", m, platform=spec, opts=in_ns) for m in spec.models}
        database = GatewayDatabase(f"{name}-db", spec, opts=in_ns)
        gateway = LiteLLMGateway(f"{name}-gateway", spec,
                                 opts=pulumi.ResourceOptions.merge(in_ns, pulumi.ResourceOptions(depends_on=[database])))
        if spec.gateway.keys:
            KeyMinter(f"{name}-keys", spec,
                      opts=pulumi.ResourceOptions.merge(in_ns, pulumi.ResourceOptions(depends_on=[gateway])))

        self.gateway_url = gateway.url
        self.master_key = gateway.master_key
        self.model_endpoints = pulumi.Output.all(**{k: v.endpoint for k, v in models.items()})
        self.gpus_requested = pulumi.Output.from_input(gpus_requested(spec))
        self.register_outputs({"gateway_url": self.gateway_url, "master_key": self.master_key,
                               "model_endpoints": self.model_endpoints, "gpus_requested": self.gpus_requested})


def platform_namespaces(spec: PlatformConfig) -> list[tuple[str, str]]:
    """(namespace, pod-security level). vLLM's image runs as root, so serving enforces baseline."""
    ns = spec.namespaces
    out = [(ns.serving, "baseline"), (ns.gateway, "baseline")]
    if spec.gateway.keys:
        out.append((ns.frontends, "baseline"))
    return out


def gpus_requested(spec: PlatformConfig) -> dict[str, int]:
    """GPUs the running plan asks for per pool, after scaleToZero."""
    out = {p.name: 0 for p in spec.node_pools}
    for m in spec.models:
        out[m.pool] += spec.effective_replicas(m) * m.tensor_parallel_size
    return out
