"""KeySecrets: each virtual key's Secret, created empty, and the reconciler's Lease (components/key_minter.py).

The reconciler fills the Secrets (Pulumi ignores their data), so its Role needs no `create` on Secrets, and a key
removed from config loses its Secret here. Stacks from before this component hold Secrets the reconciler created:
this component's provider adopts an existing object instead of failing on create.
"""

import pulumi

from components.k8s import apply, child
from components.manifests import keys
from models.platform import PlatformConfig


class KeySecrets(pulumi.ComponentResource):
    names: pulumi.Output[list]

    def __init__(self, name: str, spec: PlatformConfig, opts: pulumi.ResourceOptions | None = None):
        super().__init__("llm-platform:gateway:KeySecrets", name, None, opts)
        for s in keys.key_secrets(spec):
            meta = s["metadata"]
            apply(f"{name}-{meta['namespace']}-{meta['name']}", s, child(self, ignore_changes=["data", "stringData"]))
        apply(f"{name}-lease", keys.lease(spec), child(self, ignore_changes=["spec"]))
        self.names = pulumi.Output.from_input(
            [f"{s['metadata']['namespace']}/{s['metadata']['name']}" for s in keys.key_secrets(spec)]
        )
        self.register_outputs({"names": self.names})
