"""VllmModel: one model endpoint (PVC weight cache, weight-stage Jobs, Deployment, Service) per the seed-000
contract. Weights are staged by a CPU Job before the GPU Deployment scales up (components/manifests/weight_stage.py)."""

import pulumi

from components.k8s import CLAIM_SIZE, apply, child, name_of, uid_of
from components.manifests import scaling, vllm
from components.manifests import weight_stage as ws
from models.platform import PlatformConfig
from models.serving import VllmModelSpec


class VllmModel(pulumi.ComponentResource):
    endpoint: pulumi.Output[str]
    service_name: pulumi.Output[str]
    replicas: pulumi.Output[int]
    stage: pulumi.Output[dict]

    def __init__(
        self,
        name: str,
        spec: VllmModelSpec,
        *,
        platform: PlatformConfig,
        autoscaler: pulumi.Resource | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("llm-platform:serving:VllmModel", name, None, opts)
        ns = platform.namespaces.serving
        pool = platform.pool(spec.pool)
        replicas = platform.effective_replicas(spec)
        size = spec.cache_size_gib

        cache = apply(
            f"{name}-cache",
            vllm.cache_pvc(spec, ns, platform.storage_class_name),
            # A claim never shrinks (Kubernetes refuses it): its size is set at creation, and grown by the
            # release Job when cacheGiB grows; a smaller model or cacheGiB keeps the live size.
            child(self, protect=False, retain_on_delete=True, ignore_changes=[CLAIM_SIZE]),
        )
        deps = [cache, apply(f"{name}-prestage", ws.scripts_configmap(spec, ns), child(self))]
        template = vllm.template_configmap(spec, ns)
        if template:
            deps.append(apply(f"{name}-chat-template", template, child(self)))
        staged_by: dict = {}
        stage_info: dict = {"staged": False}
        if ws.stages(spec):
            rbac = [
                apply(f"{name}-release-{m['kind'].lower()}", m, child(self)) for m in ws.release_rbac(spec, ns, size)
            ]
            release = apply(
                f"{name}-release",
                ws.release_job(spec, ns, size),
                child(self, depends_on=[*deps, *rbac], delete_before_replace=True),
            )
            wait = f"{ws.await_minutes(ws.stage_deadline_seconds(spec))}m"
            stage_manifest = ws.stage_job(
                spec,
                ns,
                image=platform.images.gguf_fetch,
                hf_token_secret=platform.hf_token_secret,
                zones=platform.pool_zones(pool),
                cache_gib=size,
            )
            stage = apply(
                f"{name}-stage",
                stage_manifest,
                child(
                    self,
                    depends_on=[*deps, release],
                    delete_before_replace=True,
                    custom_timeouts=pulumi.CustomTimeouts(create=wait, update=wait),
                ),
            )
            deps.append(stage)
            staged_by = {"llm-platform/weight-stage": uid_of(stage), "llm-platform/weight-release": uid_of(release)}
            stage_info = ws.stage_info(stage_manifest)
        manifest = vllm.deployment(
            spec,
            namespace=ns,
            replicas=replicas,
            image=platform.images.vllm,
            shape=pool.shape,
            role=pool.role,
            gpu_resource=pool.gpu_resource,
            spot=pool.spot,
            staged_by=staged_by,
        )
        on_demand = platform.on_demand(spec)
        # On demand, KEDA owns spec.replicas after creation: `up` never fights it, and a preview after a
        # scale-up shows no change (the provider drops a field another manager owns, components/k8s.py).
        deployment = apply(
            f"{name}-deployment",
            manifest,
            child(self, depends_on=deps, ignore_changes=["spec.replicas"] if on_demand else None),
        )
        if on_demand:
            apply(
                f"{name}-scaledobject",
                scaling.scaled_object(spec, platform),
                child(self, depends_on=[deployment, *([autoscaler] if autoscaler else [])]),
            )
        svc = apply(f"{name}-service", vllm.vllm_service(spec, ns), child(self))

        self.endpoint = pulumi.Output.from_input(vllm.endpoint(spec, ns))
        self.service_name = name_of(svc)
        self.replicas = pulumi.Output.from_input(replicas)
        self.stage = pulumi.Output.from_input(stage_info)
        self.register_outputs(
            {
                "endpoint": self.endpoint,
                "service_name": self.service_name,
                "replicas": self.replicas,
                "stage": self.stage,
            }
        )
