"""LlamaCppServer: one pinned llama.cpp model (GGUF cache PVC, staging ConfigMap, Deployment, Service llama-<role>)."""

import pulumi

from components.k8s import CLAIM_SIZE, apply, child, name_of, staged
from components.manifests import gguf_stage as gs
from components.manifests import llamacpp as lc
from components.manifests.weight_stage import stage_info
from models.llamacpp import LlamaCppModelSpec
from models.platform import PlatformConfig


class LlamaCppServer(pulumi.ComponentResource):
    endpoint: pulumi.Output[str]
    service_name: pulumi.Output[str]
    replicas: pulumi.Output[int]
    stage: pulumi.Output[dict]

    def __init__(
        self,
        name: str,
        spec: LlamaCppModelSpec,
        *,
        platform: PlatformConfig,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("llm-platform:serving:LlamaCppServer", name, None, opts)
        replicas = platform.effective_replicas(spec)

        cache = apply(
            f"{name}-cache",
            lc.static_pvc(spec, platform),
            child(self, protect=False, retain_on_delete=True, ignore_changes=[CLAIM_SIZE]),
        )
        gguf = apply(f"{name}-gguf", lc.static_configmap(spec, platform), child(self))
        deps: list[pulumi.Resource] = [cache, gguf]
        manifest = lc.static_deployment(spec, platform, replicas)
        self.stage = pulumi.Output.from_input({"staged": False})
        if spec.placement != "cpu" and spec.replicas > 0:  # a GPU server: stage on a CPU node first
            release, stage = gs.static_jobs(spec, platform)
            deps, staged_by = staged(self, name, release, stage, deps)
            gs.mark_staged(manifest, staged_by)
            self.stage = pulumi.Output.from_input(stage_info(stage))
        apply(f"{name}-deployment", manifest, child(self, depends_on=deps))
        svc = apply(f"{name}-service", lc.static_service(spec, platform), child(self))

        self.endpoint = pulumi.Output.from_input(lc.endpoint(spec, platform))
        self.service_name = name_of(svc)
        self.replicas = pulumi.Output.from_input(replicas)
        self.register_outputs(
            {
                "endpoint": self.endpoint,
                "service_name": self.service_name,
                "replicas": self.replicas,
                "stage": self.stage,
            }
        )
