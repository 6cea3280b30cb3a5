"""Scrape configs, real-serving readiness, and the operator stack outputs, on the rendered plan.

PodMonitoring and ServiceMonitor are CRDs kubernetes-validate does not know, so their fields are asserted here.
"""

import copy
from typing import ClassVar

import pytest
import yaml

from models import ConfigError, parse_config
from offline.plan import pod_spec
from tests.conftest import plan_for, raw_config
from tests.netpol import selector_matches

NAME = "app.kubernetes.io/name"


def scraped_workloads(plan) -> list[dict]:
    """Every model backend Deployment and the gateway: what must be scraped."""
    return [
        d
        for d in plan.find("Deployment")
        if d["metadata"]["labels"]["app.kubernetes.io/component"] in ("model", "gateway")
    ]


def server_container(deployment: dict) -> dict:
    (container,) = pod_spec(deployment)["containers"]
    return container


def render(**overrides) -> "object":
    raw = copy.deepcopy(raw_config("dev"))
    raw.update(overrides)
    return plan_for(raw)


@pytest.fixture(scope="module")
def seed_plan():
    from offline.mocks import run_program
    from offline.plan import to_plan
    from tests.test_k8s_schema import stack_config

    return to_plan(run_program(*stack_config("examples/Pulumi.llama-seed.yaml")))


