"""The observability block (`llm-platform:observability`): how the platform's /metrics endpoints are scraped."""

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from .base import Spec
from .common import DnsName
from .network import LabelSelectorSpec

ScrapeMode = Literal["podmonitoring", "servicemonitor", "none"]
GMP_NAMESPACE = "gmp-system"  # GKE Managed Prometheus runs its collectors here on Standard clusters ...
GKE_GMP_NAMESPACE = "gke-gmp-system"  # ... and here on Autopilot (and where GKE manages the collectors itself)
GMP_NAMESPACES = (GMP_NAMESPACE, GKE_GMP_NAMESPACE)
_DURATION = re.compile(r"^([0-9]+)(ms|s|m|h)$")
_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
MIN_INTERVAL_S, MAX_INTERVAL_S = 5, 600


def duration_seconds(value: str) -> float:
    match = _DURATION.match(value)
    if match is None:
        raise RuntimeError(f"'{value}' is not a Prometheus duration")
    number, unit = match.groups()
    return int(number) * _SECONDS[unit]


class ObservabilitySpec(Spec):
    # None: podmonitoring (GKE Managed Prometheus) on a GKE stack, none on a kubeconfig stack.
    scrape: ScrapeMode | None = None
    interval: str = "30s"
    # servicemonitor only: where prometheus-operator's Prometheus runs (NetworkPolicies let it in) ...
    prometheus_namespace: DnsName | None = None
    # ... which of its pods scrape (default: every pod of that namespace) ...
    prometheus_pod_selector: LabelSelectorSpec | None = None
    # ... and the labels its serviceMonitorSelector wants (kube-prometheus-stack: {release: <release name>}).
    service_monitor_labels: dict[str, str] = Field(default_factory=dict)

    @field_validator("interval")
    @classmethod
    def _interval(cls, value: str) -> str:
        if not _DURATION.match(value):
            raise ValueError(f"'{value}' is not a Prometheus duration; use a number and a unit, e.g. 30s or 1m")
        seconds = duration_seconds(value)
        if not MIN_INTERVAL_S <= seconds <= MAX_INTERVAL_S:
            raise ValueError(
                f"'{value}' is outside {MIN_INTERVAL_S}s..{MAX_INTERVAL_S // 60}m; scrape more often "
                "than every 10 minutes and at most every 5 seconds"
            )
        return value

    @field_validator("service_monitor_labels")
    @classmethod
    def _labels(cls, labels: dict[str, str]) -> dict[str, str]:
        return LabelSelectorSpec(match_labels=labels).match_labels

    @model_validator(mode="after")
    def _servicemonitor_keys(self) -> "ObservabilitySpec":
        if self.scrape == "servicemonitor":
            return self
        for key, value in (
            ("prometheusNamespace", self.prometheus_namespace),
            ("prometheusPodSelector", self.prometheus_pod_selector),
            ("serviceMonitorLabels", self.service_monitor_labels),
        ):
            if value:
                raise ValueError(
                    f"{key}: only applies to scrape: servicemonitor (scrape is "
                    f"'{self.scrape or 'default'}'); remove it or set scrape: servicemonitor"
                )
        return self

    @property
    def timeout(self) -> str:
        """Scrape timeout: 10 s, or the interval when that is shorter (a timeout may not exceed it)."""
        return self.interval if duration_seconds(self.interval) < 10 else "10s"
