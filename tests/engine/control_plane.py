"""Find the built control plane or skip; in CI (LLM_PLATFORM_REQUIRE_CONSUMERS=1) a missing one fails instead.

Tests never build it (a cold build takes tens of minutes): scripts/test.sh and .ci/run do, before pytest.
"""

import os
import subprocess
from pathlib import Path

import pytest

from e2e.cluster import BUILD_SCRIPT
from tests.conftest import require_consumers


def cluster_bin() -> Path:
    if os.environ.get("LLM_PLATFORM_CLUSTER_BIN"):
        return Path(os.environ["LLM_PLATFORM_CLUSTER_BIN"])
    res = subprocess.run(["bash", str(BUILD_SCRIPT), "--check"], check=False, capture_output=True, text=True)
    if res.returncode == 0 and res.stdout.strip():
        return Path(res.stdout.strip().splitlines()[-1])
    msg = f"local control plane not built ({res.stderr.strip()}): run `bash {BUILD_SCRIPT}`"
    if require_consumers():
        pytest.fail(msg + " (LLM_PLATFORM_REQUIRE_CONSUMERS=1)")
    pytest.skip(msg)
