"""Scrape configs for every /metrics endpoint, and the stack outputs an operator needs, as plain dicts.

- vLLM: /metrics on its serving port, open even when --api-key is set.
- llama-server (`--metrics`): /metrics on 8080 needs the shared upstream key (llama-server checks --api-key
  there), so the scrape sends it as a Bearer token read from Secret vllm-api-key.
- llama-swap: its own /metrics on 8080 (the servers it starts listen on loopback only and are not scraped:
  /upstream/<model>/metrics would load the model).
- LiteLLM: the `prometheus` callback's /metrics on 4000 (general_settings.require_auth_for_metrics_endpoint
  false; the NetworkPolicy admits only the scraper and the platform's own callers).

GKE Managed Prometheus `PodMonitoring` (monitoring.googleapis.com/v1) by default, prometheus-operator
`ServiceMonitor` (monitoring.coreos.com/v1) as an option, or nothing.
"""

from dataclasses import dataclass
from typing import Any

from models.database_restore import server_name
from models.observability import GMP_NAMESPACES
from models.platform import PlatformConfig

from . import (
    alert_objects,
    dashboard_panels,
    database,
    database_backup,
    database_restore,
    gateway,
    keys,
    network,
    redis,
    smoke,
)
from . import workloads as wl
from .common import metadata
from .vllm import UPSTREAM_KEY, UPSTREAM_SECRET

PORT_NAME = "http"  # every scraped container names its serving port `http`; the Services name theirs the same
GMP_COLLECTOR_SA = "collector"  # the managed collectors' ServiceAccount in gmp-system / gke-gmp-system
SECRET_READER = "gmp-collector-secrets"


@dataclass(frozen=True)
class Target:
    name: str  # app.kubernetes.io/name of the pods and name of their Service; also the scrape object's name
    namespace: str
    kind: str  # vllm | llama-server | llama-swap | litellm
    port: int
    auth: tuple[str, str] | None  # (Secret, key) of a Bearer token in the same namespace

    @property
    def url(self) -> str:
        return f"http://{self.name}.{self.namespace}.svc.cluster.local:{self.port}{wl.METRICS_PATH}"


def targets(cfg: PlatformConfig) -> list[Target]:
    out = [
        Target(b.name, b.namespace, b.kind, b.port, (UPSTREAM_SECRET, UPSTREAM_KEY) if b.metrics_auth else None)
        for b in wl.backends(cfg)
    ]
    out.append(Target(gateway.NAME, cfg.namespaces.gateway, "litellm", gateway.PORT, None))
    return out


def metrics_enabled(cfg: PlatformConfig) -> bool:
    return cfg.scrape_mode() != "none"


def _meta(cfg: PlatformConfig, t: Target, extra_labels: dict[str, str] | None = None) -> dict[str, Any]:
    meta = metadata(t.name, t.namespace, "observability")
    meta["labels"].update({"llm-platform/scrape-target": t.kind, **(extra_labels or {})})
    return meta


def pod_monitoring(cfg: PlatformConfig, t: Target) -> dict[str, Any]:
    obs = cfg.observability
    endpoint: dict[str, Any] = {
        "port": PORT_NAME,
        "path": wl.METRICS_PATH,
        "interval": obs.interval,
        "timeout": obs.timeout,
    }
    if t.auth:
        # GMP's SecretSelector: credentials.secret.{name,key}, read from the PodMonitoring's own namespace.
        endpoint["authorization"] = {"type": "Bearer", "credentials": {"secret": {"name": t.auth[0], "key": t.auth[1]}}}
    return {
        "apiVersion": "monitoring.googleapis.com/v1",
        "kind": "PodMonitoring",
        "metadata": _meta(cfg, t),
        "spec": {"selector": {"matchLabels": {wl.NAME_LABEL: t.name}}, "endpoints": [endpoint]},
    }


def service_monitor(cfg: PlatformConfig, t: Target) -> dict[str, Any]:
    obs = cfg.observability
    endpoint: dict[str, Any] = {
        "port": PORT_NAME,
        "path": wl.METRICS_PATH,
        "interval": obs.interval,
        "scrapeTimeout": obs.timeout,
    }
    if t.auth:
        # prometheus-operator's SafeAuthorization: credentials is a SecretKeySelector in the monitor's namespace.
        endpoint["authorization"] = {"type": "Bearer", "credentials": {"name": t.auth[0], "key": t.auth[1]}}
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": _meta(cfg, t, dict(obs.service_monitor_labels)),
        "spec": {
            "selector": {"matchLabels": {wl.NAME_LABEL: t.name}},
            "namespaceSelector": {"matchNames": [t.namespace]},
            "endpoints": [endpoint],
        },
    }


def secret_reader(cfg: PlatformConfig, namespace: str, secrets: list[str]) -> list[dict[str, Any]]:
    """Managed collection reads a scrape's auth Secret through the API only once its collectors may get it."""
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": metadata(SECRET_READER, namespace, "observability"),
        "rules": [
            {
                "apiGroups": [""],
                "resources": ["secrets"],
                "verbs": ["get", "list", "watch"],
                "resourceNames": sorted(set(secrets)),
            }
        ],
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": metadata(SECRET_READER, namespace, "observability"),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": SECRET_READER},
        "subjects": [{"kind": "ServiceAccount", "name": GMP_COLLECTOR_SA, "namespace": ns} for ns in GMP_NAMESPACES],
    }
    return [role, binding]


