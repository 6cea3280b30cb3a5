"""A model on a Spot pool retries once on the real LiteLLM proxy (1.102.4), from the rendered dev config with its
2 workers and the rendered hook: a backend that fails one request (its node preempted) costs the client nothing,
on /v1/chat/completions and on /v1/completions (FIM) alike, from the deployment's own num_retries; without a Spot
pool the same failure reaches the client after one backend call (no retry, no hidden SDK retry)."""

import copy
import json
from contextlib import ExitStack, contextmanager

import pytest
import yaml

from tests.conftest import plan_for, raw_config
from tests.consumers.litellm_proxy import free_port, http_json, run_litellm_proxy, write_without_database
from tests.consumers.redis_server import run_redis_server
from tests.consumers.require import litellm_binary, redis_binary
from tests.consumers.stub_openai import run_stub_openai
from tests.consumers.test_gateway_limits import wait_for_workers

pytestmark = pytest.mark.consumer
MASTER, UPSTREAM, REDIS_PASSWORD = "sk-spot-master", "spot-upstream", "spot-redis-password"
CHAT, FIM = "coder-chat", "coder-fim"  # both on dev's Spot pool l4-coder


@contextmanager
def gateway(tmp_path, raw: dict):
    plan = plan_for(raw)
    data = plan.one("ConfigMap", "litellm-config")["data"]
    config, availability = yaml.safe_load(data["config.yaml"]), json.loads(data["availability.json"])
    (container,) = plan.one("Deployment", "litellm")["spec"]["template"]["spec"]["containers"]
    args = container["args"][container["args"].index("--num_workers") :]
    with ExitStack() as stack:
        stubs = {}
        for entry in config["model_list"]:
            name, port = entry["model_name"], free_port()
            served = entry["litellm_params"]["model"].split("/", 1)[1]
            stubs[name] = stack.enter_context(run_stub_openai(port, served, api_key=UPSTREAM))
            entry["litellm_params"]["api_base"] = f"http://127.0.0.1:{port}/v1"
            if name in availability:
                availability[name].update(host="127.0.0.1", port=port)
        write_without_database(tmp_path, config, availability, data)
        redis = stack.enter_context(run_redis_server(free_port(), REDIS_PASSWORD, redis_binary()))
        env = {"LITELLM_MASTER_KEY": MASTER, "UPSTREAM_API_KEY": UPSTREAM, "DATABASE_URL": None}
        env.update(REDIS_HOST="127.0.0.1", REDIS_PORT=str(redis.port), REDIS_PASSWORD=REDIS_PASSWORD)
        proxy = stack.enter_context(
            run_litellm_proxy(
                tmp_path / "config.yaml", free_port(), litellm_bin=litellm_binary(), env=env, extra_args=args,
                timeout=240,
            )
        )  # fmt: skip
        wait_for_workers(proxy, int(args[1]))
        yield proxy, stubs


def chat(proxy) -> tuple[int, object]:
    body = {"model": CHAT, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}
    status, _, payload = http_json("POST", proxy.base_url + "/v1/chat/completions", key=MASTER, body=body, timeout=60)
    return status, payload


def fim(proxy) -> tuple[int, object]:
    body = {"model": FIM, "prompt": "def add(a, b):", "max_tokens": 4}
    status, _, payload = http_json("POST", proxy.base_url + "/v1/completions", key=MASTER, body=body, timeout=60)
    return status, payload


def posts(stub) -> int:
    return sum(1 for r in stub.requests if r["method"] == "POST")


class TestSpotModelsRetryOnce:
    def test_a_lost_request_is_retried_on_both_paths(self, tmp_path):
        with gateway(tmp_path, copy.deepcopy(raw_config("dev"))) as (proxy, stubs):
            for ask, model in ((chat, CHAT), (fim, FIM)):
                stubs[model].fail_next = 1
                status, payload = ask(proxy)
                assert status == 200, f"{model}: {payload}"
                assert posts(stubs[model]) == 2, f"{model}: one failure, one retry"

    def test_without_a_spot_pool_nothing_is_retried(self, tmp_path):
        raw = copy.deepcopy(raw_config("dev"))
        for pool in raw["nodePools"]:
            pool["spot"] = False
        with gateway(tmp_path, raw) as (proxy, stubs):
            stubs[FIM].fail_next = 1
            status, _ = fim(proxy)
            assert status >= 500 and posts(stubs[FIM]) == 1
