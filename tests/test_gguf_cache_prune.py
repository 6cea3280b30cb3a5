"""fetch_gguf.py keeps a llama.cpp cache to what its catalog links (issue 15, 2b): after every entry staged, other
repos, revisions and quants and the links of removed swap models go, so a model change never fills the volume; a
failed stage removes nothing. Run for real on an HF cache laid out as huggingface_hub writes it, network cut."""

import os
from pathlib import Path

from tests.test_fetch_gguf import COMMIT, run, warm_repo

OLD = "0123456789abcdef0123456789abcdef01234567"


def entry(pvc: Path, name: str, repo: str, quant: str = "Q4_K_M") -> dict:
    return {"name": name, "repo": repo, "quant": quant, "link": str(pvc / "weights" / f"{name}.gguf")}


def files(hf: Path) -> set[str]:
    return {p.relative_to(hf / "hub").as_posix() for p in (hf / "hub").rglob("*") if p.is_file() or p.is_symlink()}


def blobs(hf: Path, repo: str) -> set[bytes]:
    return {b.read_bytes() for b in (hf / "hub" / f"models--{repo.replace('/', '--')}" / "blobs").iterdir()}


def old_snapshot(hf: Path, repo: str) -> Path:
    """A second revision of `repo` in the cache, as a revision bump leaves it."""
    repo_dir = hf / "hub" / f"models--{repo.replace('/', '--')}"
    blob = repo_dir / "blobs" / "old-blob"
    blob.write_bytes(b"old")
    path = repo_dir / "snapshots" / OLD / "a-Q4_K_M.gguf"
    path.parent.mkdir(parents=True)
    path.symlink_to(os.path.relpath(blob, path.parent))
    (repo_dir / "refs" / "v1").write_text(OLD)
    return path


class TestCacheKeepsOnlyTheCatalog:
    def test_removed_swap_model_other_quants_and_old_revisions_go(self, tmp_path):
        pvc = tmp_path / "models"
        hf = pvc / "hf"
        warm_repo(hf, "org/a-GGUF", {"a-Q4_K_M.gguf": b"a", "a-Q8_0.gguf": b"a8", "README.md": b"r"})
        warm_repo(hf, "org/b-GGUF", {"b-Q4_K_M.gguf": b"b"})
        old_snapshot(hf, "org/a-GGUF")
        (hf / "hub" / "models--org--a-GGUF" / "blobs" / "cut.incomplete").write_bytes(b"half")
        both = [entry(pvc, "A", "org/a-GGUF"), entry(pvc, "B", "org/b-GGUF")]
        assert run(tmp_path, both).returncode == 0
        res = run(tmp_path, both[:1])  # B leaves the swap pool
        assert res.returncode == 0, res.stderr
        assert files(hf) == {
            f"models--org--a-GGUF/snapshots/{COMMIT}/a-Q4_K_M.gguf",
            "models--org--a-GGUF/blobs/blob0000",
            "models--org--a-GGUF/refs/main",
        }
        assert blobs(hf, "org/a-GGUF") == {b"a"}, "the other quant, the old revision and the cut download are gone"
        assert sorted(p.name for p in (pvc / "weights").iterdir()) == ["A.gguf"], "B's link went with it"
        assert (pvc / "weights" / "A.gguf").read_bytes() == b"a"
        assert "removed from the cache" in res.stdout and "models--org--b-GGUF" in res.stdout

    def test_a_second_run_removes_nothing_more(self, tmp_path):
        pvc = tmp_path / "models"
        warm_repo(pvc / "hf", "org/a-GGUF", {"a-Q4_K_M.gguf": b"a", "a-Q8_0.gguf": b"a8"})
        cat = [entry(pvc, "A", "org/a-GGUF")]
        assert run(tmp_path, cat).returncode == 0
        kept = files(pvc / "hf")
        res = run(tmp_path, cat)
        assert res.returncode == 0 and "removed" not in res.stdout
        assert files(pvc / "hf") == kept

    def test_two_quants_of_one_repo_both_stay(self, tmp_path):
        pvc = tmp_path / "models"
        warm_repo(pvc / "hf", "org/a-GGUF", {"a-Q4_K_M.gguf": b"a", "a-Q8_0.gguf": b"a8", "a-Q2_K.gguf": b"a2"})
        cat = [entry(pvc, "A", "org/a-GGUF"), entry(pvc, "A8", "org/a-GGUF", "Q8_0")]
        assert run(tmp_path, cat).returncode == 0
        assert blobs(pvc / "hf", "org/a-GGUF") == {b"a", b"a8"}

    def test_split_gguf_keeps_every_shard(self, tmp_path):
        pvc = tmp_path / "models"
        shards = {f"Q4_K_M/Big-Q4_K_M-0000{i}-of-00002.gguf": bytes([i]) for i in (1, 2)}
        warm_repo(pvc / "hf", "org/Big-GGUF", {**shards, "Q8_0/Big-Q8_0.gguf": b"x"})
        assert run(tmp_path, [entry(pvc, "Big", "org/Big-GGUF")]).returncode == 0
        assert blobs(pvc / "hf", "org/Big-GGUF") == {b"\x01", b"\x02"}
        assert not (pvc / "hf" / "hub" / "models--org--Big-GGUF" / "snapshots" / COMMIT / "Q8_0").exists()

    def test_a_failed_stage_removes_nothing(self, tmp_path):
        pvc = tmp_path / "models"
        warm_repo(pvc / "hf", "org/a-GGUF", {"a-Q4_K_M.gguf": b"a"})
        warm_repo(pvc / "hf", "org/b-GGUF", {"b-Q4_K_M.gguf": b"b"})
        before = files(pvc / "hf")
        # B is not cached under this quant and the network is cut: the stage fails, so nothing is pruned
        res = run(tmp_path, [entry(pvc, "A", "org/a-GGUF"), entry(pvc, "B", "org/b-GGUF", "Q6_K")])
        assert res.returncode != 0
        assert files(pvc / "hf") == before

    def test_prune_off_keeps_everything(self, tmp_path):
        pvc = tmp_path / "models"
        warm_repo(pvc / "hf", "org/a-GGUF", {"a-Q4_K_M.gguf": b"a"})
        warm_repo(pvc / "hf", "org/b-GGUF", {"b-Q4_K_M.gguf": b"b"})
        before = files(pvc / "hf")
        assert run(tmp_path, [entry(pvc, "A", "org/a-GGUF")], PRUNE="0").returncode == 0
        assert files(pvc / "hf") == before
