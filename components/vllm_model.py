"""VllmModel: one model endpoint (PVC weight cache, Deployment, Service) per the seed-000 contract."""

import pulumi

from components.k8s import apply, child, name_of
from components.manifests import vllm
from models.platform import PlatformConfig
from models.serving import VllmModelSpec


class VllmModel(pulumi.ComponentResource):
    endpoint: pulumi.Output[str]
    service_name: pulumi.Output[str]
    replicas: pulumi.Output[int]

    def __init__(
        self, name: str, spec: VllmModelSpec, *, platform: PlatformConfig, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("llm-platform:serving:VllmModel", name, None, opts)
        ns = platform.namespaces.serving
        pool = platform.pool(spec.pool)
        replicas = platform.effective_replicas(spec)

        cache = apply(
            f"{name}-cache",
            vllm.cache_pvc(spec, ns, platform.storage_class_name),
            child(self, protect=False, retain_on_delete=True),
        )
        deps = [cache, apply(f"{name}-prestage", vllm.scripts_configmap(spec, ns), child(self))]
        template = vllm.template_configmap(spec, ns)
        if template:
            deps.append(apply(f"{name}-chat-template", template, child(self)))
        manifest = vllm.deployment(
            spec,
            namespace=ns,
            replicas=replicas,
            image=platform.images.vllm,
            shape=pool.shape,
            role=pool.role,
            gpu_resource=pool.gpu_resource,
            hf_token_secret=platform.hf_token_secret,
            spot=pool.spot,
        )
        apply(f"{name}-deployment", manifest, child(self, depends_on=deps))
        svc = apply(f"{name}-service", vllm.vllm_service(spec, ns), child(self))

        self.endpoint = pulumi.Output.from_input(vllm.endpoint(spec, ns))
        self.service_name = name_of(svc)
        self.replicas = pulumi.Output.from_input(replicas)
        self.register_outputs({"endpoint": self.endpoint, "service_name": self.service_name, "replicas": self.replicas})
