"""Backups of the CNPG gateway database: the Barman Cloud plugin to a GCS bucket (restores: database_restore.py)."""

import re

from pydantic import Field, field_validator, model_validator

from .base import Spec
from .common import DnsName, Problems

# GCS bucket names: 3-63 of lowercase letters, digits, '-', '_' and '.', starting and ending alphanumeric.
_BUCKET = re.compile(r"^[a-z0-9][-_.a-z0-9]{1,61}[a-z0-9]$")
# CNPG's ScheduledBackup takes a 6-field cron: seconds first ("0 0 3 * * *" = 03:00 every day).
_CRON_FIELD = re.compile(r"^[-0-9*/,A-Za-z?]+$")


def bucket_name(value: str) -> str:
    if value.startswith("gs://"):
        raise ValueError(f"'{value}' is a URL; set the bare bucket name (e.g. '{value[5:].split('/', maxsplit=1)[0]}')")
    if not _BUCKET.match(value) or "goog" in value or ".." in value:
        raise ValueError(
            f"'{value}' is not a GCS bucket name; use 3-63 lowercase letters, digits, '-' or '_', "
            "starting and ending with a letter or digit, without 'goog'"
        )
    return value


class GuaranteedResources(Spec):
    """Requests equal limits (Guaranteed QoS): the database is the last pod the kubelet evicts or throttles."""

    cpu: str = "500m"
    memory: str = "1Gi"


class BackupSpec(Spec):
    """`gateway.database.backup`: WAL archiving and scheduled base backups to `gs://<bucket>/<path>`.

    `enabled` must be decided for a CNPG database on GKE (the database holds every key and all spend);
    off on laptops. The bucket is created here with `createBucket: true`, otherwise it must exist."""

    enabled: bool | None = None
    bucket: str | None = None
    create_bucket: bool = False
    # GCS location of a created bucket; default: the cluster's region. A dual-region (NAM4, EUR4, ASIA1, or a
    # custom pair) keeps the backups through a regional outage; fixed when the bucket is created.
    bucket_location: str | None = Field(default=None, min_length=2)
    # A created bucket's retention policy: no object (base backup, WAL) can be deleted or overwritten before it
    # is this old, not even with the bucket's own credentials. lockBucketRetention makes that permanent (GCS
    # cannot unlock; the bucket then cannot be deleted before its newest object expires).
    bucket_retention_days: int | None = Field(default=None, ge=1, le=3650)
    lock_bucket_retention: bool = False
    path: str = Field(default="litellm-db", pattern=r"^[a-z0-9][-_a-z0-9/]*[a-z0-9]$", max_length=200)
    # Archive folder (under the path) of the stack's first Cluster, litellm-db; a Cluster restored under a new
    # name (gateway.database.restore.into) archives under that name.
    server_name: DnsName = "litellm-db"
    schedule: str = "0 0 3 * * *"
    # Recovery window kept: base backups and WAL older than it are deleted (CNPG: <n>d, <n>w or <n>m).
    retention: str = Field(default="30d", pattern=r"^[1-9][0-9]*[dwm]$")
    # cert-manager issues the plugin's TLS certificates; false when the cluster already runs it.
    install_cert_manager: bool = True
    # The plugin's Helm chart (0.5.0 = plugin v0.11.0, CNPG >= 1.26) and cert-manager's, both pinned.
    plugin_chart_version: str = "0.5.0"
    cert_manager_chart_version: str = "v1.18.2"
    # The plugin's sidecar in each instance pod: equal requests and limits keep the pod Guaranteed.
    sidecar_resources: GuaranteedResources = GuaranteedResources(cpu="200m", memory="256Mi")

    @field_validator("bucket")
    @classmethod
    def _valid_bucket(cls, value: str | None) -> str | None:
        return None if value is None else bucket_name(value)

    @field_validator("schedule")
    @classmethod
    def _six_field_cron(cls, value: str) -> str:
        fields = value.split()
        if len(fields) != 6 or not all(_CRON_FIELD.match(f) for f in fields):
            raise ValueError(
                f"'{value}' is not a 6-field cron; CNPG's schedule starts with seconds, "
                "e.g. '0 0 3 * * *' for 03:00 every day"
            )
        return value

    @model_validator(mode="after")
    def _bucket_retention(self) -> "BackupSpec":
        if self.lock_bucket_retention and self.bucket_retention_days is None:
            raise ValueError(
                "lockBucketRetention: locks the bucket's retention policy, but bucketRetentionDays is not set; "
                "set bucketRetentionDays or remove lockBucketRetention"
            )
        if self.bucket_retention_days is not None and not self.create_bucket:
            raise ValueError(
                "bucketRetentionDays: sets the retention policy of a bucket this stack creates, but createBucket "
                "is false; set it on the existing bucket (gcloud storage buckets update --retention-period) instead"
            )
        days = int(self.retention[:-1]) * {"d": 1, "w": 7, "m": 30}[self.retention[-1]]
        if self.bucket_retention_days is not None and self.bucket_retention_days > days:
            raise ValueError(
                f"bucketRetentionDays: {self.bucket_retention_days} days is longer than retention ({self.retention}), "
                "so the plugin could not delete expired backups; set it to at most "
                f"{days} or raise retention"
            )
        return self

    @model_validator(mode="after")
    def _bucket_when_enabled(self) -> "BackupSpec":
        if self.enabled and not self.bucket:
            raise ValueError(
                "bucket: backups are enabled but no bucket is named; set bucket (and createBucket: true "
                "to create it here), or set enabled: false"
            )
        return self

    @property
    def on(self) -> bool:
        return bool(self.enabled)

    @property
    def destination(self) -> str:
        return f"gs://{self.bucket}/{self.path}"


