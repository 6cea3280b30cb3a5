"""Autoscaler: KEDA (its pinned Helm chart, unless `autoscaler.keda: existing`) and the gateway's demand Service,
for the stack's on-demand models (issue 16). The ScaledObjects are the models' own (components/vllm_model.py)."""

import pulumi
import pulumi_kubernetes as k8s

from components.k8s import apply, child
from components.manifests import scaling
from models.platform import PlatformConfig


class Autoscaler(pulumi.ComponentResource):
    demand_url: pulumi.Output[str]
    keda_namespace: pulumi.Output[str]

    def __init__(self, name: str, spec: PlatformConfig, opts: pulumi.ResourceOptions | None = None):
        super().__init__("llm-platform:autoscaling:Autoscaler", name, None, opts)
        after: list[pulumi.Resource] = []
        if spec.autoscaler.keda == "install":
            # Atomic: a failed install rolls back. Its namespace comes with it, so KEDA's policies follow it.
            after.append(k8s.helm.v3.Release(f"{name}-keda", **scaling.keda_release(spec), opts=child(self)))
        for manifest in scaling.keda_policies(spec):
            apply(f"{name}-{manifest['metadata']['name']}", manifest, child(self, depends_on=after))
        apply(f"{name}-demand-service", scaling.demand_service(spec), child(self))
        self.demand_url = pulumi.Output.from_input(scaling.demand_url(spec))
        self.keda_namespace = pulumi.Output.from_input(spec.autoscaler.namespace)
        self.register_outputs({"demand_url": self.demand_url, "keda_namespace": self.keda_namespace})
