"""Hypothesis strategies that break a valid stack config in one place, found by walking the config tree.

A mutation picks a point of the `llm-platform:*` tree (namespace stripped, as `raw_config` returns it) and
applies one kind of damage: a wrong type, a deleted key or list item, an unknown key, an out-of-range number, a
bad name, or a dangling reference. `mutated_configs()` draws a stack, 1-3 mutations, and returns the damaged
tree plus a description of each step (shown by hypothesis when a property fails).

The property every rejection must meet (`assert_keyed_error`) is in tests/keyed_errors.py.
"""

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from hypothesis import strategies as st

from models import config_from_pulumi_values, parse_config, read_stack_file
from models.platform import PlatformConfig
from offline.mocks import pulumi_config_values
from tests.config_tree import KeyPath, get, kind, numeric_fields, points, put, remove, schema_points, show, walk
from tests.conftest import NS, ROOT

NAME_KEYS = ("name", "alias", "role")

# --- the stacks as data -------------------------------------------------------------------------------------


# Every shipped stack file: Pulumi.<stack>.yaml at the root (dev, prod, local) and examples/ (llama-seed).
STACK_FILES = {
    f.name.removeprefix("Pulumi.").removesuffix(".yaml"): f
    for f in sorted(ROOT.glob("Pulumi.*.yaml")) + sorted((ROOT / "examples").glob("Pulumi.*.yaml"))
}
# No shipped stack sets these optional blocks, so "dev+extras" (dev plus one of each) lets damage reach inside
# them: NetworkPolicy peers, ServiceMonitor scraping, price overrides, LibreChat, an external model, a database
# URL from a Secret.
EXTRAS: dict[str, Any] = {
    "network": {
        "gatewayIngressFrom": [
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}},
            {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}},
        ],
        "frontendIngressFrom": [{"podSelector": {"matchLabels": {"app": "proxy"}}}],
        "apiServer": {"cidr": "172.16.0.2/32", "ports": [443]},
        "dnsCidrs": ["169.254.169.254/32"],
    },
    "observability": {
        "scrape": "servicemonitor",
        "interval": "15s",
        "prometheusNamespace": "monitoring",
        "prometheusPodSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
        "serviceMonitorLabels": {"release": "kps"},
    },
    "pricing": {"g2-standard-8": {"onDemand": 0.85, "spot": 0.5}},
}
EXTRA_MODEL = {
    "name": "granite-ext",
    "engine": "external",
    "apiBase": "https://models.example.com/v1",
    "litellmModel": "openai/granite-3-2-8b-instruct",
    "apiKeySecret": {"name": "granite-key", "key": "api-key"},
    "inputCostPerToken": 0.0000002,
    "outputCostPerToken": 0.0000006,
}
STACKS = tuple(STACK_FILES) + ("dev+extras",)


@cache
def _values(stack: str) -> dict[str, Any]:
    return read_stack_file(STACK_FILES[stack])


def stack_raw(stack: str) -> dict[str, Any]:
    """A fresh copy of a stack's llm-platform:* keys (namespace stripped)."""
    if stack == "dev+extras":
        raw = {**stack_raw("dev"), **copy.deepcopy(EXTRAS)}
        raw["models"].append(copy.deepcopy(EXTRA_MODEL))
        smoke = raw["gateway"]["smokeTest"]["key"]
        next(k for k in raw["gateway"]["keys"] if k["alias"] == smoke)["models"].append(EXTRA_MODEL["name"])
        raw["gateway"]["database"] = {"mode": "existing", "urlSecret": {"name": "litellm-db", "key": "url"}}
        raw["frontends"]["librechat"] = {
            "key": raw["frontends"]["openWebui"]["key"],
            "models": ["coder-chat"],
            "mongoUriSecret": {"name": "librechat-mongo", "key": "uri"},
        }
        return raw
    return copy.deepcopy({k.removeprefix(NS): v for k, v in _values(stack).items() if k.startswith(NS)})


def stack_other_values(stack: str) -> dict[str, Any]:
    """A stack's non-llm-platform keys (gcp:project, ...), passed through unchanged."""
    return {k: v for k, v in _values(stack.removesuffix("+extras")).items() if not k.startswith(NS)}


def namespaced(raw: dict[str, Any], stack: str) -> dict[str, Any]:
    """Pulumi config values (as read from a stack file) for a mutated tree."""
    return {**stack_other_values(stack), **{NS + str(k): v for k, v in raw.items()}}


