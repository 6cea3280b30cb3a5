"""The side-by-side restore, as operator commands: verify the restored Cluster, switch, retire the old one.

The verification is a documented `kubectl exec ... psql` (no Job: it reads two Clusters the operator compares,
and a Job would need a database role and a NetworkPolicy of its own). It runs in each Cluster's primary as the
local `postgres` user over the Unix socket (peer authentication), which works with enableSuperuserAccess: false.
"""

from typing import Any

from models.gateway import DatabaseSpec

# Virtual keys, the spend recorded on them, and the spend-log rows (LiteLLM 1.102.4's schema.prisma; run by hand
# against a Debian PostgreSQL 15 migrated with litellm_proxy_extras' migrations, not yet a consumer test).
VERIFY_SQL = (
    'SELECT (SELECT count(*) FROM "LiteLLM_VerificationToken") AS keys, '
    '(SELECT coalesce(round(sum(spend)::numeric, 6), 0) FROM "LiteLLM_VerificationToken") AS key_spend, '
    '(SELECT count(*) FROM "LiteLLM_SpendLogs") AS spend_logs'
)


def primary_pod(namespace: str, cluster: str) -> str:
    """Shell for the name of a Cluster's primary pod (CNPG labels it cnpg.io/instanceRole=primary)."""
    return f"$(kubectl -n {namespace} get pod -l cnpg.io/cluster={cluster},cnpg.io/instanceRole=primary -o name)"


def verify_command(namespace: str, cluster: str, database: str = "litellm") -> str:
    """Prints `keys|key_spend|spend_logs` of one Cluster."""
    return (
        f"kubectl -n {namespace} exec {primary_pod(namespace, cluster)} -c postgres -- "
        f"psql -d {database} -XAtc '{VERIFY_SQL}'"
    )


def restore_output(db: DatabaseSpec, namespace: str) -> dict[str, Any]:
    """The `database.restore` stack output: where the restore stands and the next command."""
    restore = db.restore
    assert restore is not None
    source = restore.from_backup_of
    out: dict[str, Any] = {
        "into": f"{namespace}/{restore.into}",
        "gatewayReads": f"{namespace}/{db.cluster}",
        "recovered": f"kubectl -n {namespace} get cluster {restore.into} (STATUS: Cluster in healthy state)",
        "verify": {c: verify_command(namespace, c) for c in db.clusters},
    }
    if source is not None:
        out["from"] = f"{namespace}/{source} (kept, protected, until restore is removed)"
    if db.cluster != restore.into:
        out["switch"] = f"pulumi config set --path 'llm-platform:gateway.database.cluster' {restore.into}"
    return out
