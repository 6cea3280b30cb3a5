"""Labels, probes and security contexts every workload shares."""

import hashlib
import json
from typing import Any

from models.cluster import ROLE_LABEL  # noqa: F401 (re-exported: the manifests import it from here)

PART_OF = "llm-platform"


def labels(name: str, component: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": "pulumi",
    }


def selector(name: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": name}


def metadata(name: str, namespace: str | None, component: str, **extra: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": labels(name, component), **extra}
    if namespace:
        meta["namespace"] = namespace
    return meta


def checksum(*docs: Any) -> str:
    """Stable hash of config a pod reads at start, so a config change rolls the pods."""
    blob = json.dumps(docs, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def container_security(run_as_root: bool = False, read_only_root: bool = True) -> dict[str, Any]:
    ctx: dict[str, Any] = {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
        "readOnlyRootFilesystem": read_only_root,
    }
    if not run_as_root:
        ctx["runAsNonRoot"] = True
    return ctx


# The stdlib-only Jobs (key reconciler, smoke test, weight release): a slim Python, pinned by digest.
PYTHON_JOB_IMAGE = "python:3.12.12-slim@sha256:f3fa41d74a768c2fce8016b98c191ae8c1bacd8f1152870a3f9f87d350920b7c"

# UID/GID for images that need no user of their own: >= 10000, so it never matches a host account (checkov
# CKV_K8S_40). Images that need their own user (the LiteLLM non_root image's 65534) set it where they are built.
APP_UID = 10001


def non_root(uid: int = APP_UID, read_only_root: bool = True) -> dict[str, Any]:
    """A container security context with an explicit non-root user and group."""
    return {**container_security(read_only_root=read_only_root), "runAsUser": uid, "runAsGroup": uid}


def tmp_volume(name: str = "tmp", size: str = "1Gi") -> dict[str, Any]:
    """Scratch space for a read-only root filesystem (/tmp, HOME, caches); gone with the pod."""
    return {"name": name, "emptyDir": {"sizeLimit": size}}


def checkov_skips(reasons: dict[str, str]) -> dict[str, str]:
    """Annotations that skip checkov checks for this one object only (README: Security and reliability).

    checkov splits each value on '=', so a reason may not contain one.
    """
    out = {}
    for i, (check, reason) in enumerate(sorted(reasons.items()), 1):
        assert "=" not in reason, reason
        out[f"checkov.io/skip{i}"] = f"{check}={reason}"
    return out


# The exceptions, by cause; each workload that has one merges these into its own metadata annotations.
# A model server on its own tainted GPU node: a CPU limit only throttles its API server and tokenizer.
GPU_NODE_CPU = {"CKV_K8S_11": "no CPU limit on a dedicated GPU node (README exceptions)"}
ROOT_IMAGE = {
    "CKV_K8S_23": "the image runs as root (README exceptions)",
    "CKV_K8S_40": "the image runs as root (README exceptions)",
}
WRITABLE_ROOT = {"CKV_K8S_22": "the image writes under its own root filesystem (README exceptions)"}


def pull_policy(image: str) -> str:
    """A digest never changes, so the node cache is fine; a tag is re-resolved at each start (CKV_K8S_15)."""
    return "IfNotPresent" if "@sha256:" in image else "Always"


def pod_template(manifest: dict[str, Any]) -> dict[str, Any] | None:
    """The pod template of a workload (a CronJob's is inside its jobTemplate), else None."""
    spec = manifest.get("spec", {})
    if manifest.get("kind") == "CronJob":
        spec = spec.get("jobTemplate", {}).get("spec", {})
    elif manifest.get("kind") not in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
        return None
    return spec.get("template")


def set_pull_policies(manifest: dict[str, Any]) -> dict[str, Any]:
    """Give every container of a workload an explicit imagePullPolicy (k8s.apply calls this on each object)."""
    pod = (pod_template(manifest) or {}).get("spec")
    if not pod:
        return manifest
    for c in pod.get("initContainers", []) + pod.get("containers", []):
        c.setdefault("imagePullPolicy", pull_policy(c["image"]))
    return manifest


def http_probe(
    path: str, port: str, period: int, failures: int, timeout: int = 5, initial_delay: int = 0
) -> dict[str, Any]:
    probe: dict[str, Any] = {
        "httpGet": {"path": path, "port": port},
        "periodSeconds": period,
        "failureThreshold": failures,
        "timeoutSeconds": timeout,
    }
    if initial_delay:
        probe["initialDelaySeconds"] = initial_delay
    return probe


def secret_env(name: str, secret: str, key: str, optional: bool = False) -> dict[str, Any]:
    ref: dict[str, Any] = {"name": secret, "key": key}
    if optional:
        ref["optional"] = True
    return {"name": name, "valueFrom": {"secretKeyRef": ref}}


def env(**values: str) -> list[dict[str, str]]:
    return [{"name": k, "value": v} for k, v in values.items()]


def gib(value: float) -> str:
    return f"{int(value)}Gi"


def service(name: str, namespace: str, component: str, port: int, target: str = "http") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(name, namespace, component),
        "spec": {
            "type": "ClusterIP",
            "selector": selector(name),
            "ports": [{"name": "http", "port": port, "targetPort": target, "protocol": "TCP"}],
        },
    }


# GKE gives a preempted Spot VM 30 s: kubelet's graceful node shutdown lets ordinary pods stop in the first 15 s,
# critical system pods in the last 15 s. A longer pod grace is cut there, so on Spot pools the pods say what they get.
SPOT_GRACE_SECONDS = 15


def grace_seconds(default: int, spot: bool) -> int:
    """terminationGracePeriodSeconds of a pod on a (spot) GPU pool."""
    return min(default, SPOT_GRACE_SECONDS) if spot else default


# A GPU pod may wait many minutes for a node, and a PVC binds only with its first pod:
# neither should hold `pulumi up` until it times out.
SKIP_AWAIT = {"pulumi.com/skipAwait": "true"}


def pvc(name: str, namespace: str, component: str, size_gib: int, storage_class: str | None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": gib(size_gib)}},
    }
    if storage_class:
        spec["storageClassName"] = storage_class
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": metadata(name, namespace, component, annotations=dict(SKIP_AWAIT)),
        "spec": spec,
    }


# Bounds on huggingface_hub's Xet download backend for the weight-staging init containers. Unbounded it buffers
# gigabytes (xet-runtime's fixed defaults: 2 GB + 512 MB per active file, up to 8 GB) and OOMs a small init
# container. Both generations of names are set: each hf_xet reads its own and ignores the other's.
HF_XET_BOUNDS = {
    "HF_XET_HIGH_PERFORMANCE": "0",
    # Current hf_xet (xet-runtime config groups; the pinned 1.8.0 reads these):
    # buffer = size + active files x perfile, capped at limit (256 MB + 4 x 128 MB here).
    "HF_XET_RECONSTRUCTION_DOWNLOAD_BUFFER_SIZE": "256mb",
    "HF_XET_RECONSTRUCTION_DOWNLOAD_BUFFER_PERFILE_SIZE": "128mb",
    "HF_XET_RECONSTRUCTION_DOWNLOAD_BUFFER_LIMIT": "1gb",
    "HF_XET_DATA_MAX_CONCURRENT_FILE_DOWNLOADS": "4",
    # hf_xet < 1.3 (vLLM 0.11's image era; unused since 1.3): 8 concurrent ~64 MB range fetches, and no chunk
    # cache (its 10 GB default on the PVC would hold a second copy of the weights beside the HF file cache).
    "HF_XET_NUM_CONCURRENT_RANGE_GETS": "8",
    "HF_XET_CHUNK_CACHE_SIZE_BYTES": "0",
}
# The staging init containers' resources: the bounded Xet buffers (~1 GB) + Python + hashing, with headroom.
STAGING_RESOURCES = {"requests": {"cpu": "500m", "memory": "2Gi"}, "limits": {"cpu": "2", "memory": "4Gi"}}


# The CloudNativePG Helm repository: the operator's chart and the Barman Cloud plugin's.
CNPG_CHART_REPO = "https://cloudnative-pg.github.io/charts"


def helm_release(
    name: str, chart: str, version: str, namespace: str, repo: str, values: dict[str, Any], create_namespace: bool
) -> dict[str, Any]:
    """Inputs of kubernetes.helm.v3.Release: a pinned chart, atomic (a failed install rolls back)."""
    out: dict[str, Any] = {"name": name, "chart": chart, "version": version, "namespace": namespace}
    if create_namespace:
        out["create_namespace"] = True
    out.update({"repository_opts": {"repo": repo}, "atomic": True, "values": values})
    return out
