"""LiteLLMGateway: master key, salt key, shared upstream key, config.yaml ConfigMap, Deployment and Service."""

import pulumi
import pulumi_random as random

from components.k8s import apply, child
from components.manifests import database, vllm
from components.manifests import gateway as gw
from components.manifests.common import metadata
from models.platform import PlatformConfig


def _secret(name: str, namespace: str, data: dict) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": metadata(name, namespace, "gateway"),
        "stringData": data,
    }


class LiteLLMGateway(pulumi.ComponentResource):
    url: pulumi.Output[str]
    master_key: pulumi.Output[str]
    config_yaml: pulumi.Output[str]

    def __init__(self, name: str, spec: PlatformConfig, opts: pulumi.ResourceOptions | None = None):
        super().__init__("llm-platform:gateway:LiteLLMGateway", name, None, opts)
        ns = spec.namespaces
        master = random.RandomPassword(f"{name}-master-key", length=40, special=False, opts=child(self))
        upstream = random.RandomPassword(f"{name}-upstream-key", length=40, special=False, opts=child(self))
        drain = random.RandomPassword(f"{name}-drain-token", length=32, special=False, opts=child(self))
        master_key: pulumi.Output[str] = pulumi.Output.secret(pulumi.Output.concat("sk-", master.result))

        secrets = [
            apply(
                f"{name}-secrets",
                _secret(
                    gw.SECRET,
                    ns.gateway,
                    {
                        gw.MASTER_KEY_ENV: master_key,
                        gw.UPSTREAM_KEY_ENV: upstream.result,
                        gw.DRAIN_TOKEN_ENV: drain.result,
                    },
                ),
                child(self),
            ),
            # vLLM reads the same shared key in the serving namespace (seed 000: vllm-api-key/api-key).
            apply(
                f"{name}-upstream-serving",
                _secret(vllm.UPSTREAM_SECRET, ns.serving, {vllm.UPSTREAM_KEY: upstream.result}),
                child(self),
            ),
        ]
        if database.url_secret_ref(spec.gateway.database):
            # LITELLM_SALT_KEY encrypts what LiteLLM stores in its database (models, credentials): without it the
            # master key does, and a new master key or a new stack over the kept database cannot read them. Set
            # from the first deployment, never rotated (no keepers), protected and kept on delete.
            salt = random.RandomPassword(f"{name}-salt-key", length=48, special=False, opts=child(self, protect=True))
            secrets.append(
                apply(
                    f"{name}-salt-key",
                    _secret(gw.SALT_SECRET, ns.gateway, {gw.SALT_KEY_ENV: salt.result}),
                    child(self, protect=True, retain_on_delete=True),
                )
            )
        config = apply(f"{name}-config", gw.configmap(spec), child(self))
        apply(f"{name}-deployment", gw.deployment(spec), child(self, depends_on=[config, *secrets]))
        apply(f"{name}-service", gw.gateway_service(spec), child(self))
        if (pdb := gw.disruption_budget(spec)) is not None:
            apply(f"{name}-pdb", pdb, child(self))

        self.url = pulumi.Output.from_input(gw.url(spec))
        self.master_key = master_key
        self.config_yaml = pulumi.Output.from_input(gw.config_yaml(spec))
        self.register_outputs({"url": self.url, "master_key": self.master_key, "config_yaml": self.config_yaml})
