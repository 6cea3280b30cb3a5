"""The platform dashboard's panels as data, shared by the Cloud Monitoring dashboard and the Grafana JSON.

Every query reads only metrics components/manifests/metric_sources.py traces (tests/test_dashboards.py checks
it, and that each query parses with promtool). `scope` adds matchers to every selector: the Cloud Monitoring
dashboard scopes to the stack's cluster (GMP writes a `cluster` label; one project can hold several clusters).
"""

from dataclasses import dataclass
from typing import Any

from models.platform import PlatformConfig

from .alert_rules import BACKUP_METRIC
from .promql import agg, binop, quantile, rate, sel

WINDOW = "5m"
GRAFANA_CONFIGMAP = "llm-platform-dashboard"


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str  # Grafana legend format ({{label}})


@dataclass(frozen=True)
class Panel:
    title: str
    unit: str  # Grafana unit id; Cloud Monitoring takes the matching UCUM unit from CLOUD_UNITS
    queries: tuple[Query, ...]


CLOUD_UNITS = {
    "reqps": "1/s",
    "s": "s",
    "short": "1",
    "percent": "%",
    "percentunit": "1",
    "decmbytes": "MiBy",
    "bytes": "By",
}


def panels(cfg: PlatformConfig, scope: dict[str, str] | None = None) -> list[Panel]:
    sc = scope or {}
    gw, serving = cfg.namespaces.gateway, cfg.namespaces.serving
    total = "litellm_proxy_total_requests_metric_total"
    latency = "litellm_request_total_latency_metric_bucket"
    out = [
        Panel(
            "Requests per model (gateway)",
            "reqps",
            (
                Query(
                    agg("sum", rate(sel(total, namespace=gw, **sc), WINDOW), ["requested_model"]), "{{requested_model}}"
                ),
            ),
        ),
        Panel(
            "5xx per model (gateway)",
            "reqps",
            (
                Query(
                    agg(
                        "sum",
                        rate(sel(total, namespace=gw, status_code="~5..", **sc), WINDOW),
                        ["requested_model", "status_code"],
                    ),
                    "{{requested_model}} {{status_code}}",
                ),
            ),
        ),
        Panel(
            "Latency p50 / p95 per model (gateway)",
            "s",
            tuple(
                Query(
                    quantile(q, rate(sel(latency, namespace=gw, **sc), WINDOW), ["requested_model"]),
                    f"{{{{requested_model}}}} p{int(q * 100)}",
                )
                for q in (0.5, 0.95)
            ),
        ),
        Panel(
            "Output tokens/s per model (gateway)",
            "short",
            (
                Query(
                    agg("sum", rate(sel("litellm_output_tokens_metric_total", namespace=gw, **sc), WINDOW), ["model"]),
                    "{{model}}",
                ),
            ),
        ),
        Panel(
            "Spend per key, USD/hour",
            "short",
            (
                Query(
                    binop(
                        agg(
                            "sum",
                            rate(sel("litellm_spend_metric_total", namespace=gw, **sc), WINDOW),
                            ["api_key_alias"],
                        ),
                        "*",
                        "3600",
                    ),
                    "{{api_key_alias}}",
                ),
            ),
        ),
        Panel(
            "GPU utilisation per node",
            "percent",
            (Query(agg("avg", sel("DCGM_FI_DEV_GPU_UTIL", **sc), ["Hostname"]), "{{Hostname}}"),),
        ),
        Panel(
            "GPU memory used per node",
            "decmbytes",
            (Query(agg("sum", sel("DCGM_FI_DEV_FB_USED", **sc), ["Hostname"]), "{{Hostname}}"),),
        ),
    ]
    if any(m.engine == "vllm" for m in cfg.models):
        out += [
            Panel(
                "vLLM queue depth",
                "short",
                (
                    Query(
                        agg("sum", sel("vllm:num_requests_waiting", namespace=serving, **sc), ["model_name"]),
                        "{{model_name}} waiting",
                    ),
                    Query(
                        agg("sum", sel("vllm:num_requests_running", namespace=serving, **sc), ["model_name"]),
                        "{{model_name}} running",
                    ),
                ),
            ),
            Panel(
                "vLLM KV-cache use",
                "percentunit",
                (
                    Query(
                        agg("max", sel("vllm:kv_cache_usage_perc", namespace=serving, **sc), ["model_name"]),
                        "{{model_name}}",
                    ),
                ),
            ),
        ]
    if cfg.gateway.database.mode == "cnpg":
        out.append(
            Panel(
                "Database size",
                "bytes",
                (Query(agg("sum", sel("cnpg_pg_database_size_bytes", namespace=gw, **sc), ["pod"]), "{{pod}}"),),
            )
        )
        if cfg.gateway.database.backup.on:
            out.append(
                Panel(
                    "Age of the last base backup",
                    "s",
                    (Query(binop("time()", "-", agg("max", sel(BACKUP_METRIC, namespace=gw, **sc))), "last backup"),),
                )
            )
    return out


def cloud_monitoring_dashboard(cfg: PlatformConfig) -> dict[str, Any]:
    """dashboard_json of gcp.monitoring.Dashboard: a 2-column mosaic of PromQL charts on GMP data."""
    tiles = []
    for i, p in enumerate(panels(cfg, {"cluster": cfg.cluster.name})):
        tiles.append(
            {
                "xPos": (i % 2) * 24,
                "yPos": (i // 2) * 16,
                "width": 24,
                "height": 16,
                "widget": {
                    "title": p.title,
                    "xyChart": {
                        "dataSets": [
                            {
                                "timeSeriesQuery": {"prometheusQuery": q.expr, "unitOverride": CLOUD_UNITS[p.unit]},
                                "plotType": "LINE",
                                "targetAxis": "Y1",
                            }
                            for q in p.queries
                        ],
                        "yAxis": {"scale": "LINEAR"},
                    },
                },
            }
        )
    return {"displayName": f"llm-platform {cfg.cluster.name}", "mosaicLayout": {"columns": 48, "tiles": tiles}}


def cloud_dashboard_on(cfg: PlatformConfig) -> bool:
    """As configured, else on GKE stacks whose metrics GKE Managed Prometheus collects."""
    on = cfg.dashboard.cloud_monitoring
    return on if on is not None else (cfg.cluster.is_gke and cfg.scrape_mode() == "podmonitoring")


def dashboards_output(cfg: PlatformConfig) -> dict[str, Any]:
    """Stack output `dashboards`: where the dashboards are (the Cloud Monitoring one by display name)."""
    grafana = cfg.dashboard.grafana
    where = grafana.namespace or cfg.observability.prometheus_namespace or cfg.namespaces.gateway
    return {
        "cloudMonitoring": f"llm-platform {cfg.cluster.name} (Cloud Monitoring > Dashboards)"
        if cloud_dashboard_on(cfg)
        else None,
        "grafana": f"ConfigMap {where}/{GRAFANA_CONFIGMAP}" if grafana.enabled else None,
    }
