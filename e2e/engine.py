"""The real Pulumi CLI against a local-backend stack: one method per command the e2e runs.

The project is the repo (Pulumi.yaml, __main__.py, the .venv it names), or another folder (`project`); the
stack config lives in a temp folder (`--config-file`), so the project's own Pulumi.<stack>.yaml files are never
touched. State goes to a `file://` backend in that folder, secrets to a test passphrase. The environment comes from
scripts/engine/build_pulumi_tools.sh (pulumi.env): PATH, PULUMI_HOME, no plugin downloads.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
TEST_PASSPHRASE = "llm-platform-e2e-only"  # a throwaway local stack; never a real secret
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def load_env_file(path: Path) -> dict[str, str]:
    """The variables a `export K="V"` file sets, expanded against the current environment."""
    out = subprocess.run(
        ["bash", "-c", f"set -a; source {shlex.quote(str(path))}; env -0"],
        check=True,
        capture_output=True,
    ).stdout
    return dict(item.split("=", 1) for item in out.decode().split("\0") if "=" in item)


@dataclass
class StepResult:
    ok: bool
    seconds: float
    output: str
    command: list[str] = field(default_factory=list)
    json: Any = None

    def summary(self) -> dict[str, Any]:
        return {"ok": self.ok, "seconds": round(self.seconds, 1)}


class Engine:
    def __init__(
        self,
        workdir: Path,
        stack: str,
        config_file: Path,
        env: dict[str, str],
        kubeconfig: Path | None,
        project: Path = REPO,
    ):
        """`project`: the folder with Pulumi.yaml (the repo; bench/engine_bench.py also runs an empty program)."""
        self.workdir = workdir
        self.stack = stack
        self.config_file = config_file
        self.project = project  # this checkout, a worktree at an older ref (--from), or engine_bench's empty program
        self.config_sets: list[dict[str, Any]] = []  # every `pulumi config set` this run made, with its result
        state = workdir / "state"
        state.mkdir(parents=True, exist_ok=True)
        self.env = {
            **env,
            "PULUMI_BACKEND_URL": f"file://{state}",
            "PULUMI_CONFIG_PASSPHRASE": TEST_PASSPHRASE,
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "PULUMI_SKIP_CONFIRMATIONS": "true",
            "NO_COLOR": "1",
        }
        if kubeconfig is not None:
            self.env["KUBECONFIG"] = str(kubeconfig)
        self.log = workdir / "pulumi.log"

    def run(self, *args: str, parse_json: bool = False, timeout: float = 1800) -> StepResult:
        cmd = ["pulumi", *args, "--non-interactive", "--color", "never", "--cwd", str(self.project)]
        start = time.monotonic()
        try:
            proc = subprocess.run(cmd, check=False, env=self.env, capture_output=True, text=True, timeout=timeout)
            code, out, err = proc.returncode, proc.stdout, proc.stderr
        except subprocess.TimeoutExpired as exc:
            code, out, err = -1, str(exc.stdout or ""), f"timed out after {timeout}s"
        seconds = time.monotonic() - start
        text = _ANSI.sub("", out + ("\n" + err if err else ""))
        with self.log.open("a") as fh:
            fh.write(f"\n$ {shlex.join(cmd)}\n(exit {code}, {seconds:.1f}s)\n{text}\n")
        parsed = None
        if parse_json:
            try:
                parsed = json.loads(out)
            except json.JSONDecodeError:
                parsed = None
        return StepResult(code == 0, seconds, text, cmd, parsed)

    def _stack(self) -> list[str]:
        return ["--stack", self.stack, "--config-file", str(self.config_file)]

    def init(self) -> StepResult:
        listed = self.run("stack", "ls", "--json", parse_json=True)
        if listed.ok and any(s.get("name") == self.stack for s in (listed.json or [])):
            return listed
        res = self.run("stack", "init", self.stack, "--secrets-provider", "passphrase")
        # `stack init` has no --config-file: it writes the passphrase salt to the project's
        # Pulumi.<stack>.yaml. Move it into our config file so the project folder is left untouched.
        written = self.project / f"Pulumi.{self.stack}.yaml"
        if written.exists():
            salt = (yaml.safe_load(written.read_text()) or {}).get("encryptionsalt")
            doc = yaml.safe_load(self.config_file.read_text()) or {}
            if salt:
                doc = {"encryptionsalt": salt, **doc}
                self.config_file.write_text(yaml.safe_dump(doc, sort_keys=False))
            written.unlink()
        return res

    def preview(self, *, diff: bool = False, expect_no_changes: bool = False) -> StepResult:
        args = ["preview", *self._stack()]
        if diff:
            args.append("--diff")
        else:
            args.append("--json")
        if expect_no_changes:
            args.append("--expect-no-changes")
        return self.run(*args, parse_json=not diff)

    def up(self, *, refresh: bool = False) -> StepResult:
        return self.run("up", "--yes", "--skip-preview", *(["--refresh"] if refresh else []), *self._stack())

    def set_config(self, key: str, value: str, *, path: bool = False) -> StepResult:
        """`pulumi config set [--path] [--type T] KEY VALUE`. A --path value is saved typed only as int or bool by
        the CLI's guess (a float stays a string), so a number or boolean names its type (`--type`)."""
        parsed = yaml.safe_load(value)
        kind = {bool: "bool", int: "int", float: "float"}.get(type(parsed)) if path else None
        flags = [*(["--path"] if path else []), *(["--type", kind] if kind else [])]
        res = self.run("config", "set", *self._stack(), *flags, key, value)
        shown = ["pulumi", "config", "set", *flags, key, value]
        self.config_sets.append({"command": shlex.join(shown), "ok": res.ok})
        return res

    def remove_config(self, key: str) -> StepResult:
        """`pulumi config rm --path KEY`: back to the stack file's absent key (its default)."""
        res = self.run("config", "rm", *self._stack(), "--path", key)
        self.config_sets.append({"command": shlex.join(["pulumi", "config", "rm", "--path", key]), "ok": res.ok})
        return res

    def refresh(self) -> StepResult:
        """`pulumi refresh --expect-no-changes`: the cluster holds what the state says."""
        return self.run("refresh", "--yes", "--skip-preview", "--expect-no-changes", *self._stack())

    def export(self) -> Any:
        """`pulumi stack export --show-secrets` (the local test stack): read for hashes, never written out."""
        return self.run("stack", "export", "--show-secrets", "--stack", self.stack, parse_json=True).json

    def unprotect_all(self) -> StepResult:
        return self.run("state", "unprotect", "--all", "--yes", "--stack", self.stack)

    def destroy(self, *, exclude_protected: bool = False) -> StepResult:
        keep = ["--exclude-protected"] if exclude_protected else []
        return self.run("destroy", "--yes", "--skip-preview", *keep, *self._stack())

    def outputs(self) -> dict[str, Any]:
        res = self.run("stack", "output", "--json", "--stack", self.stack, parse_json=True)
        return res.json if isinstance(res.json, dict) else {}

    def version(self) -> str:
        return self.run("version").output.strip().splitlines()[0].lstrip("v")


def change_counts(preview_json: Any) -> dict[str, int]:
    """{op: count} of a `pulumi preview --json`, without `same` (a change is anything else)."""
    if not isinstance(preview_json, dict):
        return {}
    summary = preview_json.get("changeSummary") or {}
    return {op: n for op, n in summary.items() if op != "same" and n}


def changed_types(preview_json: Any) -> dict[str, int]:
    """{resource type: steps that change it} of a `pulumi preview --json`."""
    counts: dict[str, int] = {}
    if not isinstance(preview_json, dict):
        return counts
    for step in preview_json.get("steps") or []:
        if step.get("op") in (None, "same", "read"):
            continue
        state = step.get("newState") or step.get("oldState") or {}
        rtype = state.get("type") or step.get("urn", "::::").split("::")[2]
        counts[rtype] = counts.get(rtype, 0) + 1
    return dict(sorted(counts.items()))


def environment(env_file: Path | None) -> dict[str, str]:
    env = dict(os.environ)
    if env_file is not None:
        env.update(load_env_file(env_file))
    return env
