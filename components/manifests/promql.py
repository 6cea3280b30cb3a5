"""PromQL built from small pure functions, so every rule and panel spells selectors and aggregations one way,
and the metric names an expression reads can be listed (metric_names) and checked against their sources."""

import json
import re

_IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
_KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool"}


def _quote(value: str) -> str:
    return json.dumps(value)  # PromQL strings take Go/JSON escapes


def sel(metric: str, **matchers: str) -> str:
    """metric{label="v", ...}; a value starting with '~' is a regex match, '!' a negative match, '!~' both."""
    parts = []
    for label, spec in sorted(matchers.items()):
        op, value = "=", spec
        for prefix in ("!~", "~", "!"):
            if spec.startswith(prefix):
                op, value = {"!~": "!~", "~": "=~", "!": "!="}[prefix], spec[len(prefix) :]
                break
        parts.append(f"{label}{op}{_quote(value)}")
    return f"{metric}{{{', '.join(parts)}}}" if parts else metric


def one_of(values: list[str]) -> str:
    """A regex matcher value for exactly these strings (sel(..., label=one_of([...])))."""
    return "~" + "|".join(re.escape(v) for v in values)


def rng(selector: str, window: str) -> str:
    return f"{selector}[{window}]"


def fn(name: str, *args: str) -> str:
    return f"{name}({', '.join(args)})"


def rate(selector: str, window: str) -> str:
    return fn("rate", rng(selector, window))


def increase(selector: str, window: str) -> str:
    return fn("increase", rng(selector, window))


def agg(op: str, expr: str, by: list[str] | None = None) -> str:
    return f"{op} by ({', '.join(by)}) ({expr})" if by else f"{op}({expr})"


def quantile(q: float, bucket_rate: str, by: list[str]) -> str:
    """histogram_quantile over a rate of *_bucket series, kept per `by` (plus le)."""
    return fn("histogram_quantile", str(q), agg("sum", bucket_rate, ["le", *by]))


def binop(left: str, op: str, right: str) -> str:
    return f"({left}) {op} ({right})"


def compare(expr: str, op: str, threshold: float | int | str) -> str:
    return f"{expr} {op} {_number(threshold)}"


def _number(value: float | int | str) -> str:
    if isinstance(value, str):
        return value
    return repr(int(value)) if float(value).is_integer() else repr(float(value))


def metric_names(expr: str) -> set[str]:
    """The metric names an expression selects: identifiers that are not functions, keywords, label names
    (inside {} or by/on/... lists), durations or strings."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for match in _IDENT.finditer(text):
        word, rest = match.group(), text[match.end() :].lstrip()
        if word in _KEYWORDS or rest.startswith("(") or word in ("Inf", "NaN", "inf", "nan"):
            continue
        names.add(word)
    return names
