"""Weight staging off the GPU: per vLLM model, a CPU Job on the system pool fills the cache PVC before the GPU
Deployment scales up (docs/concepts/weight-staging.md).

Order within one `pulumi up`, each step awaited:
  1. release Job (`<model>-release-<key>`): scales the model's Deployment to 0, so the RWO cache disk is detached
     from the GPU node before the stage pod mounts it on a CPU node, and grows the claim when `cacheGiB` grew (a
     claim never shrinks: the PVC resource ignores its size after creation);
  2. stage Job (`<model>-stage-<key>`): scripts/prestage_weights.py on a CPU node in the pool's zone;
  3. the Deployment, which depends on the stage Job and carries both Jobs' uids on its pod template, so a re-run
     Job re-applies its replicas (the Deployment has pulumi.com/patchForce to take them back from the release Job).
A failed stage fails `pulumi up` at step 2: the Deployment is never created or stays at 0, so no GPU node is held.
"""

from functools import cache
from pathlib import Path
from typing import Any

from models.serving import VllmModelSpec

from .common import (
    APP_UID,
    HF_XET_BOUNDS,
    PYTHON_JOB_IMAGE,
    ROLE_LABEL,
    STAGING_RESOURCES,
    checkov_skips,
    checksum,
    env,
    labels,
    metadata,
    non_root,
    secret_env,
    tmp_volume,
)

STAGE, RELEASE = "weight-stage", "weight-release"  # pod names (app.kubernetes.io/name) the NetworkPolicies select
SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"
STAGE_SCRIPT, RELEASE_SCRIPT = SCRIPTS / "prestage_weights.py", SCRIPTS / "release_cache.py"
CACHE_MOUNT = "/models"
HF_HOME = f"{CACHE_MOUNT}/hf"
VLLM_CACHE_ROOT = f"{CACHE_MOUNT}/vllm"  # torch.compile and CUDA-graph caches: warm across restarts
SCRIPTS_MOUNT = "/opt/llm-platform"
ZONE_LABEL = "topology.kubernetes.io/zone"
# Exit code of a stage that retrying cannot fix (no such repo/file, gated, too big), told apart in its log.
FATAL_EXIT = 3
FORCE = {"pulumi.com/patchForce": "true"}
# Bumped when the set of files a stage downloads changes, so every model re-stages (and prunes) once.
DOWNLOAD_RULES = "allow-list-1"


@cache
def script(path: Path) -> str:
    """Read once per process: every model ships the same scripts."""
    return path.read_text()


def stage_key(spec: VllmModelSpec) -> str:
    """What is staged: the repo, its revision and the download rules. A change re-runs the stage."""
    return checksum(spec.model_name, spec.revision or "main", DOWNLOAD_RULES)[:8]


def _job_name(spec: VllmModelSpec, step: str, key: str) -> str:
    return f"{spec.name[: 63 - len(step) - 10].rstrip('-')}-{step}-{key}"  # <= 63: a label value (job-name)


def names(spec: VllmModelSpec, cache_gib: int) -> dict[str, str]:
    return {
        "pvc": f"{spec.name}-model-cache",
        "scripts": f"{spec.name}-prestage",
        "stage": _job_name(spec, "stage", stage_key(spec)),
        # The release also grows the claim: a new size re-runs it (and the model restarts once).
        "release": _job_name(spec, "release", checksum(stage_key(spec), cache_gib)[:8]),
        "account": f"{spec.name}-{RELEASE}",
    }


def stages(spec: VllmModelSpec) -> bool:
    """A model declared with replicas stages (under scaleToZero too, so scaling back up is warm); replicas: 0
    stages nothing and creates no disk."""
    return spec.replicas > 0


def scripts_configmap(spec: VllmModelSpec, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(f"{spec.name}-prestage", namespace, "model"),
        "data": {"prestage_weights.py": script(STAGE_SCRIPT), "release_cache.py": script(RELEASE_SCRIPT)},
    }


def stage_deadline_seconds(spec: VllmModelSpec) -> int:
    """30 minutes plus 2 per GiB of weights: a throttled hub at ~10 MB/s, with room for retries."""
    return 1800 + 120 * int(spec.weights_gib + 1)


