"""The alert rule groups (alert_rules.py) as stack objects, and the same groups as a plain Prometheus rule file.

- GKE Managed Prometheus (scrape: podmonitoring): a `Rules` (monitoring.googleapis.com/v1) in each namespace that
  holds a group's series (GMP scopes its queries to project, cluster and that namespace), and a `ClusterRules`
  for the cluster-wide exporters (kube-state-metrics, DCGM), scoped to project and cluster.
- prometheus-operator (scrape: servicemonitor): a `PrometheusRule` per group, labelled like the ServiceMonitors
  (observability.serviceMonitorLabels, which kube-prometheus-stack's ruleSelector also matches); the cluster
  group lives in the gateway namespace.
"""

from typing import Any

from models.platform import PlatformConfig

from . import alert_rules as ar
from .common import metadata

NAME = "llm-platform-alerts"


def _group(cfg: PlatformConfig, name: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {"name": f"llm-platform-{name}", "interval": cfg.observability.interval, "rules": rules}


def rule_file(cfg: PlatformConfig) -> dict[str, Any]:
    """Every group as a Prometheus rule file (what `promtool check rules` reads)."""
    return {"groups": [_group(cfg, name, rules) for name, rules in ar.rule_groups(cfg).items()]}


def gmp_rules(cfg: PlatformConfig) -> list[dict[str, Any]]:
    out = []
    for name, rules in ar.rule_groups(cfg).items():
        ns = ar.group_namespace(cfg, name)
        meta = metadata(f"{NAME}-{name}", ns, "alerts")
        if ns is None:
            meta.pop("namespace", None)
        out.append(
            {
                "apiVersion": "monitoring.googleapis.com/v1",
                "kind": "Rules" if ns else "ClusterRules",
                "metadata": meta,
                "spec": {"groups": [_group(cfg, name, rules)]},
            }
        )
    return out


def prometheus_rules(cfg: PlatformConfig) -> list[dict[str, Any]]:
    out = []
    for name, rules in ar.rule_groups(cfg).items():
        ns = ar.group_namespace(cfg, name) or cfg.namespaces.gateway
        meta = metadata(f"{NAME}-{name}", ns, "alerts")
        meta["labels"].update(cfg.observability.service_monitor_labels)
        out.append(
            {
                "apiVersion": "monitoring.coreos.com/v1",
                "kind": "PrometheusRule",
                "metadata": meta,
                "spec": {"groups": [_group(cfg, name, rules)]},
            }
        )
    return out


def rule_objects(cfg: PlatformConfig) -> list[dict[str, Any]]:
    mode = cfg.scrape_mode()
    if mode == "podmonitoring":
        return gmp_rules(cfg)
    if mode == "servicemonitor":
        return prometheus_rules(cfg)
    return []


def alerts_output(cfg: PlatformConfig) -> dict[str, Any]:
    """Stack output `alerts`: the rule objects, where notifications go, where the runbooks are."""
    objects = [
        f"{m['kind']} {m['metadata'].get('namespace', '(cluster)')}/{m['metadata']['name']}" for m in rule_objects(cfg)
    ]
    receivers = []
    if cfg.notifications is not None:
        receivers = [k for k in ("email", "slack", "webhook") if getattr(cfg.notifications, k) is not None]
    return {
        "enabled": bool(objects),
        "rules": objects,
        "alerts": sorted({r["alert"] for rules in ar.rule_groups(cfg).values() for r in rules}) if objects else [],
        "notifications": {"secret": "gmp-public/alertmanager", "receivers": receivers} if receivers else None,
        "runbooks": "docs/operations/alerts.md",
    }
