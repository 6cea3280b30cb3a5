"""GitHub Actions workflows: actionlint-clean, SHA-pinned, least privilege, and covering every cloud stack."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from models import parse_config
from tests.conftest import ROOT, raw_config

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))
PINNED = re.compile(r"^(?P<action>[\w.-]+/[\w./-]+)@(?P<sha>[0-9a-f]{40}) # (?P<tag>v\d+(\.\d+)*)$")


def tool(name: str) -> str:
    """A linter from requirements-dev.txt: the venv's bin first, then PATH. Missing is a failure, not a skip."""
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed; run `pip install -r requirements-dev.txt` (it pins it)")
    return found


def actionlint(repo: Path, files: list[Path]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            tool("actionlint"),
            "-no-color",
            "-shellcheck",
            tool("shellcheck"),
            *[str(f.relative_to(repo)) for f in files],
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=120,
    )


def load(path: Path) -> dict:
    doc = yaml.safe_load(path.read_text())
    doc["on"] = doc.pop(True, doc.get("on"))  # YAML 1.1 reads the key `on` as True
    return doc


def uses(doc: dict) -> list[tuple[str, str]]:
    return [
        (job_id, step["uses"]) for job_id, job in doc["jobs"].items() for step in job.get("steps", []) if "uses" in step
    ]


def job_uses(job: dict, action: str) -> list[dict]:
    return [s for s in job.get("steps", []) if s.get("uses", "").startswith(action + "@")]


def cloud_stacks() -> set[str]:
    stacks = {p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in ROOT.glob("Pulumi.*.yaml")}
    return {s for s in stacks if parse_config(raw_config(s)).cluster.is_gke}


