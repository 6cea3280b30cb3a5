"""DIR/e2e.json: what the real engine and the real control plane did with one stack file."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STEP_ORDER = (
    "preview",
    "up",
    "idempotentPreview",
    "refresh",
    "flipPreview",
    "flipUp",
    "flipBackUp",
    "destroy",
    "reUp",
    "reUpPreview",
)


@dataclass
class Report:
    stack_file: str
    stack: str
    versions: dict[str, str] = field(default_factory=dict)
    variant_changes: list[str] = field(default_factory=list)
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    second_preview_changes: int | None = None
    first_preview_changes: dict[str, int] = field(default_factory=dict)
    placement: list[dict[str, Any]] = field(default_factory=list)
    placement_errors: list[str] = field(default_factory=list)
    pvcs: dict[str, int] = field(default_factory=dict)
    flip: dict[str, Any] = field(default_factory=dict)
    retained_after_destroy: list[str] = field(default_factory=list)
    re_up_preview_changes: int | None = None
    secret_hashes: dict[str, dict[str, str]] = field(default_factory=dict)  # phase -> name -> short hash
    config_set: list[dict[str, Any]] = field(default_factory=list)
    upgrade: dict[str, Any] = field(default_factory=dict)  # with --from: {from, ok, changed, replaced, deleted}
    new_stack: dict[str, Any] = field(default_factory=dict)  # with --new-stack (e2e/new_stack.py)
    errors: list[str] = field(default_factory=list)
    logs: dict[str, str] = field(default_factory=dict)

    def step(self, name: str, ok: bool, seconds: float, **extra: Any) -> None:
        self.steps[name] = {"ok": ok, "seconds": round(seconds, 1), **extra}
        if not ok:
            self.errors.append(f"step {name} failed")

    def fail(self, message: str) -> None:
        self.errors.append(message)

    @property
    def secrets_unchanged(self) -> bool:
        from e2e.day2 import hashes_unchanged

        return bool(self.secret_hashes) and not hashes_unchanged(self.secret_hashes)

    @property
    def ok(self) -> bool:
        missing = [s for s in STEP_ORDER if s not in self.steps]
        failed_sets = [c for c in self.config_set if not c["ok"]]
        return not self.errors and not missing and not self.placement_errors and not failed_sets

    def as_dict(self) -> dict[str, Any]:
        missing = [s for s in STEP_ORDER if s not in self.steps]
        return {
            "ok": self.ok,
            "stackFile": self.stack_file,
            "stack": self.stack,
            "versions": self.versions,
            "variantChanges": self.variant_changes,
            "steps": self.steps,
            "stepsNotRun": missing,
            "firstPreviewChanges": self.first_preview_changes,
            "secondPreviewChanges": self.second_preview_changes,
            "placement": self.placement,
            "placementErrors": self.placement_errors,
            "pvcs": self.pvcs,
            "flip": self.flip,
            "retainedAfterDestroy": self.retained_after_destroy,
            "reUpPreviewChanges": self.re_up_preview_changes,
            "secretsUnchanged": self.secrets_unchanged,
            "secretHashes": self.secret_hashes,
            "configSet": self.config_set,
            **({"upgrade": self.upgrade} if self.upgrade else {}),
            **({"newStack": self.new_stack} if self.new_stack else {}),
            "errors": self.errors,
            "logs": self.logs,
        }

    def write(self, out_dir: Path) -> Path:
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / "e2e.json"
        path.write_text(json.dumps(self.as_dict(), indent=2) + "\n")
        return path


def scenario_parser(prog: str, doc: str, model_default: str | None = None) -> argparse.ArgumentParser:
    """The arguments every one-scenario run (e2e.failed_stage, e2e.zone_move) takes."""
    ap = argparse.ArgumentParser(prog=f"python -m {prog}", description=doc.splitlines()[0])
    ap.add_argument("stack_file")
    ap.add_argument("--model", required=model_default is None, default=model_default)
    ap.add_argument("--out", required=True)
    ap.add_argument("--pulumi-env", required=True)
    ap.add_argument("--cluster-dir", required=True)
    ap.add_argument("--cluster-repo", default=str(Path(__file__).resolve().parents[1]))
    return ap


def write_scenario(rep: dict[str, Any], out: str, file_name: str, label: str) -> int:
    """DIR/FILE_NAME from a scenario's report (ok when it has no errors); one line on stderr; the exit code."""
    rep["ok"] = not rep["errors"]
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / file_name).write_text(json.dumps(rep, indent=2, default=str))
    print(f"{label}: {'ok' if rep['ok'] else 'FAILED: ' + '; '.join(rep['errors'][:5])}", file=sys.stderr)
    return 0 if rep["ok"] else 1
