"""Rule rows for the alerting blocks (models/alerts.py, models/alerting_rules.py): one minimal edit of the dev
stack per rule. See scripts/rule_edits.py for Row."""

from scripts.rule_edits import Row


def _slack(**fields) -> dict:
    return {"slack": {"channel": "#llm-alerts", "apiUrlSecret": "slackUrl", **fields}}


def _email(**fields) -> dict:
    base = {"to": ["ops@example.com"], "from": "am@example.com", "smarthost": "smtp.example.com:587"}
    return {"email": {**base, **fields}}


ALERT_ROWS = [
    Row(
        "alerts.latencyP95SecondsByModel.nope",
        "a latency override names a routed model",
        lambda r: r.update(alerts={"latencyP95SecondsByModel": {"nope": 5}}),
    ),
    Row(
        "alerts.enabled",
        "alert rules need scraped metrics",
        lambda r: r.update(observability={"scrape": "none"}, alerts={"enabled": True}),
    ),
    Row(
        "notifications",
        "notifications configure Managed Prometheus's Alertmanager",
        lambda r: r.update(observability={"scrape": "servicemonitor"}, notifications=_slack()),
    ),
    Row(
        "notifications",
        "notifications need alerts",
        lambda r: r.update(alerts={"enabled": False}, notifications=_slack()),
    ),
    Row("notifications", "notifications name a receiver", lambda r: r.update(notifications={})),
    Row(
        "notifications.slack.apiUrlSecret",
        "a notification secret is a config secret's name (never echoed)",
        lambda r: r.update(notifications=_slack(apiUrlSecret="https://hooks.slack.com/services/T/B/x")),
    ),
    Row(
        "notifications.email.to[0]",
        "email receivers are addresses",
        lambda r: r.update(notifications=_email(to=["ops"])),
    ),
    Row(
        "notifications.email.smarthost",
        "the SMTP relay is host:port",
        lambda r: r.update(notifications=_email(smarthost="smtp.example.com")),
    ),
    Row(
        "notifications.email.authUsername",
        "SMTP auth is a username and a password secret",
        lambda r: r.update(notifications=_email(authUsername="am")),
    ),
    Row(
        "cost.alertMonthlyUsd",
        "the cost alert needs GPU pools the stack creates",
        lambda r: r.update(
            cost={"alertMonthlyUsd": 100},
            nodePools=[],
            models=[m for m in r["models"] if m.get("engine") == "llamacpp"],
        ),
    ),
    Row(
        "dashboard.cloudMonitoring",
        "the Cloud Monitoring dashboard needs Managed Prometheus",
        lambda r: r.update(observability={"scrape": "servicemonitor"}, dashboard={"cloudMonitoring": True}),
    ),
    Row(
        "dashboard.grafana.enabled",
        "the Grafana dashboard needs scraped metrics",
        lambda r: r.update(observability={"scrape": "none"}, dashboard={"grafana": {"enabled": True}}),
    ),
]
