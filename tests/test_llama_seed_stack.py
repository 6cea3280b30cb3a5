"""The whole program on examples/Pulumi.llama-seed.yaml (seed 003's target state), and its render CLI."""

import subprocess
import sys
from urllib.parse import urlparse

import pytest
import yaml

from tests.conftest import ROOT, plan_for
from tests.llama_seed import SEED_FILE, seed_plan, seed_raw, swap_config

NAMES = ["GLM-4.7-Flash", "Qwen3-Coder-30B-A3B", "DeepSeek-R1-Distill-Qwen-14B", "Llama-3.1-8B-Instruct"]


@pytest.fixture(scope="module")
def plan():
    return seed_plan()


def model_list(plan) -> list[dict]:
    return yaml.safe_load(plan.one("ConfigMap", "litellm-config")["data"]["config.yaml"])["model_list"]


class TestSeedTargetState:
    def test_three_backends_on_three_role_labelled_pools(self, plan):
        pools = {i["name"]: i["nodeConfig"]["labels"]["ai.llm.role"] for t, _, i in plan.gcp if t.endswith("NodePool")}
        assert pools == {"static-a": "static-a", "static-b": "static-b", "swap": "swap"}
        deps = {d["metadata"]["name"] for d in plan.find("Deployment", namespace="serving")}
        assert deps == {"llama-static-a", "llama-static-b", "llama-swap"}
        assert {s["metadata"]["name"] for s in plan.find("Service", namespace="serving")} == deps

    def test_one_gpu_per_backend(self, plan):
        assert plan.outputs["gpusRequested"] == {"static-a": 1, "static-b": 1, "swap": 1}

    def test_images_never_latest(self, plan):
        for d in [*plan.find("Deployment", namespace="serving"), *plan.find("Job", namespace="serving")]:
            p = d["spec"]["template"]["spec"]
            for c in p["containers"] + p.get("initContainers", []):
                assert ":" in c["image"].rsplit("/", 1)[-1] and not c["image"].endswith(":latest"), c["image"]

    def test_swap_pool_serves_the_two_swap_models(self, plan):
        assert list(swap_config(plan)["models"]) == NAMES[2:]


class TestRoutingWithTransparentNames:
    def test_model_list_is_exactly_the_declared_names(self, plan):
        assert [e["model_name"] for e in model_list(plan)] == NAMES

    def test_static_names_to_their_service_others_to_llama_swap(self, plan):
        routes = {e["model_name"]: e["litellm_params"] for e in model_list(plan)}
        hosts = {n: urlparse(p["api_base"]) for n, p in routes.items()}
        assert {n: u.hostname for n, u in hosts.items()} == {
            "GLM-4.7-Flash": "llama-static-a.serving.svc.cluster.local",
            "Qwen3-Coder-30B-A3B": "llama-static-b.serving.svc.cluster.local",
            "DeepSeek-R1-Distill-Qwen-14B": "llama-swap.serving.svc.cluster.local",
            "Llama-3.1-8B-Instruct": "llama-swap.serving.svc.cluster.local",
        }
        for name, params in routes.items():
            assert hosts[name].port == 8080 and hosts[name].path == "/v1"
            # the upstream sees the same transparent name: llama-swap routes on it, llama-server reports it
            assert params["model"] == f"openai/{name}"
            assert params["api_key"] == "os.environ/UPSTREAM_API_KEY"

    def test_model_endpoints_output(self, plan):
        eps = plan.outputs["modelEndpoints"]
        assert set(eps) == set(NAMES)
        assert eps["GLM-4.7-Flash"] == "http://llama-static-a.serving.svc.cluster.local:8080/v1"
        assert (
            eps["Llama-3.1-8B-Instruct"]
            == eps["DeepSeek-R1-Distill-Qwen-14B"]
            == "http://llama-swap.serving.svc.cluster.local:8080/v1"
        )

    def test_unregistered_name_is_not_routed(self):
        raw = seed_raw()
        raw["models"][3]["registerInGateway"] = False
        names = [e["model_name"] for e in model_list(plan_for(raw))]
        assert names == NAMES[:3]


