"""Real consumers end to end: the real LiteLLM proxy, given the seed stack's rendered model_list, in front of real
llama-servers started from the rendered command lines.

Only the upstream addresses change: each static name's api_base points at its own llama-server, and every swap
name's at one llama-server standing in for the llama-swap Service (one base URL for all swap names, as rendered).
The proxy keeps the rendered settings it needs (master key); the database the gateway uses in-cluster is
not part of routing and is left out.
"""

import contextlib
import json
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

from tests.consumers.litellm_proxy import http_json, run_litellm_proxy
from tests.consumers.llama_server import free_port, run_llama_server
from tests.consumers.require import litellm_binary
from tests.llama_seed import rendered_llama_commands, swap_config
from tests.test_llama_consumer import KEY, LLAMA_NAMES, llama_bin, localise, plan, pvc, server_env  # noqa: F401

pytestmark = pytest.mark.consumer
MASTER = "sk-test-master"


@pytest.fixture(scope="module")
def litellm_bin() -> Path:
    return litellm_binary()


def rendered_model_list(plan) -> list[dict]:
    return yaml.safe_load(plan.one("ConfigMap", "litellm-config")["data"]["config.yaml"])["model_list"]


@pytest.fixture(scope="module")
def gateway(plan, pvc, llama_bin, litellm_bin, tmp_path_factory):
    commands = rendered_llama_commands(plan)
    swap_names = list(swap_config(plan)["models"])
    model_list = rendered_model_list(plan)
    with contextlib.ExitStack() as stack:
        local: dict[str, str] = {}  # rendered api_base -> local llama-server
        for entry in model_list:
            name, base = entry["model_name"], entry["litellm_params"]["api_base"]
            if base in local:
                continue
            argv = commands[swap_names[0] if name in swap_names else name]
            srv = stack.enter_context(
                run_llama_server(localise(argv, pvc, free_port()), bin_path=llama_bin, env=server_env(), timeout=120)
            )
            local[base] = srv.base_url + "/v1"
        for entry in model_list:
            entry["litellm_params"]["api_base"] = local[entry["litellm_params"]["api_base"]]
        cfg = tmp_path_factory.mktemp("gw") / "config.yaml"
        cfg.write_text(
            yaml.safe_dump(
                {"model_list": model_list, "general_settings": {"master_key": "os.environ/LITELLM_MASTER_KEY"}}
            )
        )
        env = {"LITELLM_MASTER_KEY": MASTER, "UPSTREAM_API_KEY": KEY}
        proxy = stack.enter_context(run_litellm_proxy(cfg, free_port(), env, litellm_bin=litellm_bin))
        yield proxy, local


def test_rendered_routes(plan):
    routes = {e["model_name"]: urlparse(e["litellm_params"]["api_base"]).hostname for e in rendered_model_list(plan)}
    assert routes == {
        "GLM-4.7-Flash": "llama-static-a.serving.svc.cluster.local",
        "Qwen3-Coder-30B-A3B": "llama-static-b.serving.svc.cluster.local",
        "DeepSeek-R1-Distill-Qwen-14B": "llama-swap.serving.svc.cluster.local",
        "Llama-3.1-8B-Instruct": "llama-swap.serving.svc.cluster.local",
    }


def test_gateway_lists_exactly_the_declared_names(gateway):
    proxy, _ = gateway
    status, _, body = http_json("GET", proxy.base_url + "/v1/models", key=MASTER)
    assert status == 200, body
    assert sorted(m["id"] for m in body["data"]) == sorted(LLAMA_NAMES)


@pytest.mark.parametrize("name", LLAMA_NAMES)
def test_each_name_answers_through_the_gateway(gateway, name):
    proxy, _ = gateway
    status, _, body = http_json(
        "POST",
        proxy.base_url + "/v1/chat/completions",
        key=MASTER,
        body={"model": name, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 3},
    )
    assert status == 200, json.dumps(body)[:500]
    assert body["usage"]["completion_tokens"] == 3, "a real llama-server generated the reply"


def test_upstream_key_is_required(gateway):
    _, local = gateway
    # the gateway got 200s above only because it forwards UPSTREAM_API_KEY; straight to a backend without it: 401
    base = next(iter(local.values()))
    status, _, _ = http_json(
        "POST",
        base + "/chat/completions",
        body={"model": "x", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2},
    )
    assert status == 401
