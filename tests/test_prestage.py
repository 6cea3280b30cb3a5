"""The weight pre-stage script, run for real with the network cut: a warm cache needs no hub."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from components.manifests.weight_stage import STAGE_SCRIPT as PRESTAGE_SCRIPT

REPO, COMMIT = "Qwen/Qwen2.5-Coder-7B-Instruct-AWQ", "0123456789abcdef0123456789abcdef01234567"


def offline_prefix() -> tuple[list[str], dict[str, str]]:
    """`unshare -n` (no network at all) where allowed, else proxies pointed at a closed local port."""
    if shutil.which("unshare") and subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0:
        return ["unshare", "-n"], {}
    dead = "http://127.0.0.1:9"
    return [], {"HTTPS_PROXY": dead, "HTTP_PROXY": dead, "https_proxy": dead, "http_proxy": dead}


def warm_cache(hf_home: Path) -> Path:
    repo_dir = hf_home / "hub" / f"models--{REPO.replace('/', '--')}"
    snap = repo_dir / "snapshots" / COMMIT
    snap.mkdir(parents=True)
    (snap / "config.json").write_text('{"architectures": ["Qwen2ForCausalLM"]}')
    (snap / "tokenizer.json").write_text("{}")
    (snap / "model.safetensors").write_bytes(b"\0" * 1024)
    (repo_dir / "refs").mkdir()
    (repo_dir / "refs" / "main").write_text(COMMIT)
    return snap


def run(hf_home: Path, **extra: str) -> subprocess.CompletedProcess:
    prefix, net_env = offline_prefix()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING"))}
    env.update(net_env)
    env.update({"HF_HOME": str(hf_home), "MODEL_ID": REPO, **extra})
    return subprocess.run(
        [*prefix, sys.executable, str(PRESTAGE_SCRIPT)], env=env, capture_output=True, text=True, timeout=120
    )


class TestOfflineFirstPrestage:
    def test_warm_cache_succeeds_with_network_cut(self, tmp_path):
        snap = warm_cache(tmp_path)
        before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
        res = run(tmp_path)
        assert res.returncode == 0, res.stdout + res.stderr
        assert "warm cache" in res.stdout and "0 hub calls" in res.stdout and str(snap) in res.stdout
        after = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
        assert after == before, "nothing was downloaded or written"

    def test_pinned_revision_resolves_offline(self, tmp_path):
        warm_cache(tmp_path)
        res = run(tmp_path, MODEL_REVISION=COMMIT)
        assert res.returncode == 0 and "warm cache" in res.stdout

    def test_cold_cache_tries_the_hub_and_reports(self, tmp_path):
        # proves the cut is real: the same script cannot pull, retries, then explains the way out
        res = run(tmp_path, MODEL_ID="org/not-cached")
        assert res.returncode == 1
        assert "cold cache" in res.stdout
        assert "copy the HF cache onto the PVC" in res.stderr

    def test_requires_model_id(self, tmp_path):
        res = run(tmp_path, MODEL_ID="")
        assert res.returncode == 2


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch):
    # the cold-cache test must not sit through the production backoff
    monkeypatch.setenv("PRESTAGE_ATTEMPTS", "1")
