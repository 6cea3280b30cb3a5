"""Observability: scrape configs for every /metrics endpoint, and the stack outputs an operator needs."""

import pulumi

from components.k8s import apply, child
from components.manifests import observability as obs
from models.platform import PlatformConfig


class Observability(pulumi.ComponentResource):
    scrape: pulumi.Output[str]
    metrics_endpoints: pulumi.Output[dict]
    # Stack output name -> value (names, ports, commands; never a secret value).
    operator_outputs: dict[str, pulumi.Output]

    def __init__(self, name: str, spec: PlatformConfig, opts: pulumi.ResourceOptions | None = None):
        super().__init__("llm-platform:observability:Observability", name, None, opts)
        for manifest in obs.scrape_manifests(spec):
            meta = manifest["metadata"]
            apply(f"{name}-{manifest['kind'].lower()}-{meta['namespace']}-{meta['name']}", manifest, child(self))
        outputs = obs.operator_outputs(spec)
        self.scrape = pulumi.Output.from_input(outputs["metrics"]["scrape"])
        self.metrics_endpoints = pulumi.Output.from_input(outputs["metrics"]["endpoints"])
        self.operator_outputs = {key: pulumi.Output.from_input(value) for key, value in outputs.items()}
        self.register_outputs(
            {"scrape": self.scrape, "metrics_endpoints": self.metrics_endpoints, **self.operator_outputs}
        )
