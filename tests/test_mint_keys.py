"""The key-minting Job's script, run for real against LiteLLM's recorded key API and a fake Secret API."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes import FakeKube, FakeLiteLLM, serve

SCRIPT = Path(__file__).resolve().parent.parent / "components" / "scripts" / "mint_keys.py"
MASTER, TOKEN = "sk-master-test", "kube-token"
KEYS = [
    {
        "key_alias": "open-webui",
        "models": ["coder-chat", "coder-fim"],
        "max_budget": 5.0,
        "budget_duration": "30d",
        "namespace": "experience",
        "secret_name": "litellm-key-open-webui",
    },
    {
        "key_alias": "tabby",
        "models": ["coder-fim"],
        "rpm_limit": 60,
        "namespace": "experience",
        "secret_name": "litellm-key-tabby",
    },
]


@pytest.fixture
def world(tmp_path):
    gw, kube = FakeLiteLLM(MASTER), FakeKube(TOKEN)
    keys_file, token_file = tmp_path / "keys.json", tmp_path / "token"
    keys_file.write_text(json.dumps(KEYS))
    token_file.write_text(TOKEN)
    with serve(gw) as gw_url, serve(kube) as kube_url:

        def run(master=MASTER):
            env = {
                **os.environ,
                "LITELLM_URL": gw_url,
                "LITELLM_MASTER_KEY": master,
                "KEYS_FILE": str(keys_file),
                "K8S_API": kube_url,
                "K8S_TOKEN_FILE": str(token_file),
                "WAIT_SECONDS": "5",
            }
            return subprocess.run([sys.executable, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60)

        yield gw, kube, run


class TestMintKeysIdempotent:
    def test_first_run_mints_and_stores(self, world):
        gw, kube, run = world
        res = run()
        assert res.returncode == 0, res.stderr
        assert "open-webui: minted" in res.stdout and "tabby: minted" in res.stdout
        value = kube.value("experience", "litellm-key-open-webui")
        assert value in gw.keys and gw.keys[value]["models"] == ["coder-chat", "coder-fim"]
        assert gw.keys[value]["max_budget"] == 5.0 and gw.keys[value]["budget_duration"] == "30d"
        assert gw.contract_violations == []

    def test_second_run_keeps_valid_keys(self, world):
        gw, kube, run = world
        run()
        first = {a: kube.value("experience", f"litellm-key-{a}") for a in ("open-webui", "tabby")}
        res = run()
        assert res.returncode == 0 and res.stdout.count(": kept") == 2
        assert {a: kube.value("experience", f"litellm-key-{a}") for a in first} == first
        assert sum(1 for m, p, _ in gw.calls if p == "/key/generate") == 2, "no new key on the second run"

    def test_invalid_stored_key_is_reminted(self, world):
        gw, kube, run = world
        run()
        stale = kube.value("experience", "litellm-key-tabby")
        del gw.keys[stale]  # e.g. the database was restored from an older backup
        res = run()
        assert "tabby: re-minted" in res.stdout and "open-webui: kept" in res.stdout
        assert kube.value("experience", "litellm-key-tabby") != stale

    def test_keys_never_printed(self, world):
        gw, _kube, run = world
        res = run()
        for key in gw.keys:
            assert key not in res.stdout + res.stderr

    def test_wrong_master_key_fails_loudly(self, world):
        _, kube, run = world
        res = run(master="sk-wrong")
        assert res.returncode == 1 and "/key/generate for 'open-webui' failed (401)" in res.stderr
        assert kube.secrets == {}