class TestWorkflows:
    def test_there_are_workflows(self):
        assert {p.name for p in WORKFLOWS} >= {"pr.yml", "deploy.yml"}

    def test_actionlint_finds_nothing(self):
        res = actionlint(ROOT, WORKFLOWS)
        assert res.returncode == 0, f"actionlint (with shellcheck) findings:\n{res.stdout}{res.stderr}"

    def test_actionlint_finds_nothing_at_the_pinned_tags(self, tmp_path):
        """actionlint checks inputs and runtimes only for tag refs; lint a copy with each SHA at its tag too."""
        (tmp_path / ".github" / "workflows").mkdir(parents=True)
        subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
        copies = []
        for wf in WORKFLOWS:
            text = re.sub(r"@[0-9a-f]{40} # (v\d+)[.\d]*", r"@\1", wf.read_text())
            copies.append(tmp_path / ".github" / "workflows" / wf.name)
            copies[-1].write_text(text)
        res = actionlint(tmp_path, copies)
        assert res.returncode == 0, f"actionlint findings at the tags:\n{res.stdout}{res.stderr}"

    def test_actionlint_would_catch_a_mistake(self, tmp_path):
        bad = tmp_path / ".github" / "workflows" / "bad.yml"
        bad.parent.mkdir(parents=True)
        subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
        bad.write_text(
            "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo $X\n"
            "      - run: echo ${{ github.event.head_commit.message }}\n"
        )
        res = actionlint(tmp_path, [bad])
        assert res.returncode == 1 and "SC2086" in res.stdout and "potentially untrusted" in res.stdout

    @pytest.mark.parametrize("wf", WORKFLOWS, ids=lambda p: p.name)
    def test_every_action_is_pinned_to_a_full_sha(self, wf):
        lines = [
            ln.split("uses:", 1)[1].strip().strip("'\"")
            for ln in wf.read_text().splitlines()
            if re.match(r"^\s*(-\s+)?uses:", ln)
        ]
        assert lines
        for ref in lines:
            assert ref.startswith("./") or PINNED.match(ref), f"{wf.name}: '{ref}' is not '<action>@<sha> # vX.Y.Z'"

    @pytest.mark.parametrize("wf", WORKFLOWS, ids=lambda p: p.name)
    def test_least_privilege(self, wf):
        doc = load(wf)
        assert doc.get("permissions") == {}, "default the token to no permission; grant per job"
        for job_id, job in doc["jobs"].items():
            perms = job.get("permissions")
            assert isinstance(perms, dict), f"{job_id} must declare its permissions"
            assert set(perms.values()) <= {"read", "write", "none"}
            writes = {k for k, v in perms.items() if v == "write"}
            allowed = set()
            if job_uses(job, "google-github-actions/auth"):
                allowed.add("id-token")
            if job_uses(job, "actions/github-script") or any(
                s.get("with", {}).get("comment-on-pr") for s in job_uses(job, "pulumi/actions")
            ):
                allowed.add("pull-requests")
            assert writes <= allowed, f"{job_id} asks for {writes - allowed} it does not use"

    def test_pr_previews_every_cloud_stack_with_a_diff_comment(self):
        doc = load(ROOT / ".github" / "workflows" / "pr.yml")
        assert "pull_request" in doc["on"]
        preview = doc["jobs"]["preview"]
        stacks = {entry["stack"] for entry in preview["strategy"]["matrix"]["include"]}
        assert stacks == cloud_stacks() >= {"dev", "prod"}
        (step,) = job_uses(preview, "pulumi/actions")
        assert step["with"]["command"] == "preview" and step["with"]["diff"] is True
        assert step["with"]["comment-on-pr"] is True and "matrix.stack" in step["with"]["stack-name"]
        assert job_uses(preview, "google-github-actions/auth")

    def test_pr_runs_the_tests_and_the_offline_render_diff(self):
        doc = load(ROOT / ".github" / "workflows" / "pr.yml")
        runs = {job_id: " ".join(s.get("run", "") for s in job["steps"]) for job_id, job in doc["jobs"].items()}
        assert "bash .ci/run" in runs["test"]
        assert "scripts/render_diff.py" in runs["render-diff"] and "base.sha" in str(doc["jobs"]["render-diff"])
        assert not job_uses(doc["jobs"]["render-diff"], "google-github-actions/auth"), "no cloud credentials"
        assert "id-token" not in doc["jobs"]["render-diff"]["permissions"]

    def test_pr_attaches_each_stacks_picture_next_to_the_diff(self):
        job = load(ROOT / ".github" / "workflows" / "pr.yml")["jobs"]["render-diff"]
        diff_out = next(s["run"] for s in job["steps"] if "render_diff.py" in s.get("run", "")).split("--out ")[1]
        uploads = {s["with"]["name"]: s["with"]["path"] for s in job_uses(job, "actions/upload-artifact")}
        # render_diff.py renders the PR side into <out>/head/<stack>/, where render.py writes platform.svg
        assert (
            uploads["platform-svg"]
            == diff_out.strip('"').replace("$RUNNER_TEMP", "${{ runner.temp }}") + "/head/*/platform.svg"
        )

    def test_deploy_is_dev_then_prod_behind_an_approval(self):
        doc = load(ROOT / ".github" / "workflows" / "deploy.yml")
        assert doc["on"]["push"]["branches"] == ["main"]
        dev, prod = doc["jobs"]["up-dev"], doc["jobs"]["up-prod"]
        assert dev["environment"] == "dev" and prod["environment"] == "prod" and prod["needs"] == "up-dev"
        for job, stack in ((dev, "dev"), (prod, "prod")):
            (step,) = job_uses(job, "pulumi/actions")
            assert step["with"]["command"] == "up" and step["with"]["stack-name"].endswith(stack)
        assert doc["concurrency"]["cancel-in-progress"] is False

    def test_cli_version_matches_the_sdk_pin(self):
        sdk = re.search(r"^pulumi==(\S+)$", (ROOT / "requirements.txt").read_text(), re.M).group(1)
        pins = {
            wf.name: re.findall(r"(?:pulumi-version|PULUMI_VERSION): (\d[\w.]*)", wf.read_text()) for wf in WORKFLOWS
        }
        assert pins["pr.yml"] and pins["deploy.yml"], "pin the Pulumi CLI in every workflow that runs it"
        assert {v for versions in pins.values() for v in versions} == {sdk}, f"CLI pins {pins}; the SDK is {sdk}"
