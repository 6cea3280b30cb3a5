"""`cluster.maintenance`: when GKE may upgrade a cluster this stack creates, and when it may not.

Without a window GKE upgrades (and drains GPU nodes, dropping their models' in-flight requests) whenever it likes.
GKE's rules (cloud.google.com/kubernetes-engine/docs/concepts/maintenance-windows-and-exclusions): a recurring
window must leave at least 48 hours of maintenance in any 32 days, in blocks of at least 4 hours; a NO_UPGRADES
exclusion lasts at most 30 days. Rendered as the Cluster's maintenance_policy (pulumi-gcp 10.2
recurring_window and maintenance_exclusions).
"""

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, model_validator

from .base import Spec

Day = Literal["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
# The window's first occurrence is anchored on a past Saturday; GKE only uses the time of day and the RRULE.
_ANCHOR = datetime(2025, 1, 4)
MIN_HOURS_PER_32_DAYS = 48
NO_UPGRADES_MAX_DAYS = 30


def _hh_mm(value: str) -> str:
    try:
        datetime.strptime(value, "%H:%M")
    except ValueError:
        raise ValueError(f"'{value}' is not a time of day; use HH:MM in UTC, e.g. '03:00'") from None
    return value


def _rfc3339(value: str) -> str:
    try:
        datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        raise ValueError(f"'{value}' is not an RFC 3339 UTC time; use YYYY-MM-DDTHH:MM:SSZ") from None
    return value


ClockTime = Annotated[str, AfterValidator(_hh_mm)]
UtcTime = Annotated[str, AfterValidator(_rfc3339)]


class ExclusionSpec(Spec):
    """A dated period without (some) automatic upgrades, e.g. a launch or a holiday freeze."""

    name: str = Field(min_length=1, max_length=63)
    start: UtcTime
    end: UtcTime
    scope: Literal["NO_UPGRADES", "NO_MINOR_UPGRADES", "NO_MINOR_OR_NODE_UPGRADES"] = "NO_MINOR_OR_NODE_UPGRADES"

    @model_validator(mode="after")
    def _ordered(self) -> "ExclusionSpec":
        start, end = (datetime.strptime(t, "%Y-%m-%dT%H:%M:%SZ") for t in (self.start, self.end))
        if end <= start:
            raise ValueError(f"end: {self.end} is not after start ({self.start}); swap them or fix the dates")
        if self.scope == "NO_UPGRADES" and end - start > timedelta(days=NO_UPGRADES_MAX_DAYS):
            raise ValueError(
                f"end: a NO_UPGRADES exclusion lasts at most {NO_UPGRADES_MAX_DAYS} days in GKE; shorten it or use "
                "scope: NO_MINOR_OR_NODE_UPGRADES (up to the minor version's end of support)"
            )
        return self


class MaintenanceSpec(Spec):
    """Default: Saturday and Sunday 03:00-11:00 UTC, no exclusions."""

    days: list[Day] = Field(default_factory=lambda: list[Day](["SA", "SU"]), min_length=1, max_length=7)
    start_utc: ClockTime = "03:00"
    hours: int = Field(default=8, ge=4, le=24)
    exclusions: list[ExclusionSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _enough_time(self) -> "MaintenanceSpec":
        per_32_days = len(set(self.days)) * self.hours * 32 / 7
        if per_32_days < MIN_HOURS_PER_32_DAYS:
            raise ValueError(
                f"hours: {len(set(self.days))} day(s) x {self.hours} h a week leaves {per_32_days:.0f} h of "
                f"maintenance in 32 days; GKE requires at least {MIN_HOURS_PER_32_DAYS}. Add days or hours"
            )
        return self

    def policy(self) -> dict[str, Any]:
        """The Cluster's maintenance_policy input."""
        hour, minute = (int(x) for x in self.start_utc.split(":"))
        start = _ANCHOR.replace(hour=hour, minute=minute)
        stamp = "%Y-%m-%dT%H:%M:%SZ"
        return {
            "recurring_window": {
                "start_time": start.strftime(stamp),
                "end_time": (start + timedelta(hours=self.hours)).strftime(stamp),
                "recurrence": f"FREQ=WEEKLY;BYDAY={','.join(dict.fromkeys(self.days))}",
            },
            "maintenance_exclusions": [
                {
                    "exclusion_name": e.name,
                    "start_time": e.start,
                    "end_time": e.end,
                    "exclusion_options": {"scope": e.scope},
                }
                for e in self.exclusions
            ],
        }
