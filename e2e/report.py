"""DIR/e2e.json: what the real engine and the real control plane did with one stack file."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STEP_ORDER = ("preview", "up", "idempotentPreview", "flipPreview", "flipUp", "flipBackUp", "destroy")


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
    errors: list[str] = field(default_factory=list)
    logs: dict[str, str] = field(default_factory=dict)

    def step(self, name: str, ok: bool, seconds: float, **extra: Any) -> None:
        self.steps[name] = {"ok": ok, "seconds": round(seconds, 1), **extra}
        if not ok:
            self.errors.append(f"step {name} failed")

    def fail(self, message: str) -> None:
        self.errors.append(message)

    @property
    def ok(self) -> bool:
        missing = [s for s in STEP_ORDER if s not in self.steps]
        return not self.errors and not missing and not self.placement_errors

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
            "errors": self.errors,
            "logs": self.logs,
        }

    def write(self, out_dir: Path) -> Path:
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / "e2e.json"
        path.write_text(json.dumps(self.as_dict(), indent=2) + "\n")
        return path
