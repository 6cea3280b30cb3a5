"""llm-platform: read the stack config once, validate it, then declare the platform."""

import pulumi
from pulumi.runtime import config as runtime_config

from components.platform import LlmPlatform
from models import ConfigError, PlatformConfig, config_from_pulumi_values, parse_config
from models.cost import cost_plan
from models.zones import node_pool_plan


def load() -> PlatformConfig:
    values = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    try:
        return parse_config(config_from_pulumi_values(values))
    except ConfigError as exc:
        # RunError prints the message alone: no traceback, and nothing has been declared yet.
        raise pulumi.RunError(str(exc)) from None


config = load()
platform = LlmPlatform("llm-platform", config)
pulumi.export("gatewayUrl", platform.gateway_url)
pulumi.export("masterKey", platform.master_key)
pulumi.export("modelEndpoints", platform.model_endpoints)
pulumi.export("gpusRequested", platform.gpus_requested)
pulumi.export("weightStaging", platform.weight_staging)  # per GPU model: its stage Job and its logs command
pulumi.export("costPlan", cost_plan(config))
pulumi.export("nodePools", node_pool_plan(config))
if warnings := config.warnings():  # also logged at preview; kept as an output for CI and render.py
    pulumi.export("configWarnings", warnings)  # totals GKE runs, zones, the created system pool
# For operators: Service DNS and ports, Secret and Job names, kubectl commands, metrics endpoints (no values).
for key, value in platform.operator_outputs.items():
    pulumi.export(key, value)
