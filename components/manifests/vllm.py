"""vLLM endpoint: engine args, pod spec and manifests from a VllmModelSpec (seed-000 contract)."""

import math
from typing import Any

from models.machines import MachineShape
from models.scaling import STARTUP_PERIOD_S, startup_failures
from models.serving import VllmModelSpec

from .common import (
    APP_UID,
    GPU_NODE_CPU,
    ROLE_LABEL,
    ROOT_IMAGE,
    SKIP_AWAIT,
    WRITABLE_ROOT,
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
from .weight_stage import CACHE_MOUNT, HF_HOME, VLLM_CACHE_ROOT

PORT = 8000
# In-flight generations finish after the Service stops routing to the pod (15 s on Spot: common.grace_seconds).
GRACE_SECONDS = 60
FORCE = {"pulumi.com/patchForce": "true"}
TEMPLATE_MOUNT = "/etc/vllm"
TEMPLATE_FILE = "chat-template.jinja"
UPSTREAM_SECRET, UPSTREAM_KEY = "vllm-api-key", "api-key"
# Readiness = really serving: /v1/models answers with this model, using the key from the pod env.
READY_PROBE = (
    "import json,os,sys,urllib.request as u\n"
    f"r=u.Request('http://127.0.0.1:{PORT}/v1/models',headers={{'Authorization':'Bearer '+os.environ['VLLM_API_KEY']}})\n"
    "ids=[m['id'] for m in json.load(u.urlopen(r,timeout=4))['data']]\n"
    "sys.exit(0 if os.environ['SERVED_MODEL_NAME'] in ids else 1)\n"
)

_FLAGS = [  # (spec attribute, vLLM flag)
    ("quantization", "--quantization"),
    ("max_model_len", "--max-model-len"),
    ("kv_cache_dtype", "--kv-cache-dtype"),
    ("max_num_batched_tokens", "--max-num-batched-tokens"),
    ("max_num_seqs", "--max-num-seqs"),
    ("revision", "--revision"),
]
_TOGGLES = [  # tri-state: None leaves vLLM's default
    ("enable_chunked_prefill", "--enable-chunked-prefill", "--no-enable-chunked-prefill"),
    ("enable_prefix_caching", "--enable-prefix-caching", "--no-enable-prefix-caching"),
]


def vllm_args(spec: VllmModelSpec) -> list[str]:
    """`vllm serve` arguments; the model id is positional, everything else a --flag=value."""
    args = [
        spec.model_name,
        f"--served-model-name={spec.served_name}",
        f"--port={PORT}",
        f"--dtype={spec.dtype}",
        f"--gpu-memory-utilization={spec.gpu_memory_utilization}",
        f"--tensor-parallel-size={spec.tensor_parallel_size}",
    ]
    for attr, flag in _FLAGS:
        value = getattr(spec, attr)
        if value is not None:
            args.append(f"{flag}={value}")
    for attr, on, off in _TOGGLES:
        value = getattr(spec, attr)
        if value is not None:
            args.append(on if value else off)
    if spec.disable_custom_all_reduce:
        args.append("--disable-custom-all-reduce")
    if spec.cpu_offload_gb:
        args.append(f"--cpu-offload-gb={spec.cpu_offload_gb:g}")
    if spec.tool_call_parser:
        args.append(f"--tool-call-parser={spec.tool_call_parser}")
    if spec.enable_auto_tool_choice:
        args.append("--enable-auto-tool-choice")
    if spec.reasoning_parser:
        args.append(f"--reasoning-parser={spec.reasoning_parser}")
    if spec.chat_template:
        args.append(f"--chat-template={TEMPLATE_MOUNT}/{TEMPLATE_FILE}")
    if spec.mode == "embedding":
        # --task is deprecated in vLLM 0.11 and gone in 0.13; the pooling runner also turns a causal LM into
        # an embedder (convert auto), where leaving it to detection would serve it as a generator.
        args.append("--runner=pooling")
    return args + list(spec.extra_args)


def pod_resources(spec: VllmModelSpec, shape: MachineShape, gpu_resource: str) -> dict[str, Any]:
    """Memory sized to load the weights through host RAM, capped below what the node can allocate. No CPU limit:
    the GPU node is the model's own, and CFS throttling would stall vLLM's API server and tokenizer (the request
    stays)."""
    alloc = math.floor(shape.allocatable_ram_gib)
    mem_request = min(alloc - 2, max(math.ceil(spec.weights_gib) + 4, 8))
    cpu = max(1, shape.vcpus // 4)
    gpus = str(spec.tensor_parallel_size)
    return {
        "requests": {"cpu": str(cpu), "memory": gib(mem_request), gpu_resource: gpus},
        "limits": {"memory": gib(alloc - 1), gpu_resource: gpus},
    }


def names(spec: VllmModelSpec) -> dict[str, str]:
    return {"pvc": f"{spec.name}-model-cache", "template": f"{spec.name}-chat-template"}


def template_configmap(spec: VllmModelSpec, namespace: str) -> dict[str, Any] | None:
    if not spec.chat_template:
        return None
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(names(spec)["template"], namespace, "model"),
        "data": {TEMPLATE_FILE: spec.chat_template},
    }


def cache_pvc(spec: VllmModelSpec, namespace: str, storage_class: str | None) -> dict[str, Any]:
    return pvc(names(spec)["pvc"], namespace, "model", spec.cache_size_gib, storage_class)


def _server_container(spec: VllmModelSpec, image: str, shape: MachineShape, gpu_resource: str) -> dict[str, Any]:
    mounts: list[dict[str, Any]] = [
        {"name": "model-cache", "mountPath": CACHE_MOUNT},
        {"name": "shm", "mountPath": "/dev/shm"},
    ]
    if spec.chat_template:
        mounts.append({"name": "chat-template", "mountPath": TEMPLATE_MOUNT, "readOnly": True})
    return {
        "name": "vllm",
        "image": image,
        "command": ["vllm", "serve"],
        "args": vllm_args(spec),
        "ports": [{"name": "http", "containerPort": PORT, "protocol": "TCP"}],
        "env": env(
            HF_HOME=HF_HOME,
            # torch.compile and CUDA-graph caches on the PVC: a restart or a new node skips the recompile.
            VLLM_CACHE_ROOT=VLLM_CACHE_ROOT,
            HF_HUB_OFFLINE="1",
            TRANSFORMERS_OFFLINE="1",
            VLLM_NO_USAGE_STATS="1",
            DO_NOT_TRACK="1",
            SERVED_MODEL_NAME=spec.served_name,
        )
        + [secret_env("VLLM_API_KEY", UPSTREAM_SECRET, UPSTREAM_KEY)],
        "resources": pod_resources(spec, shape, gpu_resource),
        # First boot compiles CUDA graphs: allow up to 30 min before liveness applies.
        "startupProbe": http_probe(
            "/health", "http", period=STARTUP_PERIOD_S, failures=startup_failures(spec.startup_seconds)
        ),
        "readinessProbe": {
            "exec": {"command": ["python3", "-c", READY_PROBE]},
            "periodSeconds": 15,
            "timeoutSeconds": 10,
            "failureThreshold": 3,
        },
        "livenessProbe": http_probe("/health", "http", period=20, failures=3, timeout=10),
        # Exception (README): the image runs as root (HOME=/root) and vLLM, torch.compile, Triton and FlashInfer
        # write their caches under $HOME/.cache, $HOME/.triton and /tmp at start and on the first requests, so
        # the root filesystem stays writable. Every capability is dropped and privilege escalation is off, so root
        # here cannot override file permissions; the weight-stage Job runs non-root.
        "securityContext": container_security(run_as_root=True, read_only_root=False),
        "volumeMounts": mounts,
    }


def deployment(
    spec: VllmModelSpec,
    *,
    namespace: str,
    replicas: int,
    image: str,
    shape: MachineShape,
    role: str,
    gpu_resource: str,
    spot: bool = False,
    staged_by: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """`staged_by`: pod-template annotations naming the weight-stage Jobs (their uids may be Outputs), so a re-run
    stage re-applies the replicas the release Job took away."""
    n = names(spec)
    volumes: list[dict[str, Any]] = [
        {"name": "model-cache", "persistentVolumeClaim": {"claimName": n["pvc"]}},
        {"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": gib(max(2, 2 * spec.tensor_parallel_size))}},
    ]
    if spec.chat_template:
        volumes.append({"name": "chat-template", "configMap": {"name": n["template"]}})
    pod_labels = labels(spec.name, "model")
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(
            spec.name,
            namespace,
            "model",
            # patchForce: the release Job scales this Deployment to 0 before a stage; `up` takes replicas back.
            annotations={**SKIP_AWAIT, **FORCE, **checkov_skips({**ROOT_IMAGE, **WRITABLE_ROOT, **GPU_NODE_CPU})},
        ),
        "spec": {
            "replicas": replicas,
            # One GPU, no surge slot: the old pod must go before the new one can schedule.
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": selector(spec.name)},
            "template": {
                "metadata": {
                    "labels": pod_labels,
                    "annotations": {
                        "llm-platform/config-checksum": checksum(vllm_args(spec), spec.chat_template),
                        **(staged_by or {}),
                    },
                },
                "spec": {
                    # A Service named vllm* would inject VLLM_PORT and crash vLLM.
                    "enableServiceLinks": False,
                    "automountServiceAccountToken": False,
                    "terminationGracePeriodSeconds": grace_seconds(GRACE_SECONDS, spot),
                    "nodeSelector": {ROLE_LABEL: role},
                    "tolerations": [{"key": gpu_resource, "operator": "Exists", "effect": "NoSchedule"}],
                    # fsGroup: the cache is group-owned (the non-root stage Job wrote it), and vLLM writes its
                    # compile cache there; OnRootMismatch re-owns an old cache once.
                    "securityContext": {
                        "seccompProfile": {"type": "RuntimeDefault"},
                        "fsGroup": APP_UID,
                        "fsGroupChangePolicy": "OnRootMismatch",
                    },
                    "containers": [_server_container(spec, image, shape, gpu_resource)],
                    "volumes": volumes,
                },
            },
        },
    }


def vllm_service(spec: VllmModelSpec, namespace: str) -> dict[str, Any]:
    return service(spec.name, namespace, "model", PORT)


def endpoint(spec: VllmModelSpec, namespace: str) -> str:
    return f"http://{spec.name}.{namespace}.svc.cluster.local:{PORT}/v1"
