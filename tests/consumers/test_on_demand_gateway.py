"""The gateway side of scale-from-zero (issue 16) on the real LiteLLM proxy (1.102.4) with the rendered hook,
its 2 workers as the dev stack runs them and a real Redis counting demand across them:

- a request for an on-demand model with no ready backend answers 503 + Retry-After (model_loading) at once,
  never reaches a backend, and adds to `llm_platform_model_demand{model}` (what KEDA's metrics-api reads);
- once the backend answers, the same request gets 200, and the demand drops to 0 when it ends (KEDA's idle
  timer starts at the last request);
- with holdSeconds the request waits for the backend instead of failing;
- under scaleToZero the model is paused: 503 model_disabled, and no demand is counted (KEDA is paused anyway).
"""

import copy
import json
import re
import threading
import time
import urllib.request
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
MASTER, UPSTREAM, REDIS_PASSWORD = "sk-demand-master", "demand-upstream", "demand-redis-password"
MODEL = "coder-chat"


def stack(hold: int = 0, paused: bool = False) -> dict:
    raw = copy.deepcopy(raw_config("dev"))
    chat = next(m for m in raw["models"] if m["name"] == MODEL)
    chat.update(replicas=0, scaling={"mode": "onDemand", "idleMinutes": 31})
    raw["autoscaler"] = {"holdSeconds": hold, "retryAfterSeconds": 17, "pollingIntervalSeconds": 2}
    raw["scaleToZero"] = paused
    return raw


@contextmanager
def gateway(tmp_path, **kw):
    plan = plan_for(stack(**kw))
    data = plan.one("ConfigMap", "litellm-config")["data"]
    config, availability = yaml.safe_load(data["config.yaml"]), json.loads(data["availability.json"])
    demand = json.loads(data["demand.json"])
    (container,) = plan.one("Deployment", "litellm")["spec"]["template"]["spec"]["containers"]
    args = container["args"][container["args"].index("--num_workers") :]
    with ExitStack() as stack_:
        ports = {e["model_name"]: free_port() for e in config["model_list"]}  # nothing listens yet
        for entry in config["model_list"]:
            entry["litellm_params"]["api_base"] = f"http://127.0.0.1:{ports[entry['model_name']]}/v1"
            if entry["model_name"] in availability:
                availability[entry["model_name"]].update(host="127.0.0.1", port=ports[entry["model_name"]])
        demand["port"] = free_port()
        write_without_database(tmp_path, config, availability, data)
        (tmp_path / "demand.json").write_text(json.dumps(demand))
        redis = stack_.enter_context(run_redis_server(free_port(), REDIS_PASSWORD, redis_binary()))
        env = {"LITELLM_MASTER_KEY": MASTER, "UPSTREAM_API_KEY": UPSTREAM, "DATABASE_URL": None}
        env.update(REDIS_HOST="127.0.0.1", REDIS_PORT=str(redis.port), REDIS_PASSWORD=REDIS_PASSWORD)
        proxy = stack_.enter_context(
            run_litellm_proxy(
                tmp_path / "config.yaml",
                free_port(),
                litellm_bin=litellm_binary(),
                env=env,
                extra_args=args,
                timeout=240,
            )
        )
        wait_for_workers(proxy, int(args[1]))
        chat = next(e for e in config["model_list"] if e["model_name"] == MODEL)
        served = chat["litellm_params"]["model"].split("/", 1)[1]
        yield {"proxy": proxy, "port": ports[MODEL], "served": served, "demand_port": demand["port"]}


def ask(proxy, timeout: float = 60):
    body = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}
    start = time.monotonic()
    status, headers, payload = http_json(
        "POST", proxy.base_url + "/v1/chat/completions", key=MASTER, body=body, timeout=timeout
    )
    return status, headers, payload, time.monotonic() - start


def demand(port: int) -> float | None:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    found = re.search(rf'^llm_platform_model_demand\{{model="{MODEL}"\}} (\S+)$', text, re.M)
    return float(found.group(1)) if found else None


def settled(port: int, want: float, within: float = 5.0) -> bool:
    """LiteLLM logs a request's end asynchronously, just after the response."""
    deadline = time.monotonic() + within
    while demand(port) != want:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


class TestLoadingModelAnswers503AndCountsDemand:
    def test_first_request_refused_then_served(self, tmp_path):
        with gateway(tmp_path) as gw:
            assert demand(gw["demand_port"]) == 0.0
            status, headers, payload, seconds = ask(gw["proxy"])
            assert status == 503, payload
            assert headers.get("retry-after") == "17", headers
            assert "model_loading" in json.dumps(payload) and seconds < 5
            assert demand(gw["demand_port"]) == 1.0  # the refused request, counted in Redis
            with run_stub_openai(gw["port"], gw["served"], api_key=UPSTREAM) as stub:
                time.sleep(2.5)  # the hook's cached "down" expires
                status, _, payload, _ = ask(gw["proxy"])
                assert status == 200, payload
                assert len(stub.requests) == 1  # the refused request never reached a backend
            # Served: the refusal is forgotten; the finished request counts for one polling interval (2 s here)
            # so that a KEDA poll sees it, then nothing: KEDA's idle timer runs from the last request.
            assert demand(gw["demand_port"]) == 1.0
            assert settled(gw["demand_port"], 0.0, within=6)


class TestHoldWaitsForTheFirstReadyPod:
    def test_request_held_until_the_backend_answers(self, tmp_path):
        with gateway(tmp_path, hold=8) as gw:
            up_after = 3.0
            ready = threading.Event()

            def backend_later():
                time.sleep(up_after)
                with run_stub_openai(gw["port"], gw["served"], api_key=UPSTREAM):
                    ready.wait(30)

            t = threading.Thread(target=backend_later, daemon=True)
            t.start()
            status, _, payload, seconds = ask(gw["proxy"])
            ready.set()
            t.join(10)
            assert status == 200, payload
            assert up_after <= seconds < up_after + 3, seconds


class TestPausedModelIsDisabled:
    def test_scale_to_zero_answers_disabled(self, tmp_path):
        with gateway(tmp_path, paused=True) as gw:
            status, headers, payload, _ = ask(gw["proxy"])
            assert status == 503 and "model_disabled" in json.dumps(payload), payload
            assert "scaleToZero" in json.dumps(payload) and headers.get("retry-after") == "17"
            assert demand(gw["demand_port"]) == 0.0
