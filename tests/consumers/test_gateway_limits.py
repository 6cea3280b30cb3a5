"""Model rate limits across gateway workers, and the 503 + Retry-After of a model that is not ready, on the real
LiteLLM 1.102.4 proxy booted from the dev stack's rendered ConfigMap and Deployment args (2 workers).

Only addresses change: the chat model's api_base and the hook's probe target point at a local OpenAI stub, the
Redis env at a local `redis-server` with a password, other models at closed ports. The database settings are
dropped (Prisma cannot fetch its engines here), so key limits and budgets, which need virtual keys, are not
exercised; model limits need no database.
"""

import copy
import datetime
import json
import time
from contextlib import ExitStack, contextmanager

import pytest
import yaml

from tests.conftest import plan_for, raw_config
from tests.consumers.litellm_proxy import free_port, http_json, run_litellm_proxy, write_without_database
from tests.consumers.redis_server import run_redis_server
from tests.consumers.require import litellm_binary, redis_binary
from tests.consumers.stub_openai import STUB_USAGE, run_stub_openai

pytestmark = pytest.mark.consumer
MASTER, UPSTREAM, REDIS_PASSWORD = "sk-limits-master", "limits-upstream-key", "limits-redis-password"
RPM = 4
REQUESTS = 16
# The stub answers every call with 18 tokens (tests/consumers/stub_openai.py): the check admits a request while the
# minute's count is below the limit, so 40 admits 3 calls (0, 18, 36) on the whole gateway.
TPM = 40
TPM_ADMITS = -(-TPM // STUB_USAGE["total_tokens"])


def stack(redis_mode: str, limit: str = "rpm") -> dict:
    raw = copy.deepcopy(raw_config("dev"))
    chat = next(m for m in raw["models"] if m["name"] == "coder-chat")
    chat[limit] = RPM if limit == "rpm" else TPM
    raw["gateway"]["redis"] = {"mode": redis_mode}
    return raw


def served(entry: dict) -> str:
    return entry["litellm_params"]["model"].split("/", 1)[1]


@contextmanager
def gateway(tmp_path, redis_mode: str, limit: str = "rpm"):
    """The rendered gateway, its chat model on a stub, with or without a real Redis."""
    litellm = litellm_binary()
    plan = plan_for(stack(redis_mode, limit))
    data = plan.one("ConfigMap", "litellm-config")["data"]
    config, availability = yaml.safe_load(data["config.yaml"]), json.loads(data["availability.json"])
    (container,) = plan.one("Deployment", "litellm")["spec"]["template"]["spec"]["containers"]
    args = container["args"][container["args"].index("--num_workers") :]  # as the Deployment runs it
    workers = args[1]
    assert workers == "2", "the dev stack runs 2 workers: the case this test is about"
    env_names = {e["name"] for e in container["env"]}
    with ExitStack() as stack_:
        stub_port, ports = free_port(), {}
        for entry in config["model_list"]:
            name = entry["model_name"]
            ports[name] = stub_port if name == "coder-chat" else free_port()  # others: a closed port
            entry["litellm_params"]["api_base"] = f"http://127.0.0.1:{ports[name]}/v1"
            if name in availability:
                availability[name].update(host="127.0.0.1", port=ports[name])
        chat = next(e for e in config["model_list"] if e["model_name"] == "coder-chat")
        stub = stack_.enter_context(run_stub_openai(stub_port, served(chat), api_key=UPSTREAM))
        env = {"LITELLM_MASTER_KEY": MASTER, "UPSTREAM_API_KEY": UPSTREAM, "DATABASE_URL": None}
        for name in ("REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD"):
            env[name] = None  # nothing from the caller's environment
        if redis_mode == "incluster":
            assert {"REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD"} <= env_names
            redis = stack_.enter_context(run_redis_server(free_port(), REDIS_PASSWORD, redis_binary()))
            env.update(REDIS_HOST="127.0.0.1", REDIS_PORT=str(redis.port), REDIS_PASSWORD=REDIS_PASSWORD)
        else:
            assert not env_names & {"REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD"}
        write_without_database(tmp_path, config, availability, data)
        proxy = stack_.enter_context(
            run_litellm_proxy(
                tmp_path / "config.yaml",
                free_port(),
                litellm_bin=litellm,
                env=env,
                extra_args=args,
                timeout=240,
            )
        )
        wait_for_workers(proxy, int(workers))
        yield {
            "proxy": proxy,
            "stub": stub,
            "config": config,
            "ports": ports,
            "redis": redis if redis_mode == "incluster" else None,
        }


def wait_for_workers(proxy, n: int, timeout: float = 240) -> None:
    """Readiness answers as soon as one worker is up; the test needs all of them serving."""
    deadline = time.monotonic() + timeout
    while proxy.log().count("Application startup complete") < n:
        assert time.monotonic() < deadline, proxy.log_tail()
        time.sleep(0.5)


def start_of_a_minute() -> None:
    """LiteLLM counts rpm per UTC wall-clock minute: run the burst well inside one."""
    if datetime.datetime.now(datetime.UTC).second > 40:
        time.sleep(61 - datetime.datetime.now(datetime.UTC).second)


def burst(gw, pause: float = 0.0) -> list[int]:
    """REQUESTS chat calls, each on a new connection, so the kernel spreads them over the workers. `pause`: time
    for the proxy to count a response's tokens (after the response) before the next call."""
    start_of_a_minute()
    body = {"model": "coder-chat", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}
    out = []
    for _ in range(REQUESTS):
        status, headers, reply = http_json("POST", gw["proxy"].base_url + "/v1/chat/completions", body, key=MASTER)
        assert status in (200, 429), (status, reply)
        if status == 429:
            # LiteLLM's own words; it passes the check's retry-after on as llm_provider-retry-after.
            assert "model rate limit exceeded" in json.dumps(reply).lower(), (headers, reply)
        out.append(status)
        time.sleep(pause)
    return out


NOT_READY = {  # dev's models at 0 replicas, one per endpoint: the proxy handles each endpoint's errors its own way
    "coder-agent": ("/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}),
    "coder-fim": ("/v1/completions", {"prompt": "def add(a, b):", "max_tokens": 4}),
}


def not_ready_answers_503_with_retry_after(gw) -> None:
    """A model at 0 replicas: 503 at once with Retry-After, the reason and the way to serve it; 200 once a
    backend answers on its address, with no gateway restart."""
    for name, (path, params) in NOT_READY.items():
        entry = next(e for e in gw["config"]["model_list"] if e["model_name"] == name)
        body = {"model": name, **params}
        start = time.monotonic()
        status, headers, reply = http_json("POST", gw["proxy"].base_url + path, body, key=MASTER)
        assert status == 503 and time.monotonic() - start < 5, (name, status, reply)
        assert headers.get("retry-after") == "30", (name, headers)
        text = json.dumps(reply)
        assert "not available" in text and "scaled to zero" in text and "pulumi config set" in text, text
        with run_stub_openai(gw["ports"][name], served(entry), api_key=UPSTREAM):
            time.sleep(2.5)  # the hook caches a refused probe for 2 s
            status, headers, reply = http_json("POST", gw["proxy"].base_url + path, body, key=MASTER)
            assert status == 200 and reply["choices"], (name, reply)
            assert "retry-after" not in headers


def chat_calls(stub) -> int:
    return sum(1 for r in stub.requests if r["path"].rstrip("/") == "/v1/chat/completions")


class TestModelRpmIsSharedAcrossWorkers:
    def test_with_redis_the_limit_binds_for_the_whole_gateway(self, tmp_path):
        with gateway(tmp_path, "incluster") as gw:
            not_ready_answers_503_with_retry_after(gw)  # same gateway: one proxy boot less
            statuses = burst(gw)
            print(f"with Redis: {statuses.count(200)} x 200, {statuses.count(429)} x 429 of {REQUESTS}")
            assert statuses.count(200) == RPM and statuses.count(429) == REQUESTS - RPM, statuses
            assert chat_calls(gw["stub"]) == RPM, "a refused request never reaches the model"

    def test_without_redis_each_worker_admits_the_limit(self, tmp_path):
        """The regression guarded: with per-process counters 2 workers admit more than the model's rpm."""
        with gateway(tmp_path, "none") as gw:
            statuses = burst(gw)
            print(f"without Redis: {statuses.count(200)} x 200, {statuses.count(429)} x 429 of {REQUESTS}")
            assert RPM < statuses.count(200) <= 2 * RPM, statuses


class TestModelTpmIsSharedAcrossWorkers:
    """1.102.4's check reads tpm from process memory; the shared-tpm hook (components/scripts/shared_tpm_hook.py)
    copies the Redis count in first."""

    def test_with_redis_the_limit_binds_for_the_whole_gateway_and_fails_open_counted(self, tmp_path):
        with gateway(tmp_path, "incluster", "tpm") as gw:
            statuses = burst(gw, pause=0.5)
            print(f"tpm with Redis: {statuses.count(200)} x 200, {statuses.count(429)} x 429 of {REQUESTS}")
            assert statuses.count(200) == TPM_ADMITS, statuses
            assert chat_calls(gw["stub"]) == TPM_ADMITS
            gw["redis"].proc.terminate()  # Redis gone: each process counts alone, and says so on /metrics
            gw["redis"].proc.wait(timeout=10)
            body = {"model": "coder-chat", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}
            counted: list[float] = []
            # Each worker counts on its own /metrics, and the kernel may give one worker every request and the
            # other every scrape on a loaded machine: request and scrape in turns until one worker shows it.
            for _ in range(12):
                http_json("POST", gw["proxy"].base_url + "/v1/chat/completions", body, key=MASTER)
                text = http_json("GET", gw["proxy"].base_url + "/metrics")[2]
                counted += [
                    float(line.split()[-1])
                    for line in str(text).splitlines()
                    if line.startswith("llm_platform_tpm_redis_fail_open_total")
                ]
                if counted and max(counted) >= 1:
                    break
            assert counted and max(counted) >= 1, f"no worker reported the fail-open: {counted}"

    def test_without_redis_each_worker_admits_the_limit(self, tmp_path):
        """The regression guarded: per-process counts admit more than the model's tpm with 2 workers. Which worker
        accepts a connection is the kernel's choice, and on a loaded machine one worker can take a whole burst:
        up to three bursts (each in its own minute) before judging."""
        with gateway(tmp_path, "none", "tpm") as gw:
            for _ in range(3):
                statuses = burst(gw, pause=0.5)  # waits for the start of a minute: counters are per minute
                print(f"tpm without Redis: {statuses.count(200)} x 200 of {REQUESTS}")
                if statuses.count(200) > TPM_ADMITS:
                    break
                time.sleep(61 - datetime.datetime.now(datetime.UTC).second)
            assert TPM_ADMITS < statuses.count(200) <= 2 * TPM_ADMITS, statuses
