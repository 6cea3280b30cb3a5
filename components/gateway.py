"""LiteLLMGateway: master key, shared upstream key, config.yaml ConfigMap, Deployment and Service."""

import pulumi
import pulumi_random as random

from components.k8s import apply, child
from components.manifests import gateway as gw
from components.manifests import vllm
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
        master_key: pulumi.Output[str] = pulumi.Output.secret(pulumi.Output.concat("sk-", master.result))

        secrets = [
            apply(
                f"{name}-secrets",
                _secret(gw.SECRET, ns.gateway, {gw.MASTER_KEY_ENV: master_key, gw.UPSTREAM_KEY_ENV: upstream.result}),
                child(self),
            ),
            # vLLM reads the same shared key in the serving namespace (seed 000: vllm-api-key/api-key).
            apply(
                f"{name}-upstream-serving",
                _secret(vllm.UPSTREAM_SECRET, ns.serving, {vllm.UPSTREAM_KEY: upstream.result}),
                child(self),
            ),
        ]
        config = apply(f"{name}-config", gw.configmap(spec), child(self))
        apply(f"{name}-deployment", gw.deployment(spec), child(self, depends_on=[config, *secrets]))
        apply(f"{name}-service", gw.gateway_service(spec), child(self))
        if (pdb := gw.disruption_budget(spec)) is not None:
            apply(f"{name}-pdb", pdb, child(self))

        self.url = pulumi.Output.from_input(gw.url(spec))
        self.master_key = master_key
        self.config_yaml = pulumi.Output.from_input(gw.config_yaml(spec))
        self.register_outputs({"url": self.url, "master_key": self.master_key, "config_yaml": self.config_yaml})
