"""SmokeTest: an optional Job that checks every exposed model through the gateway and directly; reported, not awaited."""

import pulumi

from components.k8s import apply, child
from components.manifests import smoke
from models.platform import PlatformConfig


class SmokeTest(pulumi.ComponentResource):
    job_name: pulumi.Output[str]

    def __init__(self, name: str, spec: PlatformConfig, opts: pulumi.ResourceOptions | None = None):
        super().__init__("llm-platform:gateway:SmokeTest", name, None, opts)
        config = apply(f"{name}-config", smoke.configmap(spec), child(self))
        job = smoke.job(spec)
        # Not awaited (skipAwait): the verdict is reported (stack output jobs.smokeTest), never blocking `up`.
        apply(f"{name}-job", job, child(self, depends_on=[config], delete_before_replace=True))
        self.job_name = pulumi.Output.from_input(job["metadata"]["name"])
        self.register_outputs({"job_name": self.job_name})
