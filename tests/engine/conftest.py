"""The engine tier's tools: built once (cached) by scripts/engine/*.sh; in CI a build failure fails the tier.

Outside CI (LLM_PLATFORM_REQUIRE_CONSUMERS unset) a tier whose tools were never built is skipped with the
command that builds them, like the other real consumers; with it set, the builds run and must succeed.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import require_consumers

REPO = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("LLM_PLATFORM_CACHE", Path.home() / ".cache" / "llm-platform")) / "engine"
# The control plane's checkout: this one, or another worktree while the two halves are developed apart.
CLUSTER_REPO = Path(os.environ.get("LLM_E2E_CLUSTER_REPO", REPO))


def _build(script: Path, what: str) -> str:
    if not require_consumers() and not (CACHE / "pulumi.env").exists():
        pytest.skip(f"{what} not built: run `bash {script.relative_to(script.parents[2])}`")
    res = subprocess.run(["bash", str(script)], capture_output=True, text=True, check=False)
    if res.returncode or not res.stdout.strip():
        pytest.fail(f"{script.name} failed (exit {res.returncode}):\n{res.stderr[-3000:]}")
    return res.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="session")
def pulumi_env() -> Path:
    return Path(_build(REPO / "scripts" / "engine" / "build_pulumi_tools.sh", "the Pulumi engine tools"))


@pytest.fixture(scope="session")
def cluster_bin() -> Path:
    from tests.engine.control_plane import cluster_bin as built_cluster_bin

    return built_cluster_bin()


@pytest.fixture(scope="session")
def engine_env(pulumi_env: Path, cluster_bin: Path) -> dict[str, str]:
    return {
        **os.environ,
        "LLM_PLATFORM_CLUSTER_BIN": str(cluster_bin),
        "LLM_E2E_CLUSTER_REPO": str(CLUSTER_REPO),
        "PATH": f"{cluster_bin}:{os.environ['PATH']}",
    }


CLUSTER_DIR = Path(os.environ.get("LLM_E2E_CLUSTER_DIR", CACHE / "cluster"))


def _cluster(cmd: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "e2e.cluster", cmd, "--dir", str(CLUSTER_DIR)],
        cwd=CLUSTER_REPO,
        capture_output=True,
        check=False,
        timeout=120,
    )


@pytest.fixture(scope="session", autouse=True)
def _one_control_plane_per_session():
    """The tier starts on an empty store, so a run never inherits what an earlier or killed run kept (its kept
    Secrets hold values this run's fresh state cannot carry), shares one control plane, and stops it at the end.
    LLM_E2E_KEEP_CLUSTER=1 keeps both the store and the running control plane."""
    keep = os.environ.get("LLM_E2E_KEEP_CLUSTER") == "1" or not (CLUSTER_REPO / "e2e" / "cluster.py").exists()
    if not keep:
        _cluster("reset")
    yield
    if not keep:
        _cluster("down")
