"""The llama-swap pool: its config.yaml (built from a dict), cache PVC, Deployment and Service, as dicts.

Every `placement: swap` model becomes one llama-swap `models` entry whose `cmd` runs llama-server on ${PORT}
with the same args a static server gets. llama-swap starts the process on the first request for that name and
stops it after `ttl` idle seconds, or when another member of the (exclusive) group is requested.
"""

import re
import shlex
from typing import Any

import yaml

from models.llama_rules import SWAP_NAME, swap_cache_gib, swap_models
from models.llamacpp import LlamaCppModelSpec
from models.platform import PlatformConfig

from . import llamacpp as lc
from .common import checksum, container_security, http_probe, metadata, pvc, secret_env, service
from .vllm import UPSTREAM_KEY, UPSTREAM_SECRET

CONFIG_PATH = "/app/config.yaml"  # where the llama-swap image's ENTRYPOINT reads its config
SWAP_BIN = "/app/llama-swap"
GROUP = "swap-pool"
NAMES = {
    "deployment": SWAP_NAME,
    "service": SWAP_NAME,
    "pvc": f"{SWAP_NAME}-cache",
    "config": f"{SWAP_NAME}-config",
    "scripts": f"{SWAP_NAME}-gguf",
}
# Tokens llama-swap's command splitter takes as they are; anything else is POSIX-quoted.
_BARE = re.compile(r"^[A-Za-z0-9_./:=,@%+{}$-]+$")


def command_line(argv: list[str]) -> str:
    """One cmd string for llama-swap; ${PORT} stays bare so llama-swap substitutes it before splitting."""
    return " ".join(a if _BARE.match(a) else shlex.quote(a) for a in argv)


def model_cmd(spec: LlamaCppModelSpec) -> str:
    """llama-server on the loopback port llama-swap hands out; the key comes from the inherited LLAMA_API_KEY."""
    return command_line(
        [lc.SERVER_BIN, *lc.llama_server_args(spec, lc.weights_link(spec), port="${PORT}", host="127.0.0.1")]
    )


def swap_config(cfg: PlatformConfig) -> dict[str, Any]:
    """llama-swap's config.yaml as a dict (validated against its published JSON schema in the tests)."""
    swap = cfg.swap
    assert swap is not None, "swap_config needs a swap: section"
    members = swap_models(cfg)
    return {
        "healthCheckTimeout": swap.health_check_timeout,
        "logLevel": swap.log_level,
        "models": {
            m.name: {
                "cmd": model_cmd(m),
                # 127.0.0.1, not the default localhost: llama-server binds IPv4 loopback only.
                "proxy": "http://127.0.0.1:${PORT}",
                "checkEndpoint": "/health",
                "ttl": swap.ttl,
            }
            for m in members
        },
        # One group: swap=true keeps one member loaded at a time (the pod has one GPU).
        "groups": {GROUP: {"swap": swap.exclusive, "exclusive": True, "members": [m.name for m in members]}},
    }


def config_yaml(cfg: PlatformConfig) -> str:
    return yaml.safe_dump(swap_config(cfg), sort_keys=False)


def configmap(cfg: PlatformConfig) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(NAMES["config"], cfg.namespaces.serving, "model"),
        "data": {"config.yaml": config_yaml(cfg)},
    }


def fetch_configmap(cfg: PlatformConfig) -> dict[str, Any]:
    return lc.fetch_configmap(NAMES["scripts"], cfg.namespaces.serving, swap_models(cfg))


def cache_pvc(cfg: PlatformConfig) -> dict[str, Any]:
    return pvc(NAMES["pvc"], cfg.namespaces.serving, "model", swap_cache_gib(cfg), cfg.storage_class_name)


def swap_image(cfg: PlatformConfig) -> str:
    pool = cfg.pool(cfg.swap_spec.pool)
    return cfg.images.llama_swap_rocm if lc.is_amd(pool) else cfg.images.llama_swap


def resident_gib(cfg: PlatformConfig) -> float:
    """GGUF bytes loaded at once: the largest member when exclusive, else all of them."""
    sizes = [m.weights_gib for m in swap_models(cfg)] or [0.0]
    return max(sizes) if cfg.swap_spec.exclusive else sum(sizes)


def swap_container(cfg: PlatformConfig) -> dict[str, Any]:
    pool = cfg.pool(cfg.swap_spec.pool)
    return {
        "name": "llama-swap",
        "image": swap_image(cfg),
        "command": [SWAP_BIN, "-config", CONFIG_PATH, "-listen", f":{lc.PORT}"],
        "ports": [{"name": "http", "containerPort": lc.PORT, "protocol": "TCP"}],
        # Inherited by every llama-server llama-swap starts: the key is never in the ConfigMap.
        "env": [secret_env(lc.API_KEY_ENV, UPSTREAM_SECRET, UPSTREAM_KEY)],
        "resources": lc.pod_resources(resident_gib(cfg), pool.shape, pool.gpu_resource),
        # llama-swap itself starts in seconds; models load per request within healthCheckTimeout.
        "startupProbe": http_probe("/health", "http", period=5, failures=60),
        # Ready = the proxy answers its model list: every swap name is routable from here on.
        "readinessProbe": http_probe("/v1/models", "http", period=10, failures=3),
        "livenessProbe": http_probe("/health", "http", period=20, failures=3, timeout=10),
        "securityContext": container_security(run_as_root=lc.is_amd(pool)),
        "volumeMounts": [
            {"name": "config", "mountPath": CONFIG_PATH, "subPath": "config.yaml", "readOnly": True},
            {"name": "model-cache", "mountPath": lc.CACHE_MOUNT, "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }


def deployment(cfg: PlatformConfig, replicas: int) -> dict[str, Any]:
    pool = cfg.pool(cfg.swap_spec.pool)
    container = swap_container(cfg)
    volumes = lc.server_volumes(NAMES["pvc"]) + [{"name": "config", "configMap": {"name": NAMES["config"]}}]
    # Every swap GGUF is staged by a CPU Job before llama-swap starts (gguf_stage.py): a swap-in never waits on
    # the hub, and a bad GGUF never holds the GPU node.
    pod = lc.gpu_pod_spec(pool, init=[], containers=[container], volumes=volumes)
    members = swap_models(cfg)
    digest = checksum(swap_config(cfg), container["image"], lc.catalog(members), lc.FETCH_SCRIPT.read_text())
    return lc.deployment(
        NAMES["deployment"],
        cfg.namespaces.serving,
        replicas,
        pod,
        digest,
        [m.name for m in members],
        skips=lc.root_skips(pool),
    )


def swap_service(cfg: PlatformConfig) -> dict[str, Any]:
    return service(NAMES["service"], cfg.namespaces.serving, "model", lc.PORT)


def url(cfg: PlatformConfig) -> str:
    return lc.service_url(NAMES["service"], cfg.namespaces.serving)