def derived_bucket(owner: str) -> str:
    """A backup bucket name from the project (or cluster) name: GCS names are global, so the project id leads."""
    suffix = "-litellm-db-backups"
    return re.sub(r"[^a-z0-9-]", "-", owner.lower())[: 63 - len(suffix)].strip("-") + suffix


def backup_problems(
    mode: str,
    backup: BackupSpec,
    restoring: bool,
    is_gke: bool,
    workload_identity: bool = True,
    bucket_owner: str = "PROJECT_ID",
) -> Problems:
    """Rules that need the database mode and the cluster target (models/platform.py runs them). `restoring`:
    gateway.database.restore is set."""
    p, key = Problems(), "gateway.database"
    if mode != "cnpg":
        if backup.on:
            p.add(f"{key}.backup.enabled", f"backs up the CNPG cluster, but mode is '{mode}'; remove backup")
        if restoring:
            p.add(f"{key}.restore", f"recovers a CNPG cluster, but mode is '{mode}'; remove restore")
        return p
    if backup.enabled is None and is_gke:
        p.add(
            f"{key}.backup",
            "the database holds every virtual key and all spend but has no backup decision. Paste this line "
            "under config: (merged into llm-platform:gateway if the stack has one; the stack creates the bucket): "
            f"`llm-platform:gateway: {{database: {{backup: {{enabled: true, bucket: {derived_bucket(bucket_owner)}, "
            "createBucket: true}}}`, or set backup: {enabled: false} to run without backups",
        )
    what = "backup.enabled" if backup.on else "restore"
    if (backup.on or restoring) and not is_gke:
        p.add(
            f"{key}.{what}",
            "Barman Cloud reaches GCS through GKE Workload Identity, but cluster.target is 'kubeconfig'; "
            "set backup.enabled: false and remove restore on a laptop",
        )
    if (backup.on or restoring) and is_gke and not workload_identity:
        p.add(
            f"{key}.{what}",
            "Barman Cloud reaches GCS as a GCP service account through Workload Identity, but "
            "cluster.workloadIdentity is false; enable Workload Identity on the cluster "
            "(docs/how-to/backup-restore.md) and remove cluster.workloadIdentity: false, or set backup.enabled: false",
        )
    return p
