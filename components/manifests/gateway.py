"""LiteLLM gateway: its config.yaml (model_list) and its Deployment, as plain dicts."""

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from models.external import ExternalModelSpec
from models.gateway import RuntimeModelEgressSpec
from models.platform import ModelSpec, PlatformConfig

from . import database, demand, llamacpp, redis, vllm
from .common import (
    WRITABLE_ROOT,
    checkov_skips,
    checksum,
    http_probe,
    labels,
    metadata,
    non_root,
    secret_env,
    selector,
    service,
)

PORT = 4000
NAME = "litellm"
SECRET = "litellm-secrets"
CONFIGMAP = "litellm-config"
CONFIG_DIR = "/etc/litellm"
MASTER_KEY_ENV = "LITELLM_MASTER_KEY"
UPSTREAM_KEY_ENV = "UPSTREAM_API_KEY"
# LiteLLM 1.102.4 /health/drain (proxy/health_endpoints): off unless general_settings.enable_drain_endpoint; with
# DRAIN_ENDPOINT_TOKEN set it needs the same value on X-Drain-Token, so no caller of the gateway can drain a pod.
DRAIN_TOKEN_ENV = "DRAIN_ENDPOINT_TOKEN"
# Seconds between the pod's deletion and the last new connection the Service sends it (endpoint propagation),
# plus the preStop's own start: added to request_timeout for terminationGracePeriodSeconds.
SHUTDOWN_MARGIN_S = 30
OPEN_WEBUI_USER_HEADER = "x-openwebui-user-email"
# Its own Secret: protected and kept on delete, unlike litellm-secrets (whose master key may be replaced).
SALT_SECRET, SALT_KEY_ENV = "litellm-salt-key", "LITELLM_SALT_KEY"
# LiteLLM imports callbacks from the config file's folder: the hook ships in the same ConfigMap.
HOOK_MODULE = "llm_platform_hooks"
HOOK_SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "availability_hook.py"
# Model tpm across processes (the check reads memory only); shipped whenever the gateway shares a Redis.
TPM_MODULE = "llm_platform_tpm"
TPM_SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "shared_tpm_hook.py"


def external_route(model: ExternalModelSpec) -> dict[str, Any]:
    """Seed 004: limits and prices in litellm_params, the LiteMaaS catalog fields in model_info."""
    params: dict[str, Any] = {"model": model.litellm_model, "api_base": str(model.api_base)}
    if model.api_key_secret:
        params["api_key"] = f"os.environ/{model.key_env}"
    for key in ("input_cost_per_token", "output_cost_per_token", "rpm", "tpm"):
        if getattr(model, key) is not None:
            params[key] = getattr(model, key)
    info = {
        "mode": model.mode,
        "display_name": model.display_name or model.name,
        "description": model.description,
        "provider": model.provider,
        "category": model.category,
        "supports_streaming": model.supports_streaming,
        "availability": model.availability,
    }
    if model.context_length:
        info["context_length"] = model.context_length
    return {"model_name": model.name, "litellm_params": params, "model_info": info}


def external_key_env(cfg: PlatformConfig) -> list[dict[str, Any]]:
    return [
        secret_env(m.key_env, m.api_key_secret.name, m.api_key_secret.key)
        for m in cfg.models
        if m.engine == "external" and m.api_key_secret
    ]


def route(model: ModelSpec, cfg: PlatformConfig) -> dict[str, Any]:
    """One model_list entry: tenant alias -> served name on the model's in-cluster Service."""
    if model.engine == "external":
        return external_route(model)
    params: dict[str, Any] = {
        "model": f"openai/{model.served_name}",
        # llama.cpp: the transparent name on its static Service or on llama-swap (which routes on that name).
        "api_base": (
            llamacpp.endpoint(model, cfg)
            if model.engine == "llamacpp"
            else vllm.endpoint(model, cfg.namespaces.serving)
        ),
        "api_key": f"os.environ/{UPSTREAM_KEY_ENV}",
        "input_cost_per_token": model.input_cost_per_token,
        "output_cost_per_token": model.output_cost_per_token,
    }
    if model.rpm:
        params["rpm"] = model.rpm
    if model.tpm:
        params["tpm"] = model.tpm
    # Router._set_deployment_num_retries_on_exception (LiteLLM 1.102.4) reads it when the request sets none.
    if (retries := cfg.model_retries(model)) is not None:
        params["num_retries"] = retries
    return {"model_name": model.name, "litellm_params": params, "model_info": {"mode": model.mode}}


