"""LlamaCppServer and LlamaSwapPool under Pulumi's mocks: what each declares, read from the mock's inputs."""

import json

import pytest
import yaml
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from models import parse_config
from offline.mocks import unwrap
from tests.llama_seed import seed_raw

# Component tests run under fresh mocks (tests/conftest.py `capture`), one per test.
pytestmark = pytest.mark.usefixtures("capture")


@pytest.fixture
def seed():
    return seed_raw()


def declare(fn):
    _sync_await(run_pulumi_func(fn))


def objects(cap) -> dict[tuple[str, str], dict]:
    out = {}
    for r in cap.resources:
        m = unwrap(r.inputs)
        if r.type.startswith("kubernetes:") and "kind" in m:
            out[(m["kind"], m["metadata"]["name"])] = m
    return out


def static(cap, raw, index=0):
    from components.llamacpp_server import LlamaCppServer

    cfg = parse_config(raw)
    got = {}

    def prog():
        s = LlamaCppServer("s", cfg.models[index], platform=cfg)
        s.endpoint.apply(lambda v: got.setdefault("endpoint", v))

    declare(prog)
    return objects(cap), got


def swap(cap, raw):
    from components.llama_swap_pool import LlamaSwapPool

    cfg = parse_config(raw)
    declare(lambda: LlamaSwapPool("p", cfg))
    return objects(cap)


def pod(objs, name):
    return objs[("Deployment", name)]["spec"]["template"]["spec"]


def stage_pod(objs, deployment):
    """The weight-stage Job's pod of a GPU backend (components/manifests/gguf_stage.py)."""
    (job,) = [m for (kind, n), m in objs.items() if kind == "Job" and n.startswith(f"{deployment}-stage-")]
    return job["spec"]["template"]["spec"]


def container(objs, name):
    (c,) = pod(objs, name)["containers"]
    return c


BACKENDS = [("static", "llama-static-a"), ("swap", "llama-swap")]


def backend(cap, raw, kind):
    return static(cap, raw)[0] if kind == "static" else swap(cap, raw)


