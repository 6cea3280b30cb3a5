"""LibreChat: a librechat.yaml custom endpoint on the gateway, an existing MongoDB, generated app secrets."""

import pulumi
import pulumi_random as random

from components.k8s import apply, child
from components.manifests import frontends as fe
from models.frontends import LibreChatSpec
from models.platform import PlatformConfig


class LibreChat(pulumi.ComponentResource):
    url: pulumi.Output[str]
    key_secret: pulumi.Output[str]
    config_yaml: pulumi.Output[str]

    def __init__(
        self, name: str, spec: LibreChatSpec, *, platform: PlatformConfig, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("llm-platform:librechat:LibreChat", name, None, opts)
        ns = platform.namespaces.frontends
        generated = {}
        for env_name, length, hex_only in fe.LIBRECHAT_GENERATED:
            # CREDS_KEY/CREDS_IV must be hex: digits plus "abcdef" as the only other characters.
            charset = (
                {"upper": False, "lower": False, "special": True, "override_special": "abcdef"}
                if hex_only
                else {"special": False}
            )
            pw = random.RandomPassword(
                f"{name}-{env_name.lower().replace('_', '-')}", length=length, opts=child(self, protect=True), **charset
            )
            generated[env_name] = pw.result
        deps = [
            apply(f"{name}-secrets", fe.secret(fe.LIBRECHAT_SECRET, ns, generated), child(self)),
            apply(f"{name}-config", fe.librechat_configmap(platform, spec), child(self)),
            apply(f"{name}-data", fe.data_pvc(fe.LIBRECHAT, spec, platform), child(self, retain_on_delete=True)),
        ]
        apply(f"{name}-deployment", fe.librechat_deployment(platform, spec), child(self, depends_on=deps))
        apply(f"{name}-service", fe.frontend_service(fe.LIBRECHAT, fe.LIBRECHAT_PORT, platform), child(self))

        self.url = pulumi.Output.from_input(f"http://{fe.LIBRECHAT}.{ns}.svc.cluster.local:{fe.LIBRECHAT_PORT}")
        self.key_secret = pulumi.Output.from_input(f"{ns}/{fe.key_secret_name(platform, spec.key)}")
        self.config_yaml = pulumi.Output.from_input(fe.librechat_yaml(platform, spec))
        self.register_outputs({"url": self.url, "key_secret": self.key_secret, "config_yaml": self.config_yaml})
