"""Wall time of the real engine on a stack (default dev): `pulumi up` from empty, then no-op `pulumi preview`,
against the floor it is judged on: the no-op preview of an empty Python Pulumi program.

    .venv/bin/python bench/engine_bench.py [--stack-file Pulumi.dev.yaml] [--previews 3]
    .venv/bin/python bench/engine_bench.py --previews 1          # the quickest run (one preview of each)

Needs the engine tools (scripts/engine/build_pulumi_tools.sh) and the control plane (e2e.cluster); both are
built or reused here. The floor is a temp project whose Pulumi.yaml names the repo's .venv and whose
__main__.py is empty, run with the same engine environment (pulumi.env), a file backend and a passphrase; it is
brought up once (its only resource: the Stack), then its no-op previews alternate with the stack's, so a burst
of load on a shared machine hits both alike. Prints one line per measurement, the medians and the ratio
stack/floor; destroys both stacks at the end. Asserts nothing (not a timed test).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from e2e.driver import cluster_up, current_context, namespaces  # noqa: E402
from e2e.engine import Engine, StepResult, change_counts, environment  # noqa: E402
from e2e.observe import Cluster  # noqa: E402
from e2e.stack_variant import stack_name, write_variant  # noqa: E402


def empty_program(folder: Path, venv: Path) -> Path:
    """A Python Pulumi project with an empty __main__.py on `venv`: what any Python program costs the engine."""
    folder.mkdir(parents=True, exist_ok=True)
    runtime = {"name": "python", "options": {"toolchain": "pip", "virtualenv": str(venv)}}
    (folder / "Pulumi.yaml").write_text(yaml.safe_dump({"name": "engine-floor", "runtime": runtime}, sort_keys=False))
    (folder / "__main__.py").write_text("")
    return folder


def failed(what: str, res: StepResult) -> int:
    print(f"{what} failed after {res.seconds:.1f}s:\n{res.output[-3000:]}", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stack-file", default="Pulumi.dev.yaml")
    ap.add_argument("--previews", type=int, default=3, help="no-op previews of the stack and of the floor each")
    ap.add_argument("--cluster-repo", default=os.environ.get("LLM_E2E_CLUSTER_REPO", str(REPO)))
    args = ap.parse_args(argv)
    if args.previews < 1:
        ap.error("--previews: at least 1")
    cache = Path(os.environ.get("LLM_PLATFORM_CACHE", Path.home() / ".cache" / "llm-platform")) / "engine"
    cluster_dir = Path(os.environ.get("LLM_E2E_CLUSTER_DIR", cache / "cluster"))  # the engine tier's control plane
    env_file = subprocess.run(
        ["bash", str(REPO / "scripts/engine/build_pulumi_tools.sh")], check=True, stdout=subprocess.PIPE, text=True
    ).stdout.strip()
    env = environment(Path(env_file))
    if "LLM_PLATFORM_CLUSTER_BIN" not in env:
        cluster_bin = subprocess.run(
            ["bash", str(Path(args.cluster_repo) / "scripts/engine/build_cluster_tools.sh")],
            check=True,
            stdout=subprocess.PIPE,
            text=True,
        ).stdout.strip()
        env["LLM_PLATFORM_CLUSTER_BIN"] = cluster_bin
    env["PATH"] = f"{env['LLM_PLATFORM_CLUSTER_BIN']}:{env['PATH']}"
    stack_file = Path(args.stack_file)
    stack = "bench-" + stack_name(stack_file)[0]
    kubeconfig = cluster_up(stack_file, cluster_dir, Path(args.cluster_repo), env)
    work = Path(tempfile.mkdtemp(prefix=f"llm-{stack}-"))
    variant, _ = write_variant(stack_file, work, stack, current_context(kubeconfig))
    stack_namespaces = set(namespaces(variant).values())
    Cluster(kubeconfig).delete_namespaces(stack_namespaces)  # from empty, as measured
    eng = Engine(work, stack, variant, env, kubeconfig)
    # The floor: its own state and config file (outside its project folder: `stack init` writes there).
    floor_work = work / "floor"
    floor_config = floor_work / "floor-config.yaml"
    floor_work.mkdir()
    floor_config.write_text("config: {}\n")
    project = empty_program(work / "empty-program", REPO / ".venv")
    floor = Engine(floor_work, "floor", floor_config, env, kubeconfig=None, project=project)
    if not eng.init().ok or not floor.init().ok:
        print(f"pulumi stack init failed (log: {work}/pulumi.log, {floor_work}/pulumi.log)", file=sys.stderr)
        return 1
    try:
        up = eng.up()
        print(f"pulumi up ({stack_file}, from empty): {up.seconds:.1f}s ok={up.ok}")
        if not up.ok:
            return failed("pulumi up", up)
        floor_up = floor.up()
        print(f"pulumi up (empty program): {floor_up.seconds:.1f}s ok={floor_up.ok}")
        if not floor_up.ok:
            return failed("pulumi up of the empty program", floor_up)
        times: dict[str, list[float]] = {"stack": [], "floor": []}
        for _ in range(args.previews):
            for name, engine in (("stack", eng), ("floor", floor)):
                res = engine.preview()
                if not res.ok:
                    return failed(f"pulumi preview ({name})", res)
                times[name].append(res.seconds)
                label = f"{stack_file}" if name == "stack" else "empty program"
                print(f"pulumi preview (no-op, {label}): {res.seconds:.1f}s changes={change_counts(res.json) or 0}")
        stack_median, floor_median = (statistics.median(times[k]) for k in ("stack", "floor"))
        print(
            f"no-op preview median of {args.previews}: {stack_file} {stack_median:.1f}s, "
            f"empty program (floor) {floor_median:.1f}s, ratio {stack_median / floor_median:.2f}x"
        )
    finally:
        eng.unprotect_all()
        d = eng.destroy()
        print(f"pulumi destroy: {d.seconds:.1f}s ok={d.ok}")
        floor.destroy()
        # what destroy keeps (database, salt, caches) goes too: the next run on this control plane starts empty
        Cluster(kubeconfig).delete_namespaces(stack_namespaces)
    return 0


if __name__ == "__main__":
    sys.exit(main())
