#!/usr/bin/env python3
"""Render benchmark: wall time of the offline render for 1, 20 and 200 generated models, against a floor.

    python bench/render_bench.py                 # defaults: sizes 1,20,200, 5 runs each, median
    python bench/render_bench.py --profile 200   # cProfile one in-process render of 200 models

Every figure is the median of fresh `python` processes (interpreter start included), run round-robin, so each
pays the same imports a user's `python render.py` pays; wall time is judged, the children's CPU time is shown
beside it (it does not grow when other work shares the cores):
- floor: a process that imports the Pulumi SDK modules the dev render loads (measured, not listed by hand)
  and runs an empty program under the same mocks: what any program on these SDKs costs;
- dev:   `python render.py --stack-file Pulumi.dev.yaml`;
- N:     `python render.py` on a generated stack of N vLLM models, 10 per g2-standard-8 pool (maxNodes 10,
  so the GPU budget rule holds at replicas 1), i.e. N/10 pools.
Targets (issue 5): dev <= 1.5x floor; 200 models < 10 s on a 2-core machine; t(200)/t(20) <= 12.
Prints figures; asserts nothing (not a timed test).
"""

import argparse
import cProfile
import json
import os
import pstats
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
MODELS_PER_POOL = 10
TARGETS = {"dev/floor": 1.5, "t(200)": 10.0, "t(200)/t(20)": 12.0}


