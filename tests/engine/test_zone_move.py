"""docs/how-to/move-a-zone.md works as written (issue 15, 2d): its diff, its kubectl commands and `pulumi up
--refresh`, through the real engine on the local control plane (e2e/zone_move.py)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.engine.conftest import CLUSTER_DIR, CLUSTER_REPO, REPO

pytestmark = pytest.mark.engine


def test_the_recipe_moves_the_model_and_its_cache_to_the_new_zone(engine_env, pulumi_env, tmp_path: Path):
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "e2e.zone_move", "Pulumi.dev.yaml", "--out", str(out), "--pulumi-env",
           str(pulumi_env), "--cluster-dir", str(CLUSTER_DIR), "--cluster-repo", str(CLUSTER_REPO)]  # fmt: skip
    res = subprocess.run(cmd, cwd=REPO, env=engine_env, capture_output=True, text=True, check=False, timeout=2400)
    path = out / "zone-move.json"
    assert path.exists(), f"no zone-move.json (exit {res.returncode}):\n{res.stderr[-4000:]}"
    rep = json.loads(path.read_text())
    assert res.returncode == 0 and rep["ok"], json.dumps(rep, indent=1)
    assert rep["before"]["modelZones"] == ["us-central1-a"] and rep["after"]["modelZones"] == ["us-central1-b"]
    assert rep["after"]["stageZones"] == ["us-central1-b"]
