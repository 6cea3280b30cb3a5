"""scripts/e2e_scale.sh on the dev stack (issue 16): KEDA's real operator scales coder-fim from zero on the real
gateway's demand, on the local control plane, and back to zero when idle. Thresholds are the issue's."""

import json
import subprocess
from pathlib import Path

import pytest

from tests.engine.conftest import REPO

pytestmark = [pytest.mark.engine, pytest.mark.consumer]
LOAD_S = 20


def test_dev_model_scales_from_zero_and_back(engine_env, tmp_path: Path):
    out = tmp_path / "scale"
    cmd = ["bash", str(REPO / "scripts" / "e2e_scale.sh"), "Pulumi.dev.yaml", "--model", "coder-fim",
           "--load-seconds", str(LOAD_S), "--out", str(out)]  # fmt: skip
    res = subprocess.run(cmd, cwd=REPO, env=engine_env, capture_output=True, text=True, check=False, timeout=3600)
    path = out / "scale.json"
    assert path.exists(), f"no scale.json (exit {res.returncode}):\n{res.stderr[-4000:]}"
    rep = json.loads(path.read_text())
    assert res.returncode == 0 and rep["ok"], json.dumps(rep, indent=1)
    first = rep["firstAnswer"]
    assert first["status"] == 503 and first["retryAfter"] == "30" and first["seconds"] < 5, first
    assert first["type"] == "model_loading", first
    assert rep["loadSeconds"] == LOAD_S and rep["overheadSeconds"] <= rep["overheadLimitSeconds"]
    assert rep["secondsToReplicas1"] is not None and rep["secondsToReplicas1"] < rep["secondsToFirst200"]
    assert set(rep["answersBetween"]) <= {"200", "503"} and rep["client200"] == 1
    assert rep["backendCalls"] == rep["client200"] == rep["spendEvents"]
    assert rep["idleSeconds"] - 1 <= rep["secondsToZero"] <= rep["secondsToZeroLimit"]
    assert rep["hardZeroHeld"] and rep["restartsEndAtZero"]
    assert rep["oneGpu"]["pods"] == 1 and rep["oneGpu"]["otherStatus"] == 503
    assert rep["oneGpu"]["otherType"] == "model_loading" and rep["hardZero"]["type"] == "model_not_available"
    assert rep["oneGpu"]["otherReadyAfterFirstIdled"]
    held = rep["held"]  # holdSeconds > 0: the first request waits for the pod instead of a 503
    assert held["status"] == 200 and held["overheadSeconds"] <= held["overheadLimitSeconds"], held
    assert rep["previewAfterScaleUp"] is not None and sum(rep["previewAfterScaleUp"].values()) == 0
