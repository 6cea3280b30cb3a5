"""The alerting blocks: `alerts` (rule thresholds), `cost` (the run-rate alert), `notifications` (where alerts go,
GKE Managed Prometheus's Alertmanager) and `dashboard` (Cloud Monitoring, optional Grafana JSON). Pure pydantic.

Rule expressions live in components/manifests/alert_rules.py; each threshold here names the alert it feeds.
"""

import re
from typing import Annotated

from pydantic import AfterValidator, Field, field_validator, model_validator

from .base import Spec
from .common import DnsName

# A Pulumi config key (the part after `llm-platform-secrets:`) holding a secret value.
_CONFIG_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
SECRETS_NAMESPACE = "llm-platform-secrets"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_HOST_PORT = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?:[0-9]{1,5}$")


def _config_key(value: str) -> str:
    if not _CONFIG_KEY.match(value):
        # The value is not echoed: a pasted webhook URL or password would land in terminals and CI logs.
        raise ValueError(
            "is not the name of a Pulumi config secret; name one (letters, digits, '-' and '_', e.g. "
            f"slackWebhookUrl) and set its value with `pulumi config set --secret {SECRETS_NAMESPACE}:<name> <value>`"
        )
    return value


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError(f"'{value}' is not an email address; use name@domain")
    return value


SecretKey = Annotated[str, AfterValidator(_config_key)]
Seconds = Annotated[float, Field(gt=0, le=3600)]
Email = Annotated[str, AfterValidator(_email)]


class AlertsSpec(Spec):
    """Thresholds of the alert rules (docs/operations/alerts.md lists each rule and what to do)."""

    # None: on whenever the stack's /metrics are scraped (observability.scrape is not none).
    enabled: bool | None = None
    # GatewayErrorRatioHigh: share of a model's gateway requests answered 5xx (503 refusals excluded).
    gateway_error_ratio: float = Field(default=0.05, gt=0, lt=1)
    # GatewayLatencyP95High: p95 of the gateway's end-to-end latency per model, seconds; per-model overrides.
    latency_p95_seconds: Seconds = 60
    latency_p95_seconds_by_model: dict[DnsName, Seconds] = Field(default_factory=dict)
    # KeyBudgetNearlySpent: share of a key's maxBudget spent (KeyBudgetExhausted fires at 100%).
    budget_warn_ratio: float = Field(default=0.8, gt=0, lt=1)
    # GpuIdleOnNode: minutes a GPU holds no model (framebuffer below gpuIdleMemoryMiB) while its node bills.
    stranded_gpu_minutes: int = Field(default=15, ge=5, le=240)
    gpu_idle_memory_mib: int = Field(default=1024, ge=1, le=81920)
    # ModelNotReady: how long a model Deployment may want replicas with none available; default
    # gateway.smokeTest.readyTimeoutSeconds (a cold GPU node takes about 10 minutes).
    model_ready_timeout_seconds: int | None = Field(default=None, ge=60, le=7200)
    # VllmQueueBacklog: requests waiting in one vLLM engine for 10 minutes.
    vllm_queue_depth: int = Field(default=20, ge=1, le=10000)
    # DatabaseDiskFilling: the database's files (datafiles + pg_wal) over gateway.database.storageGiB.
    database_disk_ratio: float = Field(default=0.8, gt=0, lt=1)
    # DatabaseReplicationLag: seconds a standby replays behind the primary (HA: instances > 1).
    replication_lag_seconds: int = Field(default=60, ge=1, le=86400)
    # DatabaseBackupTooOld: how old the last base backup may get, hours; default twice the backup schedule.
    backup_max_age_hours: float | None = Field(default=None, gt=0, le=24 * 60)


class CostSpec(Spec):
    # GpuCostRunRateHigh: the GPUs powered now, priced per month, above this many USD. None: no alert.
    alert_monthly_usd: float | None = Field(default=None, gt=0)


class EmailSpec(Spec):
    to: list[Email] = Field(min_length=1)
    from_: Email = Field(alias="from")
    smarthost: str  # host:port of the SMTP relay
    auth_username: str | None = Field(default=None, min_length=1)
    # Config key in llm-platform-secrets: of the SMTP password (`pulumi config set --secret`).
    auth_password_secret: SecretKey | None = None

    @field_validator("smarthost")
    @classmethod
    def _host_port(cls, value: str) -> str:
        if not _HOST_PORT.match(value):
            raise ValueError(f"'{value}' is not host:port; name the SMTP relay, e.g. smtp.example.com:587")
        return value

    @model_validator(mode="after")
    def _auth_pair(self) -> "EmailSpec":
        if (self.auth_username is None) != (self.auth_password_secret is None):
            raise ValueError(
                "authUsername: SMTP auth needs both authUsername and authPasswordSecret; set both or neither"
            )
        return self


class SlackSpec(Spec):
    channel: str = Field(min_length=2, pattern=r"^[#@]?[-_a-z0-9.]+$")
    # Config key in llm-platform-secrets: of the incoming-webhook URL.
    api_url_secret: SecretKey


class WebhookSpec(Spec):
    # Config key in llm-platform-secrets: of the URL (it often embeds a token).
    url_secret: SecretKey


class NotificationsSpec(Spec):
    """Routes for GKE Managed Prometheus's Alertmanager (Secret gmp-public/alertmanager)."""

    email: EmailSpec | None = None
    slack: SlackSpec | None = None
    webhook: WebhookSpec | None = None
    group_wait: str = Field(default="30s", pattern=r"^[0-9]+(s|m|h)$")
    group_interval: str = Field(default="5m", pattern=r"^[0-9]+(s|m|h)$")
    repeat_interval: str = Field(default="4h", pattern=r"^[0-9]+(s|m|h)$")

    @model_validator(mode="after")
    def _one_receiver(self) -> "NotificationsSpec":
        if not (self.email or self.slack or self.webhook):
            raise ValueError(
                "notifications: no receiver is set; add email, slack or webhook, or remove the notifications block"
            )
        return self

    @property
    def secret_keys(self) -> list[str]:
        """The llm-platform-secrets: config keys this block reads."""
        keys = [
            self.email.auth_password_secret if self.email else None,
            self.slack.api_url_secret if self.slack else None,
            self.webhook.url_secret if self.webhook else None,
        ]
        return [k for k in keys if k]


class GrafanaSpec(Spec):
    enabled: bool = False
    # Where the Grafana sidecar looks for dashboards (kube-prometheus-stack: its release namespace).
    namespace: DnsName | None = None
    labels: dict[str, str] = Field(default_factory=lambda: {"grafana_dashboard": "1"})


class DashboardSpec(Spec):
    # None: a Cloud Monitoring dashboard on GKE stacks scraped by Managed Prometheus.
    cloud_monitoring: bool | None = None
    grafana: GrafanaSpec = GrafanaSpec()
