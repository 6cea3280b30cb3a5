"""llama.cpp backends (seed 003): llama-server args, GGUF staging, and a static server's manifests, as dicts.

A static model runs as `llama-<role>` (Deployment and Service) on its pool's role-labelled nodes; the llama-swap
pool (llama_swap.py) reuses the args, staging, placement and resources built here.
"""

import json
import math
from pathlib import Path
from typing import Any

from models.cluster import NodePoolSpec
from models.llamacpp import ALL_LAYERS, LlamaCppModelSpec
from models.machines import MachineShape
from models.platform import PlatformConfig

from .common import (
    GPU_NODE_CPU,
    HF_XET_BOUNDS,
    ROLE_LABEL,
    ROOT_IMAGE,
    SKIP_AWAIT,
    STAGING_RESOURCES,
    checkov_skips,
    checksum,
    container_security,
    env,
    gib,
    grace_seconds,
    http_probe,
    labels,
    metadata,
    pvc,
    secret_env,
    selector,
    service,
)
from .vllm import UPSTREAM_KEY, UPSTREAM_SECRET

PORT = 8080
SERVER_BIN = "/app/llama-server"  # ENTRYPOINT of the llama.cpp server image; also inside the llama-swap image
CACHE_MOUNT = "/models"
HF_HOME = f"{CACHE_MOUNT}/hf"
WEIGHTS_DIR = f"{CACHE_MOUNT}/weights"
STATIC_LINK = f"{WEIGHTS_DIR}/model.gguf"
SCRIPTS_MOUNT = "/opt/llm-platform"
CATALOG_FILE = "models.json"
FETCH_SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "fetch_gguf.py"
# llama-server reads its --api-key default from this variable: the key never appears in args or ConfigMaps.
API_KEY_ENV = "LLAMA_API_KEY"
# Long enough for in-flight generations to finish after the Service stops routing to the pod.
GRACE_SECONDS = 90
# Non-root pods on NVIDIA nodes (the device plugin's /dev/nvidia* are world-accessible). ROCm's /dev/kfd and
# /dev/dri/renderD* belong to host groups whose GIDs differ per distro, so AMD pods keep the image's root user.
APP_UID = 10001


def llama_server_args(
    spec: LlamaCppModelSpec, model_path: str, *, port: str = str(PORT), host: str = "0.0.0.0"
) -> list[str]:
    """llama-server flags; every value-taking flag gets its value (a bare --flash-attn eats the next arg)."""
    layers = 0 if spec.placement == "cpu" else ALL_LAYERS if spec.gpu_layers == "all" else spec.gpu_layers
    args = [
        "--model",
        model_path,
        "--alias",
        spec.name,
        "--host",
        host,
        "--port",
        port,
        "--ctx-size",
        str(spec.context_size),
        "--n-gpu-layers",
        str(layers),
    ]
    batch = spec.batch_size
    if spec.mode == "embedding":
        # A pooled embedding is computed in one physical batch: the default 512-token ubatch rejects longer inputs
        # ("input is too large to process. increase the physical batch size"), so both batches hold a full context.
        batch = max(batch or 0, spec.context_size)
        args += ["--ubatch-size", str(spec.context_size)]
    for flag, value in (
        ("--batch-size", batch),
        ("--threads", spec.threads),
        ("--parallel", spec.parallel),
        ("--flash-attn", spec.flash_attn),
    ):
        if value is not None:
            args += [flag, str(value)]
    args.append("--jinja" if spec.jinja else "--no-jinja")
    if spec.mode == "embedding":
        args.append("--embeddings")
    args += ["--metrics", "--no-webui"]
    return args + list(spec.extra_args)


def weights_link(spec: LlamaCppModelSpec) -> str:
    """Where the staged GGUF is linked: one fixed path for a static server, one per model in the swap pool."""
    return f"{WEIGHTS_DIR}/{spec.name}.gguf" if spec.placement == "swap" else STATIC_LINK


