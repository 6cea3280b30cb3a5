"""NetworkPolicies: default deny in every platform namespace, then only the paths the platform needs."""

import pulumi

from components.k8s import apply, child
from components.manifests import network
from models.platform import PlatformConfig


class NetworkPolicies(pulumi.ComponentResource):
    policy_names: pulumi.Output[list]

    def __init__(self, name: str, spec: PlatformConfig, opts: pulumi.ResourceOptions | None = None):
        super().__init__("llm-platform:network_policies:NetworkPolicies", name, None, opts)
        names = []
        for manifest in network.policies(spec):
            meta = manifest["metadata"]
            apply(f"{name}-{meta['namespace']}-{meta['name']}", manifest, child(self))
            names.append(f"{meta['namespace']}/{meta['name']}")
        self.policy_names = pulumi.Output.from_input(names)
        self.register_outputs({"policy_names": self.policy_names})
