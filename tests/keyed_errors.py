"""The property every rejection of a damaged stack config must meet (used by tests/test_bad_input.py).

`assert_keyed_error`: the error is the project's ConfigError, each line headed by a key path that starts at a
top-level key and walks the tree as written, and no line leaks internals (pydantic, tracebacks, Python types).
"""

import json
import re
from typing import Any

from models import ConfigError
from models.platform import PlatformConfig

_SEG = r'(?:[^\s\[\].,:"]+|"(?:[^"\\]|\\.)*")'  # a plain key, or one quoted as JSON (".x y", ":role")
_PATH = rf"{_SEG}(?:\[\d+\])*(?:\.{_SEG}(?:\[\d+\])*)*"
KEYED_LINE = re.compile(rf"^(?P<paths>{_PATH}(?:, {_PATH})*)(?: \(default\))?: \S")
# Fragments that mean an internal error escaped into the user's message.
INTERNALS = (
    "Traceback",
    "pydantic",
    "instance of",
    "function-",
    "Value error,",
    "NoneType",
    "object has no attribute",
    "invalid literal for",
    "KeyError",
    "TypeError",
    "errors.pydantic.dev",
    "[key]",
    "[type=",
)


def top_level_keys(raw: Any) -> set[str]:
    fields = {f.alias or n for n, f in PlatformConfig.model_fields.items()} | set(PlatformConfig.model_fields)
    keys = raw if isinstance(raw, dict) else {}
    return fields | {str(k) for k in keys} | {json.dumps(k) for k in keys if not isinstance(k, str)}


def path_fits(raw: Any, path: str) -> bool:
    """The path walks the tree as written: [n] only into a list, .key only into a mapping (a key the config
    lacks, e.g. a required one, ends the walk)."""
    node = raw
    for raw_key, index in re.findall(r'\.?("(?:[^"\\]|\\.)*"|[^.\[\]"]+)|\[(\d+)\]', path):
        key = json.loads(raw_key) if raw_key.startswith('"') else raw_key
        if index:
            if not isinstance(node, list):
                return False
            if int(index) >= len(node):
                return True
            node = node[int(index)]
        else:
            if not isinstance(node, dict):
                return False
            match = [v for k, v in node.items() if str(k) == key]
            if not match:
                return True
            node = match[0]
    return True


def assert_keyed_error(exc: ConfigError, raw: Any) -> None:
    """Every line of the error starts with a key path rooted at a top-level key, that walks the tree as written,
    and no line leaks internals."""
    assert isinstance(exc, ConfigError) and exc.lines, f"empty ConfigError: {exc!r}"
    roots = top_level_keys(raw)
    for line in exc.lines:
        found = KEYED_LINE.match(line)
        assert found, f"line does not start with a key path: {line!r}"
        for path in found["paths"].split(", "):
            root = re.match(rf"^{_SEG}", path)[0]
            root = json.loads(root) if root.startswith('"') else root
            assert root in roots, f"path {path!r} is not rooted at a key: {line!r}"
            assert path_fits(raw, path), f"path {path!r} does not match the config's shape: {line!r}"
        for bad in INTERNALS:
            assert bad not in line, f"internal detail {bad!r} leaked into: {line!r}"
    text = str(exc)
    assert text.startswith("invalid llm-platform stack config:\n") and all(f"  - {ln}" in text for ln in exc.lines)
