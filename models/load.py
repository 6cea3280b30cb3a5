"""Stack config in, frozen PlatformConfig out, or a ConfigError that names each bad key."""

import json
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from .common import one_line
from .platform import PlatformConfig

NAMESPACE = "llm-platform"
ENGINES = ("vllm", "llamacpp", "external")

_HINTS = {
    "missing": "is required; add it",
    "extra_forbidden": "is not a known key; remove it or fix its spelling",
}


class ConfigError(Exception):
    """Bad stack config. `str()` is the user-facing message: one 'key: problem; fix' per line."""

    def __init__(self, lines: list[str]):
        self.lines = lines
        super().__init__("invalid llm-platform stack config:\n" + "\n".join(f"  - {ln}" for ln in lines))


def _path(loc: tuple) -> str:
    out, prev = "", None
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif (isinstance(prev, int) and part in ENGINES) or str(part).startswith("function-"):
            pass  # the union's tag after a list index, and validator wrappers, are not user keys
        else:
            out += ("." if out else "") + str(part)
        prev = part
    return out


def _describe(err: dict) -> str:
    kind, msg = err["type"], err["msg"]
    if kind in _HINTS:
        return _HINTS[kind]
    if kind == "value_error":
        return msg.removeprefix("Value error, ")
    got = json.dumps(err.get("input"), default=str)
    if kind == "literal_error":
        return f"must be one of {msg.removeprefix('Input should be ')}; got {got}"
    if kind == "finite_number":
        return f"must be a finite number (YAML reads .inf and .nan as infinity and NaN); got {got}"
    if kind == "invalid_key":
        return ("is not a key name: YAML reads an unquoted number, true/false/yes/no/on/off or null as a "
                "value; fix its spelling or remove it")
    if kind == "model_type":  # pydantic names the model class here, which means nothing to a user
        return f"must be a mapping of keys (key: value lines); got {got}"
    if kind == "union_tag_invalid":
        return f"is not a supported engine; use one of {err['ctx']['expected_tags']}"
    if kind == "union_tag_not_found":
        return "has no 'engine'; add one, e.g. engine: vllm"
    return f"{msg[0].lower()}{msg[1:]}; got {got}"


_KEY_PATH = re.compile(r"^[A-Za-z][\w-]*(?:\[\d+\])*(?:\.[\w-]+(?:\[\d+\])*)*$", re.ASCII)


def _is_keyed(line: str) -> bool:
    """Rule messages start with the key they blame: 'maxNodes: ...' or 'models[1].pool: ...'."""
    head, sep, _ = line.partition(": ")
    return bool(sep) and _KEY_PATH.match(head) is not None  # not an echoed value such as "'my-pool: x' is not..."


def format_validation_error(exc: ValidationError) -> list[str]:
    lines: list[str] = []
    for err in exc.errors():
        where = _path(err["loc"])
        if err["type"] == "invalid_key":  # loc ends in the key itself (True shows as 1), not a list index
            key = json.dumps(err.get("input"), default=str)
            where = f"{_path(err['loc'][:-1])}.{key}".lstrip(".")
        if err["type"] == "union_tag_invalid":
            where += ".engine"
        # Below the root a rule raises one problem: a newline in it comes from an echoed value, so escape it.
        # At the root, lines are PlatformConfig's Problems (each already one line).
        for line in _describe(err).splitlines() if not where else [one_line(_describe(err))]:
            if not where:
                lines.append(line)
            elif _is_keyed(line):
                lines.append(f"{where}.{line}")
            else:
                lines.append(f"{where}: {line}")
    return lines


def parse_config(raw: dict[str, Any]) -> PlatformConfig:
    """Validate the `llm-platform:` keys (namespace already stripped)."""
    if not isinstance(raw, dict):
        raise ConfigError([f"stack config must be a mapping of llm-platform:* keys; got {type(raw).__name__}"])
    try:
        return PlatformConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc)) from None


def config_from_pulumi_values(values: dict[str, Any]) -> dict[str, Any]:
    """Pick `llm-platform:*` keys from a Pulumi config map; objects arrive JSON-encoded."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        ns, _, name = key.partition(":")
        if ns != NAMESPACE or not name:
            continue
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                pass  # a plain string value
        out[name] = value
    return out


def read_stack_file(path: str | Path) -> dict[str, Any]:
    """The `config:` map of a Pulumi.<stack>.yaml, keys as written (namespaced)."""
    try:
        doc = yaml.load(Path(path).read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}
    except FileNotFoundError:
        raise ConfigError([f"stack file {path} does not exist; pass an existing Pulumi.<stack>.yaml"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"stack file {path} is not valid YAML: {exc}"]) from None
    config = doc.get("config", {}) if isinstance(doc, dict) else None
    if not isinstance(config, dict):
        raise ConfigError([f"stack file {path} has no 'config:' mapping; add one with llm-platform:* keys"])
    return config
