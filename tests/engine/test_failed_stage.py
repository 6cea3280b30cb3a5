"""A failed weight stage keeps no GPU (issue 15), through the real engine on the local control plane: dev with
coder-chat's modelName pointing at a repo that does not exist (its stage pod exits 3, as the stage script does)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.engine.conftest import CLUSTER_DIR, CLUSTER_REPO, REPO

pytestmark = pytest.mark.engine


def test_a_typo_in_model_name_fails_the_stage_job_and_creates_no_model_pod(engine_env, pulumi_env, tmp_path: Path):
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "e2e.failed_stage", "Pulumi.dev.yaml", "--model", "coder-chat", "--out", str(out),
           "--pulumi-env", str(pulumi_env), "--cluster-dir", str(CLUSTER_DIR), "--cluster-repo", str(CLUSTER_REPO)]  # fmt: skip
    res = subprocess.run(cmd, cwd=REPO, env=engine_env, capture_output=True, text=True, check=False, timeout=1800)
    path = out / "failed-stage.json"
    assert path.exists(), f"no failed-stage.json (exit {res.returncode}):\n{res.stderr[-4000:]}"
    rep = json.loads(path.read_text())
    assert res.returncode == 0 and rep["ok"], json.dumps(rep, indent=1)
    assert rep["upFailed"] and rep["jobFailedReason"] == "BackoffLimitExceeded" and rep["jobPods"] == 1
    assert rep["deploymentCreated"] is False and rep["modelPods"] == 0
