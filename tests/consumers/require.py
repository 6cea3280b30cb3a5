"""Find a real consumer or skip; in CI (LLM_PLATFORM_REQUIRE_CONSUMERS=1) a missing one fails instead."""

from pathlib import Path

import pytest

from tests.conftest import require_consumers
from tests.consumers.litellm_proxy import find_litellm
from tests.consumers.llama_server import find_llama_server
from tests.consumers.redis_server import find_redis_server
from tests.consumers.vllm_parser import find_vllm_python


def _need(binary: Path | None, what: str, install: str) -> Path:
    if binary is None:
        msg = f"{what} not found: run `bash {install}`"
        if require_consumers():
            pytest.fail(msg + " (LLM_PLATFORM_REQUIRE_CONSUMERS=1)")
        pytest.skip(msg)
    return binary


def litellm_binary() -> Path:
    return _need(find_litellm(), "litellm", ".ci/install_litellm.sh")


def llama_binary() -> Path:
    return _need(find_llama_server(), "llama-server", ".ci/install_llama_server.sh")


def redis_binary() -> Path:
    return _need(find_redis_server(), "redis-server", ".ci/install_redis_server.sh")


def vllm_python() -> Path:
    return _need(find_vllm_python(), "vLLM 0.11.0 (.venv-vllm)", ".ci/install_vllm.sh")
