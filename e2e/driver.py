"""One stack file through the real engine on the local control plane; writes OUT/e2e.json.

    python -m e2e.driver STACK_FILE --out DIR --pulumi-env ENV --cluster-dir D [--cluster-repo R]

Run by scripts/e2e.sh, which builds the tools first. Exit status 1 when any step or check failed.
Steps: cluster up, kubeconfig variant, [--from REF: up with the program at REF], preview, up, preview
--expect-no-changes, refresh --expect-no-changes, read placement/GPUs/PVCs, the flip (`config set --path` of one
model's replicas, a nested number and boolean, and scaleToZero: preview --diff kept, up, checks; then back),
destroy --exclude-protected, what it retained, reUp and reUpPreview over the kept objects, then cleanup
(unprotect, destroy, delete the namespaces) so the next stack on the shared control plane starts clean.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from e2e import day2, new_stack, observe
from e2e.engine import REPO, Engine, change_counts, environment
from e2e.report import Report
from e2e.stack_variant import stack_name, write_variant
from models import ConfigError

SCALE_KEY = "llm-platform:scaleToZero"
_DIFF_LINE = re.compile(r"^\s*(\+-|-\+|~|\+|-)\s*([\w-]+:[\w./-]*:[\w]+):\s+\((\w[\w-]*)\)", re.M)


def diff_types(text: str) -> dict[str, int]:
    """{resource type: n} of the resources a `pulumi preview --diff` text says change."""
    counts: dict[str, int] = {}
    for _, rtype, op in _DIFF_LINE.findall(text):
        if op in ("same", "read"):
            continue
        counts[rtype] = counts.get(rtype, 0) + 1
    return dict(sorted(counts.items()))


def cluster_up(stack_file: Path, cluster_dir: Path, repo: Path, env: dict[str, str]) -> Path:
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "e2e.cluster",
            "up",
            "--stack-file",
            str(stack_file.resolve()),
            "--dir",
            str(cluster_dir),
        ],
        cwd=repo,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    if res.returncode or not res.stdout.strip():
        raise RuntimeError(f"e2e.cluster up failed (exit {res.returncode})")
    return Path(res.stdout.strip().splitlines()[-1])


def current_context(kubeconfig: Path) -> str | None:
    return (yaml.safe_load(kubeconfig.read_text()) or {}).get("current-context")


def namespaces(variant: Path) -> dict[str, str]:
    """The stack's namespaces by role (serving, gateway, frontends), as the program resolves them."""
    from models import config_from_pulumi_values, parse_config, read_stack_file

    return parse_config(config_from_pulumi_values(read_stack_file(variant))).namespaces.model_dump()


def wait_for(predicate, seconds: float = 120, every: float = 3) -> bool:
    end = time.monotonic() + seconds
    while True:
        if predicate():
            return True
        if time.monotonic() > end:
            return False
        time.sleep(every)


