"""LiteLLM's schema migrations as a Job before the gateway rolls (issue 20, point 8).

The serving pods start with DISABLE_SCHEMA_UPDATE=true: several replicas never race to migrate the database, and a
pod never migrates half-way through a rollout. This Job runs the gateway's image once per image and database
(`litellm --config ... --skip_server_startup`: LiteLLM 1.102.4 applies its Prisma migrations, then exits), and
fails loudly on a failed migration (ENFORCE_PRISMA_MIGRATION_CHECK). With backups on, an on-demand CNPG Backup of
the database completes first, so a bad migration can be undone by a restore (docs/how-to/backup-restore.md).
"""

from typing import Any

from models.platform import PlatformConfig

from . import database, database_backup
from .common import WRITABLE_ROOT, checkov_skips, checksum, labels, metadata, non_root
from .gateway import CONFIG_DIR, CONFIGMAP, LITELLM_LOCAL_ENV, database_env
from .workloads import MIGRATE_NAME

NAME = MIGRATE_NAME
# What the provider waits for before the Job (pulumi-kubernetes >= 4.18: the waitFor annotation).
BACKUP_DONE = {"pulumi.com/waitFor": "jsonpath={.status.phase}=completed", "pulumi.com/timeoutSeconds": "1800"}


def migrates(cfg: PlatformConfig) -> bool:
    return database.url_secret_ref(cfg.gateway.database) is not None


def suffix(cfg: PlatformConfig) -> str:
    """Per image and database: a new image (or a switch to a restored Cluster) runs the migration again."""
    return checksum(cfg.images.litellm, cfg.gateway.database.cluster, cfg.gateway.database.mode)[:10]


def pre_migration_backup(cfg: PlatformConfig) -> dict[str, Any] | None:
    db = cfg.gateway.database
    if db.mode != "cnpg" or not db.backup.on:
        return None
    return {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "Backup",
        "metadata": metadata(
            f"{db.cluster}-pre-migrate-{suffix(cfg)}",
            cfg.namespaces.gateway,
            "database-backup",
            annotations=BACKUP_DONE,
        ),
        "spec": {
            "cluster": {"name": db.cluster},
            "method": "plugin",
            "pluginConfiguration": {"name": database_backup.PLUGIN},
        },
    }


def migration_job(cfg: PlatformConfig) -> dict[str, Any] | None:
    if not migrates(cfg):
        return None
    container = {
        "name": "migrate",  # the gateway image, with its writable-root exception (tests/test_pod_hardening.py)
        "image": cfg.images.litellm,
        "args": ["--config", f"{CONFIG_DIR}/config.yaml", "--skip_server_startup"],
        "env": [
            *database_env(cfg),
            {"name": "ENFORCE_PRISMA_MIGRATION_CHECK", "value": "true"},
            {"name": "DISABLE_SCHEMA_UPDATE", "value": "false"},
            LITELLM_LOCAL_ENV,
        ],
        "resources": {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
        # As the gateway's pods: Prisma writes its client and migrations into site-packages at run time.
        "securityContext": non_root(65534, read_only_root=False),
        "volumeMounts": [{"name": "config", "mountPath": CONFIG_DIR, "readOnly": True}],
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": metadata(
            f"{NAME}-{suffix(cfg)}", cfg.namespaces.gateway, "gateway", annotations=checkov_skips(WRITABLE_ROOT)
        ),
        "spec": {
            "backoffLimit": 2,
            "activeDeadlineSeconds": 900,
            "template": {
                "metadata": {"labels": labels(NAME, "gateway")},
                "spec": {
                    "restartPolicy": "Never",
                    "automountServiceAccountToken": False,
                    "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [container],
                    "volumes": [{"name": "config", "configMap": {"name": CONFIGMAP}}],
                },
            },
        },
    }
