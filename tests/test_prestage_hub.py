"""The weight stage against a fake Hugging Face hub: it checks the repo before downloading, pulls only what vLLM
loads (an allow-list like vLLM's own loader), fails fast naming the repo and file, and leaves one model in the cache.

FakeHub stands in for huggingface_hub's HfApi.model_info, hf_hub_download and snapshot_download, writing the real
HF cache layout (blobs, snapshot symlinks, refs), so the script's own cache reading and pruning run unchanged.
"""

import hashlib
import json
import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.test_prestage import COMMIT, REPO
from tests.test_prestage_complete import prestage_module


class FakeHub:
    def __init__(self, hf_home: Path, repo: str, files: dict[str, str], commit: str = COMMIT, gated: bool = False):
        self.hf_home, self.repo, self.files, self.commit, self.gated = hf_home, repo, files, commit, gated
        self.calls: list[str] = []
        self.downloaded: list[str] = []

    def install(self, monkeypatch):
        import huggingface_hub
        from huggingface_hub import utils

        hub = self

        class Api:
            def model_info(self, repo, revision=None, files_metadata=False):
                hub.calls.append("info")
                if repo != hub.repo:
                    raise utils.RepositoryNotFoundError(f"404 {repo}", response=_response(404))
                if revision not in (None, "main", hub.commit):
                    raise utils.RevisionNotFoundError(f"404 {revision}", response=_response(404))
                siblings = [SimpleNamespace(rfilename=f, size=len(t)) for f, t in hub.files.items()]
                return SimpleNamespace(sha=hub.commit, siblings=siblings, gated=hub.gated)

        def hf_hub_download(repo, filename, revision=None):
            hub.calls.append(f"get {filename}")
            if hub.gated:
                raise utils.GatedRepoError(f"403 {repo}", response=_response(403))
            return str(hub._write([filename]) / filename)

        def snapshot_download(repo, revision=None, allow_patterns=None, local_files_only=False, **_):
            if local_files_only:  # as huggingface_hub resolves it: refs/<revision>, else a commit folder
                repo_dir = hub.hf_home / "hub" / f"models--{repo.replace('/', '--')}"
                ref = repo_dir / "refs" / (revision or "main")
                commit = ref.read_text().strip() if ref.is_file() else revision
                snap = repo_dir / "snapshots" / str(commit)
                if commit and snap.is_dir():
                    return str(snap)
                raise FileNotFoundError(f"{repo}@{revision} is not cached")
            hub.calls.append("snapshot")
            from huggingface_hub.utils import filter_repo_objects

            return str(hub._write(list(filter_repo_objects(list(hub.files), allow_patterns=allow_patterns))))

        monkeypatch.setattr(huggingface_hub, "HfApi", Api)
        monkeypatch.setattr(huggingface_hub, "hf_hub_download", hf_hub_download)
        monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
        return self

    def _write(self, names: list[str]) -> Path:
        repo_dir = self.hf_home / "hub" / f"models--{self.repo.replace('/', '--')}"
        snap = repo_dir / "snapshots" / self.commit
        for name in names:
            text = self.files[name]
            blob = repo_dir / "blobs" / hashlib.sha256(text.encode()).hexdigest()
            blob.parent.mkdir(parents=True, exist_ok=True)
            blob.write_text(text)
            link = snap / name
            link.parent.mkdir(parents=True, exist_ok=True)
            if link.is_symlink() or link.exists():
                link.unlink()
            link.symlink_to(os.path.relpath(blob, link.parent))
            self.downloaded.append(name)
        (repo_dir / "refs").mkdir(parents=True, exist_ok=True)
        (repo_dir / "refs" / "main").write_text(self.commit)
        return snap


def _response(status: int):
    import requests

    r = requests.Response()
    r.status_code = status
    return r