def run(args: argparse.Namespace) -> Report:
    stack_file = Path(args.stack_file)
    base, renamed = stack_name(stack_file)
    stack = "e2e-" + base
    report = Report(str(stack_file), stack)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    env = environment(Path(args.pulumi_env) if args.pulumi_env else None)
    work = Path(tempfile.mkdtemp(prefix=f"llm-e2e-{stack}-"))
    report.logs["pulumi"] = str(work / "pulumi.log")

    start = time.monotonic()
    try:
        kubeconfig = cluster_up(stack_file, Path(args.cluster_dir), Path(args.cluster_repo), env)
    except RuntimeError as exc:
        report.step("clusterUp", False, time.monotonic() - start)
        report.fail(str(exc))
        return report
    report.step("clusterUp", True, time.monotonic() - start)
    cluster = observe.Cluster(kubeconfig)
    variant, changes = write_variant(stack_file, work, stack, current_context(kubeconfig))
    report.variant_changes = [*([renamed] if renamed else []), *changes]
    config: dict[str, Any] = (yaml.safe_load(variant.read_text()) or {}).get("config", {})
    try:
        stack_namespaces = namespaces(variant)
    except ConfigError as exc:  # the variant must validate like the stack; say which key, no traceback
        report.fail(f"the kubeconfig variant does not validate: {exc}")
        return report
    # A clean slate first: a killed earlier run may have kept a salt or database Secret whose value this run's fresh
    # state cannot carry (its first `up` would stop at a server-side apply conflict). Adoption of kept objects is
    # proved inside the run (destroy, reUp) and across stacks (--new-stack).
    try:
        cluster.delete_namespaces(set(stack_namespaces.values()))
    except subprocess.SubprocessError as exc:
        report.fail(f"could not clear what an earlier run left in {sorted(stack_namespaces.values())}: {exc}")
        return report
    eng = Engine(work, stack, variant, env, kubeconfig)
    report.versions = {
        "pulumi": eng.version(),
        "languageHost": env.get("LLM_ENGINE_LANGHOST_VERSION", "?"),
        "kubernetes": env.get("LLM_ENGINE_KUBERNETES_VERSION", "?"),
        "random": env.get("LLM_ENGINE_RANDOM_VERSION", "?"),
        "kube-apiserver": server_version(cluster),
    }
    pinned = {k: v.lstrip("v") for k, v in report.versions.items()}
    report.errors += day2.version_errors(pinned, day2.sdk_pins())
    if not eng.init().ok:
        report.fail("pulumi stack init failed")
        return report
    others: list[Engine] = []
    try:
        steps(report, eng, cluster, out, config, variant, stack_namespaces, args.from_ref)
        if args.new_stack and report.ok:
            others = new_stack.run(report, eng, cluster, stack_namespaces["gateway"])
    finally:
        if not args.keep:
            for other in others:  # the new stacks' state first; the namespaces go with the first stack's cleanup
                other.unprotect_all()
                other.destroy()
            cleanup(report, eng, cluster, set(stack_namespaces.values()))
        report.config_set = eng.config_sets
    return report


def steps(
    report: Report,
    eng: Engine,
    cluster: observe.Cluster,
    out: Path,
    config: dict[str, Any],
    variant: Path,
    stack_namespaces: dict[str, str],
    from_ref: str | None,
) -> None:
    gateway_ns = stack_namespaces["gateway"]
    if from_ref and not upgrade_from(report, eng, cluster, from_ref, gateway_ns):
        return
    res = eng.preview()
    report.first_preview_changes = change_counts(res.json)
    report.step("preview", res.ok, res.seconds)
    if from_ref:
        changes = day2.upgrade_changes(res.json)
        report.upgrade.update(changes)
        if stateful := day2.stateful_urns(changes["replaced"] + changes["deleted"]):
            report.fail(f"the upgrade from {from_ref} replaces or deletes stateful resources: {stateful}")
    res = eng.up()
    report.step("up", res.ok, res.seconds)
    if from_ref:
        report.upgrade["ok"] = res.ok
        report.secret_hashes["upgrade"] = hashes(eng, cluster, gateway_ns)
    if not res.ok:
        report.fail(tail(res.output))
        return
    res = eng.preview(expect_no_changes=True)
    report.second_preview_changes = sum(change_counts(res.json).values()) if res.json else None
    report.step("idempotentPreview", res.ok and report.second_preview_changes == 0, res.seconds)
    if report.second_preview_changes:
        (out / "idempotent-preview.json").write_text(res.output)
        report.fail(f"second preview wants {change_counts(res.json)}: not idempotent")
    res = eng.refresh()
    report.step("refresh", res.ok, res.seconds)
    if not res.ok:
        report.fail("pulumi refresh --expect-no-changes found drift:\n" + tail(res.output, 15))
    report.secret_hashes["up"] = hashes(eng, cluster, gateway_ns)

    serving = stack_namespaces["serving"]
    wait_for(lambda: not any(r["node"] is None for r in observe.placement(cluster, config, serving)[0]), 60)
    report.placement, report.placement_errors = observe.placement(cluster, config, serving)
    wait_for(lambda: observe.pvc_phases(cluster).get("Pending", 0) == 0, 60)
    report.pvcs = observe.pvc_phases(cluster)
    if report.pvcs.get("Pending"):
        report.fail(f"{report.pvcs['Pending']} PVC(s) not Bound")
    flip(report, eng, cluster, out, config, variant, serving)
    report.secret_hashes["flip"] = hashes(eng, cluster, gateway_ns)

    kept = observe.keepable(cluster, set(stack_namespaces.values()))
    res = eng.destroy(exclude_protected=True)
    report.step("destroy", res.ok, res.seconds)
    if not res.ok:
        report.fail(tail(res.output))
    report.retained_after_destroy = observe.retained(cluster, set(stack_namespaces.values()))
    if missing := sorted(set(kept) - set(report.retained_after_destroy)):
        report.fail(f"destroy removed objects the stack keeps: {missing}")

    res = eng.up()
    report.step("reUp", res.ok, res.seconds)
    if not res.ok:
        report.fail("the up after destroy did not adopt what destroy kept:\n" + tail(res.output, 20))
        return
    res = eng.preview(expect_no_changes=True)
    report.re_up_preview_changes = sum(change_counts(res.json).values()) if res.json else None
    report.step("reUpPreview", res.ok and report.re_up_preview_changes == 0, res.seconds)
    report.secret_hashes["reUp"] = hashes(eng, cluster, gateway_ns)
    if changed := day2.hashes_unchanged(report.secret_hashes):
        report.fail(f"generated secrets changed across flip, re-up or upgrade: {changed}")