def scrape_manifests(cfg: PlatformConfig) -> list[dict[str, Any]]:
    """Every scrape object (and, for managed collection, the Secret access it needs)."""
    mode = cfg.scrape_mode()
    if mode == "none":
        return []
    build = pod_monitoring if mode == "podmonitoring" else service_monitor
    out = [build(cfg, t) for t in targets(cfg)]
    if wl.database_cluster(cfg):
        obs = cfg.observability
        out.append(
            database.metrics_monitor(
                mode,
                cfg.namespaces.gateway,
                obs.interval,
                obs.timeout,
                dict(obs.service_monitor_labels),
                tuple(wl.database_clusters(cfg)),
            )
        )
    if mode == "podmonitoring":
        by_ns: dict[str, list[str]] = {}
        for t in targets(cfg):
            if t.auth:
                by_ns.setdefault(t.namespace, []).append(t.auth[0])
        for ns, secrets in sorted(by_ns.items()):
            out += secret_reader(cfg, ns, secrets)
    return out


# ---- stack outputs -------------------------------------------------------------------------------------------


def _logs(namespace: str, job: str) -> str:
    return f"kubectl -n {namespace} logs job/{job}"


def redis_output(cfg: PlatformConfig) -> dict[str, Any]:
    """Where the gateway shares its counters (README: Rate limits that bind); the password only by reference."""
    addr, ref = redis.address(cfg), redis.password_ref(cfg)
    return {
        "mode": redis.mode(cfg),
        "address": f"{addr[0]}:{addr[1]}" if addr else None,
        "passwordSecret": f"{cfg.namespaces.gateway}/{ref['name']} (key {ref['key']})" if ref else None,
    }


def operator_outputs(cfg: PlatformConfig) -> dict[str, Any]:
    """What an operator needs to find and check the platform. Names and commands only, never a secret value."""
    ns = cfg.namespaces
    by_model = {m: b for b in wl.backends(cfg) for m in b.models}
    services: dict[str, dict[str, Any]] = {}
    for m in cfg.models:
        if m.engine == "external":
            services[m.name] = {"external": str(m.api_base)}
            continue
        b = by_model[m.name]
        services[m.name] = {"service": b.host, "port": b.port, "deployment": f"{b.namespace}/{b.name}"}
    out: dict[str, Any] = {
        "namespaces": {"serving": ns.serving, "gateway": ns.gateway, "frontends": ns.frontends},
        "modelServices": services,
        "gatewayService": {
            "service": f"{gateway.NAME}.{ns.gateway}.svc.cluster.local",
            "port": gateway.PORT,
            "url": gateway.url(cfg),
            "masterKeySecret": f"{ns.gateway}/{gateway.SECRET} (key {gateway.MASTER_KEY_ENV})",
            "upstreamKeySecret": f"{ns.serving}/{UPSTREAM_SECRET} (key {UPSTREAM_KEY})",
        },
        "keySecrets": {
            k["key_alias"]: f"{k['namespace']}/{k['secret_name']} (key api-key)" for k in keys.declared_keys(cfg)
        },
        "database": database_output(cfg),
        "redis": redis_output(cfg),
        "jobs": jobs_output(cfg),
        "metrics": {
            "scrape": cfg.scrape_mode(),
            "interval": cfg.observability.interval,
            "scraperNamespaces": cfg.prometheus_namespaces() if metrics_enabled(cfg) else [],
            "endpoints": {
                t.name: {
                    "url": t.url,
                    "auth": (f"Bearer from {t.namespace}/{t.auth[0]} (key {t.auth[1]})" if t.auth else None),
                }
                for t in targets(cfg)
                if t.kind != "litellm" or metrics_enabled(cfg)
            },
        },
        "networkPolicies": {
            "enabled": cfg.network.enabled,
            "namespaces": network.namespaces(cfg) if cfg.network.enabled else [],
        },
        "alerts": alert_objects.alerts_output(cfg),
        "dashboards": dashboard_panels.dashboards_output(cfg),
    }
    return out


def database_output(cfg: PlatformConfig) -> dict[str, Any]:
    db, ns = cfg.gateway.database, cfg.namespaces.gateway
    if db.mode == "cnpg":
        out = {
            "mode": "cnpg",
            "cluster": f"{ns}/{db.cluster}",
            "service": f"{database.rw_host(db.cluster, ns)}:5432",
            "appSecret": f"{ns}/{database.APP_SECRET} (key {database.APP_URI_KEY})",
            "backup": database_backup.operator_output(
                db.backup, ns, db.cluster, {c: server_name(db.backup, c) for c in db.clusters}
            ),
        }
        if db.restore is not None:
            out["restore"] = database_restore.restore_output(db, ns)
        return out
    if db.mode == "existing" and (url := db.url_secret) is not None:  # the validator requires it there
        return {"mode": "existing", "urlSecret": f"{ns}/{url.name} (key {url.key})"}
    return {"mode": "none"}


def jobs_output(cfg: PlatformConfig) -> dict[str, Any]:
    gw_ns, out = cfg.namespaces.gateway, {}
    if cfg.gateway.keys:
        name = keys.job_name(cfg)
        out["keys"] = {"job": f"{gw_ns}/{name}", "logs": _logs(gw_ns, name)}
    if cfg.gateway.smoke_test.enabled:
        name = smoke.job_name(cfg)
        out["smokeTest"] = {"job": f"{gw_ns}/{name}", "logs": _logs(gw_ns, name), **smoke.commands(cfg)}
    return out
