"""The bench generators' stacks are valid configs, so a benchmark measures a render and not a refusal."""

from bench.render_bench import generated_stack
from models import config_from_pulumi_values, parse_config
from offline.mocks import pulumi_config_values


def test_generated_stacks_validate_without_warnings():
    for n in (1, 20):
        cfg = parse_config(config_from_pulumi_values(pulumi_config_values(generated_stack(n)["config"])))
        assert len(cfg.models) == n
        assert cfg.warnings() == []
