"""The stateful part of a rendered plan: what a scale-to-zero flip (or any replica change) must never touch.

Stateful = volumes and their claims, Secrets, StatefulSets, database objects (e.g. a CloudNativePG `Cluster`),
stateful GCP resources (the GKE cluster, SQL, Redis, buckets, Filestore), and anything declared with
`protect` or `retainOnDelete`. Each is keyed by a stable identity and carries its full declared inputs and
those two options, so "unchanged" means same objects, same content, same protection.
"""

from typing import Any

from offline.plan import Plan

STATEFUL_KINDS = frozenset({"PersistentVolumeClaim", "PersistentVolume", "Secret", "StatefulSet"})
# API groups whose objects hold data (database operators).
DATABASE_GROUPS = (
    "postgresql.cnpg.io",
    "acid.zalan.do",
    "postgres-operator.crunchydata.com",
    "mysql.oracle.com",
    "pxc.percona.com",
    "redis.redis.opstreelabs.in",
)
GCP_STATEFUL = (
    "gcp:container/cluster:",
    "gcp:sql/",
    "gcp:redis/",
    "gcp:storage/bucket:",
    "gcp:filestore/",
    "gcp:alloydb/",
    "gcp:spanner/",
    "gcp:bigtable/",
    "gcp:compute/disk:",
)


def _kept(plan: Plan, name: str) -> dict[str, bool]:
    opts = getattr(plan, "options", {}).get(name, {})
    return {"protect": bool(opts.get("protect")), "retainOnDelete": bool(opts.get("retain_on_delete"))}


def is_database(manifest: dict[str, Any]) -> bool:
    group = str(manifest.get("apiVersion", "")).split("/")[0]
    component = manifest.get("metadata", {}).get("labels", {}).get("app.kubernetes.io/component")
    return group in DATABASE_GROUPS or component == "database"


def stateful_objects(plan: Plan) -> dict[str, dict[str, Any]]:
    """identity -> {"inputs": declared inputs, "protect": bool, "retainOnDelete": bool}."""
    out: dict[str, dict[str, Any]] = {}
    names = getattr(plan, "names", []) or [""] * len(plan.k8s)
    for name, m in zip(names, plan.k8s, strict=False):
        kept = _kept(plan, name)
        if m["kind"] in STATEFUL_KINDS or is_database(m) or any(kept.values()):
            meta = m.get("metadata", {})
            key = f"k8s {m.get('apiVersion')} {m['kind']} {meta.get('namespace', '_cluster')}/{meta.get('name')}"
            out[key] = {"inputs": m, **kept}
    for name, inputs in getattr(plan, "helm", []):
        kept = _kept(plan, name)
        if any(kept.values()):
            out[f"helm {name}"] = {"inputs": inputs, **kept}
    for typ, name, inputs in plan.gcp:
        kept = _kept(plan, name)
        if typ.startswith(GCP_STATEFUL) or any(kept.values()):
            out[f"gcp {typ} {name}"] = {"inputs": inputs, **kept}
    return out
