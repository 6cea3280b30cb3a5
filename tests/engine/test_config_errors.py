"""Under the real CLI a bad stack config prints the program's own message: no traceback, non-zero exit."""

import tempfile
from pathlib import Path

import pytest
import yaml

from e2e.engine import Engine, environment

pytestmark = [pytest.mark.engine, pytest.mark.consumer]
REPO = Path(__file__).resolve().parents[2]


class TestConfigErrorUnderTheCli:
    def test_bad_max_nodes_is_reported_by_key(self, pulumi_env):
        work = Path(tempfile.mkdtemp(prefix="llm-e2e-bad-"))
        doc = yaml.safe_load((REPO / "Pulumi.dev.yaml").read_text())
        doc["config"]["llm-platform:nodePools"][0]["maxNodes"] = 0
        config = work / "Pulumi.e2e-bad.yaml"
        config.write_text(yaml.safe_dump(doc))
        eng = Engine(work, "e2e-bad", config, environment(pulumi_env), kubeconfig=None)
        assert eng.init().ok
        res = eng.preview(diff=True)
        assert not res.ok
        assert "nodePools[0].maxNodes: input should be greater than or equal to 1" in res.output, res.output
        assert "Traceback" not in res.output
