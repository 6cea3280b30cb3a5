"""LiteLLM pre-call hook: model tpm limits counted across every gateway process, through the shared Redis.

LiteLLM 1.102.4's `enforce_model_rate_limits` check (router_utils/pre_call_checks/model_rate_limit_check.py)
adds each response's tokens to `<model id>:<deployment model>:tpm:<HH-MM>` in memory and in Redis, but reads the
count from memory only (local_only=True): each process admits the full tpm on its own. Before the check runs,
this hook copies the Redis count of the requested model's deployments into this process's memory when it is
higher, so the check sees the whole gateway's tokens. rpm needs nothing: the check increments it in Redis.

When Redis does not answer, the check falls back to this process's own count (fail open: up to processes x tpm
per minute) and `llm_platform_tpm_redis_fail_open_total` counts each such request on /metrics.
"""

import datetime

from litellm.integrations.custom_logger import CustomLogger

try:  # the prometheus callback's registry, served on /metrics (installed with the proxy)
    from prometheus_client import Counter

    FAIL_OPEN = Counter(
        "llm_platform_tpm_redis_fail_open",
        "Requests whose model tpm was checked against this process's count only, because Redis did not answer",
    )
except ImportError:  # no prometheus_client: the fallback is still logged by LiteLLM
    FAIL_OPEN = None

# The check's own TTL for the minute counters (RoutingArgs.ttl is 60 s).
TTL_S = 60


def _limit(deployment: dict) -> object:
    """The check's order: the deployment, then litellm_params, then model_info (_get_deployment_limits)."""
    for where in (deployment, deployment.get("litellm_params") or {}, deployment.get("model_info") or {}):
        if where.get("tpm") is not None:
            return where["tpm"]
    return None


def tpm_keys(model_list: list[dict], model: str, now: datetime.datetime) -> list[str]:
    """The check's counter keys (_get_cache_keys) for the deployments of `model` that have a tpm limit."""
    minute = now.strftime("%H-%M")
    return [
        f"{(d.get('model_info') or {}).get('id')}:{(d.get('litellm_params') or {}).get('model')}:tpm:{minute}"
        for d in model_list
        if d.get("model_name") == model and _limit(d) is not None
    ]


class SharedTpm(CustomLogger):
    async def async_pre_call_hook(self, user_api_key_dict, cache, data: dict, call_type):
        try:
            from litellm.proxy.proxy_server import llm_router
        except ImportError:  # not inside the proxy
            return data
        dual = getattr(llm_router, "cache", None)
        if dual is None or dual.redis_cache is None or dual.in_memory_cache is None:
            return data
        keys = tpm_keys(llm_router.model_list, str(data.get("model", "")), datetime.datetime.now(datetime.UTC))
        if not keys:
            return data
        try:  # 1.102.4 answers every key it read (None when unset), and {} when Redis failed
            shared = await dual.redis_cache.async_batch_get_cache(key_list=keys)
        except Exception:
            shared = None
        if not isinstance(shared, dict) or any(k not in shared for k in keys):  # the check uses this process's count
            if FAIL_OPEN is not None:
                FAIL_OPEN.inc()
            return data
        for key in keys:
            value = shared.get(key)
            if value is None:
                continue
            local = await dual.in_memory_cache.async_get_cache(key)
            if local is None or float(value) > float(local):
                await dual.in_memory_cache.async_set_cache(key, float(value), ttl=TTL_S)
        return data


shared_tpm = SharedTpm()
