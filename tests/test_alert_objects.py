"""The alert rule objects and the Alertmanager Secret as the program renders them.

- GMP `Rules`/`ClusterRules` (scrape: podmonitoring) and prometheus-operator `PrometheusRule` (servicemonitor)
  validate against their CRDs (strict: an unknown field fails, as the API server would drop it);
- every rule names only metrics components/manifests/metric_sources.py traces to an exporter, carries a
  severity, a summary, a description and a runbook section that docs/operations/alerts.md has;
- `notifications` renders Secret gmp-public/alertmanager from Pulumi config secrets, never in plain text;
  no block, no Secret.
"""

import copy
import re

import pytest
import yaml

from components.manifests import alert_rules as ar
from components.manifests.alert_objects import rule_file
from components.manifests.metric_sources import METRICS
from components.manifests.promql import metric_names
from models import ConfigError, parse_config
from offline.mocks import MASK
from tests.alert_cases import alerting_raw
from tests.conftest import ROOT, plan_for, raw_config
from tests.test_crd_schema import check, validator

RULE_KINDS = ("Rules", "ClusterRules", "PrometheusRule")
DOCS = ROOT / "docs" / "operations" / "alerts.md"
SECRETS = {"llm-platform-secrets:slackUrl": "https://hooks.slack.example/services/T0/B0/xyz-slack-secret"}


def rule_objects(plan) -> list[dict]:
    return [m for m in plan.k8s if m["kind"] in RULE_KINDS]


def servicemonitor_raw() -> dict:
    raw = alerting_raw()
    raw["observability"] = {"scrape": "servicemonitor", "serviceMonitorLabels": {"release": "kps"}}
    return raw


@pytest.mark.consumer
class TestRuleObjectsMatchTheirCrds:
    @pytest.mark.parametrize("stack", ["dev", "prod"])
    def test_gmp_rules_of_the_stack_files(self, stack):
        objects = rule_objects(plan_for(raw_config(stack)))
        assert {m["kind"] for m in objects} == {"Rules", "ClusterRules"}
        for m in objects:
            check(m)

    def test_prometheus_rules_with_prometheus_operator(self):
        objects = rule_objects(plan_for(servicemonitor_raw()))
        assert {m["kind"] for m in objects} == {"PrometheusRule"}
        for m in objects:
            assert m["metadata"]["labels"]["release"] == "kps", "the Prometheus ruleSelector must pick it up"
            check(m)

    def test_a_misspelt_rule_field_is_caught(self):
        (rules,) = [m for m in rule_objects(plan_for(raw_config("dev"))) if m["kind"] == "Rules"][:1]
        bad = copy.deepcopy(rules)
        bad["spec"]["groups"][0]["rules"][0]["expression"] = "up"
        assert list(validator("Rules").iter_errors(bad)), "unknown fields must fail"


@pytest.mark.consumer
@pytest.mark.parametrize("scrape", ["podmonitoring", "servicemonitor"])
def test_scrape_objects_match_their_crds(scrape):
    """The PodMonitorings and ServiceMonitors the rules depend on, against the same modules' CRDs."""
    raw = raw_config("prod")
    raw["observability"] = {"scrape": scrape}
    kind = {"podmonitoring": "PodMonitoring", "servicemonitor": "ServiceMonitor"}[scrape]
    objects = plan_for(raw).find(kind)
    assert len(objects) >= 5
    for m in objects:
        check(m)


class TestWhereRulesGo:
    def test_gmp_objects_sit_where_their_series_are(self):
        objects = rule_objects(plan_for(alerting_raw()))
        where = {m["metadata"]["name"]: (m["kind"], m["metadata"].get("namespace")) for m in objects}
        assert where == {
            "llm-platform-alerts-gateway": ("Rules", "litellm"),
            "llm-platform-alerts-serving": ("Rules", "serving"),
            "llm-platform-alerts-cluster": ("ClusterRules", None),
        }

    def test_no_scraping_no_rules(self):
        raw = raw_config("dev")
        raw["observability"] = {"scrape": "none"}
        assert rule_objects(plan_for(raw)) == []

    def test_alerts_can_be_turned_off(self):
        raw = raw_config("dev")
        raw["alerts"] = {"enabled": False}
        plan = plan_for(raw)
        assert rule_objects(plan) == []
        assert plan.outputs["alerts"]["enabled"] is False


