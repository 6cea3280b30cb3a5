"""Each component under an autouse mocks fixture: what it declares, read from the mock's inputs."""

import pytest
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from models import parse_config
from offline.mocks import unwrap

# Component tests run under fresh mocks (tests/conftest.py `capture`), one per test.
pytestmark = pytest.mark.usefixtures("capture")


def declare(fn):
    _sync_await(run_pulumi_func(fn))


def by_type(cap, suffix):
    return [
        unwrap(r.inputs)
        for r in cap.resources
        if r.type.startswith(("gcp:", "kubernetes:")) and r.type.endswith(suffix)
    ]


class TestGpuNodePool:
    def test_declares_l4_pool(self, capture, dev_raw):
        from components.gpu_node_pool import GpuNodePool

        cfg = parse_config(dev_raw)
        declare(lambda: GpuNodePool("p", cfg.node_pools[0], cluster="ai-dev", location="us-central1", min_nodes=0))
        (pool,) = by_type(capture, "NodePool")
        nc = pool["nodeConfig"]
        assert nc["guestAccelerators"] == [
            {"type": "nvidia-l4", "count": 1, "gpuDriverInstallationConfig": {"gpuDriverVersion": "DEFAULT"}}
        ]
        assert nc["machineType"] == "g2-standard-8" and nc["spot"] is True
        # Totals, in the pool's one zone: GKE's min/maxNodeCount would count per zone.
        assert pool["autoscaling"] == {"totalMinNodeCount": 0, "totalMaxNodeCount": 1}
        assert pool["nodeLocations"] == ["us-central1-a"]
        assert nc["labels"] == {"ai.llm.role": "coder"}
        assert {"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"} in nc["taints"]
        assert nc["workloadMetadataConfig"] == {"mode": "GKE_METADATA"}
        assert pool["name"] == "l4-coder" and pool["cluster"] == "ai-dev"

    def test_custom_timeouts_for_slow_gpu_nodes(self):
        from components.gpu_node_pool import POOL_TIMEOUTS

        assert POOL_TIMEOUTS.create and int(POOL_TIMEOUTS.create.rstrip("m")) >= 30


