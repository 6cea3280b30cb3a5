"""The metric names the alert rules and dashboards read, on the real consumers (`-m consumer`): LiteLLM's on
the running proxy, vLLM's in vLLM 0.11's own Prometheus logger.

The dev stack's rendered gateway config, its chat model on a stub upstream, the other models on closed ports,
and a real redis-server that is stopped once the proxy is up: one success, one refusal of a 0-replica model
(503) and Redis failures then show on /metrics under the names components/manifests/metric_sources.py lists.
The per-key budget gauges need virtual keys, hence the database, which cannot run here: they are read from
LiteLLM's source only (metric_sources.py).
"""

import json
import re
import subprocess
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path

import pytest
import yaml

from components.manifests.metric_sources import LITELLM, LITELLM_SERVICES, METRICS, VLLM
from tests.conftest import plan_for, raw_config
from tests.consumers.litellm_proxy import free_port, http_json, run_litellm_proxy, write_without_database
from tests.consumers.redis_server import run_redis_server
from tests.consumers.require import litellm_binary, redis_binary, vllm_python
from tests.consumers.stub_openai import run_stub_openai

pytestmark = pytest.mark.consumer
MASTER, UPSTREAM, REDIS_PASSWORD = "sk-names-master", "names-upstream-key", "names-redis-password"
NEED_KEYS = {"litellm_remaining_api_key_budget_metric", "litellm_api_key_max_budget_metric"}


def exposed(text: str) -> set[str]:
    """Series names on a /metrics page (histograms add _bucket, counters _total)."""
    return {m.group(1) for m in re.finditer(r"^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{| )", text, re.M)}


def test_litellm_names_the_rules_read_are_exposed(tmp_path):
    litellm, redis_bin = litellm_binary(), redis_binary()
    raw = raw_config("dev")
    raw["gateway"]["redis"] = {"mode": "incluster"}
    plan = plan_for(raw)
    data = plan.one("ConfigMap", "litellm-config")["data"]
    config, availability = yaml.safe_load(data["config.yaml"]), json.loads(data["availability.json"])
    assert config["litellm_settings"]["service_callback"] == ["prometheus_system"]
    stub_port = free_port()
    for entry in config["model_list"]:
        port = stub_port if entry["model_name"] == "coder-chat" else free_port()
        entry["litellm_params"]["api_base"] = f"http://127.0.0.1:{port}/v1"
        if entry["model_name"] in availability:
            availability[entry["model_name"]].update(host="127.0.0.1", port=port)
    chat = next(e for e in config["model_list"] if e["model_name"] == "coder-chat")
    with ExitStack() as stack:
        stack.enter_context(run_stub_openai(stub_port, chat["litellm_params"]["model"].split("/", 1)[1], UPSTREAM))
        redis_ctx = ExitStack()
        redis = redis_ctx.enter_context(run_redis_server(free_port(), REDIS_PASSWORD, redis_bin))
        env = {"LITELLM_MASTER_KEY": MASTER, "UPSTREAM_API_KEY": UPSTREAM, "DATABASE_URL": None}
        env.update(REDIS_HOST="127.0.0.1", REDIS_PORT=str(redis.port), REDIS_PASSWORD=REDIS_PASSWORD)
        write_without_database(tmp_path, config, availability, data)
        proxy = stack.enter_context(
            run_litellm_proxy(tmp_path / "config.yaml", free_port(), litellm_bin=litellm, env=env, timeout=240)
        )
        body = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 8}
        status, _, reply = http_json(
            "POST", proxy.base_url + "/v1/chat/completions", {**body, "model": "coder-chat"}, MASTER
        )
        assert status == 200, reply
        status, _, reply = http_json(
            "POST", proxy.base_url + "/v1/chat/completions", {**body, "model": "coder-fim"}, MASTER
        )
        assert status == 503, reply  # replicas: 0 in dev: the availability refusal
        redis_ctx.close()  # Redis goes away: the gateway's next cache calls fail
        for _ in range(3):
            http_json("POST", proxy.base_url + "/v1/chat/completions", {**body, "model": "coder-chat"}, MASTER)
        time.sleep(2)
        with urllib.request.urlopen(proxy.base_url + "/metrics", timeout=30) as resp:
            text = resp.read().decode()
    names = exposed(text)
    wanted = {n for n, src in METRICS.items() if src in (LITELLM, LITELLM_SERVICES)} - NEED_KEYS
    assert wanted <= names, f"not on /metrics: {sorted(wanted - names)}\n{proxy.log_tail()}"
    assert re.search(r'litellm_proxy_failed_requests_metric_total\{[^}]*exception_status="503"', text)
    assert re.search(r'litellm_proxy_failed_requests_metric_total\{[^}]*requested_model="coder-fim"', text)


def test_vllm_names_the_rules_read_are_its_own():
    """vLLM 0.11's V1 Prometheus logger declares every vllm: name the rules and dashboards read (a Counter is
    exposed with _total, a Histogram with _bucket), labelled model_name and engine."""
    python = vllm_python()
    find = "import importlib.util, pathlib; print(pathlib.Path(importlib.util.find_spec('vllm').origin).parent)"
    root = Path(subprocess.run([str(python), "-c", find], capture_output=True, text=True, check=True).stdout.strip())
    source = (root / "v1" / "metrics" / "loggers.py").read_text()
    assert 'labelnames = ["model_name", "engine"]' in source
    for name, src in METRICS.items():
        if src is VLLM:
            declared = re.sub(r"_(total|bucket)$", "", name)
            assert f'name="{declared}"' in source, f"{name}: vLLM declares no {declared}"
