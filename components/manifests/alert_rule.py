"""One alert rule in Prometheus rule format, with the platform's labels and its runbook anchor
(docs/operations/alerts.md); shared by alert_rules.py and alert_rules_jobs.py."""

from typing import Any


def rule(
    alert: str, expr: str, for_: str, severity: str, summary: str, description: str, **labels: str
) -> dict[str, Any]:
    return {
        "alert": alert,
        "expr": expr,
        "for": for_,
        "labels": {"severity": severity, "platform": "llm-platform", **labels},
        "annotations": {
            "summary": summary,
            "description": description,
            "runbook": f"docs/operations/alerts.md#{alert.lower()}",
        },
    }