def as_program_sees(raw: dict[str, Any], stack: str) -> dict[str, Any]:
    """The tree render.py and the program parse: values JSON-encoded and decoded again, so a YAML key `0:`
    arrives as "0" and a top-level string such as "{}" as a mapping (Pulumi's config convention)."""
    return config_from_pulumi_values(pulumi_config_values(namespaced(raw, stack)))


def parse_like_render(raw: dict[str, Any], stack: str) -> PlatformConfig:
    """What render.py and the program do with a stack file's values."""
    return parse_config(as_program_sees(raw, stack))


# --- values -------------------------------------------------------------------------------------------------

SCALAR_TEXT = st.sampled_from(["x", "", " ", "12", "true", "null", "[]", "{}", "0.5", "sk-abc123"])
VALUES_OF_KIND: dict[str, st.SearchStrategy] = {
    "str": st.one_of(SCALAR_TEXT, st.text(max_size=12)),
    "int": st.integers(min_value=-5, max_value=5) | st.sampled_from([10**6, 2**63, -(2**63)]),
    "float": st.sampled_from([0.5, -1.5, 1e-9, 1e308]) | st.floats(allow_nan=True, allow_infinity=True),
    "list": st.sampled_from([[], [""], [1, 2], [None], [{}]]) | st.lists(st.text(max_size=4), max_size=2),
    "dict": st.sampled_from([{}, {"a": 1}, {"name": "x"}, {"name": None}]),
    "bool": st.booleans(),
    "null": st.none(),
}
OUT_OF_RANGE = st.one_of(
    st.sampled_from([math.nan, math.inf, -math.inf]),
    st.sampled_from([-1, 0, -0.0, 1, 10**9, 10**30, 2**64, 1e308, 0.5, 1.5, 1e-12, -1e-9, 99999]),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
)
# Name damage: what people type (uppercase, underscores, dots, spaces), too long, non-ASCII, empty.
NAME_DAMAGE: dict[str, Callable[[str], str]] = {
    "upper": str.upper,
    "title": str.title,
    "underscores": lambda s: s.replace("-", "_") + "_x",
    "dots": lambda s: s + ".v2",
    "spaces": lambda s: f"my {s}",
    "too-long": lambda s: (s + "-") * 12,
    "unicode": lambda s: s + "-ñandú",
    "cjk": lambda s: "模型",
    "emoji": lambda s: s + "🚀",
    "empty": lambda s: "",
    "blank": lambda s: "   ",
    "leading-dash": lambda s: "-" + s,
    "trailing-dash": lambda s: s + "-",
    "slash": lambda s: "team/" + s,
    "newline": lambda s: s + "\nx",
    "colon": lambda s: s + ": x",
}
# Typos, snake_case twins, YAML's non-string keys (`1:`, `on:`, `null:`), and real keys most stacks leave out
# (so an absent optional block is also reached, with a junk value, wherever it lands).
UNKNOWN_KEYS = st.one_of(
    st.sampled_from(
        [
            "foo",
            "replica",
            "maxNode",
            "Name",
            "enable",
            "api_key",
            "apiKey",
            "password",
            "Replicas",
            "model_name",
            "ttl_seconds",
            "ñame",
            "x-y",
            "0",
            "true",
            0,
            1,
            True,
            None,
        ]
    ),
    st.sampled_from(
        [
            "pricing",
            "swap",
            "librechat",
            "openWebui",
            "tabby",
            "urlSecret",
            "mongoUriSecret",
            "apiKeySecret",
            "vramGiB",
            "gpuLayers",
            "extraArgs",
            "managed",
            "gpuResource",
            "smokeTest",
            "keys",
            "models",
            "namespace",
            "titleModel",
            "embeddingModel",
            "storageClass",
            "context",
        ]
    ),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCXYZ_-0123456789", min_size=1, max_size=10),
)


# --- mutations: each edits `tree` in place and returns what it did ------------------------------------------

Mutation = Callable[[Callable, dict[str, Any]], str]


class NothingToMutate(Exception):
    """The tree has no point this kind of damage applies to (e.g. no number left)."""


def pick(draw, candidates: list[KeyPath]) -> KeyPath:
    if not candidates:
        raise NothingToMutate
    return draw(st.sampled_from(candidates))


