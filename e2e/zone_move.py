"""docs/how-to/move-a-zone.md, run as written on the local control plane with the real engine (issue 15, 2d):

    python -m e2e.zone_move STACK_FILE --out DIR --pulumi-env FILE --cluster-dir DIR

The stack (dev: pool l4-coder, model coder-chat) goes up in its pool's zone. Then the recipe: step 1's diff is
applied to the stack file, step 2's kubectl commands run verbatim (with the harness's kubeconfig), and step 3
is `pulumi up --refresh`, just before which the fake GPU nodes move to the new zone (GKE moves the pool in it).
Checked, and written to DIR/zone-move.json: the second `up` succeeds; the cache claim is a new one; the stage
Job ran again, on a CPU node of the new zone; the model's pod runs on a GPU node of the new zone. Then the stack
and its namespaces go. Exits non-zero when a check fails.
"""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from e2e import observe
from e2e.driver import cluster_up, current_context, namespaces, wait_for
from e2e.engine import Engine, environment
from e2e.report import scenario_parser, write_scenario
from e2e.stack_variant import stack_name, write_variant

DOC = Path(__file__).resolve().parents[1] / "docs" / "how-to" / "move-a-zone.md"
ZONE = "topology.kubernetes.io/zone"


def doc_blocks() -> tuple[list[str], list[str]]:
    """(step 1's diff lines, step 2's shell commands) as the page prints them."""
    text = DOC.read_text()
    (diff,) = re.findall(r"```diff\n(.*?)```", text, re.S)
    step2 = text.split("## 2.", 1)[1].split("## 3.", 1)[0]
    (shell,) = re.findall(r"```bash\n(.*?)```", step2, re.S)
    commands = [line.split("#", 1)[0].strip() for line in shell.splitlines()]
    return diff.splitlines(), [c for c in commands if c]


def apply_diff(text: str, diff: list[str]) -> str:
    """A one-hunk diff written against the file's own lines (context ' ', removed '-', added '+')."""
    old = [line[1:] for line in diff if line[:1] in (" ", "-")]
    new = [line[1:] for line in diff if line[:1] in (" ", "+")]
    lines = text.splitlines()
    starts = [i for i in range(len(lines)) if lines[i : i + len(old)] == old]
    if len(starts) != 1:
        raise SystemExit(f"{DOC.name}: the diff's context matches the stack file {len(starts)} times, not once")
    i = starts[0]
    return "\n".join(lines[:i] + new + lines[i + len(old) :]) + "\n"


def zones_of(cluster: observe.Cluster) -> dict[str, str]:
    return {n["metadata"]["name"]: n["metadata"].get("labels", {}).get(ZONE, "") for n in cluster.nodes()}


def snapshot(cluster: observe.Cluster, ns: str, model: str) -> dict[str, Any]:
    zones = zones_of(cluster)
    pods = [p for p in cluster.get("pods") if p["metadata"]["namespace"] == ns]
    claims = {c["metadata"]["name"]: c for c in cluster.get("pvc") if c["metadata"]["namespace"] == ns}
    claim = claims.get(f"{model}-model-cache")
    stage = f"{model}-stage-"

    def label(p: dict[str, Any], key: str) -> str:
        return (p["metadata"].get("labels") or {}).get(key, "")

    def where(chosen: list[dict[str, Any]]) -> list[str]:
        return sorted({zones.get(p["spec"].get("nodeName", ""), "") for p in chosen} - {""})

    jobs = [j["metadata"]["name"] for j in cluster.get("jobs") if j["metadata"]["namespace"] == ns]
    return {
        "claimUid": claim["metadata"]["uid"] if claim else None,
        "stageJobs": sorted(j for j in jobs if j.startswith(stage)),
        "stageZones": where([p for p in pods if label(p, "job-name").startswith(stage)]),
        "modelZones": where(
            [p for p in pods if label(p, "app.kubernetes.io/name") == model and p["status"].get("phase") == "Running"]
        ),
    }


