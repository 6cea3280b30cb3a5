"""checkov over every stack's rendered Kubernetes manifests: 0 failed checks (issue 6, point 4).

Each stack file is rendered with render.py into a temp folder and scanned with the pinned checkov from
$CHECKOV_VENV or .venv-checkov (`bash .ci/install_checkov.sh`; CHECKOV_BIN overrides). Stack-wide skips live in .checkov.yaml;
per-workload skips are `checkov.io/skipN` annotations, and only the checks in PER_WORKLOAD_SKIPS may be skipped
that way (docs/operations/security.md lists both).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, require_consumers

pytestmark = pytest.mark.consumer

STACK_FILES = sorted(
    str(p.relative_to(ROOT)) for p in [*ROOT.glob("Pulumi.*.yaml"), *ROOT.glob("examples/Pulumi.*.yaml")]
)
CONFIG = ROOT / ".checkov.yaml"
# Check id -> why a workload may carry it as an annotation (docs/operations/security.md has the details).
PER_WORKLOAD_SKIPS = {
    "CKV_K8S_22": "writable root filesystem: vLLM, LiteLLM, Open WebUI, LibreChat",
    "CKV_K8S_23": "root user: vLLM, Open WebUI, AMD llama.cpp/llama-swap",
    "CKV_K8S_40": "UID below 10000: root images above, LibreChat's node (1000)",
    "CKV_K8S_38": "service account token: the litellm-keys Job writes Secrets through the API",
}


def checkov_bin() -> Path:
    venv = Path(os.environ.get("CHECKOV_VENV", ".venv-checkov"))
    path = Path(os.environ.get("CHECKOV_BIN") or (venv if venv.is_absolute() else ROOT / venv) / "bin" / "checkov")
    if not path.exists():
        msg = f"checkov not found at {path}: run `bash .ci/install_checkov.sh` or set CHECKOV_BIN"
        if require_consumers():
            pytest.fail(msg + " (LLM_PLATFORM_REQUIRE_CONSUMERS=1)")
        pytest.skip(msg)
    return path


def render(stack_file: str, out: Path) -> Path:
    proc = subprocess.run(
        [sys.executable, "render.py", "--stack-file", stack_file, "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return out / "k8s"


def scan(k8s_dir: Path) -> dict:
    proc = subprocess.run(
        [
            str(checkov_bin()),
            "--config-file",
            str(CONFIG),
            "-d",
            str(k8s_dir),
            "--quiet",
            "--compact",
            "-o",
            "json",
            "--skip-download",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "LOG_LEVEL": "WARNING"},
    )
    assert proc.returncode in (0, 1), f"checkov exited {proc.returncode}: {proc.stderr[-2000:]}"
    report = json.loads(proc.stdout)
    reports = report if isinstance(report, list) else [report]
    assert [r["check_type"] for r in reports] == ["kubernetes"], [r.get("check_type") for r in reports]
    return reports[0]


@pytest.mark.parametrize("stack_file", STACK_FILES)
def test_checkov_has_no_failed_check(stack_file, tmp_path):
    report = scan(render(stack_file, tmp_path / "out"))
    summary, results = report["summary"], report["results"]
    failures = [
        f"{f['check_id']} {f['check_name']}: {f['resource']} ({f['file_path']})" for f in results["failed_checks"]
    ]
    print(f"{stack_file}: {summary}")
    assert not failures, f"{stack_file}: {len(failures)} failed checkov check(s):\n" + "\n".join(failures)
    assert summary["parsing_errors"] == 0 and summary["resource_count"] >= 10 and summary["passed"] >= 100
    stray = [
        f"{s['check_id']} on {s['resource']}"
        for s in results.get("skipped_checks", [])
        if s["check_id"] not in PER_WORKLOAD_SKIPS
    ]
    assert not stray, f"per-workload skips of checks not in PER_WORKLOAD_SKIPS: {stray}"


def test_every_stack_file_is_scanned():
    assert {"Pulumi.dev.yaml", "Pulumi.prod.yaml", "examples/Pulumi.llama-seed.yaml"} <= set(STACK_FILES)
