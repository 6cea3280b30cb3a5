"""The `local` stack: an existing kube context, no GCP, no GPU, one CPU llama.cpp model behind the gateway."""

import pytest

from models import parse_config
from offline.mocks import run_program
from offline.plan import pod_spec, requested_gpus, to_plan
from tests.conftest import raw_config, stack_values


@pytest.fixture(scope="module")
def local_plan():
    return to_plan(run_program(stack_values("local"), "local"))


class TestLocalStackNeedsNoCloud:
    def test_no_gcp_and_no_gpu(self, local_plan):
        assert local_plan.gcp == []
        assert requested_gpus(local_plan.k8s) == {}
        for d in local_plan.find("Deployment"):
            pod = pod_spec(d)
            assert "tolerations" not in pod and "affinity" not in pod and "nodeSelector" not in pod

    def test_one_cpu_model_pre_staged_behind_the_gateway(self, local_plan):
        cfg = parse_config(raw_config("local"))
        (model,) = cfg.models
        assert model.engine == "llamacpp" and model.placement == "cpu"
        dep = local_plan.one("Deployment", model.k8s_name)
        pod = pod_spec(dep)
        assert [c["name"] for c in pod["initContainers"]] == ["fetch-gguf"], "staged offline-first like GKE"
        (server,) = pod["containers"]
        assert "--n-gpu-layers" in server["args"] and server["args"][server["args"].index("--n-gpu-layers") + 1] == "0"
        assert not any(k.endswith("/gpu") for k in server["resources"]["limits"])
        assert local_plan.one("Deployment", "litellm")["spec"]["replicas"] == 1
        assert local_plan.outputs["gatewayUrl"].startswith("http://litellm.")

    def test_scale_to_zero_keeps_the_cpu_model(self):
        raw = raw_config("local")
        raw["scaleToZero"] = True
        cfg = parse_config(raw)
        assert cfg.effective_replicas(cfg.models[0]) == 1


@pytest.mark.consumer
def test_rendered_cpu_server_runs_for_real(local_plan, tmp_path):
    import json

    from tests.consumers.llama_server import free_port, http_get, run_llama_server
    from tests.consumers.require import llama_binary
    from tests.consumers.tiny_gguf import ensure_tiny_gguf

    binary = llama_binary()
    (model,) = parse_config(raw_config("local")).models
    (server,) = pod_spec(local_plan.one("Deployment", model.k8s_name))["containers"]
    args = list(server["args"])
    args[args.index("--model") + 1] = str(ensure_tiny_gguf(tmp_path / "tiny.gguf"))
    port = free_port()
    args[args.index("--port") + 1] = str(port)
    args[args.index("--host") + 1] = "127.0.0.1"
    with run_llama_server(args, port=port, bin_path=binary, env={"LLAMA_API_KEY": "k"}) as srv:
        status, body = http_get(srv.base_url + "/v1/models")
        assert status == 200 and [m["id"] for m in json.loads(body)["data"]] == [model.name]
