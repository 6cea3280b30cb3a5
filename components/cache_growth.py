"""CacheGrowth: llama.cpp cache claims that grow and never shrink (components/manifests/cache_growth.py): one
awaited Job per claim and configured size, and the account they share. The llama.cpp backends depend on it."""

import pulumi

from components.k8s import apply, child
from components.manifests import cache_growth as cg
from models.platform import PlatformConfig


class CacheGrowth(pulumi.ComponentResource):
    jobs: pulumi.Output[list]

    def __init__(self, name: str, spec: PlatformConfig, opts: pulumi.ResourceOptions | None = None):
        super().__init__("llm-platform:serving:CacheGrowth", name, None, opts)
        shared = [apply(f"{name}-{m['kind'].lower()}", m, child(self)) for m in cg.shared(spec)]
        jobs = []
        for claim, size in cg.claims(spec):
            apply(
                f"{name}-{claim}", cg.job(spec, claim, size), child(self, depends_on=shared, delete_before_replace=True)
            )
            jobs.append(f"{spec.namespaces.serving}/{cg.job_name(claim, size)}")
        self.jobs = pulumi.Output.from_input(jobs)
        self.register_outputs({"jobs": self.jobs})
