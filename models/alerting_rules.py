"""Cross-field rules of the alerting blocks (models/alerts.py): what they name must exist, and the Managed
Prometheus pieces need a stack that Managed Prometheus scrapes."""

from .common import Problems
from .platform_spec import PlatformSpec


def alerting_problems(cfg: PlatformSpec) -> Problems:
    p = Problems()
    mode = cfg.scrape_mode()
    routed = [m.name for m in cfg.models if m.register_in_gateway]
    for name in cfg.alerts.latency_p95_seconds_by_model:
        if name not in routed:
            p.add(
                f"alerts.latencyP95SecondsByModel.{name}",
                f"'{name}' is not a model registered in the gateway (known: {', '.join(routed) or 'none'}); "
                "use a declared models[].name or remove the entry",
            )
    if cfg.alerts.enabled and mode == "none":
        p.add(
            "alerts.enabled",
            "alert rules need the platform's metrics, but observability.scrape is 'none'; set scrape "
            "(podmonitoring on GKE, servicemonitor with prometheus-operator) or set alerts.enabled: false",
        )
    if cfg.notifications is not None and mode != "podmonitoring":
        p.add(
            "notifications",
            "configures GKE Managed Prometheus's Alertmanager (Secret gmp-public/alertmanager), but "
            f"observability.scrape is '{mode}'; use scrape: podmonitoring, or remove notifications and route "
            "alerts in your own Alertmanager",
        )
    if cfg.notifications is not None and not cfg.alerts_enabled():
        p.add("notifications", "alerts are off (alerts.enabled: false), so nothing is sent; remove notifications")
    if cfg.cost.alert_monthly_usd is not None and not any(n.managed for n in cfg.node_pools):
        p.add(
            "cost.alertMonthlyUsd",
            "the run-rate alert prices the GPU node pools this stack creates, and it creates none; "
            "remove cost.alertMonthlyUsd",
        )
    if cfg.dashboard.cloud_monitoring and mode != "podmonitoring":
        p.add(
            "dashboard.cloudMonitoring",
            f"Cloud Monitoring charts Managed Prometheus data, but observability.scrape is '{mode}'; "
            "use scrape: podmonitoring (GKE) or set cloudMonitoring: false",
        )
    if cfg.dashboard.grafana.enabled and mode == "none":
        p.add(
            "dashboard.grafana.enabled",
            "the Grafana dashboard charts the platform's metrics, but observability.scrape is 'none'; "
            "set scrape: servicemonitor (or podmonitoring) or disable it",
        )
    return p
