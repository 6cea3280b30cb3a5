"""The metrics endpoints the scrape configs target, on the real consumers (`-m consumer`).

- LiteLLM, booted from the dev stack's rendered config: /metrics answers without a key because the rendered
  litellm_settings say so (and needs one without that setting), so the PodMonitoring needs no credentials.
- llama-server, started with the rendered container args: /metrics needs the upstream key (it is behind
  --api-key), and answers with it, which is why its scrape sends the key as a Bearer token.
"""

import json
from pathlib import Path

import pytest
import yaml

from tests.consumers.litellm_proxy import drop_shared_state, free_port, run_litellm_proxy
from tests.consumers.llama_server import http_get, run_llama_server
from tests.consumers.require import litellm_binary, llama_binary
from tests.consumers.tiny_gguf import ensure_tiny_gguf

pytestmark = pytest.mark.consumer
MASTER, UPSTREAM = "sk-metrics-master", "metrics-upstream-key"


def gateway_files(plan, work: Path, require_auth: bool | None) -> Path:
    """The rendered gateway ConfigMap on disk, database dropped, upstreams on closed local ports."""
    data = plan.one("ConfigMap", "litellm-config")["data"]
    config = yaml.safe_load(data["config.yaml"])
    availability = json.loads(data["availability.json"])
    for entry in config["model_list"]:
        port = free_port()  # nothing listens: /metrics needs no upstream
        entry["litellm_params"]["api_base"] = f"http://127.0.0.1:{port}/v1"
        availability[entry["model_name"]].update(host="127.0.0.1", port=port)
    drop_shared_state(config)  # no database, no Redis: /metrics needs neither
    if require_auth is None:
        config["litellm_settings"].pop("require_auth_for_metrics_endpoint")
    work.mkdir(parents=True, exist_ok=True)
    (work / "config.yaml").write_text(yaml.safe_dump(config))
    (work / "availability.json").write_text(json.dumps(availability))
    for hook in (k for k in data if k.endswith(".py")):  # every callback module the ConfigMap ships
        (work / hook).write_text(data[hook])
    return work / "config.yaml"


def proxy_env() -> dict:
    return {"LITELLM_MASTER_KEY": MASTER, "UPSTREAM_API_KEY": UPSTREAM, "DATABASE_URL": None}


class TestLiteLLMMetricsAsRendered:
    def test_metrics_open_as_rendered(self, dev_plan, tmp_path):
        conf = yaml.safe_load(dev_plan.one("ConfigMap", "litellm-config")["data"]["config.yaml"])
        assert "prometheus" in conf["litellm_settings"]["callbacks"]
        cfg = gateway_files(dev_plan, tmp_path / "open", require_auth=False)
        with run_litellm_proxy(cfg, free_port(), proxy_env(), litellm_bin=litellm_binary()) as proxy:
            status, body = http_get(proxy.base_url + "/metrics")
            assert status == 200, body[:300]
            text = body.decode()
            assert "# TYPE" in text and "litellm_" in text, text[:500]

    def test_metrics_need_a_key_without_the_setting(self, dev_plan, tmp_path):
        cfg = gateway_files(dev_plan, tmp_path / "closed", require_auth=None)
        with run_litellm_proxy(cfg, free_port(), proxy_env(), litellm_bin=litellm_binary()) as proxy:
            status, _ = http_get(proxy.base_url + "/metrics")
            assert status == 401
            status, _ = http_get(proxy.base_url + "/metrics", headers={"Authorization": f"Bearer {MASTER}"})
            assert status == 200


def localise(args: list[str], gguf: Path) -> list[str]:
    """Rendered llama-server args with the tiny GGUF, loopback, a small context; every other flag as rendered."""
    out, i = [], 0
    while i < len(args):
        flag = args[i]
        if flag in ("--model", "--host", "--port", "--ctx-size"):
            i += 2
            continue
        out.append(flag)
        i += 1
    extra = ["--pooling", "mean"] if "--embeddings" in out else []  # the tiny GGUF declares no pooling type
    return ["--model", str(gguf), "--ctx-size", "512", *out, *extra]


class TestLlamaServerMetricsAsRendered:
    def test_metrics_need_the_upstream_key(self, dev_plan, tmp_path):
        d = dev_plan.one("Deployment", "llama-embeddings")
        (container,) = d["spec"]["template"]["spec"]["containers"]
        assert "--metrics" in container["args"]
        gguf = ensure_tiny_gguf(tmp_path / "tiny.gguf")
        with run_llama_server(
            localise(container["args"], gguf), bin_path=llama_binary(), env={"LLAMA_API_KEY": UPSTREAM}
        ) as srv:
            status, _ = http_get(srv.base_url + "/metrics")
            assert status == 401, "llama-server guards /metrics with --api-key: the scrape must send the key"
            status, body = http_get(srv.base_url + "/metrics", headers={"Authorization": f"Bearer {UPSTREAM}"})
            assert status == 200
            assert "llamacpp:" in body.decode()
            status, _ = http_get(srv.base_url + "/v1/models")
            assert status == 200, "readiness path stays open without the key"
