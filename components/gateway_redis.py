"""GatewayRedis: the in-cluster Redis the gateway's processes share counters through (`gateway.redis`)."""

import pulumi
import pulumi_random as random

from components.k8s import apply, child
from components.manifests import redis
from components.manifests.common import metadata
from models.platform import PlatformConfig


class GatewayRedis(pulumi.ComponentResource):
    host: pulumi.Output[str]

    def __init__(self, name: str, spec: PlatformConfig, opts: pulumi.ResourceOptions | None = None):
        super().__init__("llm-platform:gateway_redis:GatewayRedis", name, None, opts)
        ns = spec.namespaces.gateway
        # Generated once and kept in state: the gateway and Redis read the same Secret, nothing in git.
        password = random.RandomPassword(f"{name}-password", length=40, special=False, opts=child(self, protect=True))
        secret = apply(
            f"{name}-secret",
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "type": "Opaque",
                "metadata": metadata(redis.SECRET, ns, "gateway-redis"),
                "stringData": {
                    redis.PASSWORD_KEY: password.result,
                    redis.CONF_KEY: password.result.apply(redis.conf_line),
                },
            },
            child(self),
        )
        apply(f"{name}-deployment", redis.deployment(spec), child(self, depends_on=[secret]))
        apply(f"{name}-service", redis.redis_service(spec), child(self))
        addr = redis.address(spec)
        assert addr is not None, "GatewayRedis is declared only for gateway.redis mode incluster"
        self.host = pulumi.Output.from_input(addr[0])
        self.register_outputs({"host": self.host})