def availability(cfg: PlatformConfig) -> dict[str, dict[str, Any]]:
    """Alias -> the backend the hook probes before routing, and how to bring it up. Replica-independent."""
    out = {}
    for i, m in enumerate(cfg.models):
        if not m.register_in_gateway or m.engine == "external":
            continue
        base = urlsplit(route(m, cfg)["litellm_params"]["api_base"])
        key = "swap.replicas" if m.engine == "llamacpp" and m.placement == "swap" else f"models[{i}].replicas"
        out[m.name] = {
            "host": base.hostname,
            "port": base.port,
            "hint": f"To serve it: pulumi config set --path 'llm-platform:{key}' 1 "
            "(and llm-platform:scaleToZero false), then pulumi up",
        }
        if cfg.on_demand(m):  # KEDA brings it up on demand; paused: scaleToZero holds it at 0 regardless
            out[m.name].update(
                onDemand=True,
                paused=cfg.scale_to_zero,
                hint="To serve it: pulumi config set llm-platform:scaleToZero false, then pulumi up",
            )
    return out


def litellm_config(cfg: PlatformConfig) -> dict[str, Any]:
    gw = cfg.gateway
    return {
        "model_list": [route(m, cfg) for m in cfg.models if m.register_in_gateway],
        "litellm_settings": {
            "drop_params": gw.drop_params,
            "num_retries": cfg.gateway_retries,
            "request_timeout": gw.request_timeout,
            "json_logs": True,
            "callbacks": [f"{HOOK_MODULE}.availability", *tpm_callbacks(cfg), *metrics_callbacks(cfg)],
            # litellm_settings, not general_settings: it sets litellm.require_auth_for_metrics_endpoint.
            **({"require_auth_for_metrics_endpoint": False} if metrics_callbacks(cfg) else {}),
            # litellm_redis_{failed,total}_requests_total on /metrics: the GatewayRedisUnreachable alert.
            **(
                {"service_callback": ["prometheus_system"]}
                if metrics_callbacks(cfg) and redis.mode(cfg) != "none"
                else {}
            ),
        },
        "router_settings": {
            "num_retries": cfg.gateway_retries,
            "timeout": gw.request_timeout,
            # The default routing strategy only weighs deployments by rpm/tpm; this check refuses (429) a
            # deployment over its rpm/tpm in the current minute (router_utils/pre_call_checks/).
            "optional_pre_call_checks": ["enforce_model_rate_limits"],
            **redis.router_settings(cfg),
        },
        "general_settings": general_settings(cfg),
    }


def tpm_callbacks(cfg: PlatformConfig) -> list[str]:
    return [f"{TPM_MODULE}.shared_tpm"] if redis.address(cfg) is not None else []


def metrics_callbacks(cfg: PlatformConfig) -> list[str]:
    """`prometheus` serves /metrics on the proxy port whenever the stack scrapes it (models/observability.py).
    /metrics is then open without a key: the NetworkPolicy admits only the scraper and the platform's callers."""
    return ["prometheus"] if cfg.scrape_mode() != "none" else []


def general_settings(cfg: PlatformConfig) -> dict[str, Any]:
    settings: dict[str, Any] = {"master_key": f"os.environ/{MASTER_KEY_ENV}", "enable_drain_endpoint": True}
    if database.url_secret_ref(cfg.gateway.database):
        settings["database_url"] = "os.environ/DATABASE_URL"
        settings["store_model_in_db"] = cfg.gateway.store_model_in_db
        # A daily job (maximum_spend_logs_retention_interval, default 1d) deletes older LiteLLM_SpendLogs rows.
        settings["maximum_spend_logs_retention_period"] = cfg.gateway.database.spend_log_retention
        # Failed requests write no spend-log row (with its traceback): a backend that is down (dev's Tabby on a
        # zero-replica model) would otherwise write one per request. Failures stay in the logs and /metrics.
        settings["disable_error_logs"] = True
    if (shared := redis.coordination_redis(cfg)) is not None:
        settings["coordination_redis"] = shared
    if any(key == "openWebui" for key, _ in cfg.frontends.enabled()):
        # Open WebUI's forwarded user (ENABLE_FORWARD_USER_INFO_HEADERS): spend per person, not per shared key.
        settings["user_header_mappings"] = [{"header_name": OPEN_WEBUI_USER_HEADER, "litellm_user_role": "customer"}]
    return settings


