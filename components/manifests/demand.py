"""What the gateway's hook needs to know about on-demand models (issue 16); no imports of other manifests, so
the gateway's ConfigMap and KEDA's objects (scaling.py) can both use it."""

from typing import Any

from models.platform import PlatformConfig

# The gateway's demand gauge: components/scripts/availability_hook.py serves it on its own port.
DEMAND_PORT = 9464
DEMAND_FILE = "demand.json"


def enabled(cfg: PlatformConfig) -> bool:
    return bool(cfg.on_demand_models)


def demand_file(cfg: PlatformConfig) -> dict[str, Any] | None:
    """demand.json beside the hook: how it answers for a loading model, and where it counts demand. With Redis
    every gateway process and pod adds to one count, so KEDA may read any of them."""
    if not enabled(cfg):
        return None
    auto = cfg.autoscaler
    return {
        "retryAfterSeconds": auto.retry_after_seconds,
        "holdSeconds": auto.hold_seconds,
        # A finished request still counts this long, so at least one of KEDA's polls sees it: the idle time
        # then runs from the last request, never from a poll before it.
        "lingerSeconds": auto.polling_interval_seconds,
        "port": DEMAND_PORT,
        "redis": cfg.gateway.redis_mode != "none",
    }
