"""Day-2 invariants of the rendered gateway and its database (issue 20): what the objects must say.

Behaviour against the real LiteLLM proxy is in tests/consumers/test_gateway_day2_litellm.py; the Cluster's fields
against CNPG's CRD in tests/test_crd_schema.py.
"""

import copy
import json

import yaml

from tests.conftest import plan_for, raw_config


def dev(**gateway) -> dict:
    raw = copy.deepcopy(raw_config("dev"))
    raw["gateway"].update(gateway)
    return raw


def general_settings(plan) -> dict:
    return yaml.safe_load(plan.one("ConfigMap", "litellm-config")["data"]["config.yaml"])["general_settings"]


def gateway_container(plan) -> dict:
    (c,) = plan.one("Deployment", "litellm")["spec"]["template"]["spec"]["containers"]
    return c


class TestWalHasItsOwnVolume:
    def test_wal_volume_beside_the_data_volume_same_class(self, dev_plan):
        spec = dev_plan.one("Cluster", "litellm-db")["spec"]
        assert spec["walStorage"]["size"] == "5Gi"
        assert spec["walStorage"].get("storageClass") == spec["storage"].get("storageClass")

    def test_size_from_config(self):
        raw = dev()
        raw["gateway"].setdefault("database", {})["walStorageGiB"] = 20
        assert plan_for(raw).one("Cluster", "litellm-db")["spec"]["walStorage"]["size"] == "20Gi"


class TestSpendLogsArePruned:
    def test_retention_and_no_failure_rows_with_a_database(self, dev_plan):
        gs = general_settings(dev_plan)
        assert gs["maximum_spend_logs_retention_period"] == "30d"
        assert gs["disable_error_logs"] is True

    def test_no_database_no_retention_setting(self):
        raw = dev(database={"mode": "none"}, keys=[], storeModelInDb=False)
        raw["gateway"]["smokeTest"] = {"enabled": False}
        for fe in raw.get("frontends", {}).values():
            if isinstance(fe, dict):
                fe["enabled"] = False
        gs = general_settings(plan_for(raw))
        assert "maximum_spend_logs_retention_period" not in gs and "disable_error_logs" not in gs


class TestDrainIsWiredWithoutLeakingItsToken:
    def test_token_comes_from_the_secret_never_a_literal(self, dev_plan):
        c = gateway_container(dev_plan)
        (token,) = [e for e in c["env"] if e["name"] == "DRAIN_ENDPOINT_TOKEN"]
        assert token["valueFrom"]["secretKeyRef"] == {"name": "litellm-secrets", "key": "DRAIN_ENDPOINT_TOKEN"}
        assert "X-Drain-Token" in c["lifecycle"]["preStop"]["exec"]["command"][2]
        assert "drain_endpoint_token" not in general_settings(dev_plan)
        assert general_settings(dev_plan)["enable_drain_endpoint"] is True

    def test_grace_period_follows_request_timeout(self):
        plan = plan_for(dev(requestTimeout=1800))
        pod = plan.one("Deployment", "litellm")["spec"]["template"]["spec"]
        assert pod["terminationGracePeriodSeconds"] >= 1800
        env = {e["name"]: e.get("value") for e in gateway_container(plan)["env"]}
        assert env["GRACEFUL_SHUTDOWN_TIMEOUT"] == "1800"


class TestRedisNeverRunsTwice:
    def test_recreate_strategy(self):
        plan = plan_for(dev(redis={"mode": "incluster"}))
        assert plan.one("Deployment", "litellm-redis")["spec"]["strategy"] == {"type": "Recreate"}


class TestSharedTpmHookShipsWithRedis:
    def test_callback_and_module_with_redis(self, dev_plan):
        data = dev_plan.one("ConfigMap", "litellm-config")["data"]
        callbacks = yaml.safe_load(data["config.yaml"])["litellm_settings"]["callbacks"]
        assert "llm_platform_tpm.shared_tpm" in callbacks and "llm_platform_tpm.py" in data
        assert "class SharedTpm" in data["llm_platform_tpm.py"]

    def test_single_process_without_redis_has_neither(self):
        plan = plan_for(dev(numWorkers=1, replicas=1, redis={"mode": "none"}))
        data = plan.one("ConfigMap", "litellm-config")["data"]
        assert "llm_platform_tpm.py" not in data
        assert not any("tpm" in c for c in yaml.safe_load(data["config.yaml"])["litellm_settings"]["callbacks"])


class TestModelsAddedAtRunTimeAreReachable:
    def test_dev_opens_the_declared_allow_list_to_the_gateway_only(self, dev_plan):
        pol = dev_plan.one("NetworkPolicy", "litellm-egress", "litellm")
        (rule,) = [r for r in pol["spec"]["egress"] if {"ipBlock": {"cidr": "10.20.0.0/16"}} in r["to"]]
        assert rule["ports"] == [{"protocol": "TCP", "port": 443}, {"protocol": "TCP", "port": 8000}]
        assert pol["spec"]["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "litellm"}}

    def test_allow_list_from_config(self):
        plan = plan_for(dev(runtimeModelEgress={"cidrs": ["10.20.0.0/16"], "ports": [8000, 443]}))
        pol = plan.one("NetworkPolicy", "litellm-egress", "litellm")
        (rule,) = [r for r in pol["spec"]["egress"] if {"ipBlock": {"cidr": "10.20.0.0/16"}} in r["to"]]
        assert rule["ports"] == [{"protocol": "TCP", "port": 443}, {"protocol": "TCP", "port": 8000}]

    def test_dev_gives_run_time_models_a_short_connect_timeout(self, dev_plan):
        """LiteLLM's own timeouts bound connect and read alike: the hook's TCP probe is the connect timeout."""
        data = dev_plan.one("ConfigMap", "litellm-config")["data"]
        runtime = json.loads(data["runtime_models.json"])
        assert runtime["connectTimeoutSeconds"] == 3
        assert runtime["declared"] == ["coder-agent", "coder-chat", "coder-fim", "embeddings"]

    def test_connect_timeout_from_config(self):
        egress = {"cidrs": ["10.20.0.0/16"], "connectTimeoutSeconds": 1.5}
        data = plan_for(dev(runtimeModelEgress=egress)).one("ConfigMap", "litellm-config")["data"]
        assert json.loads(data["runtime_models.json"])["connectTimeoutSeconds"] == 1.5

    def test_no_run_time_models_no_probe_file(self):
        data = plan_for(dev(storeModelInDb=False)).one("ConfigMap", "litellm-config")["data"]
        assert "runtime_models.json" not in data
