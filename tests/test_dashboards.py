"""The dashboards as rendered: the Cloud Monitoring dashboard on GKE stacks, the Grafana JSON ConfigMap when asked.

Every panel's PromQL parses (promtool has no parse command: the queries go into a throwaway rule file for
`promtool check rules`, `-m consumer`) and reads only metrics components/manifests/metric_sources.py traces.
"""

import json

import pytest
import yaml

from components.manifests.dashboard_panels import panels
from components.manifests.metric_sources import METRICS
from components.manifests.promql import metric_names
from models import parse_config
from tests.alert_cases import alerting_raw
from tests.conftest import plan_for, raw_config
from tests.test_alert_rules_promtool import promtool, run  # noqa: F401 (fixture)


def cloud_queries(plan) -> list[str]:
    (board,) = [inputs for kind, _, inputs in plan.gcp if kind.endswith("Dashboard")]
    doc = json.loads(board["dashboardJson"])
    return [
        d["timeSeriesQuery"]["prometheusQuery"]
        for t in doc["mosaicLayout"]["tiles"]
        for d in t["widget"]["xyChart"]["dataSets"]
    ]


def grafana_raw() -> dict:
    raw = alerting_raw()
    raw["dashboard"] = {"grafana": {"enabled": True, "namespace": "monitoring"}}
    return raw


def grafana_queries(plan) -> list[str]:
    cm = plan.one("ConfigMap", "llm-platform-dashboard", "monitoring")
    doc = json.loads(cm["data"]["llm-platform.json"])
    return [t["expr"] for p in doc["panels"] for t in p["targets"]]


class TestCloudMonitoring:
    @pytest.mark.parametrize("stack", ["dev", "prod"])
    def test_one_dashboard_per_gke_stack_scoped_to_its_cluster(self, stack):
        raw = raw_config(stack)
        queries = cloud_queries(plan_for(raw))
        assert len(queries) >= 10
        cluster = raw["cluster"]["name"]
        assert all(f'cluster="{cluster}"' in q for q in queries), "a project can hold several clusters"

    def test_no_dashboard_off_gke(self):
        plan = plan_for(raw_config("local"))
        assert not [kind for kind, _, _ in plan.gcp if kind.endswith("Dashboard")]

    def test_can_be_turned_off(self):
        raw = raw_config("dev")
        raw["dashboard"] = {"cloudMonitoring": False}
        assert not [kind for kind, _, _ in plan_for(raw).gcp if kind.endswith("Dashboard")]

    def test_covers_what_the_issue_lists(self):
        titles = " ".join(p.title for p in panels(parse_config(raw_config("dev")))).lower()
        for word in (
            "requests",
            "tokens/s",
            "p50",
            "p95",
            "5xx",
            "gpu utilisation",
            "gpu memory",
            "queue",
            "kv-cache",
            "spend per key",
            "database size",
            "backup",
        ):
            assert word in titles, word


class TestGrafana:
    def test_off_by_default(self):
        assert plan_for(raw_config("dev")).find("ConfigMap", "llm-platform-dashboard") == []

    def test_configmap_for_the_sidecar(self):
        plan = plan_for(grafana_raw())
        cm = plan.one("ConfigMap", "llm-platform-dashboard", "monitoring")
        assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
        doc = json.loads(cm["data"]["llm-platform.json"])
        assert doc["uid"] == "llm-platform" and doc["templating"]["list"][0]["type"] == "datasource"
        assert all(p["datasource"]["uid"] == "${datasource}" for p in doc["panels"])
        assert len(grafana_queries(plan)) == sum(len(p.queries) for p in panels(parse_config(grafana_raw())))


@pytest.mark.parametrize("which", ["cloud", "grafana"])
def test_panels_read_only_traced_metrics(which):
    queries = (
        cloud_queries(plan_for(raw_config("prod"))) if which == "cloud" else grafana_queries(plan_for(grafana_raw()))
    )
    used = set().union(*(metric_names(q) for q in queries))
    assert used <= set(METRICS), f"metrics without a source: {used - set(METRICS)}"


@pytest.mark.consumer
@pytest.mark.parametrize("which", ["cloud", "grafana"])
def test_every_panel_query_parses(promtool, tmp_path, which):
    queries = (
        cloud_queries(plan_for(raw_config("dev"))) if which == "cloud" else grafana_queries(plan_for(grafana_raw()))
    )
    rules = [{"record": f"dashboard:query_{i}", "expr": q} for i, q in enumerate(queries)]
    (tmp_path / "queries.yaml").write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    res = run(promtool, "check", "rules", "queries.yaml", cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.mark.consumer
def test_a_broken_query_fails_the_parse(promtool, tmp_path):
    rules = [{"record": "dashboard:broken", "expr": "sum by (le (rate(x[5m]))"}]
    (tmp_path / "queries.yaml").write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    assert run(promtool, "check", "rules", "queries.yaml", cwd=tmp_path).returncode != 0
