"""What the local cluster holds besides nodes: kwok's stages, GKE's StorageClasses and the program's CRDs.

Stages and CRDs are read at run time from the upstream Go modules in the module cache (`go mod download`),
never copied into this repository.
"""

import copy
import json
import subprocess
from pathlib import Path
from typing import Any

import yaml

KWOK_MODULE = "sigs.k8s.io/kwok@v0.8.0"
# The CNPG operator the pinned chart (models/gateway.py operator_chart_version 0.26.1) installs: app 1.27.1.
CNPG_MODULE = "github.com/cloudnative-pg/cloudnative-pg@v1.27.1"
# The Barman Cloud plugin's ObjectStore (the backups of models/database_backup.py); see tests/crd_modules.py.
BARMAN_PLUGIN_MODULE = "github.com/cloudnative-pg/plugin-barman-cloud@v0.13.0"
GMP_MODULE = "github.com/GoogleCloudPlatform/prometheus-engine@v0.17.2"
PROM_OPERATOR_MODULE = "github.com/prometheus-operator/prometheus-operator@v0.85.0"
# KEDA: the operator scripts/engine/build_keda.sh builds, and the app version of the chart models/scaling.py pins.
KEDA_MODULE = "github.com/kedacore/keda/v2@v2.21.0"

# (module, path inside it) of each CRD the program can declare.
CRDS = [
    (CNPG_MODULE, "config/crd/bases/postgresql.cnpg.io_clusters.yaml"),
    (CNPG_MODULE, "config/crd/bases/postgresql.cnpg.io_scheduledbackups.yaml"),
    (CNPG_MODULE, "config/crd/bases/postgresql.cnpg.io_backups.yaml"),  # the pre-migration Backup
    (BARMAN_PLUGIN_MODULE, "config/crd/bases/barmancloud.cnpg.io_objectstores.yaml"),
    (GMP_MODULE, "charts/operator/crds/monitoring.googleapis.com_podmonitorings.yaml"),
    (PROM_OPERATOR_MODULE, "example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml"),
    (PROM_OPERATOR_MODULE, "example/prometheus-operator-crd/monitoring.coreos.com_podmonitors.yaml"),
    # the alert rules (components/manifests/alert_objects.py): GMP Rules/ClusterRules, prometheus-operator PrometheusRule
    (GMP_MODULE, "charts/operator/crds/monitoring.googleapis.com_rules.yaml"),
    (GMP_MODULE, "charts/operator/crds/monitoring.googleapis.com_clusterrules.yaml"),
    (PROM_OPERATOR_MODULE, "example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml"),
    # KEDA's CRDs (on-demand models, models/scaling.py), all of them as its chart installs them: its operator
    # stops when one it watches is missing. From the operator's module.
    *[
        (KEDA_MODULE, f"config/crd/bases/{name}.yaml")
        for name in (
            "keda.sh_scaledobjects",
            "keda.sh_scaledjobs",
            "keda.sh_triggerauthentications",
            "keda.sh_clustertriggerauthentications",
            "eventing.keda.sh_cloudeventsources",
            "eventing.keda.sh_clustercloudeventsources",
        )
    ],
]

# kwok stages (kustomize/stage/ of its module): nodes Ready with lease heartbeats, pods Ready, Job pods complete,
# deleted pods go away, PVCs provisioned and PVs bound.
STAGES = [
    "node/fast/node-initialize.yaml",
    "node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
    "pod/fast/pod-ready.yaml",
    "pod/fast/pod-complete.yaml",
    "pod/fast/pod-delete.yaml",
    "volume/fast/pvc-provision.yaml",
    "volume/fast/pv-bind.yaml",
    "volume/fast/pvc-delete.yaml",
    "volume/fast/pv-delete.yaml",
]
KWOK_VOLUME_CLASS = "self.spec.storageClassName == 'kwok-volume'"
SELECTED_NODE = "volume.kubernetes.io/selected-node"

# GKE's StorageClasses (PD CSI driver); standard-rwo is the default class.
STORAGE_CLASSES = [
    ("standard-rwo", "pd.csi.storage.gke.io", "pd-balanced", "WaitForFirstConsumer", True),
    ("premium-rwo", "pd.csi.storage.gke.io", "pd-ssd", "WaitForFirstConsumer", False),
    ("standard", "kubernetes.io/gce-pd", "pd-standard", "Immediate", False),
]


def module_dir(module: str) -> Path:
    """Download (or find in the module cache) one Go module version and return its directory."""
    res = subprocess.run(["go", "mod", "download", "-json", module], check=False, capture_output=True, text=True)
    try:
        info = json.loads(res.stdout)
    except json.JSONDecodeError:
        raise RuntimeError(f"go mod download {module} failed: {res.stderr.strip()}") from None
    if info.get("Error") or not info.get("Dir"):
        raise RuntimeError(f"go mod download {module} failed: {info.get('Error') or res.stderr.strip()}")
    return Path(info["Dir"])


def storage_classes() -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {
                "name": name,
                "annotations": {"storageclass.kubernetes.io/is-default-class": str(default).lower()},
                "labels": {"llm-platform.test/fake": "true"},
            },
            "provisioner": provisioner,
            "parameters": {"type": disk},
            "volumeBindingMode": binding,
            "reclaimPolicy": "Delete",
            "allowVolumeExpansion": True,
        }
        for name, provisioner, disk, binding, default in STORAGE_CLASSES
    ]