def run_step2(commands: list[str], kubeconfig: Path) -> list[dict[str, Any]]:
    out = []
    for command in commands:
        argv = shlex.split(command)
        if argv[0] != "kubectl":
            raise SystemExit(f"{DOC.name} step 2: not a kubectl command: {command}")
        res = subprocess.run(
            ["kubectl", "--kubeconfig", str(kubeconfig), *argv[1:]], capture_output=True, text=True, timeout=180
        )
        out.append({"command": command, "exit": res.returncode, "output": (res.stdout + res.stderr)[-500:]})
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    stack_file = Path(args.stack_file).resolve()
    stack = "zonemove-" + stack_name(stack_file)[0]
    work = Path(tempfile.mkdtemp(prefix=f"llm-e2e-{stack}-"))
    env = environment(Path(args.pulumi_env))
    repo, cluster_dir = Path(args.cluster_repo), Path(args.cluster_dir)
    diff, commands = doc_blocks()
    moved = work / stack_file.name
    moved.write_text(apply_diff(stack_file.read_text(), diff))
    new_zone = next(line.split("[", 1)[1].rstrip("]").strip() for line in diff if line.startswith("+"))
    kubeconfig = cluster_up(stack_file, cluster_dir, repo, env)
    cluster = observe.Cluster(kubeconfig)
    variant, _ = write_variant(stack_file, work, stack, current_context(kubeconfig))
    stack_ns = namespaces(variant)
    ns, model = stack_ns["serving"], args.model
    cluster.delete_namespaces(set(stack_ns.values()))
    eng = Engine(work, stack, variant, env, kubeconfig)
    rep: dict[str, Any] = {"stack": str(stack_file), "model": model, "newZone": new_zone, "errors": []}
    try:
        if not eng.init().ok:
            rep["errors"].append("pulumi stack init failed")
            return rep
        first = eng.up()
        rep["firstUp"] = {"ok": first.ok, "seconds": round(first.seconds, 1)}
        if not first.ok:
            rep["errors"].append("the first up failed")
            rep["upTail"] = first.output[-2000:]
            return rep
        wait_for(lambda: snapshot(cluster, ns, model)["modelZones"], 120)
        rep["before"] = snapshot(cluster, ns, model)
        write_variant(moved, work, stack, current_context(kubeconfig))  # step 1: the stack file changes
        rep["step2"] = run_step2(commands, kubeconfig)  # step 2, verbatim
        # step 3: in this `up` GKE moves the pool's nodes; here the harness re-syncs the fake nodes just before it
        cluster_up(moved, cluster_dir, repo, env)
        second = eng.up(refresh=True)
        rep["secondUp"] = {"ok": second.ok, "seconds": round(second.seconds, 1)}
        if not second.ok:
            rep["upTail"] = second.output[-2000:]
        wait_for(lambda: snapshot(cluster, ns, model)["modelZones"] == [new_zone], 120)
        rep["after"] = snapshot(cluster, ns, model)
    finally:
        eng.unprotect_all()
        eng.destroy()
        cluster.delete_namespaces(set(stack_ns.values()))
        cluster_up(stack_file, cluster_dir, repo, env)  # the fake nodes back where the shipped stack has them
    before, after = rep.get("before", {}), rep.get("after", {})
    checks = {
        "the first up places the model in the old zone": before.get("modelZones")
        and new_zone not in before["modelZones"],
        "step 2's commands all succeed": all(s["exit"] == 0 for s in rep.get("step2", [])),
        "up --refresh succeeds": rep.get("secondUp", {}).get("ok"),
        "a new cache claim": after.get("claimUid") and after.get("claimUid") != before.get("claimUid"),
        "the stage ran on a CPU node of the new zone": after.get("stageZones") == [new_zone],
        "the model runs in the new zone": after.get("modelZones") == [new_zone],
    }
    rep["errors"] += [name for name, ok in checks.items() if not ok]
    return rep


def main(argv: list[str] | None = None) -> int:
    args = scenario_parser("e2e.zone_move", __doc__ or "", model_default="coder-chat").parse_args(argv)
    return write_scenario(run(args), args.out, "zone-move.json", "zone move")


if __name__ == "__main__":
    sys.exit(main())
