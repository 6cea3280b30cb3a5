"""CPU accounting on a shared Linux box, for bench/gateway_load.py (stdlib; no-ops where /proc is absent).

Other jobs on the same 2 cores skew latency figures; these helpers measure how much CPU each party of a run
used, how much the rest of the machine used meanwhile, and pin a process to chosen cores. Run as a script it
prints how busy the box is now (the share bench/gateway_load.py leaves a run out for):

    python bench/cpu_share.py [--seconds 5]
"""

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def pin(pid: int, cpus: set[int]) -> None:
    """Restrict every thread of `pid` to `cpus` (Linux; a no-op elsewhere)."""
    if hasattr(os, "sched_setaffinity"):
        for task in Path(f"/proc/{pid}/task").glob("*"):
            with contextlib.suppress(OSError, ValueError):
                os.sched_setaffinity(int(task.name), cpus)


def cpu_seconds(pgid: int) -> float:
    """user+system CPU seconds of every live process in a process group (Linux /proc; 0 elsewhere)."""
    tick, total = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100, 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid:  # fields after "(comm)": state ppid pgrp ... utime(11) stime(12)
                total += int(fields[11]) + int(fields[12])
    return total / tick


def busy_seconds() -> float:
    """CPU seconds all cores spent busy since boot (Linux /proc/stat; 0 elsewhere)."""
    with contextlib.suppress(OSError, ValueError):
        ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return (sum(ticks[:8]) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")
    return 0.0


def wait_quiet(ours: dict[str, int], limit: float = 0.3, max_wait: float = 30.0) -> float:
    """Wait (at most max_wait s) until the rest of the box uses < `limit` of a core; return that share."""
    other, deadline = 0.0, time.monotonic() + max_wait
    while True:
        mine, busy = sum(cpu_seconds(g) for g in ours.values()) + time.process_time(), busy_seconds()
        time.sleep(1.0)
        other = (busy_seconds() - busy) - (sum(cpu_seconds(g) for g in ours.values()) + time.process_time() - mine)
        if other < limit or time.monotonic() > deadline:
            return max(0.0, other)


def cpu_during(run: Callable[[], T], groups: dict[str, int]) -> tuple[T, dict[str, float]]:
    """Call run(); return its result and the CPU seconds each process group, this process ("client") and the
    rest of the box ("other": jobs that merely share the machine) used meanwhile."""

    def sample() -> dict[str, float]:
        return {**{k: cpu_seconds(g) for k, g in groups.items()}, "client": time.process_time(), "all": busy_seconds()}

    before = sample()
    out = run()
    after = sample()
    cpu = {k: after[k] - before[k] for k in before}
    cpu["other"] = max(0.0, cpu.pop("all") - sum(cpu.values()))
    return out, cpu


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="How busy this machine's cores are now (Linux /proc/stat).")
    ap.add_argument("--seconds", type=float, default=5.0, help="how long to watch (default 5)")
    args = ap.parse_args(argv)
    if not 0 < args.seconds <= 600:
        ap.error("--seconds: more than 0, at most 600")
    busy, start = busy_seconds(), time.monotonic()
    time.sleep(args.seconds)
    used, wall = busy_seconds() - busy, time.monotonic() - start
    print(
        f"cpu_share: {used:.2f} CPU seconds busy in {wall:.2f} s wall: {used / wall:.2f} of "
        f"{os.cpu_count()} cores busy (bench/gateway_load.py leaves out a run with >= 0.25 of a core from other jobs)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