class TestUnmanagedPools:
    def test_amd_pool_is_not_a_gke_pool(self):
        raw = seed_raw()
        raw["nodePools"][0].update(gpuResource="amd.com/gpu", managed=False, vramGiB=24)
        p = plan_for(raw)
        assert sorted(i["name"] for t, _, i in p.gcp if t.endswith("NodePool")) == ["static-b", "swap"]
        c = p.one("Deployment", "llama-static-a")["spec"]["template"]["spec"]["containers"][0]
        assert c["resources"]["limits"]["amd.com/gpu"] == "1" and "server-rocm-" in c["image"]
        assert p.outputs["gpusRequested"]["static-a"] == 1

    def test_amd_variant_passes_strict_schema(self):
        import kubernetes_validate

        from tests.test_k8s_schema import K8S_VERSION, builtin

        raw = seed_raw()
        for pool in raw["nodePools"]:
            pool.update(gpuResource="amd.com/gpu", managed=False, vramGiB=24)
        p = plan_for(raw)
        assert not [t for t, _, _ in p.gcp if t.startswith("gcp:container/")], "no GKE pool for unmanaged nodes"
        for m in filter(builtin, p.k8s):
            kubernetes_validate.validate(m, K8S_VERSION, strict=True)


class TestRenderCli:
    def run(self, *args):
        return subprocess.run(
            [sys.executable, "render.py", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
        )

    def test_renders_the_seed_stack(self, tmp_path):
        res = self.run("--stack-file", str(SEED_FILE.relative_to(ROOT)), "--out", str(tmp_path))
        assert res.returncode == 0, res.stderr
        for name in ("llama-static-a", "llama-static-b", "llama-swap"):
            assert f"{name}" in res.stdout and (tmp_path / "k8s" / f"serving--deployment--{name}.yaml").is_file()
        assert "pool swap" in res.stdout and "role swap" in res.stdout
        conf = yaml.safe_load((tmp_path / "k8s" / "serving--configmap--llama-swap-config.yaml").read_text())
        assert "DeepSeek-R1-Distill-Qwen-14B" in yaml.safe_load(conf["data"]["config.yaml"])["models"]

    def test_bad_llama_config_exits_2_naming_the_key(self, tmp_path):
        doc = yaml.safe_load(SEED_FILE.read_text())
        doc["config"]["llm-platform:models"][1]["pool"] = "static-a"
        bad = tmp_path / "Pulumi.bad.yaml"
        bad.write_text(yaml.safe_dump(doc))
        res = self.run("--stack-file", str(bad), "--out", str(tmp_path / "out"))
        assert res.returncode == 2
        assert "models[1].pool: pool 'static-a'" in res.stderr and "Traceback" not in res.stderr + res.stdout


class TestExistingClusterWithLabelledNodes:
    """The seed's own setting: an existing cluster whose AMD GPU nodes carry ai.llm.role labels."""

    def test_unmanaged_pools_on_a_kubeconfig_target(self):
        raw = seed_raw()
        raw["cluster"] = {"target": "kubeconfig", "name": "homelab"}
        raw["gateway"]["database"]["backup"] = {"enabled": False}  # GCS over Workload Identity needs GKE
        for pool in raw["nodePools"]:
            pool.update(gpuResource="amd.com/gpu", managed=False, vramGiB=24)
        p = plan_for(raw)
        assert not p.gcp
        assert {d["metadata"]["name"] for d in p.find("Deployment", namespace="serving")} == {
            "llama-static-a",
            "llama-static-b",
            "llama-swap",
        }

    def test_managed_pools_still_need_gke(self):
        from models import ConfigError, parse_config

        raw = seed_raw()
        raw["cluster"] = {"target": "kubeconfig", "name": "homelab"}
        with pytest.raises(ConfigError, match="set managed: false for existing labelled nodes"):
            parse_config(raw)