def wrong_type(draw, tree):
    unset = sorted({p for p, _ in schema_points(tree)} - set(points(tree, lambda p, v: True)), key=show)
    path = pick(draw, points(tree, lambda p, v: True) + unset)  # a set key, or one left at its default
    before = get(tree, path) if path not in unset else "<unset>"
    target = draw(st.sampled_from(sorted(k for k in VALUES_OF_KIND if k != kind(before))))
    value = draw(VALUES_OF_KIND[target])
    put(tree, path, value)
    return f"wrong type: {show(path)} {kind(before)} -> {target} {value!r}"


def missing_key(draw, tree):
    path = pick(draw, points(tree, lambda p, v: True))
    remove(tree, path)
    return f"missing: deleted {show(path)}"


def unknown_key(draw, tree):
    where = draw(st.sampled_from([()] + points(tree, lambda p, v: isinstance(v, dict))))
    node = get(tree, where)
    key = draw(UNKNOWN_KEYS.filter(lambda k: k not in node))
    put(tree, where + (key,), draw(st.sampled_from([1, "x", True, None, [], {}])))
    return f"unknown key: {show(where + (key,))}"


def out_of_range(draw, tree):
    path = pick(draw, numeric_fields(tree))
    value = draw(OUT_OF_RANGE)
    put(tree, path, value)
    return f"out of range: {show(path)} = {value!r}"


def bad_name(draw, tree):
    path = pick(draw, points(tree, lambda p, v: isinstance(v, str)))
    how = draw(st.sampled_from(sorted(NAME_DAMAGE)))
    value = NAME_DAMAGE[how](get(tree, path))
    put(tree, path, value)
    return f"bad name ({how}): {show(path)} = {value!r}"


def declared_names(tree) -> dict[str, list[KeyPath]]:
    """name/alias/role values -> where they are declared."""
    out: dict[str, list[KeyPath]] = {}
    for p, v in walk(tree):
        if p and p[-1] in NAME_KEYS and isinstance(v, str):
            out.setdefault(v, []).append(p)
    return out


def references(tree) -> list[KeyPath]:
    """String leaves (not declarations) whose value is a declared name: a pool, key, model or role reference."""
    names = declared_names(tree)
    return points(tree, lambda p, v: isinstance(v, str) and v in names and p[-1] not in NAME_KEYS)


def dangling_reference(draw, tree):
    refs, names = references(tree), declared_names(tree)
    how = draw(st.sampled_from(["retarget", "rename-target", "drop-target"] if refs else ["rename-target"]))
    if how == "retarget":
        path = draw(st.sampled_from(refs))
        other = sorted(n for n in names if n != get(tree, path))
        value = draw(st.sampled_from(["undeclared", "sk-live-0123456789abcdef"] + other))
        put(tree, path, value)
        return f"dangling reference: {show(path)} -> {value!r}"
    decls = [p for ps in names.values() for p in ps]
    path = pick(draw, decls)
    if how == "rename-target":
        put(tree, path, "renamed")
        return f"dangling reference: renamed {show(path)}"
    holder = path[:-1]  # the list item that declares the name
    if holder and isinstance(holder[-1], int):
        remove(tree, holder)
        return f"dangling reference: dropped {show(holder)}"
    remove(tree, path)
    return f"dangling reference: deleted {show(path)}"


MUTATIONS: dict[str, Mutation] = {
    "wrong_type": wrong_type,
    "missing_key": missing_key,
    "unknown_key": unknown_key,
    "out_of_range": out_of_range,
    "bad_name": bad_name,
    "dangling_reference": dangling_reference,
}


@dataclass
class Case:
    """A damaged stack: hypothesis shows the stack and the steps, not the whole tree."""

    stack: str
    tree: dict[str, Any]
    steps: list[str]

    def __iter__(self):
        return iter((self.stack, self.tree, self.steps))

    def __repr__(self) -> str:
        return f"Case({self.stack!r}, steps={self.steps!r})"


@st.composite
def mutated_configs(draw, kinds: tuple[str, ...] = tuple(MUTATIONS), max_steps: int = 3):
    """A Case (stack, damaged tree, steps) of 1..max_steps mutations of the given kinds."""
    stack = draw(st.sampled_from(STACKS))
    tree = stack_raw(stack)
    steps = []
    for _ in range(draw(st.integers(min_value=1, max_value=max_steps))):
        if not isinstance(tree, dict) or not tree:
            break
        name = draw(st.sampled_from(kinds))
        try:
            steps.append(MUTATIONS[name](draw, tree))
        except NothingToMutate:
            steps.append(unknown_key(draw, tree))  # always possible: the root is a mapping
    return Case(stack, tree, steps)
