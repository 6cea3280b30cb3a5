"""One stack file through the real engine on the local control plane; writes OUT/e2e.json.

    python -m e2e.driver STACK_FILE --out DIR --pulumi-env ENV --cluster-dir D [--cluster-repo R]

Run by scripts/e2e.sh, which builds the tools first. Exit status 1 when any step or check failed.
Steps: cluster up, kubeconfig variant, preview, up, preview --expect-no-changes, read placement/GPUs/PVCs,
scaleToZero true (preview --diff kept, up, checks), back to false (up, checks), unprotect + destroy, retained.
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

from e2e import observe
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
    stack = "e2e-" + stack_name(stack_file)
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
    report.variant_changes = changes
    config: dict[str, Any] = (yaml.safe_load(variant.read_text()) or {}).get("config", {})
    try:
        stack_namespaces = namespaces(variant)
    except ConfigError as exc:  # the variant must validate like the stack; say which key, no traceback
        report.fail(f"the kubeconfig variant does not validate: {exc}")
        return report
    try:
        cluster.delete_namespaces(set(stack_namespaces.values()))
    except subprocess.SubprocessError as exc:
        report.fail(f"could not clear the stack's namespaces left by an earlier run: {exc}")
        return report
    eng = Engine(work, stack, variant, env, kubeconfig)
    report.versions = {
        "pulumi": eng.version(),
        "kubernetes": env.get("LLM_ENGINE_KUBERNETES_VERSION", "?"),
        "random": env.get("LLM_ENGINE_RANDOM_VERSION", "?"),
        "kube-apiserver": server_version(cluster),
    }
    if not eng.init().ok:
        report.fail("pulumi stack init failed")
        return report

    res = eng.preview()
    report.first_preview_changes = change_counts(res.json)
    report.step("preview", res.ok, res.seconds)
    res = eng.up()
    report.step("up", res.ok, res.seconds)
    if not res.ok:
        report.fail(tail(res.output))
        return finish(report, eng, cluster, config, variant)
    res = eng.preview(expect_no_changes=True)
    report.second_preview_changes = sum(change_counts(res.json).values()) if res.json else None
    report.step("idempotentPreview", res.ok and report.second_preview_changes == 0, res.seconds)
    if report.second_preview_changes:
        (out / "idempotent-preview.json").write_text(res.output)
        report.fail(f"second preview wants {change_counts(res.json)}: not idempotent")

    serving = stack_namespaces["serving"]
    wait_for(lambda: not any(r["node"] is None for r in observe.placement(cluster, config, serving)[0]), 60)
    report.placement, report.placement_errors = observe.placement(cluster, config, serving)
    wait_for(lambda: observe.pvc_phases(cluster).get("Pending", 0) == 0, 60)
    report.pvcs = observe.pvc_phases(cluster)
    if report.pvcs.get("Pending"):
        report.fail(f"{report.pvcs['Pending']} PVC(s) not Bound")
    flip(report, eng, cluster, out)
    return finish(report, eng, cluster, config, variant)


def flip(report: Report, eng: Engine, cluster: observe.Cluster, out: Path) -> None:
    before_state = observe.stateful(cluster)
    before_replicas = observe.deployment_replicas(cluster)
    before_gpu = len(observe.gpu_pods(cluster))
    eng.set_config(SCALE_KEY, "true")
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
        "gpuPodsBefore": before_gpu,
        "gpuPodsAfter": len(gpu_after),
        "statefulUnchanged": not lost,
        "statefulChanged": lost,
        "restored": restored,
    }
    if gpu_after:
        report.fail(f"scaleToZero left GPU pods: {gpu_after}")
    if lost:
        report.fail(f"scaleToZero replaced or removed stateful objects: {lost}")
    if not restored:
        report.fail("flipping scaleToZero back did not restore the first state")


def finish(report: Report, eng: Engine, cluster: observe.Cluster, config: dict[str, Any], variant: Path) -> Report:
    eng.unprotect_all()  # protect=True guards the database in real stacks; a test stack is torn down
    res = eng.destroy()
    report.step("destroy", res.ok, res.seconds)
    if not res.ok:
        report.fail(tail(res.output))
    try:
        report.retained_after_destroy = observe.retained(cluster, set(namespaces(variant).values()))
    except Exception as exc:  # reported, never hidden
        report.fail(f"reading what destroy retained failed: {exc}")
    return report


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
    args = ap.parse_args(argv)
    report = run(args)
    path = report.write(Path(args.out))
    status = "ok" if report.ok else "FAILED: " + "; ".join(report.errors[:5])
    print(f"e2e {report.stack}: {status} ({path})", file=sys.stderr)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
