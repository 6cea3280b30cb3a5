"""bench/gateway_load.py at a tiny load: the rendered gateway in front of a real llama-server answers every request.

No timing is asserted (the machine is shared; figures come from running the script itself, see docs/verification/measured.md).
"""

import pytest

from bench.gateway_load import run_benchmark
from tests.consumers.require import litellm_binary, llama_binary

pytestmark = pytest.mark.consumer


def test_tiny_load_through_the_rendered_gateway_has_no_errors():
    litellm_binary(), llama_binary()  # skip (or fail in CI) when a consumer is missing
    lines: list[str] = []
    report = run_benchmark(requests=20, concurrency=4, rounds=1, max_tokens=(8,), warmup=4, settle=0, log=lines.append)
    (result,) = report.results
    sides = [s for runs in result.rounds.values() for s in runs]
    assert report.errors == 0, "\n".join(lines + [e for s in sides for e in s.errors[:3]])
    assert len(result.gateway.latencies) == len(result.direct.latencies) == 20
    assert "--num_workers" in report.settings["args"]  # the proxy ran with the rendered Deployment's args
