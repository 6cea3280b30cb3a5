"""Builders of synthetic series for the alert unit tests (tests/alert_cases.py), with the labels the real
exporters write (components/manifests/metric_sources.py), and the stack under test."""

import copy
from typing import Any

from models.pricing import HOURS_PER_MONTH, node_price
from tests.conftest import raw_config

GW, SERVING = "litellm", "serving"
PRICE_KEY = "l4-coder"


def alerting_raw() -> dict[str, Any]:
    raw = copy.deepcopy(raw_config("dev"))
    raw["gateway"]["redis"] = {"mode": "incluster"}
    raw["gateway"]["database"]["instances"] = 2
    # Mid-restore: litellm-db-2 recovered beside litellm-db (the rules then cover both Clusters' pods).
    raw["gateway"]["database"]["restore"] = {"fromBackupOf": "litellm-db", "into": "litellm-db-2"}
    raw["alerts"] = {"latencyP95SecondsByModel": {"coder-chat": 30}}
    raw["cost"] = {"alertMonthlyUsd": gpu_month_usd(raw)}
    return raw


def gpu_month_usd(raw: dict[str, Any]) -> float:
    """One GPU of the dev pool for a month, from the price table (the cost alert's edge)."""
    (pool,) = raw["nodePools"]
    return round(node_price(pool["machineType"], pool["spot"], {})[0] * HOURS_PER_MONTH, 4)


def s(series: str, values: str) -> dict[str, str]:
    return {"series": series, "values": values}


def case(
    name: str, series: list[dict], eval_time: str, alert: str, fired: list[dict[str, str]], interval: str = "1m"
) -> dict[str, Any]:
    """One promtool test: `fired` are the labels (besides alertname/severity/platform) of the alerts expected.
    `interval` spaces the samples and the rule evaluations (10m for cases that span days)."""
    return {
        "name": name,
        "alert": alert,
        "series": series,
        "eval_time": eval_time,
        "fired": fired,
        "interval": interval,
    }


def requests(model: str, ok: int, err: int, code: str = "500") -> list[dict]:
    total = "litellm_proxy_total_requests_metric_total"
    return [
        s(f'{total}{{namespace="{GW}", requested_model="{model}", status_code="200"}}', f"0+{ok}x40"),
        s(f'{total}{{namespace="{GW}", requested_model="{model}", status_code="{code}"}}', f"0+{err}x40"),
    ]


def latency(model: str, bucket: str) -> list[dict]:
    """100 requests a minute, all in the bucket ending at `bucket` (10, 30, 60 or 120 s)."""
    name = "litellm_request_total_latency_metric_bucket"
    bounds = ["10", "30", "60", "120", "+Inf"]
    return [
        s(
            f'{name}{{namespace="{GW}", requested_model="{model}", le="{le}"}}',
            "0+100x40" if le == "+Inf" or float(le) >= float(bucket) else "0x40",
        )
        for le in bounds
    ]


def budget(alias: str, remaining: float, max_budget: float) -> list[dict]:
    return [
        s(f'litellm_remaining_api_key_budget_metric{{namespace="{GW}", api_key_alias="{alias}"}}', f"{remaining}x20"),
        s(f'litellm_api_key_max_budget_metric{{namespace="{GW}", api_key_alias="{alias}"}}', f"{max_budget}x20"),
    ]


def cnpg(metric: str, values: str, pod: str = "litellm-db-1", **labels: str) -> dict:
    extra = "".join(f', {k}="{v}"' for k, v in labels.items())
    return s(f'{metric}{{namespace="{GW}", pod="{pod}"{extra}}}', values)


GIB = 2**30
DB_GIB = 10  # the dev stack's gateway.database.storageGiB (default)


def disk(data_gib: float, wal_gib: float) -> list[dict]:
    return [
        cnpg("cnpg_pg_database_size_bytes", f"{int(data_gib * GIB)}x30", datname="litellm"),
        cnpg("cnpg_collector_pg_wal", f"{int(wal_gib * GIB)}x30", value="size"),
    ]


def waiting(metric: str, reason: str, container: str = "prestage") -> dict:
    return s(
        f'{metric}{{namespace="{SERVING}", pod="coder-chat-5d9c-x1", container="{container}", reason="{reason}"}}',
        "1x30",
    )


def deploy(spec: int, available: int, minutes: int = 30) -> list[dict]:
    labels = f'namespace="{SERVING}", deployment="coder-chat"'
    return [
        s(f"kube_deployment_spec_replicas{{{labels}}}", f"{spec}x{minutes}"),
        s(f"kube_deployment_status_replicas_available{{{labels}}}", f"{available}x{minutes}"),
    ]


def gpu(metric: str, value: str, host: str = "gke-ai-dev-l4-coder-1") -> dict:
    return s(f'{metric}{{gpu="0", UUID="GPU-{host}", Hostname="{host}", modelName="NVIDIA L4"}}', value)


CRON = f'namespace="{GW}", cronjob="litellm-keys-heal"'
POD = {"namespace": SERVING, "pod": "coder-chat-5d9c-x1", "container": "prestage"}
