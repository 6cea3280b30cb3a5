"""The real LiteLLM proxy, booted from the dev stack's rendered gateway ConfigMap, in front of real llama-servers.

Only addresses change: each model's api_base (and the hook's probe target) points at a local llama-server serving
a tiny generated GGUF under the model's served name, or at a closed local port for a model the stack runs at
0 replicas. The database settings are dropped: Prisma cannot fetch its engines here, so virtual keys and budgets
are not exercised (see tests/test_mint_keys.py for the key Job against the recorded key API).
"""

import copy
import json
import os
import subprocess
import sys
import time
from contextlib import ExitStack

import pytest
import yaml

from components.manifests.smoke import SCRIPT as SMOKE_SCRIPT
from tests.conftest import plan_for, raw_config
from tests.consumers.litellm_proxy import free_port, http_json, run_litellm_proxy, write_without_database
from tests.consumers.llama_server import run_llama_server
from tests.consumers.redis_server import run_redis_server
from tests.consumers.require import litellm_binary, llama_binary, redis_binary
from tests.consumers.tiny_gguf import ensure_tiny_gguf
from tests.test_gateway_service import EXTERNAL

pytestmark = pytest.mark.consumer
MASTER, UPSTREAM, EXTERNAL_KEY = "sk-e2e-master", "e2e-upstream-key", "e2e-external-key"
REDIS_PASSWORD = "e2e-redis-password"


def served(entry: dict) -> str:
    return entry["litellm_params"]["model"].split("/", 1)[1]


def e2e_stack(external_port: int) -> dict:
    """The dev stack with FIM running too (a second L4 node) and an external endpoint beside it."""
    raw = copy.deepcopy(raw_config("dev"))
    raw["nodePools"][0]["maxNodes"] = 2
    next(m for m in raw["models"] if m.get("mode") == "completion")["replicas"] = 1
    raw["models"].append({**EXTERNAL, "apiBase": f"http://127.0.0.1:{external_port}/v1"})
    for key in raw["gateway"]["keys"]:
        if key["alias"] == raw["gateway"]["smokeTest"]["key"]:
            key["models"].append(EXTERNAL["name"])
    return raw


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    litellm, llama = litellm_binary(), llama_binary()
    work = tmp_path_factory.mktemp("gateway")
    gguf = ensure_tiny_gguf(work / "tiny.gguf")
    external_port = free_port()
    plan = plan_for(e2e_stack(external_port))
    external = next(
        e
        for e in yaml.safe_load(plan.one("ConfigMap", "litellm-config")["data"]["config.yaml"])["model_list"]
        if e["model_info"].get("provider")
    )
    data = plan.one("ConfigMap", "litellm-config")["data"]
    config = yaml.safe_load(data["config.yaml"])
    availability = json.loads(data["availability.json"])
    smoke_models = json.loads(plan.one("ConfigMap", "smoke-test")["data"]["models.json"])
    running = {m["name"] for m in smoke_models if m["replicas"] > 0 and m["direct"]}
    ports: dict[str, int] = {}
    with ExitStack() as stack:
        stack.enter_context(
            run_llama_server(  # the "external" endpoint: a second server, its own key
                ["-m", str(gguf), "--alias", served(external), "--ctx-size", "512"],
                port=external_port,
                bin_path=llama,
                env={"LLAMA_API_KEY": EXTERNAL_KEY},
            )
        )
        for entry in config["model_list"]:
            name = entry["model_name"]
            if name == external["model_name"]:
                continue
            ports[name] = free_port()
            if name in running:  # a model with pods gets a real server; one at 0 replicas gets a closed port
                # the tiny GGUF declares no pooling type; a real embedding GGUF (nomic-bert) does
                embed = ["--embeddings", "--pooling", "mean"] if entry["model_info"]["mode"] == "embedding" else []
                stack.enter_context(
                    run_llama_server(
                        ["-m", str(gguf), "--alias", served(entry), "--ctx-size", "512", "--n-gpu-layers", "0", *embed],
                        port=ports[name],
                        bin_path=llama,
                        env={"LLAMA_API_KEY": UPSTREAM},
                    )
                )
            entry["litellm_params"]["api_base"] = f"http://127.0.0.1:{ports[name]}/v1"
            availability[name].update(host="127.0.0.1", port=ports[name])
        # The rendered Redis settings stay: a real redis-server stands in for the in-cluster one.
        redis = stack.enter_context(run_redis_server(free_port(), REDIS_PASSWORD, redis_binary()))
        write_without_database(work, config, availability, data)
        proxy = stack.enter_context(
            run_litellm_proxy(
                work / "config.yaml",
                free_port(),
                litellm_bin=litellm,
                env={
                    "LITELLM_MASTER_KEY": MASTER,
                    "UPSTREAM_API_KEY": UPSTREAM,
                    "DATABASE_URL": None,
                    "REDIS_HOST": "127.0.0.1",
                    "REDIS_PORT": str(redis.port),
                    "REDIS_PASSWORD": REDIS_PASSWORD,
                    **external_env(plan),
                },
            )
        )
        yield {
            "proxy": proxy,
            "config": config,
            "ports": ports,
            "running": running | {external["model_name"]},
            "gguf": gguf,
            "llama": llama,
            "work": work,
            "plan": plan,
            "external": external,
        }


