"""Declare the enabled front-ends (one ComponentResource each) after the gateway and the key Job."""

import pulumi

from components.librechat import LibreChat
from components.open_webui import OpenWebUI
from components.tabby import Tabby
from models.platform import PlatformConfig

_COMPONENTS = {"openWebui": (OpenWebUI, "open-webui"), "tabby": (Tabby, "tabby"), "librechat": (LibreChat, "librechat")}


def declare_frontends(
    name: str, spec: PlatformConfig, opts: pulumi.ResourceOptions, after: list[pulumi.Resource]
) -> dict[str, pulumi.ComponentResource]:
    """Each enabled front-end as `<name>-<front-end>`; `after` (gateway, key minter) is created first."""
    merged = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=after))
    out: dict[str, pulumi.ComponentResource] = {}
    for field, fe_spec in spec.frontends.enabled():
        cls, short = _COMPONENTS[field]
        out[field] = cls(f"{name}-{short}", fe_spec, platform=spec, opts=merged)
    return out
