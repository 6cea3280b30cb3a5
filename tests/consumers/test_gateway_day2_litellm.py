"""The gateway's day-2 settings against the pinned LiteLLM proxy (1.102.4, `.ci/install_litellm.sh`).

- Spend-log retention and no failure rows: the rendered general_settings, read by LiteLLM's own cleanup job and
  failure logger (in-process: the jobs need a database, which Prisma cannot reach here).
- Readiness with the database down: LiteLLM's /health/readiness answers 503 (the reason the Deployment's
  readiness probe reads /health/liveliness, which does not hinge on the database).
- Shutdown: the rendered preStop command, run beside the real proxy, waits for an in-flight request to finish,
  takes the worker out of rotation, and /health/drain refuses a caller without the token.
"""

import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from tests.conftest import plan_for, raw_config
from tests.consumers.litellm_proxy import drop_shared_state, free_port, http_json, run_litellm_proxy
from tests.consumers.require import litellm_binary

pytestmark = pytest.mark.consumer
MASTER, UPSTREAM, DRAIN_TOKEN = "sk-day2-master", "day2-upstream", "day2-drain-token"
SLOW_S = 4.0


def litellm_python() -> Path:
    return litellm_binary().parent / "python"


def run_probe(code: str, env: dict[str, str] | None = None) -> dict:
    full = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", **(env or {})}
    res = subprocess.run(
        [str(litellm_python()), "-c", code], check=False, capture_output=True, text=True, env=full, timeout=300
    )
    assert res.returncode == 0, res.stderr[-3000:]
    return json.loads(res.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def plan():
    return plan_for(raw_config("dev"))


@pytest.fixture(scope="module")
def rendered(plan) -> dict:
    return yaml.safe_load(plan.one("ConfigMap", "litellm-config")["data"]["config.yaml"])


@pytest.fixture(scope="module")
def container(plan) -> dict:
    (c,) = plan.one("Deployment", "litellm")["spec"]["template"]["spec"]["containers"]
    return c


RETENTION_PROBE = r"""
import json, sys
from litellm.proxy import proxy_server
from litellm.proxy.db.db_transaction_queue.spend_log_cleanup import SpendLogCleanup
from litellm.proxy.hooks.proxy_track_cost_callback import _ProxyDBLogger
settings = json.loads(sys.argv[1])
cleanup = SpendLogCleanup(general_settings=settings)
deletes = cleanup._should_delete_spend_logs()
proxy_server.general_settings.update(settings)
print(json.dumps({"deletes": deletes, "seconds": cleanup.retention_seconds,
                  "errors_in_db": _ProxyDBLogger._should_track_errors_in_db()}))
"""

READINESS_PROBE = r"""
import asyncio, json
from fastapi import Response
from litellm.proxy import proxy_server
from litellm.proxy.health_endpoints import _health_endpoints as h

async def down():
    return {"status": "disconnected"}

proxy_server.prisma_client = object()  # a configured database ...
h._db_health_readiness_check = down    # ... that does not answer
ready, live = Response(), Response()
asyncio.run(h.health_readiness(ready))
asyncio.run(h.health_liveliness(live))
print(json.dumps({"readiness": ready.status_code or 200, "liveliness": live.status_code or 200}))
"""


class TestSpendLogsCannotFillTheDatabase:
    def test_litellm_cleanup_reads_the_rendered_retention(self, rendered):
        gs = rendered["general_settings"]
        out = run_probe(RETENTION_PROBE.replace("sys.argv[1]", repr(json.dumps(gs))))
        assert out["deletes"] is True
        assert out["seconds"] == 30 * 86400  # gateway.database.spendLogRetention's default, 30d

    def test_a_failed_request_writes_no_spend_log_row(self, rendered):
        out = run_probe(RETENTION_PROBE.replace("sys.argv[1]", repr(json.dumps(rendered["general_settings"]))))
        assert out["errors_in_db"] is False

    def test_other_retention_is_passed_through(self):
        raw = raw_config("dev")
        raw["gateway"].setdefault("database", {})["spendLogRetention"] = "2w"
        gs = yaml.safe_load(plan_for(raw).one("ConfigMap", "litellm-config")["data"]["config.yaml"])["general_settings"]
        assert run_probe(RETENTION_PROBE.replace("sys.argv[1]", repr(json.dumps(gs))))["seconds"] == 14 * 86400


class TestReadinessDoesNotHingeOnTheDatabase:
    def test_litellm_readiness_fails_with_the_database_down_liveliness_does_not(self):
        out = run_probe(READINESS_PROBE)
        assert out == {"readiness": 503, "liveliness": 200}

    def test_the_probe_the_deployment_uses_is_the_one_that_stays_up(self, container):
        assert container["readinessProbe"]["httpGet"]["path"] == "/health/liveliness"


# ---- shutdown on the real proxy ---------------------------------------------------------------------------------


class SlowUpstream(BaseHTTPRequestHandler):
    """An OpenAI-style upstream whose chat completion takes SLOW_S seconds."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        self._json({"object": "list", "data": [{"id": "slow", "object": "model"}]})

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        time.sleep(SLOW_S)
        self._json(
            {
                "id": "c1",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": "slow",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            }
        )

    def _json(self, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def proxy(tmp_path, plan, rendered, container) -> Iterator:
    litellm = litellm_binary()
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), SlowUpstream)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    config = drop_shared_state(json.loads(json.dumps(rendered)))
    entry = config["model_list"][0]
    entry["litellm_params"]["api_base"] = f"http://127.0.0.1:{port}/v1"
    config["model_list"] = [entry]
    data = plan.one("ConfigMap", "litellm-config")["data"]
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    (tmp_path / "availability.json").write_text(json.dumps({entry["model_name"]: {"host": "127.0.0.1", "port": port}}))
    for hook in (k for k in data if k.endswith(".py")):
        (tmp_path / hook).write_text(data[hook])
    env = {e["name"]: e["value"] for e in container["env"] if "value" in e}
    env.update(LITELLM_MASTER_KEY=MASTER, UPSTREAM_API_KEY=UPSTREAM, DRAIN_ENDPOINT_TOKEN=DRAIN_TOKEN, DATABASE_URL="")
    try:
        with run_litellm_proxy(tmp_path / "config.yaml", free_port(), env=env, litellm_bin=litellm) as p:
            yield p, entry["model_name"], env
    finally:
        server.shutdown()


def prestop(container: dict, port: int, env: dict[str, str]) -> subprocess.CompletedProcess:
    """The Deployment's preStop command, as the kubelet runs it in the container (its env, its python)."""
    cmd = container["lifecycle"]["preStop"]["exec"]["command"]
    assert cmd[0] == "python"
    script = cmd[2].replace(":4000/", f":{port}/")
    return subprocess.run(
        [str(litellm_python()), cmd[1], script],
        check=False,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
    )


class TestRolloutsDoNotCutRequests:
    def test_prestop_waits_for_the_request_in_flight_then_leaves_rotation(self, proxy, container):
        p, model, env = proxy
        result: dict = {}

        def call():
            result["status"], _, result["body"] = http_json(
                "POST",
                p.base_url + "/v1/chat/completions",
                {"model": model, "messages": [{"role": "user", "content": "hi"}]},
                key=MASTER,
                timeout=60,
            )
            result["done"] = time.monotonic()

        t = threading.Thread(target=call)
        t.start()
        time.sleep(1.0)  # the request is in flight
        started = time.monotonic()
        res = prestop(container, p.port, env)
        returned = time.monotonic()
        t.join(timeout=60)
        assert res.returncode == 0, res.stderr[-2000:]
        assert result["status"] == 200, result.get("body")
        assert returned >= result["done"] - 0.5, "preStop returned before the in-flight request finished"
        assert returned - started >= SLOW_S - 1.5
        status, _, _ = http_json("GET", p.base_url + "/health/liveliness")
        assert status == 503, "a drained worker leaves rotation (the readiness probe reads liveliness)"

    def test_drain_without_the_token_is_refused_and_changes_nothing(self, proxy):
        p, _, _ = proxy
        status, _, _ = http_json("GET", p.base_url + "/health/drain")
        assert status == 401
        status, _, _ = http_json("GET", p.base_url + "/health/drain", headers={"X-Drain-Token": "wrong"})
        assert status == 401
        assert http_json("GET", p.base_url + "/health/liveliness")[0] == 200

    def test_grace_period_covers_the_request_timeout_and_the_drain(self, plan, rendered, container):
        spec = plan.one("Deployment", "litellm")["spec"]
        timeout = rendered["litellm_settings"]["request_timeout"]
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert int(env["GRACEFUL_SHUTDOWN_TIMEOUT"]) == timeout
        assert spec["template"]["spec"]["terminationGracePeriodSeconds"] > timeout
        assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


END_USER_PROBE = r"""
import json, sys
from litellm.proxy import proxy_server
from litellm.proxy.auth.auth_utils import get_end_user_id_from_request_body
proxy_server.general_settings.update(json.loads(sys.argv[1]))
headers = {"X-OpenWebUI-User-Email": "ada@example.com", "X-OpenWebUI-User-Id": "u-1"}
print(json.dumps({"end_user": get_end_user_id_from_request_body({"model": "m"}, headers)}))
"""


class TestOpenWebUiUsersAreAttributed:
    def test_litellm_reads_the_forwarded_email_as_the_end_user(self, rendered, plan):
        webui = plan.one("Deployment", "open-webui")["spec"]["template"]["spec"]["containers"][0]
        assert {"name": "ENABLE_FORWARD_USER_INFO_HEADERS", "value": "true"} in webui["env"]
        gs = json.dumps(rendered["general_settings"])
        out = run_probe(END_USER_PROBE.replace("sys.argv[1]", repr(gs)))
        assert out == {"end_user": "ada@example.com"}
