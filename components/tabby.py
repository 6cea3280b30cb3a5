"""Tabby: code completion through the gateway's FIM alias (vllm/completion), its key put in at pod start."""

import pulumi

from components.k8s import apply, child
from components.manifests import frontends as fe
from models.frontends import TabbySpec
from models.platform import PlatformConfig


class Tabby(pulumi.ComponentResource):
    url: pulumi.Output[str]
    key_secret: pulumi.Output[str]
    config_template: pulumi.Output[str]

    def __init__(
        self, name: str, spec: TabbySpec, *, platform: PlatformConfig, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("llm-platform:tabby:Tabby", name, None, opts)
        ns = platform.namespaces.frontends
        # The ConfigMap holds the template with a placeholder; the init container writes the real
        # /data/config.toml from the key Secret, so the key is in no manifest.
        deps = [
            apply(f"{name}-config", fe.tabby_configmap(platform, spec), child(self)),
            apply(f"{name}-data", fe.data_pvc(fe.TABBY, spec, platform), child(self, retain_on_delete=True)),
        ]
        apply(f"{name}-deployment", fe.tabby_deployment(platform, spec), child(self, depends_on=deps))
        apply(f"{name}-service", fe.frontend_service(fe.TABBY, fe.TABBY_PORT, platform), child(self))

        self.url = pulumi.Output.from_input(f"http://{fe.TABBY}.{ns}.svc.cluster.local:{fe.TABBY_PORT}")
        self.key_secret = pulumi.Output.from_input(f"{ns}/{fe.key_secret_name(platform, spec.key)}")
        self.config_template = pulumi.Output.from_input(fe.tabby_config_toml(platform, spec))
        self.register_outputs({"url": self.url, "key_secret": self.key_secret, "config_template": self.config_template})