def catalog(models: list[LlamaCppModelSpec]) -> list[dict[str, Any]]:
    """What fetch_gguf.py stages (name -> GGUF source -> link); kept in a ConfigMap, not only in args."""
    out = []
    for m in models:
        entry: dict[str, Any] = {"name": m.name, "repo": m.gguf_repo, "link": weights_link(m)}
        for key, value in (("quant", m.quant), ("file", m.gguf_file), ("revision", m.revision)):
            if value:
                entry[key] = value
        out.append(entry)
    return out


def fetch_configmap(name: str, namespace: str, models: list[LlamaCppModelSpec]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(name, namespace, "model"),
        "data": {
            "fetch_gguf.py": FETCH_SCRIPT.read_text(),
            CATALOG_FILE: json.dumps(catalog(models), indent=2, sort_keys=True) + "\n",
        },
    }


def is_amd(pool: NodePoolSpec) -> bool:
    return pool.gpu_resource == "amd.com/gpu"


def server_image(cfg: PlatformConfig, pool: NodePoolSpec) -> str:
    return cfg.images.llamacpp_rocm if is_amd(pool) else cfg.images.llamacpp


def fetch_container(image: str, hf_token_secret: str) -> dict[str, Any]:
    """Stages GGUFs as APP_UID on every pod, AMD included: it touches no GPU device, only the PVC (fsGroup)."""
    values = {
        "HF_HOME": HF_HOME,
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HOME": "/tmp",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        **HF_XET_BOUNDS,
    }
    return {
        "name": "fetch-gguf",
        "image": image,
        "command": ["python3", f"{SCRIPTS_MOUNT}/fetch_gguf.py", f"{SCRIPTS_MOUNT}/{CATALOG_FILE}"],
        "env": env(**values) + [secret_env("HF_TOKEN", hf_token_secret, "HF_TOKEN", optional=True)],
        "resources": STAGING_RESOURCES,
        "securityContext": {**container_security(), "runAsUser": APP_UID, "runAsGroup": APP_UID},
        "volumeMounts": [
            {"name": "model-cache", "mountPath": CACHE_MOUNT},
            {"name": "scripts", "mountPath": SCRIPTS_MOUNT, "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }


def pod_resources(weights_gib: float, shape: MachineShape, gpu_resource: str) -> dict[str, Any]:
    """Exactly one GPU; memory for the mmapped GGUF's page cache, capped below what the node can allocate. No CPU
    limit: the node is the model's own (GPU taint), and CFS throttling would stall the HTTP server and tokenizer."""
    alloc = math.floor(shape.allocatable_ram_gib)
    mem_request = min(alloc - 2, max(math.ceil(weights_gib) + 4, 8))
    return {
        "requests": {"cpu": str(max(1, shape.vcpus // 4)), "memory": gib(mem_request), gpu_resource: "1"},
        "limits": {"memory": gib(alloc - 1), gpu_resource: "1"},
    }


def node_affinity(role: str) -> dict[str, Any]:
    """Required, not preferred: a pinned backend never lands on another role's GPU."""
    return {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": [{"key": ROLE_LABEL, "operator": "In", "values": [role]}]}]
            }
        }
    }


def pod_security(pool: NodePoolSpec) -> dict[str, Any]:
    # fsGroup on AMD pods too: the cache PVC is group-owned by the non-root stage Job that wrote it.
    ctx: dict[str, Any] = {"seccompProfile": {"type": "RuntimeDefault"}, "fsGroup": APP_UID}
    if not is_amd(pool):
        ctx.update(runAsUser=APP_UID, runAsGroup=APP_UID, runAsNonRoot=True)
    return ctx


def root_skips(pool: NodePoolSpec) -> dict[str, str]:
    """Exceptions (README): no CPU limit on the GPU node; on AMD the server container keeps the image's root user
    (ROCm device groups)."""
    return {**GPU_NODE_CPU, **(ROOT_IMAGE if is_amd(pool) else {})}


def gpu_pod_spec(
    pool: NodePoolSpec, *, init: list[dict], containers: list[dict], volumes: list[dict]
) -> dict[str, Any]:
    """What every llama backend pod shares: placement on its role, the GPU toleration, grace and security."""
    return {
        "enableServiceLinks": False,
        "automountServiceAccountToken": False,
        "terminationGracePeriodSeconds": grace_seconds(GRACE_SECONDS, pool.spot),
        "affinity": node_affinity(pool.role),
        "tolerations": [{"key": pool.gpu_resource, "operator": "Exists", "effect": "NoSchedule"}],
        "securityContext": pod_security(pool),
        **({"initContainers": init} if init else {}),
        "containers": containers,
        "volumes": volumes,
    }


def server_volumes(pvc_name: str) -> list[dict[str, Any]]:
    """A GPU server's volumes: the staged cache and scratch; no staging script."""
    return [v for v in cache_volumes(pvc_name, "") if v["name"] != "scripts"]


def cache_volumes(pvc_name: str, scripts_cm: str) -> list[dict[str, Any]]:
    return [
        {"name": "model-cache", "persistentVolumeClaim": {"claimName": pvc_name}},
        {"name": "scripts", "configMap": {"name": scripts_cm, "defaultMode": 0o555}},
        {"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}},
    ]


def deployment(
    name: str,
    namespace: str,
    replicas: int,
    pod: dict[str, Any],
    config_checksum: str,
    served: list[str],
    skips: dict[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(name, namespace, "model", annotations={**SKIP_AWAIT, **checkov_skips(skips or {})}),
        "spec": {
            "replicas": replicas,
            # One GPU and a ReadWriteOnce cache: the old pod must go before the new one can start.
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": selector(name)},
            "template": {
                "metadata": {
                    "labels": labels(name, "model"),
                    "annotations": {
                        "llm-platform/config-checksum": config_checksum,
                        "llm-platform/served-models": ",".join(served),
                    },
                },
                "spec": pod,
            },
        },
    }


# ---- a static model: llama-<role> ------------------------------------------------------------------------------


def static_names(pool: NodePoolSpec) -> dict[str, str]:
    return _names(f"llama-{pool.role}")


def _names(base: str) -> dict[str, str]:
    return {"deployment": base, "service": base, "pvc": f"{base}-cache", "scripts": f"{base}-gguf"}


def server_names(spec: LlamaCppModelSpec, cfg: PlatformConfig) -> dict[str, str]:
    """A pinned server's object names: from its pool's role (GPU), or from its own name (CPU)."""
    return _names(spec.k8s_name) if spec.placement == "cpu" else static_names(cfg.pool(spec.static_pool))


def static_server_container(spec: LlamaCppModelSpec, image: str, pool: NodePoolSpec | None) -> dict[str, Any]:
    """The llama-server container; `pool` None means a CPU model (no GPU, non-root)."""
    resources = cpu_resources(spec) if pool is None else pod_resources(spec.weights_gib, pool.shape, pool.gpu_resource)
    as_root = pool is not None and is_amd(pool)
    return {
        "name": "llama-server",
        "image": image,
        "command": [SERVER_BIN],
        "args": llama_server_args(spec, STATIC_LINK),
        "ports": [{"name": "http", "containerPort": PORT, "protocol": "TCP"}],
        "env": [secret_env(API_KEY_ENV, UPSTREAM_SECRET, UPSTREAM_KEY)],
        "resources": resources,
        # /health is 503 while the GGUF loads into VRAM: allow up to 30 min before liveness applies.
        "startupProbe": http_probe("/health", "http", period=10, failures=180),
        # Ready = really serving: /v1/models answers (open even with --api-key) only once the model is loaded.
        "readinessProbe": http_probe("/v1/models", "http", period=10, failures=3),
        "livenessProbe": http_probe("/health", "http", period=20, failures=3, timeout=10),
        "securityContext": container_security(run_as_root=as_root),
        "volumeMounts": [
            {"name": "model-cache", "mountPath": CACHE_MOUNT, "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }


def static_deployment(spec: LlamaCppModelSpec, cfg: PlatformConfig, replicas: int) -> dict[str, Any]:
    if spec.placement == "cpu":
        return cpu_deployment(spec, cfg, replicas)
    pool = cfg.pool(spec.static_pool)
    n = static_names(pool)
    server = static_server_container(spec, server_image(cfg, pool), pool)
    # The GGUF is staged by a CPU Job before this pod exists (components/manifests/gguf_stage.py).
    pod = gpu_pod_spec(pool, init=[], containers=[server], volumes=server_volumes(n["pvc"]))
    digest = checksum(server["args"], server["image"], catalog([spec]), FETCH_SCRIPT.read_text())
    return deployment(
        n["deployment"], cfg.namespaces.serving, replicas, pod, digest, [spec.name], skips=root_skips(pool)
    )


def cpu_resources(spec: LlamaCppModelSpec) -> dict[str, Any]:
    """No GPU: CPU for the server threads, memory for the mmapped GGUF plus the KV cache."""
    cpu = spec.threads or 2
    mem = math.ceil(spec.weights_gib) + 2
    return {"requests": {"cpu": str(cpu), "memory": gib(mem)}, "limits": {"cpu": str(cpu * 2), "memory": gib(mem + 2)}}


def cpu_deployment(spec: LlamaCppModelSpec, cfg: PlatformConfig, replicas: int) -> dict[str, Any]:
    """A CPU model: any CPU node, no GPU request and no GPU toleration, non-root."""
    n = server_names(spec, cfg)
    server = static_server_container(spec, cfg.images.llamacpp_cpu, None)
    pod = {
        "enableServiceLinks": False,
        "automountServiceAccountToken": False,
        "terminationGracePeriodSeconds": GRACE_SECONDS,
        "securityContext": {
            "seccompProfile": {"type": "RuntimeDefault"},
            "runAsUser": APP_UID,
            "runAsGroup": APP_UID,
            "fsGroup": APP_UID,
            "runAsNonRoot": True,
        },
        "initContainers": [fetch_container(cfg.images.gguf_fetch, cfg.hf_token_secret)],
        "containers": [server],
        "volumes": cache_volumes(n["pvc"], n["scripts"]),
    }
    digest = checksum(server["args"], server["image"], catalog([spec]), FETCH_SCRIPT.read_text())
    return deployment(n["deployment"], cfg.namespaces.serving, replicas, pod, digest, [spec.name])


def static_pvc(spec: LlamaCppModelSpec, cfg: PlatformConfig) -> dict[str, Any]:
    return pvc(
        server_names(spec, cfg)["pvc"], cfg.namespaces.serving, "model", spec.cache_size_gib, cfg.storage_class_name
    )


def static_configmap(spec: LlamaCppModelSpec, cfg: PlatformConfig) -> dict[str, Any]:
    return fetch_configmap(server_names(spec, cfg)["scripts"], cfg.namespaces.serving, [spec])


def static_service(spec: LlamaCppModelSpec, cfg: PlatformConfig) -> dict[str, Any]:
    return service(server_names(spec, cfg)["service"], cfg.namespaces.serving, "model", PORT)


def service_url(service_name: str, namespace: str) -> str:
    return f"http://{service_name}.{namespace}.svc.cluster.local:{PORT}/v1"


def endpoint(spec: LlamaCppModelSpec, cfg: PlatformConfig, swap_service: str | None = None) -> str:
    """The OpenAI base URL the gateway routes this model's name to: its static Service, or llama-swap."""
    if spec.placement in ("static", "cpu"):
        return service_url(server_names(spec, cfg)["service"], cfg.namespaces.serving)
    return service_url(swap_service or "llama-swap", cfg.namespaces.serving)
