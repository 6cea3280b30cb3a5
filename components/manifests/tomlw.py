"""A tiny TOML writer for the nested tables of scalars Tabby's config.toml needs (no f-string TOML).

Supports str, int, float, bool and nested dicts; a dict of scalars becomes a [dotted.table]. Lists, dates and
arrays of tables are out of scope and raise. Tested by round-trip through the stdlib `tomllib`.
"""

import math
import re
from typing import Any

_BARE = re.compile(r"[A-Za-z0-9_-]+")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def _key(key: str) -> str:
    if not isinstance(key, str):
        raise TypeError(f"TOML keys are strings, got {type(key).__name__}")
    return key if _BARE.fullmatch(key) else _string(key)


def _string(value: str) -> str:
    out = []
    for ch in value:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    raise TypeError(f"unsupported TOML value {value!r}; only str, int, float, bool and tables")


def _table(path: list[str], table: dict[str, Any], out: list[str]) -> None:
    scalars = [(k, v) for k, v in table.items() if not isinstance(v, dict)]
    tables = [(k, v) for k, v in table.items() if isinstance(v, dict)]
    if path and (scalars or not tables):
        if out:
            out.append("")
        out.append("[" + ".".join(_key(p) for p in path) + "]")
    for k, v in scalars:
        if v is None:
            continue  # TOML has no null: an unset option is simply absent
        out.append(f"{_key(k)} = {_scalar(v)}")
    for k, v in tables:
        _table([*path, k], v, out)


def dumps(doc: dict[str, Any]) -> str:
    """Serialize `doc` as TOML text that `tomllib.loads` reads back equal (None values dropped)."""
    out: list[str] = []
    _table([], doc, out)
    return "\n".join(out) + "\n"
