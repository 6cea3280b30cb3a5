"""scripts/e2e.sh on every stack file: the real engine, the real apiserver and scheduler, kwok nodes.

Each stack runs as an upgrade from the previous commit that changed components/ or models/ (`--from`), then
through day 2: refresh, the `--path` flip and back, destroy --exclude-protected, and the up over what it kept.
"""

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from e2e.day2 import FLIP_TYPES, path_flips, sdk_pins, stateful_urns
from e2e.report import STEP_ORDER
from e2e.stack_variant import kubeconfig_variant
from offline.mocks import run_program
from offline.plan import to_plan
from tests.engine.conftest import REPO

pytestmark = [pytest.mark.engine, pytest.mark.consumer]

STACKS = ["Pulumi.dev.yaml", "Pulumi.prod.yaml", "Pulumi.local.yaml", "examples/Pulumi.llama-seed.yaml"]
STEPS = (*STEP_ORDER, "fromUp", "cleanup")  # with --from, and the cleanup every run ends with
# A new stack over what the first kept (issue 19), on the stack with a database and keys: once is enough.
NEW_STACK = {"Pulumi.dev.yaml"}
NEW_STACK_STEPS = ("firstStackGone", "newStackWithoutSalt", "newStackUp", "newStackPreview")


def previous_release() -> str:
    """The last commit before HEAD that changed the program (components/ or models/)."""
    out = subprocess.run(
        ["git", "-C", str(REPO), "log", "-n1", "--format=%H", "HEAD~1", "--", "components", "models"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip(), "no earlier commit changed components/ or models/ (a shallow clone?)"
    return out.stdout.strip()


def expected_kept(stack_file: str) -> set[str]:
    """From the offline render of the stack's kubeconfig variant, not from the run: every PVC, CNPG Cluster and
    the salt Secret the program declares with retain_on_delete, as Kind/namespace/name."""
    variant, _ = kubeconfig_variant(yaml.safe_load((REPO / stack_file).read_text()), "e2e")
    plan = to_plan(run_program(variant["config"], "e2e"))
    kept = set()
    for name, m in zip(plan.names, plan.k8s, strict=True):
        if not plan.options[name]["retain_on_delete"] or m["kind"] not in (
            "PersistentVolumeClaim",
            "Cluster",
            "Secret",
        ):
            continue
        if m["kind"] == "Secret" and not m["metadata"]["name"].endswith("salt-key"):
            continue
        kept.add(f"{m['kind']}/{m['metadata']['namespace']}/{m['metadata']['name']}")
    return kept


@pytest.mark.parametrize("stack_file", STACKS)
def test_stack_through_the_real_engine(stack_file, engine_env, tmp_path: Path):
    out = tmp_path / "out"
    ref = previous_release()
    extra = ["--new-stack"] if stack_file in NEW_STACK else []
    res = subprocess.run(
        ["bash", str(REPO / "scripts" / "e2e.sh"), stack_file, "--out", str(out), "--from", ref, *extra],
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
    detail = json.dumps({k: report.get(k) for k in ("errors", "steps", "placementErrors", "flip", "upgrade")}, indent=1)
    assert res.returncode == 0 and report["ok"], detail
    assert set(STEPS) <= set(report["steps"]) and all(report["steps"][s]["ok"] for s in STEPS), detail
    # The versions users run: providers equal to the SDK pins, the upstream language host.
    versions = report["versions"]
    assert {versions["kubernetes"], versions["random"]} == set(sdk_pins().values()) and versions["random"] == "4.21.1"
    assert versions["languageHost"] == "3.259.0" and "?" not in versions.values(), versions
    assert report["secondPreviewChanges"] == 0 and report["reUpPreviewChanges"] == 0
    assert report["placementErrors"] == []
    assert all(p["nodeRole"] == p["expectedRole"] for p in report["placement"])
    assert report["pvcs"].get("Pending", 0) == 0
    flip = report["flip"]
    assert flip["gpuPodsAfter"] == 0 and flip["statefulUnchanged"] and flip["restored"], detail
    assert set(flip["changed"]) <= FLIP_TYPES, flip["changed"]
    if flip["gpuPodsBefore"]:
        assert flip["changed"].get("kubernetes:apps/v1:Deployment", 0) >= 1, flip
    # The per-model flip needs a model with replicas (prod declares none: every model is at 0 until used).
    _, flipped = path_flips((yaml.safe_load((REPO / stack_file).read_text()) or {}).get("config", {}))
    if flipped is not None:
        assert any("--path" in c["command"] and ".replicas" in c["command"] for c in report["configSet"])
        assert flip["pathSets"], flip
    assert all(c["ok"] for c in report["configSet"]), report["configSet"]
    # Generated credentials, the salt and the master key are the same before and after the flip, the re-up and
    # the upgrade; every model cache, the database and the salt outlive destroy.
    assert report["secretsUnchanged"] and {"from", "upgrade", "up", "flip", "reUp"} <= set(report["secretHashes"])
    missing = expected_kept(stack_file) - set(report["retainedAfterDestroy"])
    assert not missing, f"destroy removed kept objects: {missing}"
    if stack_file in NEW_STACK:  # without the carried salt: stopped, nothing changed; with it: adopted as kept
        new = report["newStack"]
        assert all(report["steps"][s]["ok"] for s in NEW_STACK_STEPS), detail
        assert new["carried"] == ["databasePassword", "saltKey"] and new["withoutSaltStops"], new
        assert new["previewChanges"] == 0 and new["keptUnchanged"], new
    upgrade = report["upgrade"]
    assert upgrade["from"] == ref and upgrade["ok"] and not stateful_urns(upgrade["replaced"] + upgrade["deleted"])