class TestStaticServer:
    def test_declares_pvc_configmap_deployment_service(self, capture, seed):
        objs, got = static(capture, seed)
        jobs = {n.rsplit("-", 1)[0] for kind, n in objs if kind == "Job"}
        assert set(objs) - {k for k in objs if k[0] == "Job"} == {
            ("PersistentVolumeClaim", "llama-static-a-cache"),
            ("ConfigMap", "llama-static-a-gguf"),
            ("Deployment", "llama-static-a"),
            ("Service", "llama-static-a"),
        }
        assert jobs == {"llama-static-a-release", "llama-static-a-stage"}
        assert objs[("Service", "llama-static-a")]["spec"]["ports"] == [
            {"name": "http", "port": 8080, "targetPort": "http", "protocol": "TCP"}
        ]
        assert got["endpoint"] == "http://llama-static-a.serving.svc.cluster.local:8080/v1"
        assert objs[("PersistentVolumeClaim", "llama-static-a-cache")]["spec"]["storageClassName"] == "premium-rwo"

    def test_pinned_server_with_alias_and_staged_model(self, capture, seed):
        objs, _ = static(capture, seed)
        c = container(objs, "llama-static-a")
        assert c["image"] == "ghcr.io/ggml-org/llama.cpp:server-cuda-b10775" and c["command"] == ["/app/llama-server"]
        assert c["args"][:4] == ["--model", "/models/weights/model.gguf", "--alias", "GLM-4.7-Flash"]
        assert {"name": "model-cache", "mountPath": "/models", "readOnly": True} in c["volumeMounts"]

    def test_a_cpu_job_stages_the_gguf_offline_first_before_the_gpu_pod(self, capture, seed):
        objs, _ = static(capture, seed)
        assert "initContainers" not in pod(objs, "llama-static-a"), "nothing stages on the GPU node"
        stage = stage_pod(objs, "llama-static-a")
        (init,) = stage["containers"]
        terms = stage["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
        assert {"key": "ai.llm.role", "operator": "DoesNotExist"} in terms[0]["matchExpressions"]
        assert "tolerations" not in stage
        assert init["command"] == ["python3", "/opt/llm-platform/fetch_gguf.py", "/opt/llm-platform/models.json"]
        env = {e["name"]: e for e in init["env"]}
        assert env["HF_HOME"]["value"] == "/models/hf" and "HF_HUB_OFFLINE" not in env, "a cold cache pulls once"
        assert env["HF_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": "hf-token", "key": "HF_TOKEN", "optional": True}
        catalog = json.loads(objs[("ConfigMap", "llama-static-a-gguf")]["data"]["models.json"])
        assert catalog == [
            {
                "name": "GLM-4.7-Flash",
                "repo": "unsloth/GLM-4.7-Flash-GGUF",
                "quant": "Q4_K_M",
                "link": "/models/weights/model.gguf",
            }
        ]

    def test_upstream_key_from_the_shared_secret(self, capture, seed):
        objs, _ = static(capture, seed)
        (env,) = container(objs, "llama-static-a")["env"]
        assert env == {
            "name": "LLAMA_API_KEY",
            "valueFrom": {"secretKeyRef": {"name": "vllm-api-key", "key": "api-key"}},
        }

    def test_scale_to_zero(self, capture, seed):
        seed["scaleToZero"] = True
        objs, _ = static(capture, seed)
        assert objs[("Deployment", "llama-static-a")]["spec"]["replicas"] == 0


@pytest.mark.parametrize("kind,name", BACKENDS)
class TestStaticPlacement:
    def test_required_node_affinity_on_the_role(self, capture, seed, kind, name):
        role = "static-a" if kind == "static" else "swap"
        p = pod(backend(capture, seed, kind), name)
        terms = p["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
        assert terms == [{"matchExpressions": [{"key": "ai.llm.role", "operator": "In", "values": [role]}]}]
        assert "preferredDuringSchedulingIgnoredDuringExecution" not in p["affinity"]["nodeAffinity"]

    def test_recreate_and_no_service_links(self, capture, seed, kind, name):
        objs = backend(capture, seed, kind)
        assert objs[("Deployment", name)]["spec"]["strategy"] == {"type": "Recreate"}
        assert pod(objs, name)["enableServiceLinks"] is False


@pytest.mark.parametrize("kind,name", BACKENDS)
class TestGpuResource:
    def test_exactly_one_gpu_of_the_pool_resource(self, capture, seed, kind, name):
        objs = backend(capture, seed, kind)
        res = container(objs, name)["resources"]
        assert res["limits"]["nvidia.com/gpu"] == res["requests"]["nvidia.com/gpu"] == "1"
        assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod(objs, name)["tolerations"]

    def test_amd_pool_gets_amd_gpu_rocm_image_and_root(self, capture, seed, kind, name):
        i = 0 if kind == "static" else 2
        seed["nodePools"][i].update(gpuResource="amd.com/gpu", managed=False, vramGiB=24)
        objs = backend(capture, seed, kind)
        c, p = container(objs, name), pod(objs, name)
        assert c["resources"]["limits"] == {"memory": "27Gi", "amd.com/gpu": "1"}  # no CPU limit on a GPU node
        assert "nvidia.com/gpu" not in c["resources"]["requests"]
        assert p["tolerations"] == [{"key": "amd.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
        assert "-rocm-" in c["image"]
        (init,) = stage_pod(objs, name)["containers"]
        assert init["image"] == "ghcr.io/ggml-org/llama.cpp:full-b10775", "AMD backends fetch with the CPU full image"
        assert "runAsUser" not in p["securityContext"] and "runAsNonRoot" not in c["securityContext"]

    def test_nvidia_pods_run_as_non_root(self, capture, seed, kind, name):
        objs = backend(capture, seed, kind)
        p, c = pod(objs, name), container(objs, name)
        assert p["securityContext"]["runAsUser"] == 10001 and p["securityContext"]["fsGroup"] == 10001
        assert c["securityContext"]["readOnlyRootFilesystem"] is True
        assert c["securityContext"]["capabilities"] == {"drop": ["ALL"]}

    def test_memory_within_the_node(self, capture, seed, kind, name):
        res = container(backend(capture, seed, kind), name)["resources"]
        req, lim = (int(res[k]["memory"].removesuffix("Gi")) for k in ("requests", "limits"))
        weights = 17.1 if kind == "static" else 8.4
        assert weights < req <= lim < 28.34


@pytest.mark.parametrize("kind,name", BACKENDS)
class TestGracePeriod:
    def test_at_least_sixty_seconds(self, capture, seed, kind, name):
        assert pod(backend(capture, seed, kind), name)["terminationGracePeriodSeconds"] >= 60


@pytest.mark.parametrize("kind,name", BACKENDS)
class TestProbes:
    def test_startup_readiness_liveness(self, capture, seed, kind, name):
        c = container(backend(capture, seed, kind), name)
        assert c["startupProbe"]["httpGet"] == {"path": "/health", "port": "http"}
        assert c["readinessProbe"]["httpGet"] == {"path": "/v1/models", "port": "http"}
        assert c["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
        assert c["livenessProbe"]["failureThreshold"] * c["livenessProbe"]["periodSeconds"] >= 60

    def test_startup_budget(self, capture, seed, kind, name):
        s = container(backend(capture, seed, kind), name)["startupProbe"]
        # a static server loads its GGUF at start (minutes from a PVC); llama-swap itself starts in seconds
        assert s["failureThreshold"] * s["periodSeconds"] >= (1200 if kind == "static" else 300)


class TestSwapPool:
    def test_declares_config_cache_deployment_service(self, capture, seed):
        objs = swap(capture, seed)
        assert set(objs) - {k for k in objs if k[0] == "Job"} == {
            ("PersistentVolumeClaim", "llama-swap-cache"),
            ("ConfigMap", "llama-swap-config"),
            ("ConfigMap", "llama-swap-gguf"),
            ("Deployment", "llama-swap"),
            ("Service", "llama-swap"),
        }
        assert {n.rsplit("-", 1)[0] for kind, n in objs if kind == "Job"} == {"llama-swap-release", "llama-swap-stage"}
        assert objs[("PersistentVolumeClaim", "llama-swap-cache")]["spec"]["resources"]["requests"]["storage"] == "30Gi"
        assert objs[("Service", "llama-swap")]["spec"]["ports"][0]["port"] == 8080

    def test_config_mounted_where_the_image_reads_it(self, capture, seed):
        objs = swap(capture, seed)
        c = container(objs, "llama-swap")
        assert c["image"] == "ghcr.io/mostlygeek/llama-swap:v252-cuda-b10775-non-root"
        assert c["command"][:3] == ["/app/llama-swap", "-config", "/app/config.yaml"]
        assert {"name": "config", "mountPath": "/app/config.yaml", "subPath": "config.yaml", "readOnly": True} in c[
            "volumeMounts"
        ]
        assert {"name": "config", "configMap": {"name": "llama-swap-config"}} in pod(objs, "llama-swap")["volumes"]
        conf = yaml.safe_load(objs[("ConfigMap", "llama-swap-config")]["data"]["config.yaml"])
        assert list(conf["models"]) == ["DeepSeek-R1-Distill-Qwen-14B", "Llama-3.1-8B-Instruct"]

    def test_key_inherited_by_every_swapped_in_server(self, capture, seed):
        objs = swap(capture, seed)
        (env,) = container(objs, "llama-swap")["env"]
        assert env["name"] == "LLAMA_API_KEY" and env["valueFrom"]["secretKeyRef"]["name"] == "vllm-api-key"

    def test_all_swap_ggufs_staged_before_llama_swap_starts(self, capture, seed):
        objs = swap(capture, seed)
        assert "initContainers" not in pod(objs, "llama-swap")
        (init,) = stage_pod(objs, "llama-swap")["containers"]
        assert init["name"] == "fetch-gguf"
        catalog = json.loads(objs[("ConfigMap", "llama-swap-gguf")]["data"]["models.json"])
        assert [(e["name"], e["link"]) for e in catalog] == [
            ("DeepSeek-R1-Distill-Qwen-14B", "/models/weights/DeepSeek-R1-Distill-Qwen-14B.gguf"),
            ("Llama-3.1-8B-Instruct", "/models/weights/Llama-3.1-8B-Instruct.gguf"),
        ]

    def test_config_change_rolls_the_pod(self, capture, seed):
        first = swap(capture, seed)[("Deployment", "llama-swap")]["spec"]["template"]["metadata"]["annotations"]
        capture.resources.clear()
        seed["swap"]["ttl"] = 60
        second = swap(capture, seed)[("Deployment", "llama-swap")]["spec"]["template"]["metadata"]["annotations"]
        assert first["llm-platform/config-checksum"] != second["llm-platform/config-checksum"]
        assert second["llm-platform/served-models"] == "DeepSeek-R1-Distill-Qwen-14B,Llama-3.1-8B-Instruct"

    def test_scale_to_zero(self, capture, seed):
        seed["scaleToZero"] = True
        assert swap(capture, seed)[("Deployment", "llama-swap")]["spec"]["replicas"] == 0
