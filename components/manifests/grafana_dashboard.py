"""The dashboard panels (dashboard_panels.py) as Grafana dashboard JSON, built with grafana-foundation-sdk
(Grafana's own typed builders, pinned in requirements.txt) rather than hand-written JSON, in a ConfigMap the
Grafana sidecar of kube-prometheus-stack loads (label grafana_dashboard: "1" by default)."""

import json
from typing import Any

from grafana_foundation_sdk.builders.dashboard import Dashboard as DashboardBuilder
from grafana_foundation_sdk.builders.dashboard import DatasourceVariable
from grafana_foundation_sdk.builders.prometheus import Dataquery
from grafana_foundation_sdk.builders.timeseries import Panel as TimeseriesPanel
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DataSourceRef

from models.platform import PlatformConfig

from .common import metadata
from .dashboard_panels import GRAFANA_CONFIGMAP, panels

UID, KEY = "llm-platform", "llm-platform.json"
DATASOURCE = DataSourceRef(type_val="prometheus", uid="${datasource}")


def dashboard_json(cfg: PlatformConfig) -> dict[str, Any]:
    board = (
        DashboardBuilder(f"llm-platform {cfg.cluster.name}")
        .uid(UID)
        .tags(["llm-platform"])
        .refresh("1m")
        .time("now-6h", "now")
        .with_variable(DatasourceVariable("datasource").label("Prometheus").type("prometheus"))
    )
    for p in panels(cfg):  # the builder lays the panels out two to a row (span 12 of 24)
        panel = TimeseriesPanel().title(p.title).unit(p.unit).datasource(DATASOURCE).height(8).span(12)
        for j, q in enumerate(p.queries):
            panel = panel.with_target(Dataquery().expr(q.expr).legend_format(q.legend).ref_id(chr(ord("A") + j)))
        board = board.with_panel(panel)
    return json.loads(JSONEncoder(sort_keys=True).encode(board.build()))


def configmap(cfg: PlatformConfig) -> dict[str, Any]:
    grafana = cfg.dashboard.grafana
    ns = grafana.namespace or cfg.observability.prometheus_namespace or cfg.namespaces.gateway
    meta = metadata(GRAFANA_CONFIGMAP, ns, "dashboard")
    meta["labels"].update(grafana.labels)
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": meta,
        "data": {KEY: json.dumps(dashboard_json(cfg), sort_keys=True, indent=1)},
    }
