"""The rule rows' building blocks: the Row and FileRow types and the edit helpers the rows call.

A Row edits the llm-platform:* tree in place (or returns a replacement); `path` is the key path the expected
line starts with, `rule` a short name for the docs table (docs/reference/validation-rules.md). A FileRow writes a damaged stack file instead.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Row:
    path: str
    rule: str
    edit: Callable[[dict[str, Any]], Any]  # edits in place; its return value is ignored ...
    replaces: bool = False  # ... unless this is set: then it is the whole config


@dataclass(frozen=True)
class FileRow:
    rule: str
    write: Callable[[Path, str], str]  # (tmp dir, dev stack text) -> the file name to read
    path: str = "stack file "


# --- edit helpers: everything is found by name, so a reordered dev stack keeps its rows --------------------


def model(r, name="coder-chat") -> dict:
    return next(m for m in r["models"] if m["name"] == name)


def key(r, alias) -> dict:
    return next(k for k in r["gateway"]["keys"] if k["alias"] == alias)


def pool(r) -> dict:
    return r["nodePools"][0]


def add_pool(r, name="static-x", machine="g2-standard-8", **extra) -> dict:
    p = {"name": name, "machineType": machine, "maxNodes": 1, "role": name, "zones": ["us-central1-a"], **extra}
    r["nodePools"].append(p)
    return p


def add_llama(r, name="Llama-X", placement="static", **extra) -> dict:
    """A llama model outside the gateway (so no key or smoke test must cover it)."""
    m = {
        "name": name,
        "engine": "llamacpp",
        "placement": placement,
        "ggufRepo": "org/model-GGUF",
        "quant": "Q4_K_M",
        "weightsGiB": 5,
        "registerInGateway": False,
        **extra,
    }
    r["models"].append(m)
    return m


def add_swap(r, models=1, weights=5.0, **swap) -> None:
    add_pool(r, name="swap")
    r["swap"] = {"pool": "swap", **swap}
    for i in range(models):
        add_llama(r, name=f"Swap-{i}", placement="swap", weightsGiB=weights)


def add_external(r, **extra) -> dict:
    m = {
        "name": "ext-model",
        "engine": "external",
        "apiBase": "https://models.example.com/v1",
        "litellmModel": "openai/granite",
        "registerInGateway": False,
        **extra,
    }
    r["models"].append(m)
    return m


def librechat(r, **extra) -> dict:
    r["frontends"]["librechat"] = {
        "key": "open-webui",
        "mongoUriSecret": {"name": "librechat-mongo", "key": "uri"},
        **extra,
    }
    return r


def peers(r, *entries) -> None:
    r["network"] = {"gatewayIngressFrom": list(entries)}


def backup(r) -> dict:
    return r["gateway"]["database"]["backup"]


def setv(obj: dict, **values) -> dict:
    obj.update(values)
    return obj


def drop(obj: dict, *keys) -> dict:
    for k in keys:
        obj.pop(k, None)
    return obj


def unregister_chat_models(r) -> dict:
    for m in r["models"]:
        if m.get("mode", "chat") == "chat":
            m["registerInGateway"] = False
    return r