def hashes(eng: Engine, cluster: observe.Cluster, gateway_ns: str) -> dict[str, str]:
    """Short hashes (never values) of every RandomPassword result and of the salt and master key Secrets."""
    return {
        **day2.state_password_hashes(eng.export()),
        **day2.cluster_secret_hashes(cluster.get("secrets"), gateway_ns),
    }


def upgrade_from(report: Report, eng: Engine, cluster: observe.Cluster, ref: str, gateway_ns: str) -> bool:
    """`up` with the program at git ref `ref` (a worktree sharing this checkout's .venv), before the checkout's."""
    report.upgrade = {"from": ref, "ok": False, "changed": [], "replaced": [], "deleted": []}
    tree = eng.workdir / "from"
    git = subprocess.run(
        ["git", "-C", str(REPO), "worktree", "add", "--detach", str(tree), ref], capture_output=True, text=True
    )
    if git.returncode:
        report.fail(f"--from {ref}: no such commit in this clone ({git.stderr.strip().splitlines()[-1:]})")
        return False
    try:
        (tree / ".venv").symlink_to(REPO / ".venv")
        old = Engine(eng.workdir, eng.stack, eng.config_file, eng.env, None, project=tree)
        old.env = eng.env
        res = old.up()
        report.step("fromUp", res.ok, res.seconds)
        if not res.ok:
            report.fail(f"up with the program at {ref} failed:\n" + tail(res.output, 20))
            return False
        report.secret_hashes["from"] = hashes(eng, cluster, gateway_ns)
        return True
    finally:
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)], capture_output=True)


