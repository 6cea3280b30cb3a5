"""Gateway as a service: database, declared keys, external models, fail-fast routing, smoke test."""

import json

import pytest
import yaml

from components.manifests import gateway as gw
from components.manifests import keys, smoke
from models import ConfigError, parse_config
from offline.plan import is_kept
from tests.conftest import plan_for

EXTERNAL = {
    "name": "granite-8b-code-instruct-128k",
    "engine": "external",
    "apiBase": "https://granite-model.apps.example.com/v1",
    "litellmModel": "openai/granite-3-2-8b-instruct",
    "apiKeySecret": {"name": "granite-endpoint", "key": "api-key"},
    "displayName": "Granite 8B Code Instruct",
    "provider": "openshift-ai",
    "category": "code",
    "contextLength": 131072,
    "rpm": 120,
    "tpm": 100000,
    "inputCostPerToken": 0.000001,
    "outputCostPerToken": 0.000002,
}


def with_external(raw) -> dict:
    raw["models"].append(dict(EXTERNAL))
    next(k for k in raw["gateway"]["keys"] if k["alias"] == "smoke-test")["models"].append(EXTERNAL["name"])
    return raw


def reject(raw) -> str:
    with pytest.raises(ConfigError) as exc:
        parse_config(raw)
    return str(exc.value)


def gateway_conf(plan) -> dict:
    return yaml.safe_load(plan.one("ConfigMap", "litellm-config")["data"]["config.yaml"])


