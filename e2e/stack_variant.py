"""Turn a stack file into the stack the real engine runs on the local control plane.

Only what must change for a cluster without GCP changes, and the rest stays byte-for-byte the stack's:
- `cluster.target: kubeconfig` (GKE-only keys dropped: location, project, create, and the keys that only
  shape a cluster this stack would create), with the harness's kubeconfig context;
- every managed node pool becomes `managed: false` with an L4's vramGiB: its nodes already exist (the fake
  nodes the harness made per maxNodes, labelled and tainted as GKE would), which is what a GKE pool is to
  the workloads;
- `observability.scrape` kept at what the GKE stack resolves to (podmonitoring), since a kubeconfig stack
  would default to none;
- a CNPG database uses the operator the harness provides (`gateway.database.operator: existing`): the
  Helm chart cannot be fetched offline; its backup to GCS is off (Workload Identity is GKE's);
- likewise KEDA (`autoscaler.keda: existing`) when a model is on demand: the harness applies its CRD.
Secure values and the stack's encryption salt are dropped: the local stack has its own passphrase.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import yaml

NS = "llm-platform:"
GKE_ONLY_CLUSTER_KEYS = (
    "location",
    "project",
    "create",
    "releaseChannel",
    "systemMachineType",
    "systemNodes",
    "deletionProtection",
)
L4_VRAM_GIB = 24


def stack_name(stack_file: Path) -> tuple[str, str | None]:
    """Pulumi.dev.yaml -> dev; examples/Pulumi.llama-seed.yaml -> llama-seed; some/seed.yaml -> seed, with a
    note saying so (the second value; None for a Pulumi.<stack>.yaml). A stack name keeps [A-Za-z0-9_.-]."""
    name = stack_file.name
    if name.startswith("Pulumi.") and name.endswith((".yaml", ".yml")):
        return name[len("Pulumi.") :].rsplit(".", 1)[0], None
    base = re.sub(r"[^A-Za-z0-9_.-]", "-", name.rsplit(".", 1)[0]) or "stack"
    return base, f"stack name {base!r} taken from {name} (a stack file is named Pulumi.<stack>.yaml)"


def kubeconfig_variant(doc: dict[str, Any], context: str | None) -> tuple[dict[str, Any], list[str]]:
    """The variant of a stack document and the list of changes made (for the report)."""
    out = copy.deepcopy(doc)
    out.pop("encryptionsalt", None)
    out.pop("secretsprovider", None)
    out.pop("encryptedkey", None)
    config: dict[str, Any] = out.setdefault("config", {}) or {}
    out["config"] = config
    changes: list[str] = []
    for key in [k for k, v in config.items() if isinstance(v, dict) and "secure" in v]:
        del config[key]
        changes.append(f"dropped secure value {key} (encrypted for another stack)")

    cluster = dict(config.get(NS + "cluster") or {})
    was_gke = cluster.get("target", "gke") == "gke"
    if was_gke:
        for key in GKE_ONLY_CLUSTER_KEYS:
            if key in cluster:
                del cluster[key]
                changes.append(f"cluster.{key} removed (GKE only)")
        cluster["target"] = "kubeconfig"
        changes.append("cluster.target: kubeconfig")
    if context:
        cluster["context"] = context
        changes.append(f"cluster.context: {context}")
    config[NS + "cluster"] = cluster

    pools = config.get(NS + "nodePools") or []
    for i, pool in enumerate(pools):
        if pool.get("managed", True):
            pool["managed"] = False
            pool.setdefault("vramGiB", L4_VRAM_GIB)
            changes.append(f"nodePools[{i}] ({pool.get('name')}): managed: false, nodes pre-exist (fake)")

    if was_gke:
        obs = dict(config.get(NS + "observability") or {})
        if "scrape" not in obs:
            obs["scrape"] = "podmonitoring"
            config[NS + "observability"] = obs
            changes.append("observability.scrape: podmonitoring (the GKE default, kept)")

    gateway = dict(config.get(NS + "gateway") or {})
    database = dict(gateway.get("database") or {})
    if database.get("mode", "cnpg") == "cnpg" and database.get("operator", "install") == "install":
        database["operator"] = "existing"
        changes.append("gateway.database.operator: existing (CNPG CRDs from the harness; chart not fetchable)")
    if (database.get("backup") or {}).get("enabled") or "restore" in database:
        # Barman Cloud to GCS authenticates with GKE Workload Identity: a GCP feature, like the node pools.
        # Without the restore, `cluster` (the restore's source or target) is a Cluster of its own.
        database["backup"] = {"enabled": False}
        database.pop("restore", None)
        changes.append("gateway.database.backup.enabled: false (GCS through GKE Workload Identity; GCP only)")
    if database:
        gateway["database"] = database
    if gateway:
        config[NS + "gateway"] = gateway
    autoscaler = dict(config.get(NS + "autoscaler") or {})
    if autoscaler.get("keda", "install") == "install" and _has_on_demand(config.get(NS + "models") or []):
        autoscaler["keda"] = "existing"
        config[NS + "autoscaler"] = autoscaler
        changes.append("autoscaler.keda: existing (KEDA's CRD from the harness; chart not fetchable)")
    return out, changes


def _has_on_demand(models: list) -> bool:
    return any(isinstance(m, dict) and (m.get("scaling") or {}).get("mode") == "onDemand" for m in models)


def write_variant(stack_file: Path, dest_dir: Path, stack: str, context: str | None) -> tuple[Path, list[str]]:
    """Write Pulumi.<stack>.yaml (the variant) into dest_dir; returns its path and the changes."""
    doc = yaml.safe_load(stack_file.read_text()) or {}
    variant, changes = kubeconfig_variant(doc, context)
    dest_dir.mkdir(parents=True, exist_ok=True)
    path = dest_dir / f"Pulumi.{stack}.yaml"
    path.write_text(yaml.safe_dump(variant, sort_keys=False))
    return path, changes