class TestPodMonitoringForEveryMetricsEndpoint:
    def test_one_per_workload_selecting_its_pods(self, dev_plan):
        workloads = scraped_workloads(dev_plan)
        assert len(workloads) == 5  # 3 vLLM, 1 llama-server (CPU), the gateway
        for d in workloads:
            ns, labels = d["metadata"]["namespace"], d["spec"]["template"]["metadata"]["labels"]
            monitors = [
                m
                for m in dev_plan.find("PodMonitoring", namespace=ns)
                if selector_matches(m["spec"]["selector"], labels)
            ]
            assert len(monitors) == 1, d["metadata"]["name"]
            (pm,) = monitors
            assert pm["apiVersion"] == "monitoring.googleapis.com/v1"
            assert pm["spec"]["selector"] == {"matchLabels": {NAME: labels[NAME]}}
            (endpoint,) = pm["spec"]["endpoints"]
            ports = {p["name"]: p["containerPort"] for p in server_container(d)["ports"]}
            assert endpoint["port"] in ports, "the scraped port is a named container port"
            assert endpoint["path"] == "/metrics"
            assert endpoint["interval"] == "30s" and endpoint["timeout"] == "10s"

    def test_no_monitor_selects_nothing(self, dev_plan):
        pods = [d["spec"]["template"]["metadata"]["labels"] for d in dev_plan.find("Deployment")]
        # CNPG labels every instance pod of a Cluster with its name and role (CNPG's pod labels).
        pods += [
            {"cnpg.io/cluster": c["metadata"]["name"], "cnpg.io/podRole": "instance"} for c in dev_plan.find("Cluster")
        ]
        for pm in dev_plan.find("PodMonitoring"):
            assert any(selector_matches(pm["spec"]["selector"], labels) for labels in pods), pm["metadata"]["name"]

    def test_llama_server_scrape_sends_the_key(self, dev_plan):
        d = dev_plan.one("Deployment", "llama-embeddings")
        container = server_container(d)
        assert "--metrics" in container["args"]
        key_env = next(e for e in container["env"] if e["name"] == "LLAMA_API_KEY")["valueFrom"]["secretKeyRef"]
        (endpoint,) = dev_plan.one("PodMonitoring", "llama-embeddings", "serving")["spec"]["endpoints"]
        assert endpoint["authorization"] == {
            "type": "Bearer",
            "credentials": {"secret": {"name": key_env["name"], "key": key_env["key"]}},
        }
        role = dev_plan.one("Role", "gmp-collector-secrets", "serving")
        assert role["rules"] == [
            {
                "apiGroups": [""],
                "resources": ["secrets"],
                "verbs": ["get", "list", "watch"],
                "resourceNames": [key_env["name"]],
            }
        ]
        binding = dev_plan.one("RoleBinding", "gmp-collector-secrets", "serving")
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": "collector", "namespace": ns} for ns in ("gmp-system", "gke-gmp-system")
        ]

    def test_vllm_and_gateway_scrapes_need_no_key(self, dev_plan):
        for name, ns in (("coder-chat", "serving"), ("litellm", "litellm")):
            (endpoint,) = dev_plan.one("PodMonitoring", name, ns)["spec"]["endpoints"]
            assert "authorization" not in endpoint

    def test_llama_swap_and_static_servers(self, seed_plan):
        for name in ("llama-static-a", "llama-static-b", "llama-swap"):
            d = seed_plan.one("Deployment", name)
            pm = seed_plan.one("PodMonitoring", name, "serving")
            assert selector_matches(pm["spec"]["selector"], d["spec"]["template"]["metadata"]["labels"])
            (endpoint,) = pm["spec"]["endpoints"]
            assert endpoint["port"] == "http" and endpoint["path"] == "/metrics"
            assert ("authorization" in endpoint) == (name != "llama-swap"), name
        swap = server_container(seed_plan.one("Deployment", "llama-swap"))
        cfg = yaml.safe_load(seed_plan.one("ConfigMap", "llama-swap-config")["data"]["config.yaml"])
        assert all("--metrics" in m["cmd"] for m in cfg["models"].values())
        assert swap["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]


class TestLiteLLMPrometheusCallback:
    def test_callback_and_open_metrics_rendered(self, dev_plan):
        conf = yaml.safe_load(dev_plan.one("ConfigMap", "litellm-config")["data"]["config.yaml"])
        settings = conf["litellm_settings"]
        assert "prometheus" in settings["callbacks"]
        assert any(c.endswith(".availability") for c in settings["callbacks"]), "the hook stays"
        assert settings["require_auth_for_metrics_endpoint"] is False

    def test_no_scrape_no_callback(self):
        plan = render(observability={"scrape": "none"})
        conf = yaml.safe_load(plan.one("ConfigMap", "litellm-config")["data"]["config.yaml"])
        assert "prometheus" not in conf["litellm_settings"]["callbacks"]
        assert "require_auth_for_metrics_endpoint" not in conf["litellm_settings"]
        assert not plan.find("PodMonitoring") and not plan.find("ServiceMonitor")


class TestServiceMonitorOption:
    @pytest.fixture(scope="class")
    def sm_plan(self):
        return render(
            observability={
                "scrape": "servicemonitor",
                "interval": "1m",
                "prometheusNamespace": "monitoring",
                "serviceMonitorLabels": {"release": "kube-prometheus-stack"},
            }
        )

    def test_selects_each_service_on_its_named_port(self, sm_plan):
        assert not sm_plan.find("PodMonitoring") and not sm_plan.find("Role", "gmp-collector-secrets")
        for d in scraped_workloads(sm_plan):
            ns, name = d["metadata"]["namespace"], d["metadata"]["name"]
            svc = sm_plan.one("Service", name, ns)
            sm = sm_plan.one("ServiceMonitor", name, ns)
            assert sm["apiVersion"] == "monitoring.coreos.com/v1"
            assert selector_matches(sm["spec"]["selector"], svc["metadata"]["labels"])
            assert sm["spec"]["namespaceSelector"] == {"matchNames": [ns]}
            assert sm["metadata"]["labels"]["release"] == "kube-prometheus-stack"
            (endpoint,) = sm["spec"]["endpoints"]
            assert endpoint["port"] in {p["name"] for p in svc["spec"]["ports"]}
            assert endpoint["path"] == "/metrics" and endpoint["interval"] == "1m"
            assert endpoint["scrapeTimeout"] == "10s"
            # The Service's named port leads to the container port the pod serves on.
            (svc_port,) = [p for p in svc["spec"]["ports"] if p["name"] == endpoint["port"]]
            assert svc_port["targetPort"] in {p["name"] for p in server_container(d)["ports"]}

    def test_llama_server_auth_is_a_secret_key_selector(self, sm_plan):
        (endpoint,) = sm_plan.one("ServiceMonitor", "llama-embeddings", "serving")["spec"]["endpoints"]
        assert endpoint["authorization"] == {
            "type": "Bearer",
            "credentials": {"name": "vllm-api-key", "key": "api-key"},
        }
        (plain,) = sm_plan.one("ServiceMonitor", "coder-chat", "serving")["spec"]["endpoints"]
        assert "authorization" not in plain

    def test_scrape_defaults_to_none_off_gke(self):
        raw = copy.deepcopy(raw_config("dev"))
        raw["cluster"] = {"name": "kind", "target": "kubeconfig"}
        raw["gateway"]["database"]["backup"] = {"enabled": False}  # GCS over Workload Identity needs GKE
        raw["nodePools"][0].update(managed=False, vramGiB=24)
        assert parse_config(raw).scrape_mode() == "none", "a kind/minikube cluster has no GMP CRDs"
        plan = plan_for(raw)
        assert not plan.find("PodMonitoring") and not plan.find("ServiceMonitor")
        raw["observability"] = {"scrape": "podmonitoring"}  # GMP installed by hand: explicit opt-in
        assert plan_for(raw).find("PodMonitoring")


class TestObservabilityConfigIsValidated:
    @pytest.mark.parametrize(
        "obs, where",
        [
            ({"scrape": "prometheus"}, "observability.scrape"),
            ({"interval": "30"}, "observability.interval"),
            ({"interval": "1s"}, "observability.interval"),
            ({"interval": "2h"}, "observability.interval"),
            ({"prometheusNamespace": "monitoring"}, "observability.prometheusNamespace"),
            (
                {"scrape": "servicemonitor", "serviceMonitorLabels": {"bad key!": "x"}},
                "observability.serviceMonitorLabels",
            ),
        ],
    )
    def test_bad_config_names_the_key(self, obs, where):
        raw = raw_config("dev")
        raw["observability"] = obs
        with pytest.raises(ConfigError) as exc:
            parse_config(raw)
        assert any(line.startswith(where) for line in exc.value.lines), exc.value.lines


class TestReadinessReflectsRealServing:
    def test_every_model_is_ready_only_when_v1_models_answers(self, dev_plan, seed_plan):
        for plan in (dev_plan, seed_plan):
            for d in [
                d for d in plan.find("Deployment") if d["metadata"]["labels"]["app.kubernetes.io/component"] == "model"
            ]:
                container = server_container(d)
                probe = container["readinessProbe"]
                target = probe.get("httpGet", {}).get("path") or " ".join(probe["exec"]["command"])
                assert "/v1/models" in target, d["metadata"]["name"]
                assert container["livenessProbe"] != probe, "liveness stays a separate, cheaper check"
                assert "startupProbe" in container, "readiness waits for the model load"


class TestOperatorOutputs:
    def test_outputs_present(self, dev_plan):
        out = dev_plan.outputs
        assert out["namespaces"] == {"serving": "serving", "gateway": "litellm", "frontends": "experience"}
        assert out["modelServices"]["coder-chat"] == {
            "service": "coder-chat.serving.svc.cluster.local",
            "port": 8000,
            "deployment": "serving/coder-chat",
        }
        assert out["modelServices"]["embeddings"]["service"] == "llama-embeddings.serving.svc.cluster.local"
        assert out["gatewayService"]["url"] == out["gatewayUrl"]
        assert out["keySecrets"]["tabby"] == "experience/litellm-key-tabby (key api-key)"
        assert out["database"]["cluster"] == "litellm/litellm-db"
        assert out["database"]["appSecret"].startswith("litellm/litellm-db-credentials")
        smoke_job = next(j for j in dev_plan.find("Job") if j["metadata"]["name"].startswith("smoke-test-"))
        assert out["jobs"]["smokeTest"]["logs"] == f"kubectl -n litellm logs job/{smoke_job['metadata']['name']}"
        assert out["metrics"]["scrape"] == "podmonitoring"
        assert (
            out["metrics"]["endpoints"]["coder-chat"]["url"]
            == "http://coder-chat.serving.svc.cluster.local:8000/metrics"
        )
        assert out["networkPolicies"]["namespaces"] == ["serving", "litellm", "experience"]

    def test_every_model_has_a_service_output(self, dev_plan):
        services = {svc["metadata"]["name"] for svc in dev_plan.find("Service")}
        for name, entry in dev_plan.outputs["modelServices"].items():
            assert entry["service"].split(".")[0] in services, name

    def test_outputs_hold_no_secret_value(self, dev_plan):
        text = yaml.safe_dump(dev_plan.outputs)
        assert dev_plan.generated_secrets and not any(s in text for s in dev_plan.generated_secrets)
        operator = (
            "namespaces",
            "modelServices",
            "gatewayService",
            "keySecrets",
            "database",
            "jobs",
            "metrics",
            "networkPolicies",
        )
        for key in operator:
            assert "<secret>" not in yaml.safe_dump(dev_plan.outputs[key]), f"{key} must not be a secret output"
        assert dev_plan.outputs["masterKey"] == "<secret>"


class TestPostgresMetricsAreScraped:
    """CNPG's exporter (port `metrics`, 9187, on every instance pod) is scraped, and its policy admits the scraper:
    a database that fills up shows in its metrics before it stops."""

    INSTANCE: ClassVar[dict[str, str]] = {"cnpg.io/cluster": "litellm-db", "cnpg.io/podRole": "instance"}

    def test_podmonitoring_selects_the_instance_pods_on_the_exporter_port(self, dev_plan):
        pm = dev_plan.one("PodMonitoring", "litellm-db", "litellm")
        assert selector_matches(pm["spec"]["selector"], self.INSTANCE)
        assert not selector_matches(pm["spec"]["selector"], {"cnpg.io/cluster": "litellm-db", "job-name": "x"})
        (endpoint,) = pm["spec"]["endpoints"]
        assert endpoint["port"] == "metrics" and endpoint["path"] == "/metrics"

    def test_the_database_ingress_admits_the_scraper_on_9187_only(self, dev_plan):
        pol = dev_plan.one("NetworkPolicy", "litellm-db-ingress", "litellm")
        rules = [r for r in pol["spec"]["ingress"] if {"protocol": "TCP", "port": 9187} in r["ports"]]
        assert len(rules) == 1 and rules[0]["ports"] == [{"protocol": "TCP", "port": 9187}]
        (peer,) = rules[0]["from"]
        assert set(peer["namespaceSelector"]["matchExpressions"][0]["values"]) == {"gmp-system", "gke-gmp-system"}

    def test_servicemonitor_mode_uses_a_podmonitor(self):
        plan = render(observability={"scrape": "servicemonitor", "prometheusNamespace": "monitoring"})
        pm = plan.one("PodMonitor", "litellm-db", "litellm")
        assert pm["apiVersion"] == "monitoring.coreos.com/v1"
        assert selector_matches(pm["spec"]["selector"], self.INSTANCE)
        assert pm["spec"]["namespaceSelector"] == {"matchNames": ["litellm"]}
        assert pm["spec"]["podMetricsEndpoints"][0]["port"] == "metrics"

    def test_no_cnpg_cluster_no_scrape(self):
        raw = copy.deepcopy(raw_config("dev"))
        raw["gateway"]["database"] = {"mode": "existing", "urlSecret": {"name": "db", "key": "url"}}
        plan = plan_for(raw)
        assert not plan.find("Cluster")
        assert not plan.find("PodMonitoring", "litellm-db") and not plan.find("NetworkPolicy", "litellm-db-ingress")
