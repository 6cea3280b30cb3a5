"""Barman Cloud backups of the CNPG cluster (the CNPG-I plugin, not the deprecated in-tree backup), as dicts:
the plugin and cert-manager releases, the ObjectStores, the ScheduledBackup and the Cluster's plugin entries."""

from typing import Any

from models.database_backup import BackupSpec, RestoreSpec

from .common import CNPG_CHART_REPO, helm_release, metadata

PLUGIN = "barman-cloud.cloudnative-pg.io"
OBJECT_STORE = "litellm-db-backups"  # where this cluster archives WAL and writes base backups
RESTORE_STORE = "litellm-db-restore-source"  # read only: the backup a new cluster bootstraps from
RESTORE_SOURCE = "origin"  # the externalClusters entry bootstrap.recovery names
CERT_MANAGER_REPO = "https://charts.jetstack.io"
CERT_MANAGER_NAMESPACE = "cert-manager"
SCHEDULED_BACKUP = "litellm-db-daily"


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


def restore_store(spec: RestoreSpec, namespace: str) -> dict[str, Any]:
    """No retentionPolicy: the plugin must never prune the backup a cluster restores from."""
    return _store(RESTORE_STORE, namespace, spec.destination)


def scheduled_backup(spec: BackupSpec, namespace: str, cluster: str) -> dict[str, Any]:
    return {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "ScheduledBackup",
        "metadata": metadata(SCHEDULED_BACKUP, namespace, "database-backup"),
        "spec": {
            "schedule": spec.schedule,
            "immediate": True,  # a base backup right away: WAL alone cannot be restored
            "backupOwnerReference": "self",
            "cluster": {"name": cluster},
            "method": "plugin",
            "pluginConfiguration": {"name": PLUGIN},
        },
    }


def wal_archiver(spec: BackupSpec) -> dict[str, Any]:
    """The Cluster's spec.plugins entry."""
    return {
        "name": PLUGIN,
        "isWALArchiver": True,
        "parameters": {"barmanObjectName": OBJECT_STORE, "serverName": spec.server_name},
    }


def recovery(spec: RestoreSpec, app: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {"source": RESTORE_SOURCE, **app}  # database/owner: CNPG writes <cluster>-app again
    if spec.target_time:
        out["recoveryTarget"] = {"targetTime": spec.target_time}
    return out


def recovery_source(spec: RestoreSpec) -> dict[str, Any]:
    return {
        "name": RESTORE_SOURCE,
        "plugin": {
            "name": PLUGIN,
            "parameters": {"barmanObjectName": RESTORE_STORE, "serverName": spec.server_name},
        },
    }


def operator_output(backup: BackupSpec, namespace: str, cluster: str) -> dict[str, Any]:
    """The `database.backup` stack output: where backups go and how to check them (no secret values)."""
    if not backup.on:
        return {"enabled": False}
    return {
        "enabled": True,
        "destination": f"{backup.destination}/{backup.server_name}",
        "objectStore": f"{namespace}/{OBJECT_STORE}",
        "scheduledBackup": f"{namespace}/{SCHEDULED_BACKUP} ({backup.schedule}, retention {backup.retention})",
        "check": f"kubectl -n {namespace} get backups; kubectl -n {namespace} get cluster {cluster} "
        "-o jsonpath='{.status.conditions[?(@.type==\"ContinuousArchiving\")]}'",
        "backupNow": f"kubectl cnpg backup -n {namespace} {cluster} --method=plugin --plugin-name={PLUGIN}",
    }
