"""Barman Cloud backups of the CNPG cluster (the CNPG-I plugin, not the deprecated in-tree backup), as dicts:
the plugin and cert-manager releases, the ObjectStores, the ScheduledBackup and the Cluster's plugin entries."""

from typing import Any

from models.database_backup import BackupSpec
from models.database_restore import RestoreSpec

from .common import CNPG_CHART_REPO, helm_release, metadata

PLUGIN = "barman-cloud.cloudnative-pg.io"
OBJECT_STORE = "litellm-db-backups"  # where this cluster archives WAL and writes base backups
RESTORE_STORE = "litellm-db-restore-source"  # read only: the backup a new cluster bootstraps from
RESTORE_SOURCE = "origin"  # the externalClusters entry bootstrap.recovery names
CERT_MANAGER_REPO = "https://charts.jetstack.io"
CERT_MANAGER_NAMESPACE = "cert-manager"
SCHEDULED_BACKUP = "litellm-db-daily"  # the first Cluster's; every Cluster has its own, <cluster>-daily


def scheduled_backup_name(cluster: str) -> str:
    return f"{cluster}-daily"


def plugin_release(spec: BackupSpec, operator_namespace: str) -> dict[str, Any]:
    """The plugin must run in the operator's namespace; its chart brings the ObjectStore CRD."""
    return helm_release(
        "barman-cloud",
        "plugin-barman-cloud",
        spec.plugin_chart_version,
        operator_namespace,
        CNPG_CHART_REPO,
        {"crds": {"create": True}},
        create_namespace=False,  # the operator's release creates it
    )


def cert_manager_release(spec: BackupSpec) -> dict[str, Any]:
    """cert-manager issues the TLS pair the operator and the plugin talk gRPC over; CRDs kept on uninstall."""
    return helm_release(
        "cert-manager",
        "cert-manager",
        spec.cert_manager_chart_version,
        CERT_MANAGER_NAMESPACE,
        CERT_MANAGER_REPO,
        {"crds": {"enabled": True, "keep": True}},
        create_namespace=True,
    )


def _store(name: str, namespace: str, destination: str) -> dict[str, Any]:
    return {
        "apiVersion": "barmancloud.cnpg.io/v1",
        "kind": "ObjectStore",
        "metadata": metadata(name, namespace, "database-backup"),
        "spec": {
            "configuration": {
                "destinationPath": destination,
                "googleCredentials": {"gkeEnvironment": True},  # Workload Identity: no key in a Secret
                "wal": {"compression": "gzip"},
                "data": {"compression": "gzip"},
            }
        },
    }


def object_store(spec: BackupSpec, namespace: str) -> dict[str, Any]:
    store = _store(OBJECT_STORE, namespace, spec.destination)
    res = {"cpu": spec.sidecar_resources.cpu, "memory": spec.sidecar_resources.memory}
    store["spec"]["retentionPolicy"] = spec.retention
    store["spec"]["instanceSidecarConfiguration"] = {"resources": {"requests": res, "limits": dict(res)}}
    return store


def restore_store(restore: RestoreSpec, backup: BackupSpec, namespace: str) -> dict[str, Any]:
    """The archive a restore reads: this stack's (fromBackupOf) or another (fromArchive). No retentionPolicy:
    the plugin must never prune the backup a cluster restores from."""
    source = restore.from_archive
    return _store(RESTORE_STORE, namespace, source.destination if source else backup.destination)


def scheduled_backup(spec: BackupSpec, namespace: str, cluster: str) -> dict[str, Any]:
    return {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "ScheduledBackup",
        "metadata": metadata(scheduled_backup_name(cluster), namespace, "database-backup"),
        "spec": {
            "schedule": spec.schedule,
            # A base backup as soon as the Cluster's primary is ready (WAL alone cannot be restored): for a restored
            # Cluster, right after the recovery (the Backup waits as `pending` while no instance is ready). CNPG
            # labels it cnpg.io/immediateBackup=true.
            "immediate": True,
            "backupOwnerReference": "self",
            "cluster": {"name": cluster},
            "method": "plugin",
            "pluginConfiguration": {"name": PLUGIN},
        },
    }


def wal_archiver(server_name: str) -> dict[str, Any]:
    """A Cluster's spec.plugins entry: archives WAL and base backups under `server_name`."""
    return {
        "name": PLUGIN,
        "isWALArchiver": True,
        "parameters": {"barmanObjectName": OBJECT_STORE, "serverName": server_name},
    }


def recovery(spec: RestoreSpec, app: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {"source": RESTORE_SOURCE, **app}  # database/owner: the application database again
    if spec.target_time:
        out["recoveryTarget"] = {"targetTime": spec.target_time}
    return out


def recovery_source(server_name: str) -> dict[str, Any]:
    """The externalClusters entry bootstrap.recovery names: the plugin reading `server_name` in RESTORE_STORE."""
    return {
        "name": RESTORE_SOURCE,
        "plugin": {
            "name": PLUGIN,
            "parameters": {"barmanObjectName": RESTORE_STORE, "serverName": server_name},
        },
    }


def backup_status_check(namespace: str, cluster: str) -> str:
    """One command that blocks until the Cluster archives WAL and its first base backup completed, and fails
    (non-zero) when either does not happen in time."""
    return (
        f"kubectl -n {namespace} wait cluster.postgresql.cnpg.io/{cluster} --for=condition=ContinuousArchiving "
        f"--timeout=15m && kubectl -n {namespace} wait backups.postgresql.cnpg.io "
        f"-l cnpg.io/cluster={cluster},cnpg.io/immediateBackup=true "
        "--for=jsonpath='{.status.phase}'=completed --timeout=30m"
    )


def operator_output(backup: BackupSpec, namespace: str, first: str, archives: dict[str, str]) -> dict[str, Any]:
    """The `database.backup` stack output: where backups go and how to check them (no secret values). `first`:
    the Cluster the gateway reads; `archives`: every declared Cluster's archive folder (serverName)."""
    if not backup.on:
        return {"enabled": False}
    return {
        "enabled": True,
        "destination": f"{backup.destination}/{archives[first]}",
        "objectStore": f"{namespace}/{OBJECT_STORE}",
        "scheduledBackup": f"{namespace}/{scheduled_backup_name(first)} ({backup.schedule}, retention "
        f"{backup.retention})",
        "check": f"kubectl -n {namespace} get backups; kubectl -n {namespace} get cluster {first} "
        "-o jsonpath='{.status.conditions[?(@.type==\"ContinuousArchiving\")]}'",
        "backupNow": f"kubectl cnpg backup -n {namespace} {first} --method=plugin --plugin-name={PLUGIN}",
        # Not awaited by `up` (docs/how-to/backup-restore.md): run after the first up of a Cluster (a new stack,
        # a restore); the alerts DatabaseWalArchivingFailing and DatabaseBackupTooOld watch it from then on.
        "status": {c: backup_status_check(namespace, c) for c in archives},
        "archives": {c: f"{backup.destination}/{n}" for c, n in archives.items()},
    }
