"""Real consumer: the dev stack's llama.cpp embedding server, with its rendered args, embeds inputs over 512 tokens.

llama-server computes a pooled embedding in one physical batch (ubatch, default 512), so a longer input fails
with "input is too large to process. increase the physical batch size" unless the args raise it. The rendered
args set --batch-size and --ubatch-size to the context size; the same args without them show the failure.
"""

import json
from pathlib import Path

import pytest

from tests.conftest import plan_for, raw_config
from tests.consumers.llama_server import free_port, http_post_json, run_llama_server
from tests.consumers.require import llama_binary
from tests.consumers.tiny_gguf import ensure_tiny_gguf

pytestmark = pytest.mark.consumer

KEY = "test-upstream-key"
TEXT = " ".join(["hello world ok"] * 70)  # ~1000 tokens (byte-level pieces): over the 512 default, under 2048


@pytest.fixture(scope="module")
def rendered_args() -> list[str]:
    plan = plan_for(raw_config("dev"))
    for dep in plan.find("Deployment"):
        for c in dep["spec"]["template"]["spec"]["containers"]:
            if c["name"] == "llama-server" and "--embeddings" in c.get("args", []):
                return c["args"]
    raise AssertionError("dev renders no llama.cpp embedding server")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return ensure_tiny_gguf(tmp_path_factory.mktemp("gguf") / "tiny.gguf")


def local(args: list[str], model: Path) -> list[str]:
    """The rendered args on this machine. --pooling stands in for the pooling type a real embedding GGUF carries
    in its metadata (nomic-embed: mean); the tiny test model has none."""
    out = list(args)
    out[out.index("--model") + 1] = str(model)
    out[out.index("--port") + 1] = str(free_port())
    out[out.index("--host") + 1] = "127.0.0.1"
    return [*out, "--pooling", "mean"]


def without(args: list[str], *flags: str) -> list[str]:
    out = list(args)
    for flag in flags:
        i = out.index(flag)
        del out[i : i + 2]
    return out


def embed(args: list[str]) -> tuple[int, dict]:
    env = {"LLAMA_API_KEY": KEY, "PATH": "/usr/bin:/bin"}
    with run_llama_server(args, bin_path=llama_binary(), env=env, timeout=120) as srv:
        status, body = http_post_json(
            srv.base_url + "/v1/embeddings",
            {"model": "embeddings", "input": TEXT},
            {"Authorization": f"Bearer {KEY}"},
        )
        return status, json.loads(body or b"{}")


class TestLongEmbeddingInputs:
    def test_rendered_args_size_both_batches_to_the_context(self, rendered_args):
        ctx = rendered_args[rendered_args.index("--ctx-size") + 1]
        assert rendered_args[rendered_args.index("--ubatch-size") + 1] == ctx
        assert rendered_args[rendered_args.index("--batch-size") + 1] == ctx

    def test_input_over_512_tokens_is_embedded_with_the_rendered_args(self, rendered_args, tiny):
        status, body = embed(local(rendered_args, tiny))
        assert status == 200, body
        assert body["usage"]["prompt_tokens"] > 512
        assert len(body["data"]) == 1 and len(body["data"][0]["embedding"]) > 0

    def test_before_the_fix_the_same_input_fails(self, rendered_args, tiny):
        status, body = embed(without(local(rendered_args, tiny), "--ubatch-size", "--batch-size"))
        assert status >= 400
        assert "physical batch size" in json.dumps(body), body
