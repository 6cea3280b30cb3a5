"""Which pods the platform runs, where, and on which port: one catalog for NetworkPolicies and scrape configs.

Names and ports come from the builders that render the workloads (their Services' selectors), so a policy or a
scrape config can never drift from the pods it is about.
"""

from dataclasses import dataclass

from models.llama_rules import cpu_models, llama_models
from models.platform import PlatformConfig

from . import (
    cache_growth,
    frontends,
    gateway,
    gguf_stage,
    keys,
    llama_swap,
    llamacpp,
    smoke,
    vllm,
    weight_stage,
)
from .common import selector

NAME_LABEL = "app.kubernetes.io/name"
CNPG_CLUSTER_LABEL = "cnpg.io/cluster"  # CloudNativePG puts it on every pod of a Cluster (instances, Jobs)
CNPG_PORTS = (5432, 8000)  # Postgres, and the instance manager the operator polls for status
METRICS_PATH = "/metrics"

# Front-end config key -> (Deployment name, web port)
FRONTEND_PODS = {
    "openWebui": (frontends.OPEN_WEBUI, frontends.OPEN_WEBUI_PORT),
    "tabby": (frontends.TABBY, frontends.TABBY_PORT),
    "librechat": (frontends.LIBRECHAT, frontends.LIBRECHAT_PORT),
}


@dataclass(frozen=True)
class Backend:
    """A model-serving Deployment and its Service (same name), as the gateway and the scrapers reach it."""

    name: str
    kind: str  # vllm | llama-server | llama-swap
    namespace: str
    port: int
    models: tuple[str, ...]
    # /metrics needs the shared upstream key: llama-server checks --api-key there (vLLM leaves it open).
    metrics_auth: bool

    @property
    def host(self) -> str:
        return f"{self.name}.{self.namespace}.svc.cluster.local"


def _service_backend(svc: dict, kind: str, models: list[str], metrics_auth: bool) -> Backend:
    port = svc["spec"]["ports"][0]["port"]
    assert svc["spec"]["selector"] == selector(svc["metadata"]["name"]), "a backend's Service selects by name"
    return Backend(svc["metadata"]["name"], kind, svc["metadata"]["namespace"], port, tuple(models), metrics_auth)


def backends(cfg: PlatformConfig) -> list[Backend]:
    """Every model backend Deployment the stack declares (at any replica count)."""
    ns = cfg.namespaces.serving
    out = [
        _service_backend(vllm.vllm_service(m, ns), "vllm", [m.name], False) for m in cfg.models if m.engine == "vllm"
    ]
    for _, m in llama_models(cfg):
        if m.placement != "swap":  # static (GPU pool) and cpu: one llama-server each
            out.append(_service_backend(llamacpp.static_service(m, cfg), "llama-server", [m.name], True))
    if cfg.swap is not None:
        members = [m.name for _, m in llama_models(cfg) if m.placement == "swap"]
        # llama-swap runs without apiKeys: its own endpoints need no key (the servers it starts do).
        out.append(_service_backend(llama_swap.swap_service(cfg), "llama-swap", members, False))
    return out


def frontend_pods(cfg: PlatformConfig) -> list[tuple[str, int]]:
    """(Deployment name, web port) of each enabled front-end."""
    return [FRONTEND_PODS[key] for key, _ in cfg.frontends.enabled()]


def frontends_namespace_used(cfg: PlatformConfig) -> bool:
    """The front-ends namespace exists when it holds a front-end or a key Secret (components/platform.py)."""
    return bool(cfg.gateway.keys) or cfg.frontends.any_enabled


def key_job_name(cfg: PlatformConfig) -> str | None:
    """app.kubernetes.io/name of the key-minting Job's pods, when keys are declared."""
    return keys.NAME if cfg.gateway.keys else None


def smoke_job_name(cfg: PlatformConfig) -> str | None:
    return smoke.NAME if cfg.gateway.smoke_test.enabled else None


STAGE_POD, RELEASE_POD, GROW_POD = weight_stage.STAGE, weight_stage.RELEASE, cache_growth.NAME


def cache_growth_used(cfg: PlatformConfig) -> bool:
    """Whether any llama.cpp cache claim has a grow Job (components/manifests/cache_growth.py)."""
    return bool(cache_growth.claims(cfg))


def weight_stage_used(cfg: PlatformConfig) -> bool:
    """Whether any backend runs stage and release Jobs (weight_stage.py for vLLM, gguf_stage.py for llama.cpp)."""
    return any(m.engine == "vllm" and weight_stage.stages(m) for m in cfg.models) or bool(
        gguf_stage.staged_deployments(cfg)
    )


def gguf_fetching_pods(cfg: PlatformConfig) -> list[str]:
    """Backends that still fetch their GGUF in an init container: the CPU models (they hold no GPU)."""
    return [llamacpp.server_names(m, cfg)["deployment"] for m in cpu_models(cfg)]


def database_cluster(cfg: PlatformConfig) -> str | None:
    """The CNPG Cluster the gateway uses, when the stack declares one."""
    return cfg.gateway.database.cluster if cfg.gateway.database.mode == "cnpg" else None


def database_clusters(cfg: PlatformConfig) -> list[str]:
    """Every CNPG Cluster the stack declares (a restore runs two side by side)."""
    return cfg.gateway.database.clusters


GATEWAY_NAME, GATEWAY_PORT = gateway.NAME, gateway.PORT
MIGRATE_NAME = "litellm-migrate"  # the migration Job's pods (components/manifests/gateway_migrate.py)
