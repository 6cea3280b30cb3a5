"""Rate limits that bind: model rpm/tpm enforced, counters shared through Redis (in cluster or external), the
Redis pod hardened and reachable only from the gateway. The behaviour itself is shown on the real proxy in
tests/consumers/test_gateway_limits.py; these checks pin what the render hands it."""

import copy

import pytest
import yaml

from components.manifests import redis
from models import ConfigError, parse_config
from tests.conftest import plan_for, raw_config
from tests.netpol import External, Pod, Policies, pods_of

REDIS_ENV = {"REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD"}


def conf(plan) -> dict:
    return yaml.safe_load(plan.one("ConfigMap", "litellm-config")["data"]["config.yaml"])


def env_of(plan) -> dict:
    (c,) = plan.one("Deployment", "litellm")["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e for e in c["env"]}


def dev_with(**gateway) -> dict:
    raw = copy.deepcopy(raw_config("dev"))
    raw["gateway"].update(gateway)
    return raw


def reject(raw) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        parse_config(raw)
    return exc.value.lines


class TestModelRateLimitsAreEnforced:
    @pytest.mark.parametrize("stack", ["dev", "prod", "local"])
    def test_every_stack_enables_the_check(self, stack):
        plan = plan_for(raw_config(stack), stack=stack)
        assert conf(plan)["router_settings"]["optional_pre_call_checks"] == ["enforce_model_rate_limits"]


class TestCountersAreSharedThroughRedis:
    def test_dev_and_prod_run_redis_in_cluster_by_default(self, dev_plan):
        for plan, processes in ((dev_plan, 2), (plan_for(raw_config("prod"), stack="prod"), 4)):
            cfg = parse_config(raw_config("prod" if processes == 4 else "dev"))
            assert cfg.gateway.processes == processes and cfg.gateway.redis_mode == "incluster"
            c = conf(plan)
            assert c["general_settings"]["coordination_redis"] == {
                "host": "os.environ/REDIS_HOST",
                "port": "os.environ/REDIS_PORT",
                "password": "os.environ/REDIS_PASSWORD",
            }
            router = c["router_settings"]
            assert (router["redis_host"], router["redis_port"], router["redis_password"]) == (
                "os.environ/REDIS_HOST",
                "os.environ/REDIS_PORT",
                "os.environ/REDIS_PASSWORD",
            )
            assert "cache" not in c["litellm_settings"], "no response cache: answers are never replayed"
            env = env_of(plan)
            assert env["REDIS_HOST"]["value"] == "litellm-redis.litellm.svc.cluster.local"
            assert env["REDIS_PORT"]["value"] == "6379"
            assert env["REDIS_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "litellm-redis", "key": "password"}
            assert plan.one("Deployment", "litellm-redis") and plan.one("Service", "litellm-redis")
            assert plan.outputs["redis"] == {
                "mode": "incluster",
                "address": "litellm-redis.litellm.svc.cluster.local:6379",
                "passwordSecret": "litellm/litellm-redis (key password)",
            }

    def test_one_process_needs_no_redis(self):
        plan = plan_for(raw_config("local"), stack="local")
        assert not plan.find("Deployment", "litellm-redis")
        assert "coordination_redis" not in conf(plan)["general_settings"]
        assert not REDIS_ENV & set(env_of(plan))

    def test_external_redis_memorystore(self):
        raw = dev_with(
            redis={"mode": "external", "host": "10.20.0.3", "passwordSecret": {"name": "memorystore", "key": "auth"}}
        )
        plan = plan_for(raw)
        assert not plan.find("Deployment", "litellm-redis") and not plan.find("Secret", "litellm-redis")
        env = env_of(plan)
        assert env["REDIS_HOST"]["value"] == "10.20.0.3" and env["REDIS_PORT"]["value"] == "6379"
        assert env["REDIS_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "memorystore", "key": "auth"}
        net, gw = Policies(plan.k8s), pods_of(plan.k8s)["litellm"]
        assert net.allowed(gw, External("10.20.0.3"), 6379)
        assert not net.allowed(gw, External("10.20.0.4"), 6379)

    def test_external_without_auth_sends_no_password(self):
        plan = plan_for(dev_with(redis={"mode": "external", "host": "redis.internal.example"}))
        assert "REDIS_PASSWORD" not in env_of(plan)
        assert "password" not in conf(plan)["general_settings"]["coordination_redis"]
        assert "redis_password" not in conf(plan)["router_settings"]

    def test_none_renders_no_redis(self):
        plan = plan_for(dev_with(redis={"mode": "none"}))
        assert not plan.find("Deployment", "litellm-redis") and not REDIS_ENV & set(env_of(plan))


class TestRedisConfigIsValidated:
    @pytest.mark.parametrize(
        "gateway, where, words",
        [
            ({"redis": {"mode": "external"}}, "gateway.redis.host", "gcloud redis instances describe"),
            ({"redis": {"host": "10.0.0.3"}}, "gateway.redis.host", "set mode: external"),
            (
                {"redis": {"mode": "incluster", "passwordSecret": {"name": "x", "key": "y"}}},
                "gateway.redis.passwordSecret",
                "set mode: external",
            ),
            ({"redis": {"mode": "memorystore"}}, "gateway.redis.mode", "incluster"),
            ({"redis": {"mode": "external", "host": "10.0.0.3", "port": 0}}, "gateway.redis.port", "1"),
        ],
    )
    def test_bad_redis_config_names_the_key_and_the_fix(self, gateway, where, words):
        lines = reject(dev_with(**gateway))
        (line,) = [ln for ln in lines if ln.startswith(where + ":")]
        assert words in line, line

    def test_key_limits_across_processes_need_redis(self):
        raw = dev_with(redis={"mode": "none"})
        raw["gateway"]["keys"][0]["rpmLimit"] = 60
        (line,) = [ln for ln in reject(raw) if ln.startswith("gateway.keys[0].rpmLimit:")]
        assert "2 processes" in line and "redis.mode" in line
        raw["gateway"]["numWorkers"] = 1
        parse_config(raw)  # one process counts for the whole gateway


class TestRedisPod:
    @pytest.fixture(scope="class")
    def redis_pod(self, dev_plan):
        return dev_plan.one("Deployment", "litellm-redis")

    def test_pinned_by_digest_non_root_probed_bounded(self, redis_pod):
        spec = redis_pod["spec"]["template"]["spec"]
        (c,) = spec["containers"]
        assert "@sha256:" in c["image"] and c["image"].startswith("redis:")
        sec = c["securityContext"]
        assert sec["runAsNonRoot"] and sec["runAsUser"] >= 10000 and sec["readOnlyRootFilesystem"]
        assert sec["capabilities"] == {"drop": ["ALL"]} and not sec["allowPrivilegeEscalation"]
        assert spec["automountServiceAccountToken"] is False
        assert c["readinessProbe"] and c["livenessProbe"] and c["startupProbe"]
        assert c["resources"]["limits"]["memory"] == "256Mi"
        args = c["args"]
        assert args[args.index("--maxmemory") + 1] == "204mb", "under the memory limit: evict, never OOM"
        assert args[args.index("--save") + 1] == "" and args[args.index("--appendonly") + 1] == "no"

    def test_password_never_on_a_command_line_or_in_the_manifest(self, redis_pod, dev_plan):
        (c,) = redis_pod["spec"]["template"]["spec"]["containers"]
        assert c["command"] == ["redis-server", "/etc/redis/redis.conf"]
        assert "requirepass" not in " ".join(c["args"]) and "-a" not in c["readinessProbe"]["exec"]["command"][2]
        assert c["env"] == [
            {"name": "REDISCLI_AUTH", "valueFrom": {"secretKeyRef": {"name": "litellm-redis", "key": "password"}}}
        ]
        (vol,) = [v for v in redis_pod["spec"]["template"]["spec"]["volumes"] if "secret" in v]
        assert vol["secret"]["secretName"] == "litellm-redis" and vol["secret"]["defaultMode"] == 0o440
        secret = dev_plan.one("Secret", "litellm-redis")
        assert set(secret["stringData"]) == {"password", "redis.conf"}
        assert redis.conf_line("abc") == "requirepass abc\n"

    def test_only_the_gateway_reaches_redis(self, dev_plan):
        net, pods = Policies(dev_plan.k8s), pods_of(dev_plan.k8s)
        r = pods["litellm-redis"]
        assert net.allowed(pods["litellm"], r, 6379)
        for other in ("open-webui", "tabby", "coder-chat"):
            assert not net.allowed(pods[other], r, 6379), other
        assert not net.allowed(Pod("debug", "litellm", {"app": "debug"}), r, 6379)
        assert not net.allowed(r, External("18.164.174.17"), 443), "Redis calls nothing"
