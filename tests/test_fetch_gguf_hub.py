"""fetch_gguf.py against a fake hub: what no retry can fix (no such repo or revision, a gated repo without a token,
an ambiguous quant, a file larger than the cache volume) fails at once with exit 3, after one hub call; the stage
Job (backoffLimit 0) fails with it; a transient error is retried by the script."""

import json
from collections import namedtuple
from pathlib import Path

import pytest

from components.manifests.weight_stage import FATAL_EXIT
from tests.test_fetch_gguf import script
from tests.test_prestage_hub import FakeHub

REPO = "org/Model-GGUF"


@pytest.fixture
def fetch(tmp_path, monkeypatch):
    """Run fetch_gguf.main in-process against the fake hub; returns (exit code, stderr, the hub)."""
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("FETCH_ATTEMPTS", "5")
    mod = script()
    sleeps: list[float] = []
    monkeypatch.setattr(mod.time, "sleep", sleeps.append)

    def go(files: dict[str, str], capsys, entry: dict | None = None, gated: bool = False, hub=None):
        hub = hub or FakeHub(tmp_path / "hf", REPO, files, gated=gated).install(monkeypatch)
        cat = tmp_path / "models.json"
        link = tmp_path / "w" / "m.gguf"
        cat.write_text(json.dumps([{"name": "m", "repo": REPO, "quant": "Q4_K_M", "link": str(link), **(entry or {})}]))
        code = mod.main(["fetch_gguf.py", str(cat)])
        return code, capsys.readouterr().err, hub, link, sleeps

    return go


class TestWhatNoRetryFixesFailsAtOnce:
    def test_the_exit_code_is_the_one_the_job_fails_on(self):
        assert script().FATAL_EXIT == FATAL_EXIT

    def test_unknown_repo_names_the_key_and_asks_the_hub_once(self, fetch, capsys):
        code, err, hub, _, sleeps = fetch({"X-Q4_K_M.gguf": "w"}, capsys, entry={"repo": "org/typo-GGUF"})
        assert code == FATAL_EXIT and "no hub repo 'org/typo-GGUF' (check ggufRepo" in err
        assert hub.calls == ["info"] and sleeps == []

    def test_unknown_revision(self, fetch, capsys):
        code, err, hub, _, _ = fetch({"X-Q4_K_M.gguf": "w"}, capsys, entry={"revision": "v9"})
        assert code == FATAL_EXIT and "revision 'v9' does not exist" in err and hub.calls == ["info"]

    def test_gated_repo_says_to_add_the_token(self, fetch, capsys):
        code, err, hub, link, sleeps = fetch({"X-Q4_K_M.gguf": "w"}, capsys, gated=True)
        assert code == FATAL_EXIT and "is gated" in err and "Secret hf-token" in err
        assert hub.calls == ["info", "get X-Q4_K_M.gguf"] and sleeps == [] and not link.exists()

    def test_ambiguous_quant_on_the_hub_lists_the_candidates_and_downloads_nothing(self, fetch, capsys):
        code, err, hub, _, _ = fetch({"X-Q4_K_M.gguf": "a", "X-UD-Q4_K_M.gguf": "b"}, capsys)
        assert code == FATAL_EXIT and "X-UD-Q4_K_M.gguf" in err and "set ggufFile" in err
        assert hub.downloaded == []

    def test_a_file_larger_than_the_cache_volume_is_refused_before_the_download(self, fetch, capsys, monkeypatch):
        import shutil

        usage = namedtuple("usage", "total used free")
        monkeypatch.setattr(shutil, "disk_usage", lambda _p: usage(10, 9, 1))  # 1 byte free
        code, err, hub, _, _ = fetch({"X-Q4_K_M.gguf": "four"}, capsys)
        assert code == FATAL_EXIT and "raise the model's cacheGiB" in err
        assert hub.downloaded == []


class TestTransientErrorsAreRetried:
    def test_a_network_error_is_retried_then_staged(self, fetch, capsys, tmp_path, monkeypatch):
        hub = FakeHub(tmp_path / "hf", REPO, {"X-Q4_K_M.gguf": "w"}).install(monkeypatch)
        import huggingface_hub

        real, failures = huggingface_hub.HfApi, [ConnectionError("reset"), ConnectionError("reset")]

        class Flaky(real):
            def model_info(self, *a, **kw):
                if failures:
                    raise failures.pop(0)
                return super().model_info(*a, **kw)

        monkeypatch.setattr(huggingface_hub, "HfApi", Flaky)
        code, err, _, link, sleeps = fetch({}, capsys, hub=hub)
        assert code == 0, err
        assert sleeps == [10.0, 20.0] and Path(link).resolve().read_text() == "w"
