"""fetch_gguf.py, run for real with the network cut: a warm HF cache stages and links a GGUF with no hub."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from components.manifests.llamacpp import FETCH_SCRIPT
from models.llamacpp import quant_matches
from tests.test_prestage import offline_prefix

COMMIT = "89abcdef0123456789abcdef0123456789abcdef"


def warm_repo(hf_home: Path, repo: str, files: dict[str, bytes], revision: str = "main") -> Path:
    """An HF hub cache as huggingface_hub writes it: blobs, snapshot symlinks, refs/<revision>."""
    repo_dir = hf_home / "hub" / f"models--{repo.replace('/', '--')}"
    snap = repo_dir / "snapshots" / COMMIT
    for i, (name, data) in enumerate(files.items()):
        blob = repo_dir / "blobs" / f"blob{i:04d}"
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(data)
        path = snap / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(os.path.relpath(blob, path.parent))
    (repo_dir / "refs").mkdir(exist_ok=True)
    (repo_dir / "refs" / revision).write_text(COMMIT)
    return snap


def run(tmp: Path, catalog: list[dict], **env_extra: str) -> subprocess.CompletedProcess:
    cat = tmp / "models.json"
    cat.write_text(json.dumps(catalog))
    prefix, net_env = offline_prefix()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING"))}
    env.update(net_env)
    env.update({"HF_HOME": str(tmp / "models" / "hf"), "FETCH_ATTEMPTS": "1", **env_extra})
    return subprocess.run(
        [*prefix, sys.executable, str(FETCH_SCRIPT), str(cat)], env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def pvc(tmp_path: Path) -> Path:
    return tmp_path / "models"


REPO = "unsloth/GLM-4.7-Flash-GGUF"
FILES = {
    "GLM-4.7-Flash-Q4_K_M.gguf": b"q4km",
    "GLM-4.7-Flash-Q8_0.gguf": b"q8",
    "GLM-4.7-Flash-UD-Q4_K_XL.gguf": b"xl",
    "README.md": b"readme",
}


class TestOfflineFirstStaging:
    def test_warm_cache_links_the_quant_with_network_cut(self, tmp_path, pvc):
        warm_repo(pvc / "hf", REPO, FILES)
        before = sorted(p.relative_to(pvc / "hf") for p in (pvc / "hf").rglob("*"))
        link = pvc / "weights" / "model.gguf"
        res = run(tmp_path, [{"name": "GLM-4.7-Flash", "repo": REPO, "quant": "Q4_K_M", "link": str(link)}])
        assert res.returncode == 0, res.stdout + res.stderr
        assert "warm cache" in res.stdout and "0 hub calls" in res.stdout
        assert link.is_symlink() and not os.path.isabs(os.readlink(link)), "relative: valid at any mount path"
        assert link.read_bytes() == b"q4km"
        after = sorted(p.relative_to(pvc / "hf") for p in (pvc / "hf").rglob("*"))
        assert set(after) <= set(before), "nothing pulled (the prune may remove the other quants)"

    def test_rerun_is_idempotent_and_relinks_atomically(self, tmp_path, pvc):
        warm_repo(pvc / "hf", REPO, FILES)
        link = pvc / "weights" / "model.gguf"
        entry = {"name": "m", "repo": REPO, "quant": "Q8_0", "link": str(link)}
        # PRUNE=0: both quants stay cached (with the prune on, the second quant is a download)
        assert run(tmp_path, [entry], PRUNE="0").returncode == 0
        assert link.read_bytes() == b"q8"
        entry["quant"] = "Q4_K_M"  # a quant change re-points the same deterministic path
        assert run(tmp_path, [entry], PRUNE="0").returncode == 0
        assert link.read_bytes() == b"q4km"
        assert sorted(p.name for p in link.parent.iterdir()) == ["model.gguf"], "no temp link left behind"

    def test_explicit_file_and_pinned_revision(self, tmp_path, pvc):
        warm_repo(pvc / "hf", REPO, FILES, revision=COMMIT)
        link = pvc / "weights" / "model.gguf"
        res = run(
            tmp_path,
            [
                {
                    "name": "m",
                    "repo": REPO,
                    "file": "GLM-4.7-Flash-UD-Q4_K_XL.gguf",
                    "revision": COMMIT,
                    "link": str(link),
                }
            ],
        )
        assert res.returncode == 0, res.stderr
        assert link.read_bytes() == b"xl"

    def test_swap_catalog_links_each_model_by_name(self, tmp_path, pvc):
        warm_repo(pvc / "hf", "org/a-GGUF", {"a-Q4_K_M.gguf": b"a"})
        warm_repo(pvc / "hf", "org/b-GGUF", {"b-Q4_K_M.gguf": b"b", "b-Q5_K_M.gguf": b"b5"})
        cat = [
            {"name": n, "repo": f"org/{r}-GGUF", "quant": "Q4_K_M", "link": str(pvc / "weights" / f"{n}.gguf")}
            for n, r in (("Model-A", "a"), ("Model.B", "b"))
        ]
        res = run(tmp_path, cat)
        assert res.returncode == 0, res.stderr
        assert (pvc / "weights" / "Model-A.gguf").read_bytes() == b"a"
        assert (pvc / "weights" / "Model.B.gguf").read_bytes() == b"b"

    def test_split_gguf_links_first_shard(self, tmp_path, pvc):
        shards = {f"Q4_K_M/Big-Q4_K_M-0000{i}-of-00003.gguf": bytes([i]) for i in (1, 2, 3)}
        warm_repo(pvc / "hf", "org/Big-GGUF", {**shards, "Q8_0/Big-Q8_0-00001-of-00002.gguf": b"x"})
        link = pvc / "weights" / "model.gguf"
        res = run(tmp_path, [{"name": "Big", "repo": "org/Big-GGUF", "quant": "Q4_K_M", "link": str(link)}])
        assert res.returncode == 0, res.stderr
        assert link.read_bytes() == b"\x01"
        assert "-00003-of-00003" in res.stdout, "the whole shard set is staged"


class TestSplitGgufNeedsEveryShard:
    def test_missing_middle_shard_is_cold_not_warm(self, tmp_path, pvc):
        shards = {f"Q4_K_M/Big-Q4_K_M-0000{i}-of-00003.gguf": bytes([i]) for i in (1, 3)}
        warm_repo(pvc / "hf", "org/Big-GGUF", shards)
        link = pvc / "weights" / "model.gguf"
        res = run(tmp_path, [{"name": "Big", "repo": "org/Big-GGUF", "quant": "Q4_K_M", "link": str(link)}])
        assert res.returncode == 1, "offline, an incomplete split cannot be staged"
        assert "warm cache" not in res.stdout and "0 hub calls" not in res.stdout
        assert "missing Q4_K_M/Big-Q4_K_M-00002-of-00003.gguf" in res.stdout and "cold cache" in res.stdout
        assert not link.exists(), "nothing linked to a model llama.cpp cannot load"

    def test_missing_last_shard_of_an_explicit_file_is_cold(self, tmp_path, pvc):
        warm_repo(pvc / "hf", "org/Big-GGUF", {"Big-00001-of-00002.gguf": b"1"})
        entry = {"name": "Big", "repo": "org/Big-GGUF", "file": "Big-00001-of-00002.gguf", "link": str(pvc / "m")}
        res = run(tmp_path, [entry])
        assert res.returncode == 1 and "missing Big-00002-of-00002.gguf" in res.stdout

    def test_shard_rule(self):
        mod = script()
        assert mod.missing_shards(["a-00001-of-00002.gguf", "a-00002-of-00002.gguf"]) == []
        assert mod.missing_shards(["a-00002-of-00003.gguf"]) == ["a-00001-of-00003.gguf", "a-00003-of-00003.gguf"]
        assert mod.missing_shards(["a-Q4_K_M.gguf"]) == []

    def test_a_hub_listing_without_every_shard_is_refused(self):
        mod = script()
        files = ["Q4_K_M/Big-Q4_K_M-00001-of-00002.gguf"]
        chosen = mod.select(files, {"repo": "org/Big-GGUF", "quant": "Q4_K_M"})
        assert mod.missing_shards(chosen) == ["Q4_K_M/Big-Q4_K_M-00002-of-00002.gguf"]


def script():
    spec = importlib.util.spec_from_file_location("fetch_gguf", FETCH_SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class TestStagingFailuresExplainTheFix:
    def test_ambiguous_quant_lists_candidates(self, tmp_path, pvc):
        warm_repo(pvc / "hf", REPO, {"X-Q4_K_M.gguf": b"1", "X-UD-Q4_K_M.gguf": b"2"})
        res = run(tmp_path, [{"name": "m", "repo": REPO, "quant": "Q4_K_M", "link": str(pvc / "w" / "m.gguf")}])
        assert res.returncode == 3  # FATAL_EXIT: the stage Job fails at once, no retry can pick for you
        assert "matches several GGUFs" in res.stderr and "X-UD-Q4_K_M.gguf" in res.stderr
        assert "set ggufFile" in res.stderr

    def test_cold_cache_tries_the_hub_and_reports(self, tmp_path, pvc):
        # proves the cut is real: a cache miss must go to the hub, cannot, and says how to get unstuck
        res = run(
            tmp_path, [{"name": "m", "repo": "org/not-cached", "quant": "Q4_K_M", "link": str(pvc / "w" / "m.gguf")}]
        )
        assert res.returncode == 1
        assert "cold cache" in res.stdout
        assert "copy the HF cache onto the PVC" in res.stderr

    def test_warm_cache_without_the_quant_is_cold(self, tmp_path, pvc):
        warm_repo(pvc / "hf", REPO, {"GLM-4.7-Flash-Q8_0.gguf": b"q8"})
        res = run(tmp_path, [{"name": "m", "repo": REPO, "quant": "Q4_K_M", "link": str(pvc / "w" / "m.gguf")}])
        assert res.returncode == 1 and "cold cache" in res.stdout

    @pytest.mark.parametrize("catalog", ["{}", '[{"name": "m", "repo": "a/b", "link": "/x"}]'])
    def test_bad_catalog_exits_2(self, tmp_path, catalog):
        (tmp_path / "models.json").write_text(catalog)
        res = subprocess.run(
            [sys.executable, str(FETCH_SCRIPT), str(tmp_path / "models.json")],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert res.returncode == 2 and "bad catalog" in res.stderr


class TestQuantRuleIsShared:
    """The script is standalone (shipped in a ConfigMap), so it carries its own copy of the config's rule."""

    @pytest.mark.parametrize(
        "path",
        [
            "X-Q4_K_M.gguf",
            "x-q4_k_m.gguf",
            "Q4_K_M/X-00001-of-00002.gguf",
            "X-UD-Q4_K_M.gguf",
            "X-Q4_K_M_L.gguf",
            "X-Q4_K_MX.gguf",
            "X-IQ4_K_M.gguf",
            "X-Q4_K_S.gguf",
        ],
    )
    def test_same_verdict(self, path):
        spec = importlib.util.spec_from_file_location("fetch_gguf", FETCH_SCRIPT)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        assert mod.quant_matches("Q4_K_M", path) == quant_matches("Q4_K_M", path)

    def test_rule(self):
        assert quant_matches("Q4_K_M", "X-Q4_K_M.gguf") and quant_matches("Q4_K_M", "Q4_K_M/X-00001-of-00002.gguf")
        assert not quant_matches("Q4_K_M", "X-Q4_K_M_L.gguf") and not quant_matches("Q4_K_M", "X-IQ4_K_M.gguf")