def env_of(plan, deployment="litellm") -> dict:
    (c,) = plan.one("Deployment", deployment)["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e for e in c["env"]}


class TestDatabaseReachesLiteLLMOnlyThroughASecret:
    def test_cnpg_default(self, dev_plan):
        env = env_of(dev_plan)
        assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {"name": "litellm-db-credentials", "key": "uri"}
        conf = gateway_conf(dev_plan)["general_settings"]
        assert conf["database_url"] == "os.environ/DATABASE_URL" and conf["store_model_in_db"] is True

    def test_cnpg_cluster_fields(self, dev_plan):
        # Asserted explicitly (no CNPG CRD schema is vendored): the fields the operator needs to bootstrap.
        spec = dev_plan.one("Cluster", "litellm-db", "litellm")["spec"]
        assert dev_plan.one("Cluster", "litellm-db")["apiVersion"] == "postgresql.cnpg.io/v1"
        assert spec["instances"] >= 1 and spec["storage"]["size"].endswith("Gi")
        assert spec["bootstrap"] == {
            "initdb": {"database": "litellm", "owner": "litellm", "secret": {"name": "litellm-db-credentials"}}
        }
        assert ":" in spec["imageName"] and not spec["imageName"].endswith(":latest")
        assert spec["enableSuperuserAccess"] is False

    def test_operator_chart_pinned(self, dev_plan):
        (release,) = [r for _, r in dev_plan.helm if r["chart"] == "cloudnative-pg"]
        assert release["chart"] == "cloudnative-pg" and release["version"].count(".") == 2
        assert release["repositoryOpts"]["repo"] == "https://cloudnative-pg.github.io/charts"

    def test_stateful_objects_protected(self, dev_plan):
        cluster = dev_plan.one("Cluster", "litellm-db")
        assert is_kept(dev_plan, cluster)
        assert dev_plan.options["llm-platform-db-cluster"] == {"protect": True, "retain_on_delete": True}
        assert dev_plan.options["llm-platform-db-cnpg-operator"]["protect"] is True

    def test_existing_database_url_from_secret(self, dev_raw):
        dev_raw["gateway"]["database"] = {"mode": "existing", "urlSecret": {"name": "pg", "key": "url"}}
        plan = plan_for(dev_raw)
        assert env_of(plan)["DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {"name": "pg", "key": "url"}
        assert plan.find("Cluster") == [] and plan.helm == []

    def test_existing_needs_secret(self, dev_raw):
        dev_raw["gateway"]["database"] = {"mode": "existing"}
        assert "gateway.database.urlSecret: is required when mode is 'existing'" in reject(dev_raw)

    def test_no_database_refuses_keys(self, dev_raw):
        dev_raw["gateway"]["database"] = {"mode": "none"}
        dev_raw["gateway"]["storeModelInDb"] = False
        assert "gateway.keys: virtual keys and budgets live in the gateway database" in reject(dev_raw)


class TestDeclaredKeys:
    def test_job_config_has_scope_but_no_key_values(self, dev_plan):
        cm = dev_plan.one("ConfigMap", "litellm-keys")
        declared = json.loads(cm["data"]["keys.json"])["keys"]
        assert {k["key_alias"] for k in declared} == {"open-webui", "tabby", "smoke-test"}
        webui = next(k for k in declared if k["key_alias"] == "open-webui")
        assert webui["max_budget"] == 5.0 and webui["budget_duration"] == "30d"
        assert webui["secret_name"] == "litellm-key-open-webui" and webui["namespace"] == "experience"
        assert not any("sk-" in v for v in cm["data"].values() if isinstance(v, str) and "keys.json" in v)

    def test_job_uses_master_key_from_secret_and_scoped_rbac(self, dev_plan):
        (job,) = [j for j in dev_plan.find("Job") if j["metadata"]["name"].startswith("litellm-keys-")]
        (c,) = job["spec"]["template"]["spec"]["containers"]
        env = {e["name"]: e for e in c["env"]}
        assert env["LITELLM_MASTER_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "litellm-secrets"
        roles = dev_plan.find("Role", "litellm-keys")
        assert {r["metadata"]["namespace"] for r in roles} == {"experience", "litellm"}
        declared = json.loads(dev_plan.one("ConfigMap", "litellm-keys")["data"]["keys.json"])["keys"]
        for r in roles:
            ns = r["metadata"]["namespace"]
            names = sorted(k["secret_name"] for k in declared if k["namespace"] == ns)
            secret_rules = [rule for rule in r["rules"] if rule["resources"] == ["secrets"]]
            # no create (Pulumi creates the key Secrets); reading and patching only the key Secrets, by name
            want = {("get", "patch"): names} if names else {}
            assert {tuple(rule["verbs"]): sorted(rule.get("resourceNames", [])) for rule in secret_rules} == want
            # the other rules: the consumer Deployments and the Lease, by name (test_keys_that_heal.py)
            others = [rule["resources"] for rule in r["rules"] if rule not in secret_rules]
            assert all(res in (["deployments"], ["leases"]) for res in others)

    def test_job_name_follows_declared_keys(self, dev_raw):
        before = keys.job_name(parse_config(dev_raw))
        dev_raw["gateway"]["keys"][0]["maxBudget"] = 9.0
        assert keys.job_name(parse_config(dev_raw)) != before

    def test_key_must_name_declared_models(self, dev_raw):
        dev_raw["gateway"]["keys"][1]["models"] = ["coder-fim", "coder-xl"]
        assert "gateway.keys[1].models[1]: 'coder-xl' is not a model registered in the gateway" in reject(dev_raw)

    def test_duration_without_budget(self, dev_raw):
        del dev_raw["gateway"]["keys"][0]["maxBudget"]
        assert "gateway.keys[0].budgetDuration: resets a budget, but maxBudget is not set" in reject(dev_raw)


class TestExternalModels:
    def test_route_carries_metadata_limits_and_prices(self, dev_raw):
        with_external(dev_raw)
        cfg = parse_config(dev_raw)
        entry = gw.route(cfg.models[-1], cfg)
        assert entry["litellm_params"] == {
            "model": "openai/granite-3-2-8b-instruct",
            "api_base": "https://granite-model.apps.example.com/v1",
            "api_key": "os.environ/EXTERNAL_GRANITE_8B_CODE_INSTRUCT_128K_API_KEY",
            "input_cost_per_token": 0.000001,
            "output_cost_per_token": 0.000002,
            "rpm": 120,
            "tpm": 100000,
        }
        info = entry["model_info"]
        assert info["display_name"] == "Granite 8B Code Instruct" and info["context_length"] == 131072
        assert info["provider"] == "openshift-ai" and info["category"] == "code"
        assert info["supports_streaming"] is True and info["availability"] == "available"

    def test_key_only_via_secret_env(self, dev_raw):
        with_external(dev_raw)
        plan = plan_for(dev_raw)
        ref = env_of(plan)["EXTERNAL_GRANITE_8B_CODE_INSTRUCT_128K_API_KEY"]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": "granite-endpoint", "key": "api-key"}

    def test_needs_provider_prefix(self, dev_raw):
        with_external(dev_raw)["models"][-1]["litellmModel"] = "granite"
        assert f"models[{len(dev_raw['models']) - 1}].litellmModel: 'granite' has no provider prefix" in reject(dev_raw)

    def test_no_kubernetes_workload(self, dev_raw):
        with_external(dev_raw)
        plan = plan_for(dev_raw)
        assert not [m for m in plan.k8s if "granite" in m["metadata"]["name"]]


class TestModelModes:
    def test_fim_is_completion_mode(self, dev_plan):
        modes = {e["model_name"]: e["model_info"]["mode"] for e in gateway_conf(dev_plan)["model_list"]}
        assert modes == {
            "coder-chat": "chat",
            "coder-fim": "completion",
            "coder-agent": "chat",
            "embeddings": "embedding",
        }

    def test_agent_renders_tool_flags(self, dev_plan):
        (c,) = dev_plan.one("Deployment", "coder-agent")["spec"]["template"]["spec"]["containers"]
        assert "--enable-auto-tool-choice" in c["args"] and "--tool-call-parser=hermes" in c["args"]

    def test_agent_chat_template_from_configmap(self, dev_raw):
        next(m for m in dev_raw["models"] if m["name"] == "coder-agent")["chatTemplate"] = "{{ messages }}"
        plan = plan_for(dev_raw)
        assert plan.one("ConfigMap", "coder-agent-chat-template")["data"]["chat-template.jinja"] == "{{ messages }}"
        pod = plan.one("Deployment", "coder-agent")["spec"]["template"]["spec"]
        assert "--chat-template=/etc/vllm/chat-template.jinja" in pod["containers"][0]["args"]
        assert {"name": "chat-template", "configMap": {"name": "coder-agent-chat-template"}} in pod["volumes"]


class TestFailFastRouting:
    def test_hook_and_backends_ship_with_the_config(self, dev_plan):
        data = dev_plan.one("ConfigMap", "litellm-config")["data"]
        conf = yaml.safe_load(data["config.yaml"])
        assert f"{gw.HOOK_MODULE}.availability" in conf["litellm_settings"]["callbacks"]
        assert f"{gw.HOOK_MODULE}.py" in data
        backends = json.loads(data["availability.json"])
        assert backends["coder-fim"] == {
            "host": "coder-fim.serving.svc.cluster.local",
            "port": 8000,
            "hint": backends["coder-fim"]["hint"],
        }
        assert "models[1].replicas' 1" in backends["coder-fim"]["hint"]

    def test_replica_flip_does_not_restart_the_gateway(self, dev_raw):
        before = plan_for(dev_raw).one("Deployment", "litellm")
        dev_raw["models"][0]["replicas"] = 0
        assert plan_for(dev_raw).one("Deployment", "litellm") == before


class TestSmokeTestJob:
    def test_every_exposed_model_with_its_backend(self, dev_raw):
        cfg = parse_config(dev_raw)
        models = smoke.smoke_models(cfg)
        assert [m["name"] for m in models] == ["coder-chat", "coder-fim", "coder-agent", "embeddings"]
        assert models[0]["direct"] == {
            "url": "http://coder-chat.serving.svc.cluster.local:8000/v1",
            "model": "qwen2.5-coder-7b-instruct",
        }
        assert [m["replicas"] for m in models] == [1, 0, 0, 1]
        assert models[3]["direct"] == {
            "url": "http://llama-embeddings.serving.svc.cluster.local:8080/v1",
            "model": "embeddings",
        }

    def test_job_uses_a_minted_key(self, dev_plan):
        (job,) = [j for j in dev_plan.find("Job") if j["metadata"]["name"].startswith("smoke-test-")]
        (c,) = job["spec"]["template"]["spec"]["containers"]
        env = {e["name"]: e for e in c["env"]}
        assert env["GATEWAY_KEY"]["valueFrom"]["secretKeyRef"] == {"name": "litellm-key-smoke-test", "key": "api-key"}

    def test_job_reports_without_holding_pulumi_up(self, dev_plan):
        (job,) = [j for j in dev_plan.find("Job") if j["metadata"]["name"].startswith("smoke-test-")]
        assert job["metadata"]["annotations"]["pulumi.com/skipAwait"] == "true", "a failed smoke never blocks `up`"
        name = dev_plan.names[dev_plan.k8s.index(job)]
        assert "await_timeouts" not in dev_plan.options[name]
        spec = job["spec"]
        assert spec["backoffLimit"] == 0
        (rule,) = spec["podFailurePolicy"]["rules"]
        assert rule["action"] == "Ignore" and rule["onPodConditions"][0]["type"] == "DisruptionTarget"
        (c,) = spec["template"]["spec"]["containers"]
        env = {e["name"]: e.get("value") for e in c["env"]}
        assert env["READY_DEADLINE_SECONDS"] == "1200", "about 20 minutes for a cold model on a fresh node"
        assert spec["activeDeadlineSeconds"] > 1200, "a hung script still fails the Job"
        out = dev_plan.outputs["jobs"]["smokeTest"]
        assert out["job"] == f"litellm/{job['metadata']['name']}"
        assert out["verdict"].startswith(
            f"kubectl -n litellm wait --for=condition=complete job/{job['metadata']['name']}"
        )
        assert int(out["verdict"].rsplit("=", 1)[1].rstrip("s")) > spec["activeDeadlineSeconds"]

    def test_swap_models_are_checked_by_membership_not_a_generation(self):
        from tests.llama_seed import seed_raw

        models = {m["name"]: m for m in smoke.smoke_models(parse_config(seed_raw()))}
        assert models["Llama-3.1-8B-Instruct"]["check"] == "membership"
        assert models["GLM-4.7-Flash"]["check"] == "generate", "a static model still answers a request"

    def test_key_must_cover_every_model(self, dev_raw):
        next(k for k in dev_raw["gateway"]["keys"] if k["alias"] == "smoke-test")["models"] = ["coder-chat"]
        assert "gateway.smokeTest.key: key 'smoke-test' cannot call coder-fim, coder-agent" in reject(dev_raw)

    def test_key_must_live_in_gateway_namespace(self, dev_raw):
        del next(k for k in dev_raw["gateway"]["keys"] if k["alias"] == "smoke-test")["namespace"]
        assert "is stored outside the gateway namespace" in reject(dev_raw)


class TestFailFastHints:
    def test_swap_models_point_at_the_swap_pool(self):
        from tests.llama_seed import seed_plan

        backends = json.loads(seed_plan().one("ConfigMap", "litellm-config")["data"]["availability.json"])
        swap = [b for b in backends.values() if b["host"].startswith("llama-swap.")]
        assert swap and all("'llm-platform:swap.replicas' 1" in b["hint"] for b in swap)
        static = [b for b in backends.values() if not b["host"].startswith("llama-swap.")]
        assert static and all("'llm-platform:models[" in b["hint"] for b in static)
