"""Wall time of the real engine on a stack (default dev): `pulumi up` from empty, then no-op `pulumi preview`.

    .venv/bin/python bench/engine_bench.py [--stack-file Pulumi.dev.yaml] [--previews 3]

Needs the engine tools (scripts/engine/build_pulumi_tools.sh) and the control plane (e2e.cluster); both are
built or reused here. Prints one line per measurement and destroys the stack at the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from e2e.driver import cluster_up, current_context, namespaces  # noqa: E402
from e2e.engine import Engine, change_counts, environment  # noqa: E402
from e2e.observe import Cluster  # noqa: E402
from e2e.stack_variant import stack_name, write_variant  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stack-file", default="Pulumi.dev.yaml")
    ap.add_argument("--previews", type=int, default=3)
    ap.add_argument("--cluster-repo", default=os.environ.get("LLM_E2E_CLUSTER_REPO", str(REPO)))
    args = ap.parse_args()
    cache = Path(os.environ.get("LLM_PLATFORM_CACHE", Path.home() / ".cache" / "llm-platform")) / "engine"
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
    stack = "bench-" + stack_name(stack_file)
    kubeconfig = cluster_up(stack_file, cache / "cluster", Path(args.cluster_repo), env)
    work = Path(tempfile.mkdtemp(prefix=f"llm-{stack}-"))
    variant, _ = write_variant(stack_file, work, stack, current_context(kubeconfig))
    Cluster(kubeconfig).delete_namespaces(set(namespaces(variant).values()))  # from empty, as measured
    eng = Engine(work, stack, variant, env, kubeconfig)
    if not eng.init().ok:
        print("pulumi stack init failed", file=sys.stderr)
        return 1
    try:
        up = eng.up()
        print(f"pulumi up ({stack_file}, from empty): {up.seconds:.1f}s ok={up.ok}")
        if not up.ok:
            print(up.output[-3000:], file=sys.stderr)
            return 1
        times = []
        for _ in range(args.previews):
            res = eng.preview()
            times.append(res.seconds)
            changes = change_counts(res.json)
            print(f"pulumi preview (no-op): {res.seconds:.1f}s changes={changes or 0}")
        print(f"no-op preview median of {len(times)}: {statistics.median(times):.1f}s")
    finally:
        eng.unprotect_all()
        d = eng.destroy()
        print(f"pulumi destroy: {d.seconds:.1f}s ok={d.ok}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
