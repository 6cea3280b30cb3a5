"""DatabaseBackup: what the CNPG cluster's backups (or its restore) need outside the Cluster itself.

On GKE: the GCS bucket (when created here), a GCP service account bound to the cluster's Kubernetes service
account through Workload Identity, cert-manager and the Barman Cloud plugin releases, and the ObjectStores.
"""

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

from components.k8s import apply
from components.manifests import database
from components.manifests import database_backup as bk
from models.database_backup import BackupSpec
from models.platform import PlatformConfig

SOFT_DELETE_SECONDS = 7 * 24 * 3600  # a deleted backup object stays recoverable for a week


def gcp_account_id(cluster_name: str) -> str:
    """6-30 characters, starting with a letter."""
    return f"pg-backup-{cluster_name}"[:30].rstrip("-")


def bucket_retention(backup: BackupSpec) -> dict:
    if backup.bucket_retention_days is None:
        return {}
    seconds = backup.bucket_retention_days * 86400
    return {"retention_policy": {"retention_period": str(seconds), "is_locked": backup.lock_bucket_retention}}


def bucket_grants(
    prefix: str, bucket: str | None, roles: tuple[str, ...], member: pulumi.Input[str], opts: pulumi.ResourceOptions
) -> list[pulumi.Resource]:
    """One bucket-level IAM member per role, named `<prefix>-<role's last segment>`."""
    return [
        gcp.storage.BucketIAMMember(
            f"{prefix}-{role.rsplit('.', 1)[-1].lower()}", bucket=bucket, role=role, member=member, opts=opts
        )
        for role in roles
    ]


class DatabaseBackup(pulumi.ComponentResource):
    gcp_service_account: pulumi.Input[str] | None  # email the Cluster's pods act as, None when nothing reaches GCS
    ready: list[pulumi.Resource]  # what the Cluster must wait for

    def __init__(self, name: str, spec: PlatformConfig, opts: pulumi.ResourceOptions | None = None):
        super().__init__("llm-platform:gateway:DatabaseBackup", name, None, opts)
        db, ns = spec.gateway.database, spec.namespaces.gateway
        backup, restore = db.backup, db.restore
        # Stateful or load-bearing for a retained Cluster: a destroy leaves them, like the Cluster itself.
        keep = pulumi.ResourceOptions(parent=self, protect=True, retain_on_delete=True)
        retain = pulumi.ResourceOptions(parent=self, retain_on_delete=True)
        self.gcp_service_account, self.ready = None, []
        if not (backup.on or restore is not None):
            self.register_outputs({})
            return

        project = spec.cluster.project or gcp.config.project  # None: the provider's default project
        account_id = gcp_account_id(spec.cluster.name)
        account = gcp.serviceaccount.Account(
            f"{name}-gsa",
            account_id=account_id,
            project=project,
            display_name=f"CNPG backups of {spec.cluster.name}/{ns}/{database.CLUSTER_NAME}",  # fixed: no replace
            opts=retain,
        )
        email: pulumi.Input[str] = f"{account_id}@{project}.iam.gserviceaccount.com" if project else account.email
        member = pulumi.Output.concat("serviceAccount:", email)
        pool_project = project or account.project
        after_account = pulumi.ResourceOptions.merge(retain, pulumi.ResourceOptions(depends_on=[account]))
        # CNPG names each Cluster's Kubernetes service account after the Cluster: one binding per Cluster, named
        # like the Cluster's own resources (litellm-db keeps `<name>-wi`).
        grants: list[pulumi.Resource] = [
            gcp.serviceaccount.IAMMember(
                f"{name}-wi" if cluster == database.CLUSTER_NAME else f"{name}-wi-{cluster}",
                service_account_id=account.name if not project else f"projects/{project}/serviceAccounts/{email}",
                role="roles/iam.workloadIdentityUser",
                member=pulumi.Output.concat("serviceAccount:", pool_project, f".svc.id.goog[{ns}/{cluster}]"),
                opts=after_account,
            )
            for cluster in db.clusters
        ]
        if backup.on:
            bucket_deps: list[pulumi.Resource] = [account]
            if backup.create_bucket:
                bucket_deps.append(
                    gcp.storage.Bucket(
                        f"{name}-bucket",
                        name=backup.bucket,
                        project=project,
                        location=(backup.bucket_location or spec.cluster.region or "US").upper(),
                        storage_class="STANDARD",
                        uniform_bucket_level_access=True,
                        public_access_prevention="enforced",
                        soft_delete_policy={"retention_duration_seconds": SOFT_DELETE_SECONDS},
                        **bucket_retention(backup),
                        force_destroy=False,
                        labels={"app": "llm-platform", "component": "database-backup"},
                        opts=keep,
                    )
                )
            on_bucket = pulumi.ResourceOptions.merge(retain, pulumi.ResourceOptions(depends_on=bucket_deps))
            # objectAdmin writes and prunes; legacyBucketReader adds storage.buckets.get, which barman-cloud's
            # bucket check needs and objectAdmin lacks.
            roles = ("roles/storage.objectAdmin", "roles/storage.legacyBucketReader")
            grants += bucket_grants(name, backup.bucket, roles, member, on_bucket)
        if restore is not None and restore.from_archive is not None:  # fromBackupOf: the grants above cover it
            roles = ("roles/storage.objectViewer", "roles/storage.legacyBucketReader")
            grants += bucket_grants(f"{name}-restore", restore.from_archive.bucket, roles, member, after_account)

        operator_ns = database.OPERATOR_NAMESPACE
        upstream = list(opts.depends_on or []) if opts and isinstance(opts.depends_on, list) else []
        releases: list[pulumi.Resource] = []
        if backup.install_cert_manager:
            releases.append(k8s.helm.v3.Release(f"{name}-cert-manager", **bk.cert_manager_release(backup), opts=keep))
        plugin = k8s.helm.v3.Release(
            f"{name}-barman-cloud",
            **bk.plugin_release(backup, operator_ns),
            opts=pulumi.ResourceOptions.merge(keep, pulumi.ResourceOptions(depends_on=[*upstream, *releases])),
        )
        after_plugin = pulumi.ResourceOptions.merge(keep, pulumi.ResourceOptions(depends_on=[plugin]))
        stores = []
        if backup.on:
            stores.append(apply(f"{name}-object-store", bk.object_store(backup, ns), after_plugin))
        if restore is not None:
            stores.append(apply(f"{name}-restore-store", bk.restore_store(restore, backup, ns), after_plugin))
        self.gcp_service_account = email
        self.ready = [plugin, *stores, *grants]
        self.register_outputs({"gcp_service_account": email})
