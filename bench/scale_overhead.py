"""The platform's overhead on a first request from zero (issue 16): first 200 minus first request minus the load
time D, over several rounds on the local control plane, with KEDA's real operator and the real LiteLLM proxy.

    .venv/bin/python bench/scale_overhead.py [--stack-file Pulumi.dev.yaml] [--model coder-fim] [--rounds 5]
    .venv/bin/python bench/scale_overhead.py --rounds 1 --load-seconds 5   # the quickest run

Runs `scripts/e2e_scale.sh ... --rounds N` (one `pulumi up`; each round waits until the model idled back to zero,
about idleMinutes + one polling interval, then asks like a client that honours Retry-After). Prints each round,
p50, max and the bound the engine tier holds (Retry-After + pollingInterval + 2 s without holdSeconds). Asserts
nothing (not a timed test); figures by hand go to docs/verification/measured.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stack-file", default="Pulumi.dev.yaml")
    ap.add_argument("--model", default="coder-fim")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--load-seconds", type=int, default=20, help="kwok: the pod is Ready this long after it starts")
    args = ap.parse_args(argv)
    out = Path(tempfile.mkdtemp(prefix="llm-scale-bench-"))
    cmd = ["bash", str(REPO / "scripts" / "e2e_scale.sh"), args.stack_file, "--model", args.model,
           "--load-seconds", str(args.load_seconds), "--rounds", str(args.rounds), "--out", str(out)]  # fmt: skip
    res = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=False)
    path = out / "scale.json"
    if not path.exists():
        print(f"e2e_scale.sh wrote no scale.json (exit {res.returncode}):\n{res.stderr[-3000:]}", file=sys.stderr)
        return 1
    rep = json.loads(path.read_text())
    got = rep.get("overheadRounds") or []
    rounds = [r["overheadSeconds"] for r in got]
    for i, r in enumerate(got, 1):
        print(
            f"round {i}: overhead {r['overheadSeconds']:.1f}s (load {args.load_seconds}s, Retry-After {r['retryAfter']}s)"
        )
    if rep.get("errors") or not rounds:
        print(f"scale run failed: {rep.get('errors')} (report: {path})", file=sys.stderr)
        return 1
    bound = max(r["retryAfter"] for r in got) + rep["pollingIntervalSeconds"] + 2
    print(
        f"overhead from zero over {len(rounds)} round(s): p50={statistics.median(rounds):.1f}s "
        f"max={max(rounds):.1f}s bound={bound}s (Retry-After + polling interval + 2 s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
