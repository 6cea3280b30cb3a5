"""Self-check of the LiteLLM proxy harness: the real proxy (``.ci/install_litellm.sh``)
in front of the stdlib OpenAI stub. Checks the surface the platform's rendered
``config.yaml`` relies on: listed names, chat + completions through an alias,
exact per-token cost header, master-key auth. Skips when litellm is missing
(fails instead under LLM_PLATFORM_REQUIRE_CONSUMERS=1).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.consumers.require import litellm_binary

from .litellm_proxy import free_port, http_json, run_litellm_proxy
from .stub_openai import STUB_COMPLETION_TOKENS, STUB_PROMPT_TOKENS, STUB_REPLY, run_stub_openai

pytestmark = pytest.mark.consumer

MASTER = "sk-selfcheck-master"
UPSTREAM_KEY = "upstream-secret"
SERVED = "qwen2.5-coder-7b-instruct"
IN_COST = 0.0000005
OUT_COST = 0.0000015


@pytest.fixture(scope="module")
def litellm_bin() -> Path:
    return litellm_binary()


def _config(api_base: str) -> dict:
    params = {
        "model": f"openai/{SERVED}",
        "api_base": api_base,
        "api_key": "os.environ/UPSTREAM_API_KEY",
        "input_cost_per_token": IN_COST,
        "output_cost_per_token": OUT_COST,
    }
    return {
        "model_list": [
            # mode set explicitly on both: deployments sharing one litellm `model`
            # string otherwise leak model_info.mode into each other
            {
                "model_name": "coder-chat",
                "litellm_params": dict(params, rpm=60),
                "model_info": {"mode": "chat", "display_name": "Qwen Coder 7B", "availability": "scale-to-zero"},
            },
            {"model_name": "coder-complete", "litellm_params": dict(params), "model_info": {"mode": "completion"}},
        ],
        "general_settings": {"master_key": "os.environ/LITELLM_MASTER_KEY"},
        "litellm_settings": {"num_retries": 0, "request_timeout": 30},
    }


@pytest.fixture(scope="module")
def gateway(litellm_bin, tmp_path_factory):
    with run_stub_openai(free_port(), SERVED, api_key=UPSTREAM_KEY) as stub:
        cfg = tmp_path_factory.mktemp("litellm") / "config.yaml"
        cfg.write_text(yaml.safe_dump(_config(stub.base_url)))
        env = {"LITELLM_MASTER_KEY": MASTER, "UPSTREAM_API_KEY": UPSTREAM_KEY, "DATABASE_URL": ""}
        with run_litellm_proxy(cfg, free_port(), env, litellm_bin=litellm_bin) as proxy:
            yield proxy, stub


def test_models_lists_exactly_the_model_names(gateway):
    proxy, _ = gateway
    status, _, body = http_json("GET", proxy.base_url + "/v1/models", key=MASTER)
    assert status == 200, body
    assert sorted(m["id"] for m in body["data"]) == ["coder-chat", "coder-complete"]


def test_chat_200_and_exact_cost_header(gateway):
    proxy, stub = gateway
    status, headers, body = http_json(
        "POST",
        proxy.base_url + "/v1/chat/completions",
        key=MASTER,
        body={"model": "coder-chat", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert status == 200, json.dumps(body)[:500]
    assert body["model"] == "coder-chat"
    assert body["choices"][0]["message"]["content"] == STUB_REPLY
    assert body["usage"]["prompt_tokens"] == STUB_PROMPT_TOKENS
    assert body["usage"]["completion_tokens"] == STUB_COMPLETION_TOKENS
    expected = STUB_PROMPT_TOKENS * IN_COST + STUB_COMPLETION_TOKENS * OUT_COST
    # same float arithmetic, same str(float) formatting: exact, not approx
    assert headers["x-litellm-response-cost"] == str(expected)
    assert float(headers["x-litellm-response-cost"]) == expected
    last = stub.requests[-1]
    assert last["path"] == "/v1/chat/completions"
    assert last["body"]["model"] == SERVED, "alias is rewritten to the served name"
    assert last["headers"]["authorization"] == f"Bearer {UPSTREAM_KEY}"


def test_completions_through_alias(gateway):
    proxy, stub = gateway
    status, headers, body = http_json(
        "POST",
        proxy.base_url + "/v1/completions",
        key=MASTER,
        body={"model": "coder-complete", "prompt": "def f(", "max_tokens": 5},
    )
    assert status == 200, json.dumps(body)[:500]
    assert body["choices"][0]["text"] == STUB_REPLY
    assert stub.requests[-1]["path"] == "/v1/completions"
    assert float(headers["x-litellm-response-cost"]) > 0


def test_missing_key_is_401(gateway):
    proxy, _ = gateway
    status, _, body = http_json(
        "POST",
        proxy.base_url + "/v1/chat/completions",
        body={"model": "coder-chat", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert status == 401, body


def test_model_info_keeps_mode_and_extra_keys(gateway):
    proxy, _ = gateway
    status, _, body = http_json("GET", proxy.base_url + "/v1/model/info", key=MASTER)
    assert status == 200, body
    info = {m["model_name"]: m["model_info"] for m in body["data"]}
    assert info["coder-chat"]["mode"] == "chat"
    assert info["coder-chat"]["display_name"] == "Qwen Coder 7B"
    assert info["coder-chat"]["availability"] == "scale-to-zero"
    assert info["coder-complete"]["mode"] == "completion"
