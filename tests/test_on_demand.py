"""On-demand models (issue 16): the config rules, KEDA's ScaledObject and what the gateway is told, on the render."""

import copy
import json

import pytest

from components.manifests import scaling
from models import ConfigError, parse_config
from models.scaling import STARTUP_PERIOD_S
from offline.plan import pod_spec
from tests.conftest import plan_for, raw_config
from tests.keyed_errors import assert_keyed_error

FIM = 1  # dev's coder-fim: replicas 0, the model switched to on demand below


def on_demand(raw: dict | None = None, **scaling_block) -> dict:
    raw = copy.deepcopy(raw or raw_config("dev"))
    raw["models"][FIM]["scaling"] = {"mode": "onDemand", "idleMinutes": 31, **scaling_block}
    return raw


def refused(raw: dict) -> list[str]:
    with pytest.raises(ConfigError) as err:
        parse_config(raw)
    assert_keyed_error(err.value, raw)
    return err.value.lines


def one(plan, kind: str, name: str) -> dict:
    (found,) = [m for m in plan.k8s if m["kind"] == kind and m["metadata"]["name"] == name]
    return found


class TestOnDemandConfigRules:
    def test_idle_not_longer_than_startup_is_refused_with_the_minimum(self):
        raw = on_demand(idleMinutes=30)  # default startupSeconds 1800 = 30 min
        (line,) = refused(raw)
        assert line.startswith("models[1].scaling.idleMinutes: 30 min is not longer")
        assert "at least 31" in line and "startupSeconds" in line

    def test_short_startup_allows_a_short_idle(self):
        raw = on_demand(idleMinutes=1)
        raw["models"][FIM]["startupSeconds"] = 30
        cfg = parse_config(raw)
        assert cfg.on_demand_models[0].scaling.idle_minutes == 1

    def test_max_below_floor_is_refused(self):
        raw = on_demand(maxReplicas=1)
        raw["models"][FIM]["replicas"] = 2
        raw["nodePools"][0]["maxNodes"] = 3
        assert any(ln.startswith("models[1].scaling.maxReplicas: 1 is below replicas (2)") for ln in refused(raw))

    def test_max_that_cannot_fit_the_pool_is_refused(self):
        raw = on_demand(maxReplicas=2)  # pool l4-coder: maxNodes 1, one L4
        (line,) = refused(raw)
        assert line.startswith("models[1].scaling.maxReplicas: 2 replica(s)") and "at most 1" in line

    def test_fixed_mode_refuses_on_demand_knobs(self):
        raw = copy.deepcopy(raw_config("dev"))
        raw["models"][FIM]["scaling"] = {"idleMinutes": 60}
        (line,) = refused(raw)
        assert line.startswith("models[1].scaling.mode: is fixed")

    def test_many_gateway_processes_need_a_shared_count(self):
        raw = on_demand()
        raw["gateway"]["redis"] = {"mode": "none"}
        assert any(ln.startswith("gateway.redis.mode: is none") for ln in refused(raw))

    def test_warm_pool_under_on_demand_only_models_is_a_warning(self):
        raw = copy.deepcopy(raw_config("dev"))
        for m in raw["models"]:
            if m["engine"] == "vllm":
                m.update(replicas=0, scaling={"mode": "onDemand", "idleMinutes": 31})
        raw["nodePools"][0]["minNodes"] = 1
        warnings = parse_config(raw).warnings()
        assert any(w.startswith("nodePools[0].minNodes: keeps 1 GPU node(s) up") for w in warnings)
        raw["nodePools"][0]["minNodes"] = 0
        assert not any(w.startswith("nodePools[0].minNodes") for w in parse_config(raw).warnings())


