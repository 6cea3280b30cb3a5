"""LlamaSwapPool: every `placement: swap` llama model behind one llama-swap pod (config, cache, Deployment, Service)."""

import pulumi

from components.k8s import CLAIM_SIZE, apply, child, name_of, staged
from components.manifests import gguf_stage as gs
from components.manifests import llama_swap as ls
from components.manifests.weight_stage import stage_info
from models.llama_rules import swap_models
from models.platform import PlatformConfig


class LlamaSwapPool(pulumi.ComponentResource):
    endpoint: pulumi.Output[str]
    service_name: pulumi.Output[str]
    replicas: pulumi.Output[int]
    stage: pulumi.Output[dict]
    models: pulumi.Output[list]
    config_yaml: pulumi.Output[str]

    def __init__(self, name: str, platform: PlatformConfig, opts: pulumi.ResourceOptions | None = None):
        super().__init__("llm-platform:serving:LlamaSwapPool", name, None, opts)
        assert platform.swap is not None, "LlamaSwapPool needs a swap: section"
        replicas = 0 if platform.scale_to_zero else platform.swap.replicas

        cache = apply(
            f"{name}-cache",
            ls.cache_pvc(platform),
            child(self, protect=False, retain_on_delete=True, ignore_changes=[CLAIM_SIZE]),
        )
        deps: list[pulumi.Resource] = [
            cache,
            apply(f"{name}-config", ls.configmap(platform), child(self)),
            apply(f"{name}-gguf", ls.fetch_configmap(platform), child(self)),
        ]
        manifest = ls.deployment(platform, replicas)
        self.stage = pulumi.Output.from_input({"staged": False})
        if platform.swap.replicas > 0:  # stage every swap GGUF on a CPU node first
            release, stage = gs.swap_jobs(platform)
            deps, staged_by = staged(self, name, release, stage, deps)
            gs.mark_staged(manifest, staged_by)
            self.stage = pulumi.Output.from_input(stage_info(stage))
        apply(f"{name}-deployment", manifest, child(self, depends_on=deps))
        svc = apply(f"{name}-service", ls.swap_service(platform), child(self))

        self.endpoint = pulumi.Output.from_input(ls.url(platform))
        self.service_name = name_of(svc)
        self.replicas = pulumi.Output.from_input(replicas)
        self.models = pulumi.Output.from_input([m.name for m in swap_models(platform)])
        self.config_yaml = pulumi.Output.from_input(ls.config_yaml(platform))
        self.register_outputs(
            {
                "endpoint": self.endpoint,
                "service_name": self.service_name,
                "replicas": self.replicas,
                "models": self.models,
                "config_yaml": self.config_yaml,
                "stage": self.stage,
            }
        )
