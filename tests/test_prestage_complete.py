"""Warm means complete: a cut-off pull is never taken as cached; a complete copied-in cache still needs no hub."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from components.manifests.weight_stage import STAGE_SCRIPT as PRESTAGE_SCRIPT
from tests.test_prestage import COMMIT, REPO, run

SHARDS = [f"model-0000{i}-of-00003.safetensors" for i in (1, 2, 3)]


def snapshot(hf_home: Path, files: dict[str, str]) -> Path:
    repo_dir = hf_home / "hub" / f"models--{REPO.replace('/', '--')}"
    snap = repo_dir / "snapshots" / COMMIT
    snap.mkdir(parents=True)
    for name, text in files.items():
        (snap / name).write_text(text)
    (repo_dir / "refs").mkdir()
    (repo_dir / "refs" / "main").write_text(COMMIT)
    return snap


def sharded(*, drop: str | None = None) -> dict[str, str]:
    index = {"metadata": {}, "weight_map": {f"layer.{i}": s for i, s in enumerate(SHARDS)}}
    files = {
        "config.json": "{}",
        "tokenizer.json": "{}",
        "tokenizer_config.json": "{}",
        "model.safetensors.index.json": json.dumps(index),
        **dict.fromkeys(SHARDS, "w"),
    }
    files.pop(drop, None)
    return files


def tree(root: Path) -> list[Path]:
    return sorted(p.relative_to(root) for p in root.rglob("*"))


class TestPartialCacheIsNotWarm:
    def test_config_only_is_not_warm_and_fails_offline_naming_what_is_missing(self, tmp_path):
        snapshot(tmp_path, {"config.json": "{}"})
        res = run(tmp_path)
        assert res.returncode == 1, res.stdout
        assert "warm cache" not in res.stdout and "0 hub calls" not in res.stdout
        assert "incomplete cache" in res.stdout and "weights" in res.stdout and "tokenizer" in res.stdout
        assert "lacks" in res.stderr and "copy the HF cache onto the PVC" in res.stderr

    def test_missing_shard_of_the_index_is_not_warm(self, tmp_path):
        snapshot(tmp_path, sharded(drop=SHARDS[1]))
        res = run(tmp_path)
        assert res.returncode == 1
        assert f"missing {SHARDS[1]}" in res.stdout

    def test_dangling_blob_link_counts_as_missing(self, tmp_path):
        snap = snapshot(tmp_path, sharded(drop=SHARDS[2]))
        (snap / SHARDS[2]).symlink_to("../../blobs/never-finished")
        res = run(tmp_path)
        assert res.returncode == 1 and SHARDS[2] in res.stdout

    def test_marker_listing_a_vanished_file_is_not_warm(self, tmp_path):
        snap = snapshot(tmp_path, sharded())
        prestage_module().mark_complete(snap)
        (snap / SHARDS[0]).unlink()
        res = run(tmp_path)
        assert res.returncode == 1 and SHARDS[0] in res.stdout


class TestCompleteCacheIsWarmWithoutHub:
    def test_copied_in_sharded_cache_without_marker_is_warm_with_network_cut(self, tmp_path):
        snapshot(tmp_path, sharded())
        before = tree(tmp_path)
        res = run(tmp_path)
        assert res.returncode == 0, res.stdout + res.stderr
        assert "warm cache" in res.stdout and "0 hub calls" in res.stdout
        assert tree(tmp_path) == before, "a copied-in cache is used as it is: no marker, nothing written"

    def test_marker_makes_a_repo_without_tokenizer_warm(self, tmp_path):
        snap = snapshot(tmp_path, {"config.json": "{}", "model.safetensors": "w"})
        prestage_module().mark_complete(snap)
        res = run(tmp_path)
        assert res.returncode == 0 and "warm cache" in res.stdout


class TestOnlineRepull:
    """The online branch, in process, against the fake hub of tests/test_prestage_hub.py."""

    def test_partial_cache_is_pulled_again_then_marked_complete(self, tmp_path, monkeypatch, capsys):
        from tests.test_prestage_hub import FakeHub

        monkeypatch.setenv("HF_HOME", str(tmp_path))
        snapshot(tmp_path, {"config.json": "{}"})
        hub = FakeHub(tmp_path, REPO, {**sharded(), "original/consolidated.pth": "big"}, commit=COMMIT)
        hub.install(monkeypatch)
        mod = prestage_module()
        snap = mod.prestage(REPO, None, attempts=1)
        assert hub.calls[0] == "info" and "snapshot" in hub.calls, "listed and checked before the pull"
        assert "incomplete cache" in capsys.readouterr().out
        assert sorted(json.loads(mod._marker(snap).read_text())["files"]) == sorted(sharded())
        hub.calls.clear()
        mod.prestage(REPO, None, attempts=1)
        assert hub.calls == [], "the next start is warm: no hub call"


def prestage_module():
    spec = importlib.util.spec_from_file_location("prestage_weights", PRESTAGE_SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    sys.modules.pop("prestage_weights", None)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch):
    monkeypatch.setenv("PRESTAGE_ATTEMPTS", "1")