class TestScaledObject:
    @pytest.fixture(scope="class")
    def plan(self):
        return plan_for(on_demand(maxReplicas=1))

    def test_one_scaled_object_per_on_demand_model(self, plan):
        assert [m["metadata"]["name"] for m in plan.k8s if m["kind"] == "ScaledObject"] == ["coder-fim"]

    def test_bounds_and_cooldown_come_from_the_model_block(self, plan):
        spec = one(plan, "ScaledObject", "coder-fim")["spec"]
        assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "coder-fim"}
        assert (spec["minReplicaCount"], spec["maxReplicaCount"], spec["cooldownPeriod"]) == (0, 1, 31 * 60)
        assert one(plan, "Deployment", "coder-fim")["metadata"]["namespace"] == "serving"

    def test_trigger_reads_this_models_gauge_from_the_gateways_demand_service(self, plan):
        (trigger,) = one(plan, "ScaledObject", "coder-fim")["spec"]["triggers"]
        meta = trigger["metadata"]
        assert trigger["type"] == "metrics-api" and meta["format"] == "prometheus"
        assert meta["valueLocation"] == 'llm_platform_model_demand{model="coder-fim"}'
        assert meta["activationTargetValue"] == "0"  # one request wakes it
        svc = one(plan, "Service", "litellm-demand")
        assert meta["url"] == f"http://litellm-demand.{svc['metadata']['namespace']}.svc.cluster.local:9464/metrics"
        gw = one(plan, "Deployment", "litellm")
        assert svc["spec"]["selector"].items() <= gw["spec"]["template"]["metadata"]["labels"].items()
        (container,) = [c for c in pod_spec(gw)["containers"] if c["name"] == "litellm"]
        port = svc["spec"]["ports"][0]["targetPort"]
        assert {"name": "demand", "containerPort": port, "protocol": "TCP"} in container["ports"]

    def test_gateway_is_told_which_models_load_on_demand(self, plan):
        data = one(plan, "ConfigMap", "litellm-config")["data"]
        backends = json.loads(data["availability.json"])
        assert backends["coder-fim"]["onDemand"] is True and backends["coder-fim"]["paused"] is False
        assert "onDemand" not in backends["coder-chat"]
        assert json.loads(data["demand.json"]) == {
            "retryAfterSeconds": 30,
            "holdSeconds": 0,
            "lingerSeconds": 15,
            "port": 9464,
            "redis": True,
        }

    def test_startup_allowance_is_the_probe_budget(self):
        raw = on_demand(idleMinutes=2)
        raw["models"][FIM]["startupSeconds"] = 95
        (container,) = pod_spec(one(plan_for(raw), "Deployment", "coder-fim"))["containers"]
        probe = container["startupProbe"]
        assert probe["periodSeconds"] == STARTUP_PERIOD_S and probe["failureThreshold"] == 10  # ceil(95 / 10)

    def test_keda_reaches_the_demand_port_and_nothing_else_of_the_gateway(self, plan):
        policy = one(plan, "NetworkPolicy", "keda-demand-ingress")
        (rule,) = policy["spec"]["ingress"]
        assert rule["ports"] == [{"protocol": "TCP", "port": 9464}]
        assert rule["from"][0]["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "keda-operator"}}
        egress = one(plan, "NetworkPolicy", "keda-egress")
        assert egress["metadata"]["namespace"] == "keda" and egress["spec"]["policyTypes"] == ["Egress"]

    def test_keda_is_installed_from_its_pinned_chart(self, plan):
        release = scaling.keda_release(parse_config(on_demand()))
        assert (release["chart"], release["version"], release["namespace"]) == ("keda", "2.21.0", "keda")
        assert release["values"]["watchNamespace"] == "serving" and release["atomic"] is True

    def test_no_keda_objects_without_an_on_demand_model(self):
        plan = plan_for(raw_config("dev"))
        kinds = {(m["kind"], m["metadata"]["name"]) for m in plan.k8s}
        assert not [k for k in kinds if k[0] == "ScaledObject" or "keda" in k[1] or k[1] == "litellm-demand"]
        assert "demand.json" not in one(plan, "ConfigMap", "litellm-config")["data"]


class TestOnDemandCost:
    def test_idle_costs_nothing_and_the_hour_while_up_is_priced(self):
        from models.cost import cost_plan

        raw = on_demand()
        for m in raw["models"]:
            if m["engine"] == "vllm":
                m.update(replicas=0, scaling={"mode": "onDemand", "idleMinutes": 31})
        plan = cost_plan(parse_config(raw))
        pool = plan["pools"]["l4-coder"]
        assert plan["total"]["idle"]["usdPerMonth"] == 0 and plan["total"]["planned"]["usdPerMonth"] == 0
        node_hour = pool["usdPerNodeHour"]
        assert node_hour > 0
        assert pool["onDemandUsdPerHourWhileUp"] == {
            "coder-chat": node_hour,
            "coder-fim": node_hour,
            "coder-agent": node_hour,
        }


class TestHardZero:
    def test_scale_to_zero_pauses_the_scaled_object_at_zero(self):
        raw = on_demand()
        raw["scaleToZero"] = True
        plan = plan_for(raw)
        assert one(plan, "ScaledObject", "coder-fim")["metadata"]["annotations"] == {
            "autoscaling.keda.sh/paused-replicas": "0"
        }
        backends = json.loads(one(plan, "ConfigMap", "litellm-config")["data"]["availability.json"])
        assert backends["coder-fim"]["paused"] is True and "scaleToZero false" in backends["coder-fim"]["hint"]

    def test_unpaused_scaled_object_has_no_pause_annotation(self):
        assert "annotations" not in one(plan_for(on_demand()), "ScaledObject", "coder-fim")["metadata"]
