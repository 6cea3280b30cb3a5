"""Every bench/ script keeps running: each runs as a subprocess on its smallest size and prints its figures.

Nothing is timed and no threshold is judged (the machine is shared; the figures themselves come from running the
scripts by hand, docs/verification/measured.md). The benches that need real consumers are marked like the other
consumer tests: gateway_load needs the LiteLLM proxy and llama-server (consumer), engine_bench the Pulumi engine
tools and the local control plane (engine), scale_overhead those, KEDA's operator and the LiteLLM proxy (engine);
a missing one skips, or fails with LLM_PLATFORM_REQUIRE_CONSUMERS=1.
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.consumers.require import litellm_binary, llama_binary
from tests.engine.conftest import cluster_bin, engine_env, pulumi_env  # noqa: F401 (fixtures)

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
# Every bench script (a file with a __main__ block) and the quickest options it runs with here.
SMALLEST = {
    "render_bench.py": ["--sizes", "1", "--runs", "1"],
    "cpu_share.py": ["--seconds", "0.5"],
    "gateway_load.py": ["--requests", "4", "--concurrency", "2", "--rounds", "1", "--max-tokens", "8", "--settle", "0"],
    "engine_bench.py": ["--previews", "1"],
    "scale_overhead.py": ["--rounds", "2", "--load-seconds", "5"],  # two: the second proves the way back to zero
}
NUM = r"\d+(?:\.\d+)?"  # a finite figure: "nan" and "inf" do not match


def run_bench(script: str, timeout: float, env: dict[str, str] | None = None) -> str:
    """Run bench/<script> with its smallest options from the repo root; it exits 0 and its stdout is returned."""
    cmd = [sys.executable, str(BENCH / script), *SMALLEST[script]]
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env)
    assert res.returncode == 0, (
        f"{' '.join(cmd[1:])} exited {res.returncode}:\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
    )
    return res.stdout


def assert_figures(out: str, *patterns: str) -> None:
    missing = [p for p in patterns if not re.search(p, out, re.M)]
    assert not missing, f"figures missing ({missing}) from:\n{out}"


class TestEveryBenchScriptIsRunHere:
    def test_each_script_in_bench_has_its_smallest_options_here(self):
        scripts = {p.name for p in BENCH.glob("*.py") if 'if __name__ == "__main__":' in p.read_text()}
        assert scripts == set(SMALLEST)


class TestEveryBenchAnswersHelp:
    """Imports and options parse without any consumer: the consumer and engine benches do not rot unseen."""

    @pytest.mark.parametrize("script", sorted(SMALLEST))
    def test_help_exits_zero(self, script: str):
        res = subprocess.run(
            [sys.executable, str(BENCH / script), "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120
        )
        assert res.returncode == 0, res.stderr[-3000:]
        assert "usage:" in res.stdout


class TestEveryBenchRunsOnItsSmallestSize:
    def test_render_bench_prints_floor_dev_and_size_figures(self):
        out = run_bench("render_bench.py", timeout=900)
        for row in ("floor", "dev", r"t\(1\)"):
            assert_figures(out, rf"^\s+{row}\s+{NUM}s\s+{NUM}s")
        assert_figures(out, rf"^\s+dev/floor\s+{NUM}x\s+{NUM}x")

    def test_cpu_share_prints_the_busy_share(self):
        assert_figures(run_bench("cpu_share.py", timeout=60), rf"{NUM} CPU seconds busy in {NUM} s wall: {NUM} of \d+")

    @pytest.mark.consumer
    def test_gateway_load_prints_both_sides_and_their_ratio(self):
        litellm_binary(), llama_binary()  # skip (or fail in CI) when a consumer is missing
        out = run_bench("gateway_load.py", timeout=900)
        for side in ("gateway", "direct"):
            assert_figures(out, rf"{side}\s+n=4\s+c=2\s+errors=0\s+p50=\s*{NUM} ms\s+p95=\s*{NUM} ms")
        assert_figures(out, rf"p50 ratio gateway/direct: {NUM}", r"^gateway_load (PASS|MISS): n=4 c=2 errors=0")

    @pytest.mark.engine
    def test_engine_bench_prints_up_the_no_op_preview_and_its_floor(self, engine_env: dict[str, str]):
        out = run_bench("engine_bench.py", timeout=3600, env=engine_env)
        assert_figures(
            out,
            rf"^pulumi up \(Pulumi\.dev\.yaml, from empty\): {NUM}s ok=True",
            rf"^pulumi up \(empty program\): {NUM}s ok=True",
            rf"^pulumi preview \(no-op, empty program\): {NUM}s changes=0",
            rf"^no-op preview median of 1: Pulumi\.dev\.yaml {NUM}s, empty program \(floor\) {NUM}s, ratio {NUM}x",
        )

    @pytest.mark.engine
    def test_scale_overhead_prints_each_round_from_zero_and_the_p50(self, engine_env: dict[str, str]):
        out = run_bench("scale_overhead.py", timeout=3600, env=engine_env)
        for i in (1, 2):
            assert_figures(out, rf"^round {i}: overhead -?{NUM}s \(load 5s, Retry-After \d+s\)")
        assert_figures(out, rf"^overhead from zero over 2 round\(s\): p50=-?{NUM}s max=-?{NUM}s bound=\d+s")