def await_minutes(deadline_seconds: int) -> int:
    """Pulumi's wait, past the Job's own deadline, so the Job's Failed condition is what `up` reports."""
    return -(-(deadline_seconds + 300) // 60)


def cpu_placement(zones: list[str]) -> dict[str, Any]:
    """A CPU node (no GPU pool role) in the GPU pool's zone: the disk is created, and stays, where the GPU pod
    will run. The system pool carries no taint or label of its own, so no toleration and no nodeSelector."""
    terms: list[dict[str, Any]] = [{"key": ROLE_LABEL, "operator": "DoesNotExist"}]
    if zones:
        terms.append({"key": ZONE_LABEL, "operator": "In", "values": list(zones)})
    return {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": terms}]}
        }
    }


def job_manifest(
    name: str, namespace: str, pod_name: str, deadline: int, backoff: int, pod: dict[str, Any], **meta
) -> dict:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        # Awaited (no skipAwait): `pulumi up` waits for Complete and fails where the Job fails; a failed Job is
        # replaced (re-run) by the next `up`, not awaited again as it is.
        "metadata": metadata(name, namespace, "model", annotations={"pulumi.com/replaceUnready": "true", **meta}),
        "spec": {
            "backoffLimit": backoff,
            "activeDeadlineSeconds": deadline,
            # No FailJob rule: pulumi-kubernetes 4.32's Job await fails `up` only on a Failed condition with reason
            # BackoffLimitExceeded or DeadlineExceeded; a FailJob's reason (PodFailurePolicy) would leave `up`
            # waiting out its timeout (found by tests/engine/test_failed_stage.py). A stage gets backoffLimit 0
            # instead: its script retries the hub itself, so its first failure is final.
            "podFailurePolicy": {
                # a pod evicted or preempted is retried without counting against backoffLimit
                "rules": [{"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]}]
            },
            "template": {"metadata": {"labels": labels(pod_name, "model")}, "spec": {"restartPolicy": "Never", **pod}},
        },
    }


def stage_job(
    spec: VllmModelSpec, namespace: str, *, image: str, hf_token_secret: str, zones: list[str], cache_gib: int
) -> dict[str, Any]:
    n = names(spec, cache_gib)
    values = {
        "MODEL_ID": spec.model_name,
        "HF_HOME": HF_HOME,
        "VLLM_CACHE_ROOT": VLLM_CACHE_ROOT,  # pruned with the other models' snapshots on a model change
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "PRUNE": "1",
        "HOME": "/tmp",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        **HF_XET_BOUNDS,
    }
    if spec.revision:
        values["MODEL_REVISION"] = spec.revision
    container = {
        "name": "stage",
        "image": image,
        "command": ["python3", f"{SCRIPTS_MOUNT}/prestage_weights.py"],
        "env": env(**values) + [secret_env("HF_TOKEN", hf_token_secret, "HF_TOKEN", optional=True)],
        "resources": STAGING_RESOURCES,
        "securityContext": non_root(),
        # The last lines of the log (the reason, naming repo and file) become the pod's termination message.
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "volumeMounts": [
            {"name": "model-cache", "mountPath": CACHE_MOUNT},
            {"name": "scripts", "mountPath": SCRIPTS_MOUNT, "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }
    pod = {
        "automountServiceAccountToken": False,
        "affinity": cpu_placement(zones),
        # fsGroup: the cache is group-owned and group-writable (umask 002), so vLLM (root, no capabilities)
        # reads it and writes VLLM_CACHE_ROOT beside it. OnRootMismatch re-owns an old cache once.
        "securityContext": {
            "seccompProfile": {"type": "RuntimeDefault"},
            "fsGroup": APP_UID,
            "fsGroupChangePolicy": "OnRootMismatch",
        },
        "containers": [container],
        "volumes": [
            {"name": "model-cache", "persistentVolumeClaim": {"claimName": n["pvc"]}},
            {"name": "scripts", "configMap": {"name": n["scripts"], "defaultMode": 0o555}},
            tmp_volume(),
        ],
    }
    # Retries for what a retry can fix (a node lost mid-pull); the script itself retries the hub's 429s.
    return job_manifest(n["stage"], namespace, STAGE, stage_deadline_seconds(spec), 0, pod)


RELEASE_DEADLINE_SECONDS = 300
API_TOKEN_SKIP = {"CKV_K8S_38": "the Job scales its model Deployment (and grows its claim) through the API"}


def release_job(spec: VllmModelSpec, namespace: str, cache_gib: int) -> dict[str, Any]:
    n = names(spec, cache_gib)
    return generic_release_job(
        n["release"],
        namespace,
        spec.name,
        account=n["account"],
        scripts=n["scripts"],
        pvc=n["pvc"],
        cache_gib=cache_gib,
    )


def generic_release_job(
    name: str,
    namespace: str,
    deployment: str,
    *,
    account: str,
    scripts: str,
    pvc: str | None = None,
    cache_gib: int | None = None,
) -> dict[str, Any]:
    """Scale `deployment` to 0 (and grow `pvc` to `cache_gib` when given) with release_cache.py from `scripts`."""
    values = {"NAMESPACE": namespace, "DEPLOYMENT": deployment}
    if pvc and cache_gib:
        values.update(PVC=pvc, CACHE_SIZE=f"{cache_gib}Gi")
    container = {
        "name": "release",
        "image": PYTHON_JOB_IMAGE,
        "command": ["python3", f"{SCRIPTS_MOUNT}/release_cache.py"],
        "env": env(**values, WAIT_SECONDS=str(RELEASE_DEADLINE_SECONDS - 60), PYTHONUNBUFFERED="1"),
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "250m", "memory": "128Mi"}},
        "securityContext": non_root(65534),  # python:slim has no user of its own: run as nobody
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "volumeMounts": [
            {"name": "scripts", "mountPath": SCRIPTS_MOUNT, "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }
    pod = {
        "serviceAccountName": account,
        "automountServiceAccountToken": True,  # it calls the API (its Role: this Deployment's scale, this claim)
        "affinity": cpu_placement([]),
        "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [container],
        "volumes": [
            {"name": "scripts", "configMap": {"name": scripts, "defaultMode": 0o555}},
            tmp_volume(size="64Mi"),
        ],
    }
    return job_manifest(name, namespace, RELEASE, RELEASE_DEADLINE_SECONDS, 2, pod, **checkov_skips(API_TOKEN_SKIP))


def stage_info(job: dict[str, Any]) -> dict[str, Any]:
    """The weightStaging stack output of one stage Job: where it is and how to read why it failed."""
    ns, name = job["metadata"]["namespace"], job["metadata"]["name"]
    return {"staged": True, "job": f"{ns}/{name}", "logs": f"kubectl -n {ns} logs job/{name}"}


def mark_staged(manifest: dict[str, Any], staged_by: dict[str, Any]) -> dict[str, Any]:
    """A staged Deployment: Pulumi takes replicas back from the release Job (patchForce), and the Jobs' uids on
    the pod template re-apply them whenever a Job runs again."""
    manifest["metadata"].setdefault("annotations", {}).update(FORCE)
    manifest["spec"]["template"]["metadata"].setdefault("annotations", {}).update(staged_by)
    return manifest


def release_rbac(spec: VllmModelSpec, namespace: str, cache_gib: int) -> list[dict[str, Any]]:
    """ServiceAccount, Role and RoleBinding of the release Job: its own Deployment and claim, nothing else."""
    n = names(spec, cache_gib)
    account = n["account"]
    return [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": metadata(account, namespace, "model"),
            "automountServiceAccountToken": False,
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": metadata(account, namespace, "model"),
            "rules": [
                {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get"], "resourceNames": [spec.name]},
                {
                    "apiGroups": ["apps"],
                    "resources": ["deployments/scale"],
                    "verbs": ["get", "patch"],
                    "resourceNames": [spec.name],
                },
                {
                    "apiGroups": [""],
                    "resources": ["persistentvolumeclaims"],
                    "verbs": ["get", "patch"],
                    "resourceNames": [n["pvc"]],
                },
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": metadata(account, namespace, "model"),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": account},
            "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": namespace}],
        },
    ]