def external_env(plan) -> dict[str, str]:
    """The external key reaches the proxy as the Deployment wires it: an env var from a Secret."""
    (container,) = plan.one("Deployment", "litellm")["spec"]["template"]["spec"]["containers"]
    names = [e["name"] for e in container["env"] if e["name"].startswith("EXTERNAL_")]
    assert len(names) == 1
    return {names[0]: EXTERNAL_KEY}


def post(gw, path, body, key=MASTER):
    return http_json("POST", gw["proxy"].base_url + path, body, headers={"Authorization": f"Bearer {key}"}, timeout=60)


class TestGatewayServesDeclaredAliases:
    def test_models_lists_exactly_the_aliases(self, gateway):
        status, _, body = http_json(
            "GET", gateway["proxy"].base_url + "/v1/models", headers={"Authorization": f"Bearer {MASTER}"}
        )
        assert status == 200
        assert sorted(m["id"] for m in body["data"]) == sorted(e["model_name"] for e in gateway["config"]["model_list"])

    def test_chat_through_alias_is_priced_as_declared(self, gateway):
        entry = next(
            e
            for e in gateway["config"]["model_list"]
            if e["model_name"] in gateway["running"] and e["model_info"]["mode"] == "chat"
        )
        status, headers, body = post(
            gateway,
            "/v1/chat/completions",
            {"model": entry["model_name"], "messages": [{"role": "user", "content": "hi"}], "max_tokens": 6},
        )
        assert status == 200, body
        usage, params = body["usage"], entry["litellm_params"]
        expected = (
            usage["prompt_tokens"] * params["input_cost_per_token"]
            + usage["completion_tokens"] * params["output_cost_per_token"]
        )
        assert float(headers["x-litellm-response-cost"]) == pytest.approx(expected, rel=1e-9)

    def test_missing_key_is_refused(self, gateway):
        status, _, _ = http_json(
            "POST",
            gateway["proxy"].base_url + "/v1/chat/completions",
            {"model": "coder-chat", "messages": [{"role": "user", "content": "x"}]},
        )
        assert status == 401


