"""Models added at run time (storeModelInDb) fail fast when their endpoint cannot be reached (issue 20 point 6),
against the pinned LiteLLM (1.102.4, `.ci/install_litellm.sh`), in its own Python:

- LiteLLM has no connect timeout of its own: a Router `timeout` bounds the connect too, so a black-holed
  endpoint (what a NetworkPolicy drop looks like) holds the request for the whole timeout;
- the rendered availability hook, with the rendered runtime_models.json, probes a run-time model's api_base with
  the short connect timeout and refuses it (503, naming host:port and gateway.runtimeModelEgress) within it; a
  reachable run-time model and a declared model pass untouched.

The black hole is a local listener whose accept queue is full: the kernel drops further SYNs, as a dropping
NetworkPolicy does.
"""

import json
import os
import subprocess
from pathlib import Path

import pytest

from components.manifests import gateway as gw
from tests.conftest import plan_for, raw_config
from tests.consumers.require import litellm_binary

pytestmark = pytest.mark.consumer
CONNECT_S, LITELLM_TIMEOUT_S = 0.5, 4.0

PROBE = r"""
import asyncio, json, socket, sys, time
from pathlib import Path
from fastapi import HTTPException
from litellm import Router
from litellm.proxy import proxy_server

def black_hole():
    srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(0)
    port = srv.getsockname()[1]
    held = []
    for _ in range(3):
        c = socket.socket(); c.setblocking(False)
        try: c.connect(("127.0.0.1", port))
        except BlockingIOError: pass
        held.append(c)
    time.sleep(0.3)
    return port, [srv, *held]

hole, keep = black_hole()
alive = socket.socket(); alive.bind(("127.0.0.1", 0)); alive.listen(16)
up = alive.getsockname()[1]

def model(name, port):
    return {"model_name": name, "litellm_params": {"model": "openai/m", "api_base": f"http://127.0.0.1:{port}/v1",
            "api_key": "k"}}

router = Router(model_list=[model("runtime-hole", hole), model("runtime-up", up), model("ext-chat", hole)],
                timeout=float(sys.argv[2]), num_retries=0)
proxy_server.llm_router = router
sys.path.insert(0, sys.argv[1])
import llm_platform_hooks as hooks

async def hook(name):
    start = time.monotonic()
    try:
        await hooks.availability.async_pre_call_hook(None, None, {"model": name}, "completion")
        return {"passed": True, "seconds": time.monotonic() - start}
    except HTTPException as e:
        return {"status": e.status_code, "error": e.detail["error"], "seconds": time.monotonic() - start}

async def plain_litellm():
    start = time.monotonic()
    try:
        await router.acompletion(model="runtime-hole", messages=[{"role": "user", "content": "hi"}])
        kind = "answered"
    except Exception as e:
        kind = type(e).__name__
    return {"error": kind, "seconds": time.monotonic() - start}

async def main():
    out = {name: await hook(name) for name in ("runtime-hole", "runtime-up", "ext-chat")}
    out["litellm"] = await plain_litellm()
    out["hole_port"] = hole
    print(json.dumps(out))

asyncio.run(main())
"""


@pytest.fixture(scope="module")
def probed(tmp_path_factory) -> dict:
    raw = raw_config("dev")
    # A declared external model, routed (here) to the black hole: the stack's, so never probed as a run-time one.
    raw["models"].append(
        {
            "name": "ext-chat",
            "engine": "external",
            "apiBase": "https://models.example.com/v1",
            "litellmModel": "openai/m",
            "inputCostPerToken": 0.0000002,
            "outputCostPerToken": 0.0000006,
        }
    )
    raw["gateway"]["smokeTest"] = {"enabled": False}
    raw["gateway"]["runtimeModelEgress"] = {"cidrs": ["10.20.0.0/16"], "connectTimeoutSeconds": CONNECT_S}
    data = plan_for(raw).one("ConfigMap", gw.CONFIGMAP)["data"]
    hooks = tmp_path_factory.mktemp("hooks")
    for name in (f"{gw.HOOK_MODULE}.py", "availability.json", gw.RUNTIME_FILE):
        (hooks / name).write_text(data[name])
    python = Path(litellm_binary()).parent / "python"
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    res = subprocess.run(
        [str(python), "-c", PROBE, str(hooks), str(LITELLM_TIMEOUT_S)],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    return json.loads(res.stdout.strip().splitlines()[-1])


def test_litellm_alone_waits_its_whole_timeout_on_a_black_hole(probed):
    """The reason for the probe: LiteLLM's timeout is no connect timeout."""
    assert probed["litellm"]["error"] != "answered"
    assert probed["litellm"]["seconds"] >= LITELLM_TIMEOUT_S * 0.9


def test_a_black_holed_run_time_model_is_refused_within_the_connect_timeout(probed):
    hole = probed["runtime-hole"]
    assert hole["status"] == 503
    assert CONNECT_S * 0.9 <= hole["seconds"] < CONNECT_S + 1.0
    assert f"127.0.0.1:{probed['hole_port']}" in hole["error"] and "gateway.runtimeModelEgress" in hole["error"]


def test_a_reachable_run_time_model_passes(probed):
    assert probed["runtime-up"]["passed"] is True


def test_a_declared_model_is_not_probed_as_a_run_time_model(probed):
    """A declared external model is the stack's business (its egress is rendered from its apiBase)."""
    assert probed["ext-chat"]["passed"] is True and probed["ext-chat"]["seconds"] < CONNECT_S
