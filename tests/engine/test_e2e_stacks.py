"""scripts/e2e.sh on every stack file: the real engine, the real apiserver and scheduler, kwok nodes."""

import json
import subprocess
from pathlib import Path

import pytest

from tests.engine.conftest import REPO

pytestmark = [pytest.mark.engine, pytest.mark.consumer]

STACKS = ["Pulumi.dev.yaml", "Pulumi.prod.yaml", "Pulumi.local.yaml", "examples/Pulumi.llama-seed.yaml"]
STEPS = ("preview", "up", "idempotentPreview", "flipPreview", "flipUp", "flipBackUp", "destroy")


@pytest.mark.parametrize("stack_file", STACKS)
def test_stack_through_the_real_engine(stack_file, engine_env, tmp_path: Path):
    out = tmp_path / "out"
    res = subprocess.run(
        ["bash", str(REPO / "scripts" / "e2e.sh"), stack_file, "--out", str(out)],
        cwd=REPO,
        env=engine_env,
        capture_output=True,
        text=True,
        check=False,
        timeout=3600,
    )
    report_path = out / "e2e.json"
    assert report_path.exists(), f"no e2e.json (exit {res.returncode}):\n{res.stderr[-4000:]}"
    report = json.loads(report_path.read_text())
    detail = json.dumps({k: report[k] for k in ("errors", "steps", "placementErrors", "flip")}, indent=1)
    assert res.returncode == 0 and report["ok"], detail
    assert set(STEPS) <= set(report["steps"]) and all(report["steps"][s]["ok"] for s in STEPS), detail
    assert report["secondPreviewChanges"] == 0
    assert report["placementErrors"] == []
    assert all(p["nodeRole"] == p["expectedRole"] for p in report["placement"])
    assert report["pvcs"].get("Pending", 0) == 0
    flip = report["flip"]
    assert flip["gpuPodsAfter"] == 0 and flip["statefulUnchanged"] and flip["restored"], detail
    if flip["gpuPodsBefore"]:
        assert flip["changed"].get("kubernetes:apps/v1:Deployment", 0) >= 1, flip
    assert set(report["versions"]) >= {"pulumi", "kubernetes", "random", "kube-apiserver"}
    # Model caches and the database outlive destroy (retainOnDelete).
    if report["pvcs"].get("Bound"):
        assert any(r.startswith("PersistentVolumeClaim/") for r in report["retainedAfterDestroy"]), report
