"""GatewayDatabase: Postgres for LiteLLM keys and spend. CloudNativePG by default, protected from deletion."""

import pulumi
import pulumi_kubernetes as k8s

from components.k8s import apply
from components.manifests import database
from models.platform import PlatformConfig


class GatewayDatabase(pulumi.ComponentResource):
    url_secret: pulumi.Output[dict]

    def __init__(self, name: str, spec: PlatformConfig, opts: pulumi.ResourceOptions | None = None):
        super().__init__("llm-platform:gateway:GatewayDatabase", name, None, opts)
        db = spec.gateway.database
        # Stateful: neither a stack destroy nor a refactor may drop the data (scaleToZero never touches it).
        keep = pulumi.ResourceOptions(parent=self, protect=True, retain_on_delete=True)
        if db.mode == "cnpg":
            after: list[pulumi.Resource] = []
            if db.operator == "install":  # existing: the operator and its CRDs are already in the cluster
                after.append(k8s.helm.v3.Release(f"{name}-cnpg-operator", **database.operator_release(db), opts=keep))
            apply(
                f"{name}-cluster",
                database.cluster(db, spec.namespaces.gateway, spec.storage_class),
                pulumi.ResourceOptions.merge(keep, pulumi.ResourceOptions(depends_on=after)),
            )
        self.url_secret = pulumi.Output.from_input(database.url_secret_ref(db) or {})
        self.register_outputs({"url_secret": self.url_secret})
