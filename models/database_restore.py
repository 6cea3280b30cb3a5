"""A restore that never destroys first: a new CNPG Cluster recovered from a Barman Cloud backup beside the live one.

`gateway.database.restore` declares the new Cluster (`into`); `gateway.database.cluster` names the one the gateway
reads, so the switch is one config change, and the source Cluster (`fromBackupOf`) stays declared, protected and
retained, until the `restore` block is removed (docs/how-to/backup-restore.md)."""

from pydantic import Field, field_validator, model_validator

from .base import Spec
from .common import DnsName, Problems
from .database_backup import BackupSpec, bucket_name

DEFAULT_CLUSTER = "litellm-db"  # the Cluster every stack starts with
_PATH = r"^[a-z0-9][-_a-z0-9/]*[a-z0-9]$"
_RFC3339 = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$"


class ArchiveRef(Spec):
    """`restore.fromArchive`: a Barman Cloud archive this stack does not run (another stack's bucket, a lost
    cluster's backups): `gs://<bucket>/<path>/<serverName>/`."""

    bucket: str
    path: str = Field(default="litellm-db", pattern=_PATH, max_length=200)
    # The folder the source cluster archived to (its backup.serverName, by default its Cluster name).
    server_name: DnsName = DEFAULT_CLUSTER

    @field_validator("bucket")
    @classmethod
    def _valid_bucket(cls, value: str) -> str:
        return bucket_name(value)

    @property
    def destination(self) -> str:
        return f"gs://{self.bucket}/{self.path}"


class RestoreSpec(Spec):
    """`gateway.database.restore`: Cluster `into`, bootstrapped (bootstrap.recovery) from a backup, side by side."""

    # The new Cluster: a name never used before in this namespace and archive (it archives under its own name).
    into: DnsName
    # A Cluster of this stack whose backups (backup.bucket/path) are recovered; it stays declared until restore
    # is removed.
    from_backup_of: DnsName | None = None
    from_archive: ArchiveRef | None = None
    # Point in time to recover to (RFC 3339, e.g. 2026-11-30T04:00:00Z); default: the end of the archive.
    target_time: str | None = Field(default=None, pattern=_RFC3339)

    @model_validator(mode="after")
    def _one_source(self) -> "RestoreSpec":
        if (self.from_backup_of is None) == (self.from_archive is None):
            raise ValueError(
                "fromBackupOf: a restore names exactly one source: fromBackupOf: <a Cluster of this stack> (its "
                "backups in backup.bucket), or fromArchive: {bucket, path, serverName} (an archive this stack does "
                "not run)"
            )
        if self.from_backup_of == self.into:
            raise ValueError(
                f"into: the restore is side by side, so it needs a new Cluster name, not '{self.into}' "
                f"(fromBackupOf); set into: {next_name(self.into)}"
            )
        return self


def next_name(name: str) -> str:
    """litellm-db -> litellm-db-2, litellm-db-2 -> litellm-db-3: a suggestion for a name not used yet."""
    base, _, serial = name.rpartition("-")
    return f"{base}-{int(serial) + 1}" if base and serial.isdigit() else f"{name}-2"


def server_name(backup: BackupSpec, cluster: str) -> str:
    """The archive folder of a Cluster: backup.serverName for the stack's first Cluster (litellm-db, which may
    have archived under another name before), its own name for every Cluster restored since."""
    return backup.server_name if cluster == DEFAULT_CLUSTER else cluster


def declared_clusters(cluster: str, restore: RestoreSpec | None) -> list[str]:
    """The Clusters the stack declares: `cluster`, or the restore's source (kept until restore is removed) and
    target. The order does not depend on which one the gateway reads, so the switch changes no other object."""
    if restore is None:
        return [cluster]
    out = [c for c in (restore.from_backup_of, restore.into) if c is not None]
    return out if cluster in out else [cluster, *out]  # (a third name is refused by restore_problems)


def restore_problems(mode: str, cluster: str, backup: BackupSpec, restore: RestoreSpec | None) -> Problems:
    """Cross-field rules of gateway.database.cluster and .restore (models/platform.py runs them)."""
    p, key = Problems(), "gateway.database"
    if mode != "cnpg":
        if cluster != DEFAULT_CLUSTER:
            p.add(f"{key}.cluster", f"names a CNPG Cluster, but mode is '{mode}'; remove cluster")
        return p
    if restore is None:
        return p
    if restore.from_backup_of is not None:
        if cluster not in (restore.from_backup_of, restore.into):
            p.add(
                f"{key}.cluster",
                f"the gateway reads '{cluster}', but the restore declares '{restore.from_backup_of}' "
                f"(restore.fromBackupOf) and '{restore.into}' (restore.into); set cluster: "
                f"{restore.from_backup_of} until the restored Cluster is verified, then cluster: {restore.into}",
            )
        if not backup.on:
            p.add(
                f"{key}.restore.fromBackupOf",
                "recovers from this stack's backups (backup.bucket), but backup.enabled is false; "
                "name the archive with fromArchive: {bucket, path, serverName} instead",
            )
        elif server_name(backup, restore.into) == server_name(backup, restore.from_backup_of):
            p.add(
                f"{key}.restore.into",
                f"'{restore.into}' would archive into the folder it restores from "
                f"({backup.destination}/{server_name(backup, restore.into)}), which the plugin refuses; "
                f"choose another name, e.g. {next_name(restore.into)}",
            )
    elif restore.from_archive is not None:
        if cluster != restore.into:
            p.add(
                f"{key}.restore.fromArchive",
                f"a Cluster recovered from an archive this stack does not run is the one the gateway reads, but "
                f"cluster is '{cluster}'; set cluster: {restore.into}, or restore beside a Cluster of this stack "
                "from its own backups with fromBackupOf",
            )
        source = restore.from_archive
        own = server_name(backup, restore.into)
        if backup.on and (source.destination, source.server_name) == (backup.destination, own):
            fix = "backup.serverName" if restore.into == DEFAULT_CLUSTER else "into"
            p.add(
                f"{key}.restore.{'into' if fix == 'into' else 'fromArchive'}",
                f"'{restore.into}' would archive into the folder it restores from ({backup.destination}/{own}), "
                f"which the plugin refuses; set {fix} to a new name, e.g. {next_name(own)}",
            )
    return p
