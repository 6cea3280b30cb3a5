"""On-demand scaling (issue 16): per model *whether* it comes up on a request, and the stack's autoscaler.

KEDA scales an on-demand model's Deployment from the gateway's demand gauge (components/manifests/scaling.py);
the model block says only how long it may sit idle and how far it may grow.
"""

import math
from typing import Literal

from pydantic import Field

from .base import Spec
from .common import DnsName

# The KEDA Helm chart (https://kedacore.github.io/charts, chart `keda`); its appVersion is the operator that
# scripts/engine/build_keda.sh builds for the engine tier (github.com/kedacore/keda/v2 v2.21.0).
KEDA_CHART_REPO = "https://kedacore.github.io/charts"
KEDA_CHART_VERSION = "2.21.0"
# vLLM's startupProbe polls /health every STARTUP_PERIOD_S; startupSeconds / period = failureThreshold.
STARTUP_PERIOD_S = 10
DEFAULT_STARTUP_S = 1800
DEFAULT_IDLE_MINUTES = 45  # longer than the default startup allowance (30 min), as the rule below demands


class ScalingSpec(Spec):
    """`fixed`: `replicas` pods, always. `onDemand`: at least `replicas` (0 is fine), up to `maxReplicas` while
    requests come, back to the floor after `idleMinutes` without one."""

    # fixed: always `replicas` pods. onDemand: KEDA brings the model up on its first request, down when idle.
    mode: Literal["fixed", "onDemand"] = "fixed"
    # Minutes without a request before KEDA scales back to `replicas`; longer than startupSeconds.
    idle_minutes: int = Field(default=DEFAULT_IDLE_MINUTES, ge=1, le=1440)
    # The most pods KEDA runs under load (each needs its GPUs in the pool).
    max_replicas: int = Field(default=1, ge=1, le=64)
    # Concurrent requests one replica takes before KEDA adds another (up to maxReplicas).
    requests_per_replica: int = Field(default=8, ge=1, le=1024)

    @property
    def on_demand(self) -> bool:
        return self.mode == "onDemand"


def scaling_problem(scaling: ScalingSpec, replicas: int, startup_seconds: int) -> tuple[str, str] | None:
    """(key, 'what; fix') for a model block whose scaling cannot work, or None."""
    if not scaling.on_demand:
        if {"idle_minutes", "max_replicas", "requests_per_replica"} & scaling.model_fields_set:
            return (
                "scaling.mode",
                "is fixed, so idleMinutes, maxReplicas and requestsPerReplica do nothing; set mode: onDemand or "
                "remove them",
            )
        return None
    if scaling.idle_minutes * 60 <= startup_seconds:
        need = math.floor(startup_seconds / 60) + 1
        return (
            "scaling.idleMinutes",
            f"{scaling.idle_minutes} min is not longer than the model's startup allowance (startupSeconds: "
            f"{startup_seconds}); KEDA would scale away a pod that is still loading. Set idleMinutes to at least "
            f"{need}, or lower startupSeconds to what the model needs to load",
        )
    if scaling.max_replicas < replicas:
        return (
            "scaling.maxReplicas",
            f"{scaling.max_replicas} is below replicas ({replicas}), the floor that stays up while idle; "
            f"raise maxReplicas to at least {replicas} or lower replicas",
        )
    return None


def startup_failures(startup_seconds: int) -> int:
    """The startupProbe's failureThreshold that allows `startup_seconds` of loading."""
    return math.ceil(startup_seconds / STARTUP_PERIOD_S)


class AutoscalerSpec(Spec):
    """Top-level `autoscaler:` block, used when any model is `scaling.mode: onDemand`."""

    # install: this stack installs KEDA (Helm chart pinned below) in `namespace`. existing: KEDA already runs there.
    keda: Literal["install", "existing"] = "install"
    # The KEDA Helm chart version (kedacore/charts `keda`) when keda: install.
    keda_chart_version: str = Field(default=KEDA_CHART_VERSION, min_length=1)
    # KEDA's namespace: where this stack installs it, or where an existing KEDA runs.
    namespace: DnsName = "keda"
    # How often KEDA reads the demand gauge while a model is at zero: the cold start's first term.
    polling_interval_seconds: int = Field(default=15, ge=1, le=300)
    # The gateway's answer while an on-demand model loads: 503 + Retry-After: this many seconds.
    retry_after_seconds: int = Field(default=30, ge=1, le=3600)
    # Hold a request for a loading model up to this long before answering 503 (0: answer at once).
    hold_seconds: int = Field(default=0, ge=0, le=300)