def generated_stack(n: int) -> dict:
    """A valid stack of n models on ceil(n/10) pools, every model at replicas 1."""
    pools = [
        {
            "name": f"pool-{j}",
            "machineType": "g2-standard-8",
            "minNodes": 0,
            "maxNodes": MODELS_PER_POOL,
            "spot": True,
            "role": f"role-{j}",
            "zones": [f"us-central1-{'ab'[j % 2]}"],  # one zone per GPU pool on a regional cluster
        }
        for j in range((n + MODELS_PER_POOL - 1) // MODELS_PER_POOL)
    ]
    models = [
        {
            "name": f"model-{i}",
            "engine": "vllm",
            "pool": f"pool-{i // MODELS_PER_POOL}",
            "replicas": 1,
            "mode": "completion" if i % 4 == 3 else "chat",
            "modelName": f"Qwen/Qwen2.5-Coder-7B-Instruct-AWQ-{i}",
            "servedModelName": f"coder-{i}",
            "weightsGiB": 5.6,
            "quantization": "awq_marlin",
            "maxModelLen": 16384,
            # A distinct hub id per model, outside the sizing table: its config.json geometry, as a user would.
            "modelShape": {
                "numHiddenLayers": 28,
                "numKeyValueHeads": 4,
                "headDim": 128,
                "maxPositionEmbeddings": 32768,
            },
            "enablePrefixCaching": True,
            "inputCostPerToken": 0.0000005,
            "outputCostPerToken": 0.0000015,
        }
        for i in range(n)
    ]
    return {
        "config": {
            "gcp:project": "bench-project",
            "gcp:region": "us-central1",
            "llm-platform:cluster": {"name": "bench", "location": "us-central1"},
            "llm-platform:nodePools": pools,
            "llm-platform:models": models,
            "llm-platform:gateway": {"replicas": 1, "database": {"backup": {"enabled": False}}},
        }
    }


def sdk_modules() -> list[str]:
    """The Pulumi SDK modules a dev render imports (run in a child so this process stays clean)."""
    # The SDKs register every service package lazily; keep only the modules really loaded.
    code = (
        "import json, sys, tempfile, render; render.main(['--stack-file', 'Pulumi.dev.yaml', '--out', "
        "tempfile.mkdtemp()]); print(json.dumps(sorted(m for m, mod in sys.modules.items() if m.split('.')[0] "
        "in ('pulumi', 'pulumi_kubernetes', 'pulumi_gcp', 'pulumi_random') "
        "and type(mod).__name__ != '_LazyModule')))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


# The SDKs register their service packages lazily (pulumi._utils._LazyModule): importing a submodule of a package
# still registered lazily runs the submodule first, and pulumi_gcp.config.vars then re-enters its unfinished
# self through its package (a circular ImportError). Loading in sorted order (every package before its
# submodules) and forcing each lazy package to load when reached keeps Python's own order: package, then children.
FLOOR_CHILD = """
import importlib, json, sys
from pathlib import Path
for name in json.loads(Path(sys.argv[1]).read_text()):
    module = importlib.import_module(name)
    if type(module).__name__ == "_LazyModule":
        hasattr(module, "__bench_load__")  # any attribute lookup runs the lazy package's __init__
from offline.mocks import run_program
run_program({}, "floor", Path(sys.argv[2]))
"""


def timed(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child): CPU time does not grow when other processes share the cores."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    res = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if res.returncode:
        raise SystemExit(f"benchmark command failed ({res.returncode}): {cmd[:3]}...\n{res.stderr}")
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def medians(cmds: dict[str, list[str]], runs: int) -> dict[str, tuple[float, float]]:
    """Round-robin over the commands (so a burst of load hits all alike), then the median per command."""
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in cmds}
    for _ in range(runs):
        for name, cmd in cmds.items():
            samples[name].append(timed(cmd))
    return {
        name: (statistics.median(w for w, _ in got), statistics.median(c for _, c in got))
        for name, got in samples.items()
    }


def render_cmd(stack_file: Path, out: Path) -> list[str]:
    return [sys.executable, "render.py", "--stack-file", str(stack_file), "--out", str(out)]


def profile(n: int, tmp: Path) -> None:
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    from offline.report import render

    stack = tmp / f"Pulumi.bench-{n}.yaml"
    stack.write_text(yaml.safe_dump(generated_stack(n)))
    prof = cProfile.Profile()
    prof.enable()
    render(stack, tmp / "out", f"bench-{n}")
    prof.disable()
    pstats.Stats(prof).sort_stats("cumulative").print_stats(40)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1,20,200", help="model counts (default 1,20,200)")
    parser.add_argument("--runs", type=int, default=5, help="fresh processes per figure; the median is kept")
    parser.add_argument("--profile", type=int, metavar="N", help="cProfile one render of N models and exit")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="render-bench-") as tmp_name:
        tmp = Path(tmp_name)
        if args.profile:
            profile(args.profile, tmp)
            return 0
        (tmp / "modules.json").write_text(json.dumps(sdk_modules()))
        (tmp / "empty_program.py").write_text("import pulumi  # an empty program\n")
        sizes = [int(x) for x in args.sizes.split(",")]
        floor = [sys.executable, "-c", FLOOR_CHILD, str(tmp / "modules.json"), str(tmp / "empty_program.py")]
        cmds = {"floor": floor, "dev": render_cmd(ROOT / "Pulumi.dev.yaml", tmp / "out-dev")}
        for n in sizes:
            stack = tmp / f"Pulumi.bench-{n}.yaml"
            stack.write_text(yaml.safe_dump(generated_stack(n)))
            cmds[f"t({n})"] = render_cmd(stack, tmp / f"out-{n}")
        figures = medians(cmds, args.runs)
    ratios = {"dev/floor": (figures["dev"][0] / figures["floor"][0], figures["dev"][1] / figures["floor"][1])}
    if {20, 200} <= set(sizes):
        ratios["t(200)/t(20)"] = (
            figures["t(200)"][0] / figures["t(20)"][0],
            figures["t(200)"][1] / figures["t(20)"][1],
        )
    load = os.getloadavg()[0]
    print(
        f"render benchmark: median of {args.runs} fresh processes each, {os.cpu_count()} CPU(s), "
        f"Python {sys.version.split()[0]}, load average {load:.2f}"
    )
    print(f"  {'':<14} {'wall':>8} {'CPU':>8}   target (on wall time)")
    for name, (wall, cpu) in figures.items():
        goal = TARGETS.get(name)
        verdict = f"< {goal:g} s: {'ok' if wall < goal else 'MISS'}" if goal else ""
        print(f"  {name:<14} {wall:7.2f}s {cpu:7.2f}s   {verdict}")
    for name, (wall, cpu) in ratios.items():
        goal = TARGETS[name]
        print(f"  {name:<14} {wall:7.2f}x {cpu:7.2f}x   <= {goal:g}: {'ok' if wall <= goal else 'MISS'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