def _volume_selector() -> str:
    """CEL: a claim of one of our classes, provisioned at once (Immediate) or once the scheduler picked a node."""
    names = [sc[0] for sc in STORAGE_CLASSES]
    immediate = [sc[0] for sc in STORAGE_CLASSES if sc[3] == "Immediate"]
    return (
        f"self.spec.storageClassName in {json.dumps(names)} && "
        f"(self.spec.storageClassName in {json.dumps(immediate)} || "
        f"(has(self.metadata.annotations) && '{SELECTED_NODE}' in self.metadata.annotations))"
    )


def _retarget(stage: dict[str, Any]) -> dict[str, Any]:
    """kwok's volume stages only act on its own `kwok-volume` class; point them at GKE's classes instead."""
    stage = copy.deepcopy(stage)
    kind = stage["spec"]["resourceRef"]["kind"]
    for expr in stage["spec"].get("selector", {}).get("matchExpressions", []):
        cel = expr.get("cel", {})
        if cel.get("expression", "").strip() == KWOK_VOLUME_CLASS:
            names = json.dumps([sc[0] for sc in STORAGE_CLASSES])
            if kind == "PersistentVolumeClaim" and stage["metadata"]["name"] == "pvc-provision":
                cel["expression"] = _volume_selector()
            else:
                cel["expression"] = f"self.spec.storageClassName in {names}"
    return stage


def kwok_stages() -> list[dict[str, Any]]:
    base = module_dir(KWOK_MODULE) / "kustomize" / "stage"
    stages = []
    for rel in STAGES:
        for doc in yaml.safe_load_all((base / rel).read_text()):
            if doc and doc.get("kind") == "Stage":
                stages.append(_retarget(doc) if rel.startswith("volume/") else doc)
    found = {s["metadata"]["name"] for s in stages}
    missing = {Path(r).stem for r in STAGES} - found
    if missing:
        raise RuntimeError(f"kwok stages missing from {base}: {sorted(missing)}")
    for stage in stages:  # a selector still naming kwok's own class would silently never match
        if "kwok-volume" in json.dumps(stage):
            raise RuntimeError(f"kwok stage {stage['metadata']['name']} still selects the kwok-volume class")
        if stage["metadata"]["name"] == "pod-ready":
            stage["spec"]["delay"] = ready_delay()
    return [*stages, failing_stage()]


# A model whose modelName is this repo fails its weight stage as a typo'd modelName does on GKE: the stage Job's
# pod exits 3 (prestage_weights.py's FATAL_EXIT) instead of completing (e2e/failed_stage.py).
FAIL_STAGE_REPO = "e2e-fixture/no-such-model"


def failing_stage() -> dict[str, Any]:
    return {
        "apiVersion": "kwok.x-k8s.io/v1alpha1",
        "kind": "Stage",
        "metadata": {"name": "pod-stage-fails"},
        "spec": {
            "resourceRef": {"apiGroup": "v1", "kind": "Pod"},
            "selector": {
                "matchExpressions": [
                    {"key": ".metadata.deletionTimestamp", "operator": "DoesNotExist"},
                    {"key": ".status.phase", "operator": "In", "values": ["Running"]},
                    {"key": ".metadata.ownerReferences.[].kind", "operator": "In", "values": ["Job"]},
                    {"key": ".spec.containers.[].env.[].value", "operator": "In", "values": [FAIL_STAGE_REPO]},
                ]
            },
            "weight": 10000,  # over pod-complete (weight 0), which matches the same pod
            "next": {
                "statusTemplate": (
                    "{{ $now := Now }}\n"
                    "containerStatuses:\n"
                    "{{ range $index, $item := .spec.containers }}\n"
                    "- image: {{ $item.image | Quote }}\n"
                    "  name: {{ $item.name | Quote }}\n"
                    "  ready: false\n"
                    "  restartCount: 0\n"
                    "  started: false\n"
                    "  state:\n"
                    "    terminated:\n"
                    "      exitCode: 3\n"
                    "      finishedAt: {{ $now | Quote }}\n"
                    "      reason: Error\n"
                    '      message: "no hub repo (check modelName)"\n'
                    "      startedAt: {{ $now | Quote }}\n"
                    "{{ end }}\n"
                    "phase: Failed\n"
                )
            },
        },
    }


# A pod carrying this annotation (a Go duration, "20s") turns Ready that long after it starts: a model that loads
# (e2e/scale.py sets it on a model's pod template). Without it, at once.
READY_AFTER = "llm-platform.test/ready-after"


def ready_delay() -> dict[str, Any]:
    return {
        "durationMilliseconds": 0,
        "durationFrom": {"jq": {"expression": f'.metadata.annotations["{READY_AFTER}"]'}},
    }


def crds() -> list[dict[str, Any]]:
    out = []
    for module, rel in CRDS:
        path = module_dir(module) / rel
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d and d.get("kind") == "CustomResourceDefinition"]
        if not docs:
            raise RuntimeError(f"no CustomResourceDefinition in {path}")
        out += docs
    return out
