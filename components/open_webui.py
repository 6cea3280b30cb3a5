"""OpenWebUI: Open WebUI on the gateway with its minted key; WEBUI_SECRET_KEY from pulumi-random."""

import pulumi
import pulumi_random as random

from components.k8s import apply, child
from components.manifests import frontends as fe
from models.frontends import OpenWebUISpec
from models.platform import PlatformConfig


class OpenWebUI(pulumi.ComponentResource):
    url: pulumi.Output[str]
    key_secret: pulumi.Output[str]

    def __init__(
        self, name: str, spec: OpenWebUISpec, *, platform: PlatformConfig, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("llm-platform:open_webui:OpenWebUI", name, None, opts)
        ns = platform.namespaces.frontends
        # Signs sessions; a stable random value keeps users logged in across restarts.
        signer = random.RandomPassword(
            f"{name}-webui-secret-key", length=48, special=False, opts=child(self, protect=True)
        )
        deps = [
            apply(
                f"{name}-secrets",
                fe.secret(fe.OPEN_WEBUI_SECRET, ns, {fe.WEBUI_SECRET_KEY: signer.result}),
                child(self),
            ),
            apply(f"{name}-data", fe.data_pvc(fe.OPEN_WEBUI, spec, platform), child(self, retain_on_delete=True)),
        ]
        apply(f"{name}-deployment", fe.open_webui_deployment(platform, spec), child(self, depends_on=deps))
        apply(f"{name}-service", fe.frontend_service(fe.OPEN_WEBUI, fe.OPEN_WEBUI_PORT, platform), child(self))

        self.url = pulumi.Output.from_input(f"http://{fe.OPEN_WEBUI}.{ns}.svc.cluster.local:{fe.OPEN_WEBUI_PORT}")
        self.key_secret = pulumi.Output.from_input(f"{ns}/{fe.key_secret_name(platform, spec.key)}")
        self.register_outputs({"url": self.url, "key_secret": self.key_secret})
