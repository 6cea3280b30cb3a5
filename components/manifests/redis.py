"""Redis for the gateway: the in-cluster Deployment and Service, and how LiteLLM reaches any Redis, as plain dicts.

LiteLLM 1.102.4 shares state across processes only through Redis:
- `general_settings.coordination_redis` becomes the proxy's `redis_usage_cache`: the parallel request limiter
  (key rpm/tpm/max_parallel_requests), spend counters behind budgets, and the pub/sub that evicts a revoked or
  re-scoped key from every worker's auth cache;
- `router_settings.redis_*` gives the Router's DualCache a Redis: the per-deployment rpm/tpm counters of
  `enforce_model_rate_limits` and cooldowns.
No response cache (`litellm_settings.cache`) is turned on: answers are never replayed from Redis.
"""

from typing import Any

from models.platform import PlatformConfig

from .common import APP_UID, labels, metadata, non_root, secret_env, selector, service, tmp_volume

NAME = "litellm-redis"
PORT = 6379
SECRET = "litellm-redis"  # in-cluster: the generated password, and the redis.conf line that sets it
PASSWORD_KEY, CONF_KEY = "password", "redis.conf"
HOST_ENV, PORT_ENV, PASSWORD_ENV = "REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD"
CONF_DIR = "/etc/redis"


def mode(cfg: PlatformConfig) -> str:
    return cfg.gateway.redis_mode


def address(cfg: PlatformConfig) -> tuple[str, int] | None:
    """(host, port) the gateway connects to, or None without Redis."""
    if mode(cfg) == "incluster":
        return f"{NAME}.{cfg.namespaces.gateway}.svc.cluster.local", PORT
    if mode(cfg) == "external":
        return str(cfg.gateway.redis.host), cfg.gateway.redis.port
    return None


def password_ref(cfg: PlatformConfig) -> dict[str, str] | None:
    """The Secret key holding the Redis password (never the value)."""
    if mode(cfg) == "incluster":
        return {"name": SECRET, "key": PASSWORD_KEY}
    ref = cfg.gateway.redis.password_secret
    if mode(cfg) == "external" and ref is not None:
        return {"name": ref.name, "key": ref.key}
    return None


def gateway_env(cfg: PlatformConfig) -> list[dict[str, Any]]:
    """REDIS_HOST/PORT as values, REDIS_PASSWORD from its Secret."""
    addr = address(cfg)
    if addr is None:
        return []
    env: list[dict[str, Any]] = [{"name": HOST_ENV, "value": addr[0]}, {"name": PORT_ENV, "value": str(addr[1])}]
    if (ref := password_ref(cfg)) is not None:
        env.append(secret_env(PASSWORD_ENV, ref["name"], ref["key"]))
    return env


def router_settings(cfg: PlatformConfig) -> dict[str, str]:
    """router_settings keys: the Router resolves os.environ/ references when it builds its Redis client."""
    if address(cfg) is None:
        return {}
    out = {"redis_host": f"os.environ/{HOST_ENV}", "redis_port": f"os.environ/{PORT_ENV}"}
    if password_ref(cfg) is not None:
        out["redis_password"] = f"os.environ/{PASSWORD_ENV}"
    return out


def coordination_redis(cfg: PlatformConfig) -> dict[str, str] | None:
    """general_settings.coordination_redis: the proxy-wide Redis (limits, spend, auth-cache invalidation)."""
    if address(cfg) is None:
        return None
    out = {"host": f"os.environ/{HOST_ENV}", "port": f"os.environ/{PORT_ENV}"}
    if password_ref(cfg) is not None:
        out["password"] = f"os.environ/{PASSWORD_ENV}"
    return out


def conf_line(password: str) -> str:
    """The redis.conf the pod reads its password from, so it is never on a command line or in the manifest."""
    return f"requirepass {password}\n"


def maxmemory(limit: str) -> str:
    """80% of the container's memory limit (Mi/Gi), leaving room for Redis's own overhead."""
    units = {"Mi": 1, "Gi": 1024}
    for suffix, factor in units.items():
        if limit.endswith(suffix):
            return f"{int(float(limit[: -len(suffix)]) * factor * 0.8)}mb"
    raise ValueError(f"gateway.redis.resources.memoryLimit: '{limit}' must be in Mi or Gi")


def deployment(cfg: PlatformConfig) -> dict[str, Any]:
    res = cfg.gateway.redis.resources
    ping = {
        "exec": {"command": ["sh", "-c", f"redis-cli -p {PORT} ping | grep -q PONG"]},
        "periodSeconds": 10,
        "timeoutSeconds": 3,
        "failureThreshold": 3,
    }
    container = {
        "name": "redis",
        "image": cfg.images.redis,
        # Counters only: no RDB snapshots, no AOF; when full, the least recently used keys (old windows) go.
        "command": ["redis-server", f"{CONF_DIR}/{CONF_KEY}"],
        "args": [
            *("--port", str(PORT), "--dir", "/data", "--save", "", "--appendonly", "no"),
            *("--maxmemory", maxmemory(res.memory_limit), "--maxmemory-policy", "allkeys-lru"),
        ],
        "ports": [{"name": "redis", "containerPort": PORT, "protocol": "TCP"}],
        # redis-cli reads the password from REDISCLI_AUTH: the probe never puts it on a command line.
        "env": [secret_env("REDISCLI_AUTH", SECRET, PASSWORD_KEY)],
        "resources": {
            "requests": {"cpu": res.cpu, "memory": res.memory},
            "limits": {"cpu": res.cpu_limit, "memory": res.memory_limit},
        },
        "startupProbe": {"tcpSocket": {"port": "redis"}, "periodSeconds": 2, "failureThreshold": 30},
        "livenessProbe": {"tcpSocket": {"port": "redis"}, "periodSeconds": 15, "failureThreshold": 3},
        "readinessProbe": ping,
        "securityContext": non_root(),
        "volumeMounts": [
            {"name": "conf", "mountPath": CONF_DIR, "readOnly": True},
            {"name": "data", "mountPath": "/data"},
        ],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(NAME, cfg.namespaces.gateway, "gateway-redis"),
        "spec": {
            "replicas": 1,
            # Never two Redis pods at once: during a rolling update the gateway would split its counters over
            # both (each pod starts empty), admitting up to twice the limits.
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": selector(NAME)},
            "template": {
                "metadata": {"labels": labels(NAME, "gateway-redis")},
                "spec": {
                    "automountServiceAccountToken": False,
                    # fsGroup: the password file is group-readable only (0440), by the container's own group.
                    "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}, "fsGroup": APP_UID},
                    "containers": [container],
                    "volumes": [
                        {
                            "name": "conf",
                            "secret": {
                                "secretName": SECRET,
                                "defaultMode": 0o440,
                                "items": [{"key": CONF_KEY, "path": CONF_KEY}],
                            },
                        },
                        tmp_volume("data", "64Mi"),
                    ],
                },
            },
        },
    }


def redis_service(cfg: PlatformConfig) -> dict[str, Any]:
    svc = service(NAME, cfg.namespaces.gateway, "gateway-redis", PORT, target="redis")
    svc["spec"]["ports"][0]["name"] = "redis"
    return svc
