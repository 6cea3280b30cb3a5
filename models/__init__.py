"""Pure pydantic stack-config models (no Pulumi import)."""

from .load import ConfigError, config_from_pulumi_values, parse_config, read_stack_file
from .platform import PlatformConfig

__all__ = ["ConfigError", "PlatformConfig", "config_from_pulumi_values", "parse_config", "read_stack_file"]
