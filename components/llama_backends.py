"""Declare the llama.cpp backends: one LlamaCppServer per static or CPU model, one LlamaSwapPool."""

import pulumi

from components.cache_growth import CacheGrowth
from components.llama_swap_pool import LlamaSwapPool
from components.llamacpp_server import LlamaCppServer
from components.manifests import cache_growth
from models.llama_rules import cpu_models, static_models, swap_models
from models.platform import PlatformConfig


def llama_backends(
    name: str, spec: PlatformConfig, opts: pulumi.ResourceOptions
) -> tuple[dict[str, pulumi.Output[str]], dict[str, pulumi.Output[dict]]]:
    """Model name -> the endpoint the gateway routes it to, and -> its GPU stage Job (weightStaging). Pulumi
    names follow roles, never model names."""
    endpoints: dict[str, pulumi.Output[str]] = {}
    stages: dict[str, pulumi.Output[dict]] = {}
    if cache_growth.claims(spec):  # a claim is grown (never shrunk) before the pod that fills it starts
        growth = CacheGrowth(f"{name}-cache-grow", spec, opts=opts)
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[growth]))
    for m in static_models(spec):
        server = LlamaCppServer(f"{name}-llama-{spec.pool(m.static_pool).role}", m, platform=spec, opts=opts)
        endpoints[m.name], stages[m.name] = server.endpoint, server.stage
    for m in cpu_models(spec):
        endpoints[m.name] = LlamaCppServer(f"{name}-{m.k8s_name}", m, platform=spec, opts=opts).endpoint
    if spec.swap is not None:
        pool = LlamaSwapPool(f"{name}-llama-swap", spec, opts=opts)
        endpoints.update({m.name: pool.endpoint for m in swap_models(spec)})
        stages.update({m.name: pool.stage for m in swap_models(spec)})
    return endpoints, stages
