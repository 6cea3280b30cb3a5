"""A new user's simplest stack (one Llama-3.1-8B on an existing regional cluster) renders on the first try, or
fails with one message whose paste makes it render."""

import re
import subprocess
import sys

import yaml

from models import ConfigError, parse_config
from models.cluster import L4_ZONES
from tests.conftest import ROOT

SIMPLE = {
    "gcp:project": "my-project",
    "llm-platform:cluster": {"name": "my-cluster", "location": "us-central1"},
    "llm-platform:nodePools": [{"name": "l4", "machineType": "g2-standard-8", "maxNodes": 1, "role": "chat"}],
    "llm-platform:models": [
        {
            "name": "llama",
            "engine": "vllm",
            "pool": "l4",
            "replicas": 1,
            "modelName": "meta-llama/Llama-3.1-8B-Instruct",
            "weightsGiB": 15,
            "maxModelLen": 16384,
            "inputCostPerToken": 0.0000005,
            "outputCostPerToken": 0.0000015,
        }
    ],
}


def render(tmp_path, config: dict) -> subprocess.CompletedProcess:
    stack = tmp_path / "Pulumi.simple.yaml"
    stack.write_text(yaml.safe_dump({"config": config}))
    return subprocess.run(
        [sys.executable, "render.py", "--stack-file", str(stack), "--out", str(tmp_path / "out")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_simplest_stack_fails_once_and_the_pasted_line_makes_it_render(tmp_path):
    first = render(tmp_path, SIMPLE)
    assert first.returncode == 2 and "Traceback" not in first.stderr
    problems = [ln for ln in first.stderr.splitlines() if ln.startswith("  - ")]
    assert len(problems) == 1, first.stderr
    assert problems[0].startswith("  - gateway.database.backup: ")
    pasted = yaml.safe_load(re.search(r"`([^`]+)`", problems[0]).group(1))
    assert pasted == {
        "llm-platform:gateway": {
            "database": {"backup": {"enabled": True, "bucket": "my-cluster-litellm-db-backups", "createBucket": True}}
        }
    }
    second = render(tmp_path, {**SIMPLE, **pasted})
    assert second.returncode == 0, second.stderr
    nodepool = yaml.safe_load((tmp_path / "out" / "gcp" / "nodepool--llm-platform-l4-nodepool.yaml").read_text())
    assert nodepool["inputs"]["nodeLocations"] == ["us-central1-a"]  # the region's first L4 zone, by default


class TestRegionalZones:
    def raw(self, location: str, **pool) -> dict:
        from models import config_from_pulumi_values
        from offline.mocks import pulumi_config_values

        config = {**SIMPLE, "llm-platform:cluster": {"name": "c", "location": location}}
        config["llm-platform:nodePools"] = [{**SIMPLE["llm-platform:nodePools"][0], **pool}]
        raw = config_from_pulumi_values(pulumi_config_values(config))
        raw["gateway"] = {"database": {"backup": {"enabled": False}}}
        return raw

    def test_a_pool_without_zones_takes_the_regions_first_l4_zone_and_an_override_wins(self):
        cfg = parse_config(self.raw("europe-west4"))
        assert cfg.pool_zones(cfg.node_pools[0]) == [L4_ZONES["europe-west4"][0]]
        cfg = parse_config(self.raw("europe-west4", zones=["europe-west4-c"]))
        assert cfg.pool_zones(cfg.node_pools[0]) == ["europe-west4-c"]

    def test_an_unknown_region_names_the_gcloud_command(self):
        try:
            parse_config(self.raw("me-central2"))
        except ConfigError as exc:
            (line,) = exc.lines
        assert line.startswith("nodePools[0].zones: is required on the regional cluster me-central2")
        assert 'gcloud compute accelerator-types list --filter="name=nvidia-l4 AND zone~me-central2"' in line
