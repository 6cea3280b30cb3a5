"""Alerting: the alert rule objects (GMP Rules/ClusterRules or PrometheusRule) and, with a `notifications` block,
GKE Managed Prometheus's Alertmanager configuration Secret."""

import pulumi

from components.k8s import apply, child
from components.manifests import alert_objects, alertmanager
from models.alerts import SECRETS_NAMESPACE
from models.platform import PlatformConfig


def notification_secrets(spec: PlatformConfig) -> dict[str, pulumi.Output[str]]:
    """Each llm-platform-secrets:* key the notifications block names, as a secret Output; a missing one stops the
    program before anything is declared, naming the key and the command that sets it."""
    if spec.notifications is None:
        return {}
    config = pulumi.Config(SECRETS_NAMESPACE)
    out, missing = {}, []
    for key in spec.notifications.secret_keys:
        value = config.get_secret(key)
        if value is None:
            missing.append(key)
        else:
            out[key] = value
    if missing:
        raise pulumi.RunError(
            "invalid llm-platform stack config:\n"
            + "\n".join(
                f"  - notifications: names secret '{k}' but {SECRETS_NAMESPACE}:{k} is not set; run "
                f"`pulumi config set --secret {SECRETS_NAMESPACE}:{k} <value>`"
                for k in missing
            )
        )
    return out


class Alerting(pulumi.ComponentResource):
    rule_objects: list[str]

    def __init__(self, name: str, spec: PlatformConfig, opts: pulumi.ResourceOptions | None = None):
        super().__init__("llm-platform:alerting:Alerting", name, None, opts)
        self.rule_objects = []
        for manifest in alert_objects.rule_objects(spec):
            meta = manifest["metadata"]
            where = f"{meta.get('namespace', 'cluster')}/{meta['name']}"
            apply(f"{name}-{manifest['kind'].lower()}-{where.replace('/', '-')}", manifest, child(self))
            self.rule_objects.append(f"{manifest['kind']} {where}")
        if spec.notifications is not None:
            notify = spec.notifications
            secrets = notification_secrets(spec)
            config_yaml: pulumi.Output[str] = pulumi.Output.all(**secrets).apply(
                lambda values: alertmanager.render(notify, dict(values))
            )
            rendered: pulumi.Output[str] = pulumi.Output.secret(config_yaml)
            apply(f"{name}-alertmanager", alertmanager.secret(rendered), child(self))
        self.register_outputs({"rule_objects": self.rule_objects})
