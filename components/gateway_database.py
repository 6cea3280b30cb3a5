"""GatewayDatabase: Postgres for LiteLLM keys and spend. CloudNativePG by default, protected from deletion."""

import pulumi
import pulumi_kubernetes as k8s

from components.database_backup import DatabaseBackup
from components.k8s import apply
from components.manifests import database
from components.manifests import database_backup as bk
from models.platform import PlatformConfig


class GatewayDatabase(pulumi.ComponentResource):
    url_secret: pulumi.Output[dict]

    def __init__(self, name: str, spec: PlatformConfig, opts: pulumi.ResourceOptions | None = None):
        super().__init__("llm-platform:gateway:GatewayDatabase", name, None, opts)
        db, ns = spec.gateway.database, spec.namespaces.gateway
        # Stateful: neither a stack destroy nor a refactor may drop the data (scaleToZero never touches it).
        keep = pulumi.ResourceOptions(parent=self, protect=True, retain_on_delete=True)
        if db.mode == "cnpg":
            operator: list[pulumi.Resource] = []
            if db.operator == "install":  # existing: the operator and its CRDs are already in the cluster
                operator.append(
                    k8s.helm.v3.Release(f"{name}-cnpg-operator", **database.operator_release(db), opts=keep)
                )
            backup = DatabaseBackup(
                f"{name}-backup", spec, opts=pulumi.ResourceOptions(parent=self, depends_on=operator)
            )
            cluster = apply(
                f"{name}-cluster",
                database.cluster(db, ns, spec.storage_class_name, backup.gcp_service_account),
                pulumi.ResourceOptions.merge(keep, pulumi.ResourceOptions(depends_on=[*operator, *backup.ready])),
            )
            if db.backup.on:
                apply(
                    f"{name}-scheduled-backup",
                    bk.scheduled_backup(db.backup, ns, database.CLUSTER_NAME),
                    pulumi.ResourceOptions.merge(keep, pulumi.ResourceOptions(depends_on=[cluster])),
                )
        self.url_secret = pulumi.Output.from_input(database.url_secret_ref(db) or {})
        self.register_outputs({"url_secret": self.url_secret})
