"""Stack config in, frozen PlatformConfig out, or a ConfigError that names each bad key."""

import json
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

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


_PLAIN_KEY = re.compile(r"^[\w-]+$")


def _path(loc: tuple) -> str:
    out, prev = "", None
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif (isinstance(prev, int) and part in ENGINES) or str(part).startswith("function-"):
            pass  # the union's tag after a list index, and validator wrappers, are not user keys
        else:  # a key with spaces, dots, colons... is quoted, so the path stays readable as a path
            key = str(part)
            out += ("." if out else "") + (key if _PLAIN_KEY.match(key) else json.dumps(key, ensure_ascii=False))
        prev = part
    return out


def _describe(err: ErrorDetails) -> str:
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
    if kind == "invalid_key" or err["loc"][-1:] == ("[key]",):
        return (
            "is not a key name: YAML reads an unquoted number, true/false/yes/no/on/off or null as a "
            "value; fix its spelling or remove it"
        )
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
    errors = exc.errors()
    # A non-string key (YAML `0:`, `on:`, `null:`): a model reports invalid_key, a str-keyed dict (matchLabels,
    # pricing) reports the key at loc (..., key, "[key]") and again for the value under it. Its loc part is the
    # key itself (True shows as 1), not a list index; one line per key, blaming <mapping>.<key as YAML wrote it>.
    bad_keys = {err["loc"][:-1] for err in errors if err["loc"][-1:] == ("[key]",)}
    for err in errors:
        if err["loc"] in bad_keys:
            continue  # the value under a bad key: the key's own line says it
        where = _path(err["loc"])
        if err["type"] == "invalid_key" or err["loc"][-1:] == ("[key]",):
            mapping = err["loc"][:-1] if err["type"] == "invalid_key" else err["loc"][:-2]
            where = f"{_path(mapping)}.{json.dumps(err.get('input'), default=str)}".lstrip(".")
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
    pasted = credential_problems(raw)
    try:
        cfg = PlatformConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(pasted + redact(format_validation_error(exc), raw)) from None
    if pasted:
        raise ConfigError(pasted)
    return cfg


# A credential pasted into stack config (which lives in git): an API key or token, a private key, a URL with a
# password. The config is refused, and no error message (printed to terminals and CI logs) echoes the value.
_CREDENTIAL = re.compile(
    r"(?<![\w-])(?:sk-[A-Za-z0-9_-]{16,}|hf_[A-Za-z0-9]{20,}|gh[pousr]_[A-Za-z0-9]{20,}"
    r"|github_pat_\w{20,}|AKIA[0-9A-Z]{16}|eyJ[\w-]{10,}\.[\w-]{4,}\."
    r"|-----BEGIN [A-Z ]*PRIVATE KEY)"
    r"|[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@"
)
REDACTED = "<redacted>"


def _strings(tree: Any, loc: tuple = ()) -> list[tuple[tuple, str]]:
    if isinstance(tree, dict):
        return [s for k, v in tree.items() for s in _strings(v, loc + (k,))]
    if isinstance(tree, list):
        return [s for i, v in enumerate(tree) for s in _strings(v, loc + (i,))]
    return [(loc, tree)] if isinstance(tree, str) else []


def credential_problems(raw: Any) -> list[str]:
    return [
        f"{_path(loc) or 'stack config'}: {REDACTED} looks like a credential (an API key, a token or a URL "
        "with a password); stack config is kept in git, so it never holds one. Put it in a Kubernetes Secret "
        "and name that Secret ({name, key}), or name a minted key by its gateway.keys alias"
        for loc, value in _strings(raw)
        if _CREDENTIAL.search(value)
    ]


def redact(lines: list[str], raw: Any) -> list[str]:
    """Replace every credential-looking config value echoed in the lines."""
    secrets = sorted({v for _, v in _strings(raw) if _CREDENTIAL.search(v)}, key=len, reverse=True)
    out = []
    for line in lines:
        redacted = line
        for secret in secrets:
            for form in (secret, secret.strip(), json.dumps(secret)[1:-1], one_line(secret)):
                if form and form in redacted:
                    redacted = redacted.replace(form, REDACTED)
        out.append(redacted)
    return out


def _decoded(value: Any) -> Any:
    """A JSON-encoded object or list as Pulumi passes it; a plain string value stays as it is."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


def config_from_pulumi_values(values: dict[str, Any]) -> dict[str, Any]:
    """Pick `llm-platform:*` keys from a Pulumi config map; objects arrive JSON-encoded."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        ns, _, name = str(key).partition(":")  # a YAML key may be a number, a boolean or null
        if ns != NAMESPACE or not name:
            continue
        out[name] = _decoded(value)
    return out


def read_stack_file(path: str | Path) -> dict[str, Any]:
    """The `config:` map of a Pulumi.<stack>.yaml, keys as written (namespaced)."""
    try:
        doc = yaml.load(Path(path).read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}
    except FileNotFoundError:
        raise ConfigError([f"stack file {path} does not exist; pass an existing Pulumi.<stack>.yaml"]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError([f"stack file {path} is not UTF-8 text (byte {exc.start}); save it as UTF-8"]) from None
    except OSError as exc:  # a directory, no permission, ...
        raise ConfigError(
            [f"stack file {path} cannot be read ({exc.strerror or exc}); pass a readable Pulumi.<stack>.yaml"]
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError([one_line(f"stack file {path} is not valid YAML: {exc}")]) from None
    config = doc.get("config", {}) if isinstance(doc, dict) else None
    if not isinstance(config, dict):
        raise ConfigError([f"stack file {path} has no 'config:' mapping; add one with llm-platform:* keys"])
    return config
