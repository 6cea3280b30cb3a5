"""KeyMinter: the key reconciler (seed 002 litellm-keys): an awaited Job per declared-keys revision, a healing
CronJob in between, and the RBAC both share."""

import pulumi

from components.k8s import apply, child
from components.manifests import gateway as gw
from components.manifests import keys, keys_admission
from models.platform import PlatformConfig


class KeyMinter(pulumi.ComponentResource):
    job_name: pulumi.Output[str]
    secrets: pulumi.Output[dict]

    def __init__(self, name: str, spec: PlatformConfig, opts: pulumi.ResourceOptions | None = None):
        super().__init__("llm-platform:gateway:KeyMinter", name, None, opts)
        deps = [
            apply(f"{name}-config", keys.configmap(spec), child(self)),
            apply(f"{name}-sa", keys.service_account(spec), child(self)),
        ]
        # Before the Role is used: the reconciler's patches may touch only the key stamp (keys_admission.py).
        admission = apply(f"{name}-stamp-policy", keys_admission.policy(spec), child(self))
        deps.append(apply(f"{name}-stamp-binding", keys_admission.binding(spec), child(self, depends_on=[admission])))
        for ns in keys.target_namespaces(spec):
            deps.append(apply(f"{name}-role-{ns}", keys.role(spec, ns), child(self)))
            deps.append(apply(f"{name}-binding-{ns}", keys.role_binding(spec, ns), child(self)))
        # Awaited: `pulumi up` fails here when a mint fails. A new template (declaration, master key) replaces it.
        apply(
            f"{name}-job",
            keys.job(spec, gw.url(spec), gw.SECRET, gw.MASTER_KEY_ENV),
            child(self, depends_on=deps, delete_before_replace=True),
        )
        apply(
            f"{name}-heal", keys.cronjob(spec, gw.url(spec), gw.SECRET, gw.MASTER_KEY_ENV), child(self, depends_on=deps)
        )
        self.job_name = pulumi.Output.from_input(keys.job_name(spec))
        self.secrets = pulumi.Output.from_input(
            {k["key_alias"]: f"{k['namespace']}/{k['secret_name']}" for k in keys.declared_keys(spec)}
        )
        self.register_outputs({"job_name": self.job_name, "secrets": self.secrets})
