"""Warm means complete: a cut-off pull is never taken as cached; a complete copied-in cache still needs no hub."""

import importlib.util
import json
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from components.manifests.vllm import PRESTAGE_SCRIPT
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
    """The online branch, in process: huggingface_hub's snapshot_download is replaced by a fake hub."""

    def test_partial_cache_is_pulled_again_then_marked_complete(self, tmp_path, monkeypatch, capsys):
        monkeypatch.setenv("HF_HOME", str(tmp_path))
        snap = snapshot(tmp_path, {"config.json": "{}"})
        calls: list[object] = []

        def fake_snapshot_download(repo, revision=None, local_files_only=False, ignore_patterns=None):
            calls.append(local_files_only)
            if not local_files_only:
                for name, text in sharded().items():
                    (snap / name).write_text(text)
            return str(snap)

        import huggingface_hub

        class FakeApi:
            def model_info(self, repo, revision=None):
                calls.append("list")
                siblings = [SimpleNamespace(rfilename=f) for f in [*sharded(), "original/consolidated.pth"]]
                return SimpleNamespace(sha=COMMIT, siblings=siblings)

        monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot_download)
        monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
        monkeypatch.setenv("IGNORE_PATTERNS", "original/*,*.pth")
        mod = prestage_module()
        assert mod.prestage(REPO, None, attempts=1) == snap
        assert calls == [True, "list", False], "one local look-up, then one listing and one pull"
        assert "incomplete cache" in capsys.readouterr().out
        assert sorted(json.loads(mod._marker(snap).read_text())["files"]) == sorted(sharded())
        calls.clear()
        mod.prestage(REPO, None, attempts=1)
        assert calls == [True], "the next start is warm: no pull"


def prestage_module():
    spec = importlib.util.spec_from_file_location("prestage_weights", PRESTAGE_SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    sys.modules.pop("prestage_weights", None)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch):
    monkeypatch.setenv("PRESTAGE_ATTEMPTS", "1")