def config_yaml(cfg: PlatformConfig) -> str:
    return yaml.safe_dump(litellm_config(cfg), sort_keys=False)


def configmap(cfg: PlatformConfig) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(CONFIGMAP, cfg.namespaces.gateway, "gateway"),
        "data": {
            "config.yaml": config_yaml(cfg),
            f"{HOOK_MODULE}.py": HOOK_SCRIPT.read_text(),
            **({f"{TPM_MODULE}.py": TPM_SCRIPT.read_text()} if tpm_callbacks(cfg) else {}),
            "availability.json": json.dumps(availability(cfg), indent=2, sort_keys=True),
            **({RUNTIME_FILE: json.dumps(rt, indent=2, sort_keys=True)} if (rt := runtime_models(cfg)) else {}),
            **({demand.DEMAND_FILE: json.dumps(d, indent=2, sort_keys=True)} if (d := demand.demand_file(cfg)) else {}),
        },
    }


RUNTIME_FILE = "runtime_models.json"


def runtime_models(cfg: PlatformConfig) -> dict[str, Any] | None:
    """With storeModelInDb: the connect timeout the availability hook applies to models added at run time (those
    not declared here), before LiteLLM, whose timeouts bound connect and read alike, tries them."""
    gw = cfg.gateway
    if not gw.store_model_in_db:
        return None
    egress = gw.runtime_model_egress
    default = RuntimeModelEgressSpec.model_fields["connect_timeout_seconds"].default
    return {
        "connectTimeoutSeconds": egress.connect_timeout_seconds if egress else default,
        "declared": sorted(m.name for m in cfg.models if m.register_in_gateway),
    }


LITELLM_LOCAL_ENV = {"name": "LITELLM_LOCAL_MODEL_COST_MAP", "value": "True"}


def database_env(cfg: PlatformConfig) -> list[dict[str, Any]]:
    """DATABASE_URL and, with any database, the salt key that encrypts what LiteLLM stores there."""
    ref = database.url_secret_ref(cfg.gateway.database)
    if not ref:
        return []
    return [secret_env("DATABASE_URL", ref["name"], ref["key"]), secret_env(SALT_KEY_ENV, SALT_SECRET, SALT_KEY_ENV)]


# uvicorn (0.54 in the 1.102.4 image) kills a worker that does not answer its supervisor within 5 s, and a
# worker importing LiteLLM on a busy node can take longer: restarted before it ever serves. 30 s still
# replaces a hung worker.
WORKER_HEALTHCHECK_S = 30


def worker_healthcheck(workers: int) -> list[str]:
    return ["--timeout_worker_healthcheck", str(WORKER_HEALTHCHECK_S)] if workers > 1 else []


