"""GKE Managed Prometheus's Alertmanager configuration (the `notifications` block) as plain dicts.

Managed Alertmanager reads Secret `alertmanager`, key `alertmanager.yaml`, in namespace `gmp-public`
(OperatorConfig managedAlertmanager.configSecret defaults to it). The secret values (SMTP password, Slack and
webhook URLs) are passed in, read by the component from `llm-platform-secrets:*` Pulumi config secrets.
"""

from typing import Any

import yaml

from models.alerts import NotificationsSpec

from .common import metadata

NAMESPACE, SECRET, KEY = "gmp-public", "alertmanager", "alertmanager.yaml"
RECEIVER = "llm-platform"


def alertmanager_config(spec: NotificationsSpec, secrets: dict[str, str]) -> dict[str, Any]:
    """`secrets`: llm-platform-secrets config key -> value, for every key spec.secret_keys names."""
    receiver: dict[str, Any] = {"name": RECEIVER}
    if spec.email:
        e = spec.email
        email: dict[str, Any] = {
            "to": ", ".join(e.to),
            "from": e.from_,
            "smarthost": e.smarthost,
            "send_resolved": True,
        }
        if e.auth_username and e.auth_password_secret:
            email.update(auth_username=e.auth_username, auth_password=secrets[e.auth_password_secret])
        receiver["email_configs"] = [email]
    if spec.slack:
        receiver["slack_configs"] = [
            {
                "api_url": secrets[spec.slack.api_url_secret],
                "channel": spec.slack.channel,
                "send_resolved": True,
                "title": "[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }}",
                "text": "{{ range .Alerts }}{{ .Annotations.summary }}\n{{ .Annotations.description }}\n{{ end }}",
            }
        ]
    if spec.webhook:
        receiver["webhook_configs"] = [{"url": secrets[spec.webhook.url_secret], "send_resolved": True}]
    return {
        "route": {
            "receiver": RECEIVER,
            "group_by": ["alertname", "namespace"],
            "group_wait": spec.group_wait,
            "group_interval": spec.group_interval,
            "repeat_interval": spec.repeat_interval,
        },
        "receivers": [receiver],
    }


def secret(config_yaml: Any) -> dict[str, Any]:
    """The Secret GMP reads; `config_yaml` is the rendered config (an Output in the program, marked secret)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": metadata(SECRET, NAMESPACE, "alerts"),
        "stringData": {KEY: config_yaml},
    }


def render(spec: NotificationsSpec, secrets: dict[str, str]) -> str:
    return yaml.safe_dump(alertmanager_config(spec, secrets), sort_keys=False)