def flip(
    report: Report, eng: Engine, cluster: observe.Cluster, out: Path, config: dict, variant: Path, serving: str
) -> None:
    before_state = observe.stateful(cluster)
    before_replicas = observe.deployment_replicas(cluster)
    before_gpu = len(observe.gpu_pods(cluster))
    flips, model = day2.path_flips(config)
    workload = model_deployment(variant, model) if model else None
    for key, value, _ in flips:
        eng.set_config(key, value, path=True)
    eng.set_config(SCALE_KEY, "true")
    doc = yaml.safe_load(variant.read_text()) or {}
    typed = {key: day2.typed_in_file(doc, key) for key, _, _ in flips}
    res = eng.preview(diff=True)
    (out / "flip-preview.diff").write_text(res.output)
    report.step("flipPreview", res.ok, res.seconds)
    changed = diff_types(res.output)
    res = eng.up()
    report.step("flipUp", res.ok, res.seconds)
    wait_for(lambda: not observe.gpu_pods(cluster), 120)
    gpu_after = observe.gpu_pods(cluster)
    after_state = observe.stateful(cluster)
    lost = sorted(k for k, uid in before_state.items() if after_state.get(k) != uid)
    reached = observe.workload_args(cluster, serving, workload) if workload else ""
    for key, _, restore in flips:
        if restore is None:
            eng.remove_config(key)
        else:
            eng.set_config(key, restore, path=True)
    eng.set_config(SCALE_KEY, "false")
    res = eng.up()
    report.step("flipBackUp", res.ok, res.seconds)
    wait_for(lambda: len(observe.gpu_pods(cluster)) >= before_gpu, 120)
    restored = observe.deployment_replicas(cluster) == before_replicas and len(observe.gpu_pods(cluster)) == before_gpu
    back_state = observe.stateful(cluster)
    lost += sorted(k for k, uid in before_state.items() if back_state.get(k) != uid and k not in lost)
    report.flip = {
        "changed": changed,
        "diff": str(out / "flip-preview.diff"),
        "pathSets": {k: {"value": v, "typed": typed[k]} for k, v, _ in flips},
        "gpuPodsBefore": before_gpu,
        "gpuPodsAfter": len(gpu_after),
        "statefulUnchanged": not lost,
        "statefulChanged": lost,
        "restored": restored,
    }
    if unexpected := sorted(set(changed) - day2.FLIP_TYPES):
        report.fail(f"the flip changes types it is not meant to: {unexpected} (allowed: {sorted(day2.FLIP_TYPES)})")
    for key, value, _ in flips:
        want = yaml.safe_load(value)  # what `config set --path` stores: a number or a boolean, not a string
        if typed[key] != want or type(typed[key]) is not type(want):
            report.fail(f"config set --path {key} {value} stored {typed[key]!r}, not the typed {want!r}")
    numbers = [v for k, v, _ in flips if not k.endswith(".replicas") and v not in ("true", "false")]
    if model and not all(n in reached for n in numbers):
        report.fail(f"the --path numbers {numbers} did not reach {model}'s workload args: {reached[:300]}")
    if gpu_after:
        report.fail(f"scaleToZero left GPU pods: {gpu_after}")
    if lost:
        report.fail(f"scaleToZero replaced or removed stateful objects: {lost}")
    if not restored:
        report.fail("flipping scaleToZero back did not restore the first state")


def model_deployment(variant: Path, model: str) -> str:
    """The Deployment that serves `model`: its own for vLLM and a CPU llama.cpp model, its pool's for a pinned one."""
    from components.manifests import llamacpp
    from models import config_from_pulumi_values, parse_config, read_stack_file

    cfg = parse_config(config_from_pulumi_values(read_stack_file(variant)))
    spec = next(m for m in cfg.models if m.name == model)
    return spec.name if spec.engine == "vllm" else llamacpp.server_names(spec, cfg)["deployment"]  # type: ignore[arg-type]


def cleanup(report: Report, eng: Engine, cluster: observe.Cluster, stack_namespaces: set[str]) -> None:
    """Leave the shared control plane as found: the next stack starts without this one's kept objects."""
    start = time.monotonic()
    eng.unprotect_all()
    ok = eng.destroy().ok
    try:
        cluster.delete_namespaces(stack_namespaces)
    except subprocess.SubprocessError:
        ok = False
    report.step("cleanup", ok, time.monotonic() - start)


def server_version(cluster: observe.Cluster) -> str:
    import json

    res = subprocess.run(
        [cluster.kubectl, "--kubeconfig", str(cluster.kubeconfig), "version", "-o", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        return json.loads(res.stdout)["serverVersion"]["gitVersion"]
    except (ValueError, KeyError):
        return "?"


def tail(text: str, lines: int = 30) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m e2e.driver", description=__doc__.splitlines()[0])
    ap.add_argument("stack_file")
    ap.add_argument("--out", required=True)
    ap.add_argument("--pulumi-env", help="pulumi.env written by scripts/engine/build_pulumi_tools.sh")
    ap.add_argument("--cluster-dir", default=str(Path(tempfile.gettempdir()) / "llm-platform-cluster"))
    ap.add_argument("--cluster-repo", default=str(REPO), help="checkout whose e2e.cluster runs the control plane")
    ap.add_argument("--from", dest="from_ref", help="git ref: `up` with the program at REF first (an upgrade)")
    ap.add_argument("--keep", action="store_true", help="leave the stack and its namespaces (no cleanup)")
    ap.add_argument("--new-stack", action="store_true", help="then a new stack over what the first one kept")
    args = ap.parse_args(argv)
    report = run(args)
    path = report.write(Path(args.out))
    status = "ok" if report.ok else "FAILED: " + "; ".join(report.errors[:5])
    print(f"e2e {report.stack}: {status} ({path})", file=sys.stderr)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