def deployment(cfg: PlatformConfig) -> dict[str, Any]:
    gw = cfg.gateway
    res = gw.resources
    container = {
        "name": NAME,
        "image": cfg.images.litellm,
        "args": [
            *("--config", f"{CONFIG_DIR}/config.yaml", "--port", str(PORT), "--num_workers", str(gw.num_workers)),
            *worker_healthcheck(gw.num_workers),
        ],
        "ports": [
            {"name": "http", "containerPort": PORT, "protocol": "TCP"},
            *(
                [{"name": "demand", "containerPort": demand.DEMAND_PORT, "protocol": "TCP"}]
                if demand.enabled(cfg)
                else []
            ),
        ],
        "env": [
            secret_env(MASTER_KEY_ENV, SECRET, MASTER_KEY_ENV),
            secret_env(UPSTREAM_KEY_ENV, SECRET, UPSTREAM_KEY_ENV),
            secret_env(DRAIN_TOKEN_ENV, SECRET, DRAIN_TOKEN_ENV),
            # How long a draining worker waits for its in-flight requests (preStop, then SIGTERM).
            {"name": "GRACEFUL_SHUTDOWN_TIMEOUT", "value": str(gw.request_timeout)},
            {"name": "LITELLM_LOG", "value": gw.log_level},
            LITELLM_LOCAL_ENV,
            *database_env(cfg),
            # The migration Job migrates (components/manifests/gateway_migrate.py); serving pods never race to.
            *([{"name": "DISABLE_SCHEMA_UPDATE", "value": "true"}] if database_env(cfg) else []),
            *redis.gateway_env(cfg),
            *external_key_env(cfg),
        ],
        "resources": {
            "requests": {"cpu": res.cpu, "memory": res.memory},
            "limits": {"cpu": res.cpu_limit, "memory": res.memory_limit},
        },
        "startupProbe": http_probe("/health/liveliness", "http", period=5, failures=60),
        "livenessProbe": http_probe("/health/liveliness", "http", period=15, failures=3),
        # Not /health/readiness: it answers 503 on every pod at once while the database is down, emptying the
        # Service (docs/how-to/gateway-day2.md). /health/liveliness also turns 503 once a worker drains.
        "readinessProbe": http_probe("/health/liveliness", "http", period=10, failures=3),
        "lifecycle": {"preStop": {"exec": {"command": drain_command()}}},
        # Exception (README): the non_root image runs as nobody (65534) and hands nobody its Prisma package and
        # migrations (site-packages), /app/.cache and the UI folder /var/lib/litellm/ui, because the proxy writes
        # there at start (Prisma client, migrations, UI paths); the root filesystem stays writable. Assumes the
        # litellm-non_root image variant (docker/Dockerfile.non_root upstream).
        "securityContext": non_root(65534, read_only_root=False),
        "volumeMounts": [{"name": "config", "mountPath": CONFIG_DIR, "readOnly": True}],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(NAME, cfg.namespaces.gateway, "gateway", annotations=checkov_skips(WRITABLE_ROOT)),
        "spec": {
            "replicas": gw.replicas,
            # A new pod is ready before an old one stops taking requests.
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "selector": {"matchLabels": selector(NAME)},
            "template": {
                "metadata": {
                    "labels": labels(NAME, "gateway"),
                    "annotations": {
                        "llm-platform/config-checksum": checksum(configmap(cfg)["data"]),
                    },
                },
                "spec": {
                    "automountServiceAccountToken": False,
                    "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
                    "terminationGracePeriodSeconds": grace_period(cfg),
                    **spread(gw.replicas),
                    "containers": [container],
                    "volumes": [{"name": "config", "configMap": {"name": CONFIGMAP}}],
                },
            },
        },
    }


def grace_period(cfg: PlatformConfig) -> int:
    """Long enough for a request started just before the pod's deletion to finish (request_timeout)."""
    return cfg.gateway.request_timeout + SHUTDOWN_MARGIN_S


# The image's own Python calls /health/drain with the token from the environment: an httpGet preStop could only
# carry the token as a literal header in the pod spec. Returns when the worker has drained (or at the timeout).
DRAIN_SCRIPT = (
    "import os, urllib.request; "
    f"r = urllib.request.Request('http://127.0.0.1:{PORT}/health/drain', "
    f"headers={{'X-Drain-Token': os.environ['{DRAIN_TOKEN_ENV}']}}); "
    "urllib.request.urlopen(r, timeout=int(os.environ['GRACEFUL_SHUTDOWN_TIMEOUT']) + 5)"
)


def drain_command() -> list[str]:
    return ["python", "-c", DRAIN_SCRIPT]


def spread(replicas: int) -> dict[str, Any]:
    """Replicas on different nodes, then zones, where the cluster has room (soft: never blocks a rollout)."""
    if replicas < 2:
        return {}
    return {
        "topologySpreadConstraints": [
            {
                "maxSkew": 1,
                "topologyKey": key,
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": selector(NAME)},
            }
            for key in ("kubernetes.io/hostname", "topology.kubernetes.io/zone")
        ]
    }


def disruption_budget(cfg: PlatformConfig) -> dict[str, Any] | None:
    """With 2+ replicas, a node drain or upgrade evicts one gateway pod at a time; none with fewer."""
    if cfg.gateway.replicas < 2:
        return None
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": metadata(NAME, cfg.namespaces.gateway, "gateway"),
        # A crash-looping pod never blocks a drain.
        "spec": {
            "maxUnavailable": 1,
            "selector": {"matchLabels": selector(NAME)},
            "unhealthyPodEvictionPolicy": "AlwaysAllow",
        },
    }


def gateway_service(cfg: PlatformConfig) -> dict[str, Any]:
    return service(NAME, cfg.namespaces.gateway, "gateway", PORT)


def url(cfg: PlatformConfig) -> str:
    return f"http://{NAME}.{cfg.namespaces.gateway}.svc.cluster.local:{PORT}"