def mistral_like() -> dict[str, str]:
    """A repo with both checkpoint formats, an ONNX export and training leftovers, as Mistral's and others ship."""
    index = {"weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}
    return {
        "config.json": "{}",
        "generation_config.json": "{}",
        "tokenizer.json": "{}",
        "tokenizer_config.json": "{}",
        "tokenizer.model": "spm",
        "chat_template.jinja": "{{ messages }}",
        "model.safetensors.index.json": json.dumps(index),
        "model-00001-of-00002.safetensors": "w1",
        "model-00002-of-00002.safetensors": "w2",
        "consolidated.safetensors": "mistral-format copy of every weight",
        "pytorch_model-00001-of-00002.bin": "b1",
        "onnx/model.onnx": "onnx",
        "original/consolidated.00.pth": "pth",
        "params.json": "{}",
        "README.md": "readme",
    }


@pytest.fixture
def mod(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    monkeypatch.setenv("PRESTAGE_ATTEMPTS", "1")
    return prestage_module()


class TestAllowListLikeVllm:
    def test_only_the_indexed_shards_json_and_tokenizer_are_pulled(self, tmp_path, monkeypatch, mod):
        hub = FakeHub(tmp_path, REPO, mistral_like()).install(monkeypatch)
        snap = mod.prestage(REPO, None)
        got = sorted(p.relative_to(snap).as_posix() for p in snap.rglob("*") if p.is_file())
        assert "consolidated.safetensors" not in got, "the index decides: no duplicate Mistral-format copy"
        assert not [f for f in got if f.endswith((".bin", ".onnx", ".pth", ".md"))]
        assert {"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "chat_template.jinja"} <= set(
            got
        )
        assert {"tokenizer.model", "generation_config.json", "params.json"} <= set(got)
        assert hub.calls.index("get config.json") < hub.calls.index("snapshot"), "access proven before gigabytes"

    def test_bin_only_repo_pulls_its_bin_weights_but_not_training_leftovers(self, tmp_path, monkeypatch, mod):
        files = {"config.json": "{}", "vocab.txt": "v", "pytorch_model.bin": "w", "training_args.bin": "t"}
        FakeHub(tmp_path, REPO, files).install(monkeypatch)
        snap = mod.prestage(REPO, None)
        assert (snap / "pytorch_model.bin").is_file() and not (snap / "training_args.bin").exists()

    def test_sentence_transformers_pooling_config_is_kept(self, tmp_path, monkeypatch, mod):
        files = {"config.json": "{}", "tokenizer.json": "{}", "model.safetensors": "w", "modules.json": "[]"}
        files["1_Pooling/config.json"] = "{}"
        FakeHub(tmp_path, REPO, files).install(monkeypatch)
        snap = mod.prestage(REPO, None)
        assert (snap / "1_Pooling" / "config.json").is_file() and (snap / "modules.json").is_file()


class TestFailsFastNamingRepoAndFile:
    def run_main(self, tmp_path, monkeypatch, capsys, mod, **hub):
        FakeHub(tmp_path, hub.pop("repo", REPO), hub.pop("files", mistral_like()), **hub).install(monkeypatch)
        code = mod.main()
        return code, capsys.readouterr().err

    def test_unknown_repo(self, tmp_path, monkeypatch, capsys, mod):
        monkeypatch.setenv("MODEL_ID", "Qwen/Qwen2.5-Coder-7B-Instruct-AWQQ")
        code, err = self.run_main(tmp_path, monkeypatch, capsys, mod)
        assert code == 3 and "no hub repo 'Qwen/Qwen2.5-Coder-7B-Instruct-AWQQ'" in err and "modelName" in err

    def test_gated_repo_without_access(self, tmp_path, monkeypatch, capsys, mod):
        monkeypatch.setenv("MODEL_ID", REPO)
        code, err = self.run_main(tmp_path, monkeypatch, capsys, mod, gated=True)
        assert code == 3 and f"{REPO} is gated" in err and "hf-token" in err and "config.json" in err

    def test_unknown_revision(self, tmp_path, monkeypatch, capsys, mod):
        monkeypatch.setenv("MODEL_ID", REPO)
        monkeypatch.setenv("MODEL_REVISION", "v9")
        code, err = self.run_main(tmp_path, monkeypatch, capsys, mod)
        assert code == 3 and "revision 'v9' does not exist" in err

    def test_index_naming_a_shard_the_repo_lacks(self, tmp_path, monkeypatch, capsys, mod):
        monkeypatch.setenv("MODEL_ID", REPO)
        files = mistral_like()
        del files["model-00002-of-00002.safetensors"]
        code, err = self.run_main(tmp_path, monkeypatch, capsys, mod, files=files)
        assert code == 3 and "model-00002-of-00002.safetensors" in err and REPO in err

    def test_gguf_repo_has_no_weights_vllm_loads(self, tmp_path, monkeypatch, capsys, mod):
        monkeypatch.setenv("MODEL_ID", REPO)
        files = {"config.json": "{}", "model-Q4_K_M.gguf": "g"}
        code, err = self.run_main(tmp_path, monkeypatch, capsys, mod, files=files)
        assert code == 3 and "no *.safetensors or *.bin" in err and "engine: llamacpp" in err

    def test_nothing_is_downloaded_before_the_checks_pass(self, tmp_path, monkeypatch, capsys, mod):
        monkeypatch.setenv("MODEL_ID", REPO)
        files = mistral_like()
        del files["model-00002-of-00002.safetensors"]
        hub = FakeHub(tmp_path, REPO, files).install(monkeypatch)
        assert mod.main() == 3
        assert not [f for f in hub.downloaded if f.endswith(".safetensors")]


class TestOneModelInTheCache:
    def test_a_model_change_removes_the_old_model_and_keeps_the_new_one_warm(self, tmp_path, monkeypatch, mod):
        old = FakeHub(tmp_path, "org/old-model", mistral_like(), commit="a" * 40).install(monkeypatch)
        mod.prestage(old.repo, None)
        compiled = tmp_path / "vllm" / "torch_compile_cache"
        compiled.mkdir(parents=True)
        monkeypatch.setenv("VLLM_CACHE_ROOT", str(tmp_path / "vllm"))
        new = FakeHub(tmp_path, REPO, mistral_like()).install(monkeypatch)
        snap = mod.prestage(REPO, None)
        assert [p.name for p in (tmp_path / "hub").glob("models--*")] == [f"models--{REPO.replace('/', '--')}"]
        assert not compiled.exists(), "the old model's compile cache went with it"
        assert not mod.missing_files(snap)
        new.calls.clear()
        mod.prestage(REPO, None)
        assert new.calls == []

    def test_a_revision_change_removes_the_old_snapshot_and_its_blobs(self, tmp_path, monkeypatch, mod):
        files = mistral_like()
        FakeHub(tmp_path, REPO, files, commit="a" * 40).install(monkeypatch)
        mod.prestage(REPO, None)
        files2 = {**files, "model-00002-of-00002.safetensors": "w2 retrained"}
        FakeHub(tmp_path, REPO, files2, commit="b" * 40).install(monkeypatch)
        snap = mod.prestage(REPO, "b" * 40)
        repo_dir = snap.parent.parent
        assert [p.name for p in (repo_dir / "snapshots").iterdir()] == ["b" * 40]
        blobs = {p.read_text() for p in (repo_dir / "blobs").iterdir()}
        assert "w2" not in blobs and "w2 retrained" in blobs and "w1" in blobs, "shared blobs stay, stale ones go"
        assert not mod.missing_files(snap)