class TestScaledToZeroFailsFast:
    def test_refused_in_seconds_with_reason_and_retry_after(self, gateway):
        idle = next(
            e["model_name"] for e in gateway["config"]["model_list"] if e["model_name"] not in gateway["running"]
        )
        start = time.monotonic()
        status, headers, body = post(
            gateway,
            "/v1/chat/completions",
            {"model": idle, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4},
        )
        elapsed = time.monotonic() - start
        text = json.dumps(body)
        assert status == 503 and elapsed < 5, (status, elapsed, text)
        assert headers.get("retry-after") == "30", headers  # seed 001: as vllm-chill answers a loading model
        assert "not available" in text and "scaled to zero" in text and "pulumi config set" in text

    def test_serves_once_a_pod_answers_without_gateway_restart(self, gateway):
        entry = next(e for e in gateway["config"]["model_list"] if e["model_name"] not in gateway["running"])
        chat = {"model": entry["model_name"], "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}
        with run_llama_server(
            ["-m", str(gateway["gguf"]), "--alias", served(entry), "--ctx-size", "512"],
            port=gateway["ports"][entry["model_name"]],
            bin_path=gateway["llama"],
            env={"LLAMA_API_KEY": UPSTREAM},
        ):
            time.sleep(2.5)  # the hook caches a refused probe for 2 s
            status, _, body = post(gateway, "/v1/chat/completions", chat)
            assert status == 200 and body["choices"], body
        time.sleep(1.2)  # the hook trusts an "up" probe for 1 s; then the model is refused again
        status, _, body = post(gateway, "/v1/chat/completions", chat)
        assert status == 503 and "not available" in json.dumps(body)


class TestSmokeScript:
    def run(self, gateway, models):
        path = gateway["work"] / "smoke.json"
        path.write_text(json.dumps(models))
        env = {
            **os.environ,
            "GATEWAY_URL": gateway["proxy"].base_url,
            "GATEWAY_KEY": MASTER,
            "UPSTREAM_KEY": UPSTREAM,
            "MODELS_FILE": str(path),
            # every model here is up already: a broken one is retried only briefly, not for the 20-minute default
            "READY_DEADLINE_SECONDS": "5",
            "POLL_SECONDS": "0.5",
        }
        return subprocess.run(
            [sys.executable, str(SMOKE_SCRIPT)], check=False, env=env, capture_output=True, text=True, timeout=300
        )

    def localised(self, gateway):
        cm = gateway["plan"].one("ConfigMap", "smoke-test")
        models = json.loads(cm["data"]["models.json"])
        for m in models:
            if m["direct"]:
                m["direct"]["url"] = f"http://127.0.0.1:{gateway['ports'][m['name']]}/v1"
        return models

    def test_green_on_the_rendered_model_list(self, gateway):
        res = self.run(gateway, self.localised(gateway))
        assert res.returncode == 0, res.stdout + res.stderr
        lines = [ln for ln in res.stdout.splitlines() if ln.startswith(("PASS", "FAIL"))]
        assert len(lines) == len(gateway["config"]["model_list"]) and all(ln.startswith("PASS") for ln in lines)
        assert "direct=200" in res.stdout and "fails fast" in res.stdout
        assert "[completion]" in res.stdout and "[chat]" in res.stdout
        ext = next(ln for ln in lines if gateway["external"]["model_name"] in ln)
        assert "gateway=200" in ext and "direct=n/a" in ext

    def test_red_when_a_running_model_breaks(self, gateway):
        models = self.localised(gateway)
        models[0]["direct"]["url"] = f"http://127.0.0.1:{free_port()}/v1"  # its Service points nowhere
        res = self.run(gateway, models)
        assert res.returncode == 1 and f"FAIL {models[0]['name']}" in res.stdout


class TestExternalModel:
    def test_metadata_and_limits_reach_the_proxy(self, gateway):
        name = gateway["external"]["model_name"]
        status, _, body = http_json(
            "GET", gateway["proxy"].base_url + "/v1/model/info", headers={"Authorization": f"Bearer {MASTER}"}
        )
        assert status == 200
        info = next(d for d in body["data"] if d["model_name"] == name)
        assert info["model_info"]["display_name"] == "Granite 8B Code Instruct"
        assert info["model_info"]["context_length"] == 131072 and info["model_info"]["category"] == "code"
        assert info["litellm_params"]["rpm"] == 120 and info["litellm_params"]["tpm"] == 100000

    def test_chat_through_the_external_alias(self, gateway):
        status, _, body = post(
            gateway,
            "/v1/chat/completions",
            {
                "model": gateway["external"]["model_name"],
                "messages": [{"role": "user", "content": "hi"}],
                "max_tokens": 4,
            },
        )
        assert status == 200 and body["choices"]


def run_key_job(gateway, tmp_path, kube, keys: list[dict]) -> subprocess.CompletedProcess:
    """The key Job's script for `keys` against the real proxy, with `kube` served as the Kubernetes API."""
    from tests.fakes import serve
    from tests.test_mint_keys import GW_NS, SCRIPT, TOKEN

    # The Job's file since the Lease (issue 20): the keys and the Lease that the Job and the heal CronJob share.
    kube.create_lease(GW_NS, "litellm-keys")
    lease = {"namespace": GW_NS, "name": "litellm-keys"}
    (tmp_path / "keys.json").write_text(json.dumps({"keys": keys, "lease": lease}))
    (tmp_path / "token").write_text(TOKEN)
    with serve(kube) as kube_url:
        env = {
            **os.environ,
            "LITELLM_URL": gateway["proxy"].base_url,
            "LITELLM_MASTER_KEY": MASTER,
            "KEYS_FILE": str(tmp_path / "keys.json"),
            "K8S_API": kube_url,
            "K8S_TOKEN_FILE": str(tmp_path / "token"),
            "WAIT_SECONDS": "10",
        }
        return subprocess.run(
            [sys.executable, str(SCRIPT)], check=False, env=env, capture_output=True, text=True, timeout=120
        )


class TestKeyJobAgainstTheRealProxy:
    """As far as this machine allows: the proxy has no database (Prisma cannot fetch its engines here), so the
    Job must wait for readiness, look the alias up (/key/list, the first call with an empty Secret), and fail
    loudly on the proxy's 500 without writing a Secret or generating anything."""

    def test_fails_loudly_without_a_database(self, gateway, tmp_path):
        from tests.fakes import FakeKube
        from tests.test_mint_keys import KEYS, TOKEN

        kube = FakeKube(TOKEN)
        for key in KEYS:  # `pulumi up` creates each key's Secret, empty, before the Job runs
            kube.create_secret(key["namespace"], key["secret_name"])
        res = run_key_job(gateway, tmp_path, kube, KEYS)
        assert res.returncode == 1
        # the first call for a key with no stored value looks the alias up (/key/list: a hand-minted key is never
        # deleted); the real proxy answers 500 without its database, and the Job stops there
        assert "/key/list for 'open-webui' failed (500) (virtual keys need the gateway's database" in res.stderr
        assert "/key/delete" not in res.stderr and "/key/generate" not in res.stderr
        assert all(not s.get("data") for s in kube.secrets.values()) and MASTER not in res.stdout + res.stderr

    def test_info_error_is_not_gone(self, gateway, tmp_path):
        """The real proxy's /key/info without a database answers 500: the stored key is kept, nothing minted."""
        import base64

        from tests.fakes import FakeKube
        from tests.test_mint_keys import KEYS, TOKEN

        kube = FakeKube(TOKEN)
        stored = {
            "metadata": {"name": KEYS[0]["secret_name"]},
            "data": {"api-key": base64.b64encode(b"sk-kept").decode()},
        }
        kube.secrets[(KEYS[0]["namespace"], KEYS[0]["secret_name"])] = stored
        res = run_key_job(gateway, tmp_path, kube, KEYS[:1])
        assert res.returncode == 1 and "/key/info for 'open-webui' failed (500)" in res.stderr
        assert "/key/delete" not in res.stderr and "/key/generate" not in res.stderr
        assert kube.value(KEYS[0]["namespace"], KEYS[0]["secret_name"]) == "sk-kept"
        assert "sk-kept" not in res.stdout + res.stderr