class TestVllmModel:
    def run(self, capture, dev_raw, index=0, **top):
        from components.vllm_model import VllmModel

        dev_raw.update(top)
        cfg = parse_config(dev_raw)
        declare(lambda: VllmModel("m", cfg.models[index], platform=cfg))
        out = {}
        for m in (unwrap(r.inputs) for r in capture.resources):
            if isinstance(m, dict) and "kind" in m and m["kind"] != "ConfigMap":
                step = m["metadata"]["name"].split("-")[-2] if m["kind"] == "Job" else ""
                out[f"Job:{step}" if step else m["kind"]] = m
        return out

    def test_seed_contract(self, capture, dev_raw):
        objs = self.run(capture, dev_raw)
        pvc, dep, svc = objs["PersistentVolumeClaim"], objs["Deployment"], objs["Service"]
        assert pvc["spec"]["accessModes"] == ["ReadWriteOnce"]
        assert pvc["spec"]["resources"]["requests"]["storage"] == "20Gi"
        assert dep["spec"]["strategy"] == {"type": "Recreate"}
        pod = dep["spec"]["template"]["spec"]
        assert pod["enableServiceLinks"] is False
        assert pod["nodeSelector"] == {"ai.llm.role": "coder"}
        assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod["tolerations"]
        (server,) = pod["containers"]
        assert server["image"].startswith("vllm/vllm-openai:v")
        env = {e["name"]: e for e in server["env"]}
        assert env["HF_HUB_OFFLINE"]["value"] == "1" and env["TRANSFORMERS_OFFLINE"]["value"] == "1"
        assert env["VLLM_API_KEY"]["valueFrom"]["secretKeyRef"] == {"name": "vllm-api-key", "key": "api-key"}
        assert server["resources"]["limits"]["nvidia.com/gpu"] == "1"
        assert server["readinessProbe"]["exec"]["command"][:2] == ["python3", "-c"]
        assert "/v1/models" in server["readinessProbe"]["exec"]["command"][2]
        assert server["startupProbe"]["failureThreshold"] * server["startupProbe"]["periodSeconds"] >= 1200
        assert any(v.get("emptyDir", {}).get("medium") == "Memory" for v in pod["volumes"])
        assert {"name": "shm", "mountPath": "/dev/shm"} in server["volumeMounts"]
        assert "initContainers" not in pod, "weights are staged by a CPU Job, never while holding a GPU node"
        assert env["VLLM_CACHE_ROOT"]["value"].startswith("/models/"), "compile caches survive on the PVC"
        stage = objs["Job:stage"]["spec"]["template"]["spec"]
        (init,) = stage["containers"]
        ienv = {e["name"]: e for e in init["env"]}
        assert ienv["MODEL_ID"]["value"] == "Qwen/Qwen2.5-Coder-7B-Instruct-AWQ"
        assert ienv["HF_TOKEN"]["valueFrom"]["secretKeyRef"]["optional"] is True
        assert "HF_HUB_OFFLINE" not in ienv, "a cold cache must be able to pull once"
        assert stage["volumes"][0]["persistentVolumeClaim"]["claimName"] == pvc["metadata"]["name"]
        assert svc["spec"]["ports"] == [{"name": "http", "port": 8000, "targetPort": "http", "protocol": "TCP"}]

    def test_replicas_follow_spec(self, capture, dev_raw):
        assert self.run(capture, dev_raw)["Deployment"]["spec"]["replicas"] == 1

    def test_scale_to_zero_overrides(self, capture, dev_raw):
        assert self.run(capture, dev_raw, scaleToZero=True)["Deployment"]["spec"]["replicas"] == 0

    def test_tensor_parallel_requests_that_many_gpus(self, capture, dev_raw):
        dev_raw["nodePools"][0]["machineType"] = "g2-standard-24"
        dev_raw["models"][0]["tensorParallelSize"] = 2
        pod = self.run(capture, dev_raw)["Deployment"]["spec"]["template"]["spec"]
        assert pod["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "2"


class TestLiteLLMGateway:
    def test_keys_config_and_probes(self, capture, dev_raw):
        import yaml

        from components.gateway import LiteLLMGateway

        cfg = parse_config(dev_raw)
        declare(lambda: LiteLLMGateway("gw", cfg))
        objs = [unwrap(r.inputs) for r in capture.resources if r.type.startswith("kubernetes:")]
        secrets = {(o["metadata"]["namespace"], o["metadata"]["name"]): o for o in objs if o["kind"] == "Secret"}
        assert set(secrets) == {
            ("litellm", "litellm-secrets"),
            ("litellm", "litellm-salt-key"),
            ("serving", "vllm-api-key"),
        }
        assert secrets[("litellm", "litellm-secrets")]["stringData"] == {
            "LITELLM_MASTER_KEY": "<secret>",
            "UPSTREAM_API_KEY": "<secret>",
            "DRAIN_ENDPOINT_TOKEN": "<secret>",
        }
        (cm,) = [o for o in objs if o["kind"] == "ConfigMap"]
        conf = yaml.safe_load(cm["data"]["config.yaml"])
        entry = conf["model_list"][0]
        assert entry["model_name"] == "coder-chat"
        assert entry["litellm_params"] == {
            "model": "openai/qwen2.5-coder-7b-instruct",
            "api_base": "http://coder-chat.serving.svc.cluster.local:8000/v1",
            "api_key": "os.environ/UPSTREAM_API_KEY",
            "input_cost_per_token": 5e-07,
            "output_cost_per_token": 1.5e-06,
            "num_retries": 1,  # dev's pool is spot and gateway.numRetries is unset (tests/test_spot_retries.py)
        }
        (dep,) = [o for o in objs if o["kind"] == "Deployment"]
        c = dep["spec"]["template"]["spec"]["containers"][0]
        assert c["livenessProbe"]["httpGet"]["path"] == "/health/liveliness"
        # Not /health/readiness, which fails on every pod while the database is down (test_gateway_day2_litellm.py)
        assert c["readinessProbe"]["httpGet"]["path"] == "/health/liveliness"
        assert ":latest" not in c["image"] and ":" in c["image"]

    def test_master_key_is_sk_prefixed_random(self, capture, dev_raw):
        from components.gateway import LiteLLMGateway

        cfg = parse_config(dev_raw)
        got = {}

        def prog():
            gw = LiteLLMGateway("gw", cfg)
            gw.master_key.apply(lambda v: got.setdefault("key", v))

        declare(prog)
        (pw,) = [r for r in capture.resources if r.type.endswith("RandomPassword") and "master" in r.name]
        assert got["key"].startswith("sk-") and len(got["key"]) == 3 + int(pw.inputs["length"])
