"""GatewayDatabase: Postgres for LiteLLM keys and spend. CloudNativePG by default, protected from deletion.

Every declared Cluster (gateway.database.cluster, and a restore's source and target: models/database_restore.py)
is named after its Kubernetes name, except the stack's first, `litellm-db`, which keeps the names it always had,
so an upgrade neither replaces nor deletes it."""

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components.database_backup import DatabaseBackup
from components.k8s import apply
from components.manifests import database
from components.manifests import database_backup as bk
from models.alerts import SECRETS_NAMESPACE
from models.platform import PlatformConfig


def resource_name(prefix: str, cluster: str) -> str:
    """The Pulumi name of a per-Cluster resource: `prefix` for litellm-db (its name before restores existed),
    `prefix-<cluster>` for any other, so the URN follows the Cluster, never which one the gateway reads."""
    return prefix if cluster == database.CLUSTER_NAME else f"{prefix}-{cluster}"


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
            # The application credentials: one protected password for every Cluster (bootstrap secret), so a
            # restored Cluster takes the same one. Declared before the gateway, so its pods carry the Secret's
            # checksum: switching `cluster` rewrites the uri and rolls them (components/k8s.py).
            password = random.RandomPassword(
                f"{name}-app-password", length=40, special=False, opts=pulumi.ResourceOptions(parent=self, protect=True)
            )
            # A new stack over a kept database carries the old password (docs/concepts/keys.md): the kept Secret is
            # then adopted with the value it holds instead of stopping `up` at a server-side apply conflict.
            carried = pulumi.Config(SECRETS_NAMESPACE).get_secret("databasePassword")
            value = carried if carried is not None else password.result
            before, after = database.app_uri_parts(db.cluster, ns)
            credentials = apply(
                f"{name}-app-credentials",
                database.app_secret(ns, value, pulumi.Output.concat(before, value, after)),
                keep,
            )
            for c in db.clusters:
                cluster = apply(
                    resource_name(f"{name}-cluster", c),
                    database.cluster(db, ns, spec.storage_class_name, backup.gcp_service_account, name=c),
                    pulumi.ResourceOptions.merge(
                        keep, pulumi.ResourceOptions(depends_on=[*operator, *backup.ready, credentials])
                    ),
                )
                if db.backup.on:
                    apply(
                        resource_name(f"{name}-scheduled-backup", c),
                        bk.scheduled_backup(db.backup, ns, c),
                        pulumi.ResourceOptions.merge(keep, pulumi.ResourceOptions(depends_on=[cluster])),
                    )
        self.url_secret = pulumi.Output.from_input(database.url_secret_ref(db) or {})
        self.register_outputs({"url_secret": self.url_secret})
