"""docs/how-to/move-a-zone.md works as written: its config diff applies to a copy of the shipped dev stack, the
result renders, and the pool, the stage Job and nothing stateful move with it."""

import re

import yaml

from components.manifests import weight_stage as ws
from models import read_stack_file
from tests.conftest import ROOT, plan_for

DOC = ROOT / "docs" / "how-to" / "move-a-zone.md"


def doc_diff() -> list[str]:
    (block,) = re.findall(r"```diff\n(.*?)```", DOC.read_text(), re.S)
    return block.splitlines()


def apply_diff(text: str, diff: list[str]) -> str:
    """Apply a one-hunk diff written against the file's own lines (context ' ', removed '-', added '+')."""
    old = [line[1:] for line in diff if line[:1] in (" ", "-")]
    new = [line[1:] for line in diff if line[:1] in (" ", "+")]
    lines = text.splitlines()
    starts = [i for i in range(len(lines)) if lines[i : i + len(old)] == old]
    assert len(starts) == 1, "the diff's context must match the shipped stack exactly once"
    i = starts[0]
    return "\n".join(lines[:i] + new + lines[i + len(old) :]) + "\n"


def config(text: str) -> dict:
    values = yaml.safe_load(text)["config"]
    return {k.removeprefix("llm-platform:"): v for k, v in values.items() if k.startswith("llm-platform:")}


def stage_zones(plan) -> list[str]:
    (job,) = [
        j for j in plan.find("Job") if j["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"] == ws.STAGE
    ]
    (term,) = job["spec"]["template"]["spec"]["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"
    ]["nodeSelectorTerms"]
    return next(e["values"] for e in term["matchExpressions"] if e["key"] == ws.ZONE_LABEL)


def test_the_documented_zone_move_renders_and_moves_the_pool_and_the_stage(tmp_path):
    shipped = (ROOT / "Pulumi.dev.yaml").read_text()
    moved_text = apply_diff(shipped, doc_diff())
    (tmp_path / "Pulumi.dev.yaml").write_text(moved_text)
    read_stack_file(tmp_path / "Pulumi.dev.yaml")  # the edited file still reads as a stack file
    before, after = plan_for(config(shipped)), plan_for(config(moved_text))
    assert stage_zones(before) == ["us-central1-a"] and stage_zones(after) == ["us-central1-b"]
    (pool,) = [i for t, _, i in after.gcp if t == "gcp:container/nodePool:NodePool" and i["name"] == "l4-coder"]
    assert pool["nodeLocations"] == ["us-central1-b"]
    # the claim keeps its name: the documented kubectl commands name the objects the stack declares
    doc = DOC.read_text()
    for kind, name in (("PersistentVolumeClaim", "coder-chat-model-cache"), ("Deployment", "coder-chat")):
        after.one(kind, name, "serving")
        assert name in doc


def test_the_documented_job_selector_matches_the_stage_and_release_jobs(dev_plan):
    assert "-l app.kubernetes.io/component=model" in DOC.read_text()
    jobs = dev_plan.find("Job", namespace="serving")
    assert jobs and all(j["metadata"]["labels"]["app.kubernetes.io/component"] == "model" for j in jobs)