class TestRuleContent:
    @pytest.mark.parametrize(
        "raw", [alerting_raw(), servicemonitor_raw(), raw_config("prod")], ids=["all", "sm", "prod"]
    )
    def test_every_metric_has_a_traced_source(self, raw):
        groups = ar.rule_groups(parse_config(raw))
        used = set().union(*(metric_names(e) for e in ar.every_expr(groups)))
        assert used, "the expressions name metrics"
        assert used <= set(METRICS), f"metrics without a source in metric_sources.py: {used - set(METRICS)}"

    def test_metric_names_reads_selectors_not_labels(self):
        expr = 'sum by (pod) (rate(a_total{job="x", le="+Inf"}[5m])) / on (pod) vllm:b and time() - c > 1'
        assert metric_names(expr) == {"a_total", "vllm:b", "c"}

    def test_every_rule_says_what_to_do(self):
        docs = DOCS.read_text()
        anchors = {a.lower() for a in re.findall(r"^### (\w+)", docs, re.M)}
        for group in rule_file(parse_config(alerting_raw()))["groups"]:
            for r in group["rules"]:
                assert r["labels"]["severity"] in ("critical", "warning", "info")
                assert r["annotations"]["summary"] and len(r["annotations"]["description"]) > 60
                assert r["annotations"]["runbook"].split("#")[1] in anchors, f"{r['alert']} has no runbook section"

    def test_per_model_latency_threshold(self):
        groups = ar.rule_groups(parse_config(alerting_raw()))
        latency = {r["labels"]["model"]: r["expr"] for r in groups["gateway"] if r["alert"] == "GatewayLatencyP95High"}
        assert latency["coder-chat"].endswith("> 30") and latency["coder-fim"].endswith("> 60")

    def test_ha_only_rules(self):
        single = {r["alert"] for r in ar.rule_groups(parse_config(raw_config("dev")))["gateway"]}
        ha = {r["alert"] for r in ar.rule_groups(parse_config(alerting_raw()))["gateway"]}
        assert "DatabaseReplicationLag" not in single and "DatabaseReplicationLag" in ha

    @pytest.mark.parametrize(
        ("schedule", "seconds"),
        [
            ("0 0 3 * * *", 86400),
            ("0 30 */6 * * *", 21600),
            ("0 0 * * * *", 3600),
            ("0 0 2 * * 0", 604800),
            ("7,22,37,52 * * * *", 900),
        ],
    )
    def test_cron_period(self, schedule, seconds):
        assert ar.cron_period_seconds(schedule) == seconds


def notifications_raw() -> dict:
    raw = raw_config("dev")
    raw["notifications"] = {"slack": {"channel": "#llm-alerts", "apiUrlSecret": "slackUrl"}}
    return raw


class TestNotifications:
    def test_alertmanager_secret_from_config_secrets(self):
        plan = plan_for(notifications_raw(), SECRETS)
        secret = plan.one("Secret", "alertmanager", "gmp-public")
        assert secret["stringData"]["alertmanager.yaml"] == MASK, "the rendered config holds a secret URL"
        assert plan.outputs["alerts"]["notifications"] == {"secret": "gmp-public/alertmanager", "receivers": ["slack"]}

    def test_no_block_no_alertmanager_secret(self):
        plan = plan_for(raw_config("dev"))
        assert plan.find("Secret", "alertmanager", "gmp-public") == []

    def test_routes_to_every_receiver(self):
        from components.manifests.alertmanager import alertmanager_config
        from models.alerts import NotificationsSpec

        spec = NotificationsSpec.model_validate(
            {
                "email": {
                    "to": ["ops@example.com"],
                    "from": "am@example.com",
                    "smarthost": "smtp.example.com:587",
                    "authUsername": "am",
                    "authPasswordSecret": "smtpPw",
                },
                "slack": {"channel": "#ops", "apiUrlSecret": "slackUrl"},
                "webhook": {"urlSecret": "hook"},
            }
        )
        conf = alertmanager_config(spec, {"smtpPw": "pw1", "slackUrl": "https://s", "hook": "https://h"})
        (receiver,) = conf["receivers"]
        assert conf["route"]["receiver"] == receiver["name"]
        assert receiver["email_configs"][0]["auth_password"] == "pw1"
        assert receiver["slack_configs"][0]["api_url"] == "https://s"
        assert receiver["webhook_configs"][0]["url"] == "https://h"
        yaml.safe_load(yaml.safe_dump(conf))

    def test_a_missing_config_secret_names_the_command(self):
        with pytest.raises(Exception, match=r"pulumi config set --secret llm-platform-secrets:slackUrl"):
            plan_for(notifications_raw())


class TestBadAlertingConfig:
    @pytest.mark.parametrize(
        ("patch", "key"),
        [
            ({"alerts": {"latencyP95SecondsByModel": {"nope": 5}}}, "alerts.latencyP95SecondsByModel.nope"),
            ({"alerts": {"gatewayErrorRatio": 2}}, "alerts.gatewayErrorRatio"),
            (
                {"observability": {"scrape": "servicemonitor"}, "notifications": {"webhook": {"urlSecret": "h"}}},
                "notifications",
            ),
            ({"notifications": {}}, "notifications"),
            (
                {"notifications": {"slack": {"channel": "#x", "apiUrlSecret": "not a key"}}},
                "notifications.slack.apiUrlSecret",
            ),
            ({"observability": {"scrape": "none"}, "alerts": {"enabled": True}}, "alerts.enabled"),
        ],
    )
    def test_names_the_key(self, patch, key):
        raw = raw_config("dev")
        raw.update(patch)
        with pytest.raises(ConfigError) as err:
            parse_config(raw)
        assert any(line.startswith((key + ":", key + ".")) for line in err.value.lines), err.value.lines


def test_a_pasted_webhook_url_is_refused_without_echoing_it():
    raw = raw_config("dev")
    url = "https://hooks.slack.com/services/T000/B000/abcdefSECRET"
    raw["notifications"] = {"slack": {"channel": "#x", "apiUrlSecret": url}}
    with pytest.raises(ConfigError) as err:
        parse_config(raw)
    assert "notifications.slack.apiUrlSecret" in str(err.value) and "abcdefSECRET" not in str(err.value)
