"""Bad input never gets a traceback (issue 6, point 1).

Hypothesis damages the shipped stack configs (tests/mutations.py: wrong types, missing keys, unknown keys,
out-of-range numbers, bad names, dangling references). Each damaged config either parses and renders, or fails
with the project's ConfigError, every line headed by the key path it blames. The program under Pulumi's mocks
raises only pulumi.RunError with that same message, and `render.py` exits 2 with it on stderr, no traceback.
Deterministic: derandomized, no example database, so CI runs the same examples every time.
"""

import copy
import math
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Iterator

import pulumi
import pytest
import yaml
from hypothesis import HealthCheck, given, note, settings

from models import ConfigError, parse_config
from offline.mocks import run_program
from offline.plan import Plan, to_plan
from offline.report import summary, write_plan
from tests.conftest import ROOT
from tests.mutations import (MUTATIONS, assert_keyed_error, mutated_configs, namespaced, parse_like_render, put,
                             stack_raw)

FAST = dict(derandomize=True, database=None, deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
NON_FINITE = re.compile(r"(?<![A-Za-z])(?:-?Infinity|NaN|[-+]?\.inf|\.nan|nan|inf)(?![A-Za-z])")


def outcome(stack: str, tree: dict[str, Any]) -> ConfigError | None:
    """None when the damaged config parses; else its ConfigError, which must name a key on every line. Checked
    as render.py and the program parse (JSON-encoded values) and as a caller of parse_config does (YAML as is)."""
    try:
        parse_config(copy.deepcopy(tree))
    except ConfigError as exc:
        assert_keyed_error(exc, tree)
    try:
        parse_like_render(tree, stack)
    except ConfigError as exc:
        assert_keyed_error(exc, tree)
        return exc
    return None


def leaves(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for v in value.values():
            yield from leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from leaves(v)
    else:
        yield value


def assert_finite(plan: Plan) -> None:
    """A rendered plan holds only finite numbers: no inf/NaN field, flag value or embedded JSON/YAML."""
    for leaf in leaves([plan.k8s, [i for _, _, i in plan.gcp], [i for _, i in plan.helm], plan.outputs]):
        if isinstance(leaf, float):
            assert math.isfinite(leaf), f"non-finite number {leaf} in the plan"
        elif isinstance(leaf, str):
            assert not NON_FINITE.search(leaf), f"non-finite number in rendered text: {leaf[:200]!r}"


def render_in_process(stack: str, tree: dict[str, Any]) -> None:
    """The whole program under mocks, as `pulumi up` runs it; then write and summarise the render."""
    expected = outcome(stack, tree)
    try:
        capture = run_program(namespaced(tree, stack), stack)
    except pulumi.RunError as exc:
        assert expected is not None, f"the program refused a config parse_config accepts: {exc}"
        assert str(exc) == str(expected), "the program's message differs from the ConfigError"
        return
    assert expected is None, f"the program accepted a config parse_config refuses: {expected}"
    plan = to_plan(capture)
    assert_finite(plan)
    with tempfile.TemporaryDirectory() as out:
        write_plan(plan, Path(out))
        assert summary(plan, Path(out))


# --- properties -------------------------------------------------------------------------------------------

@settings(max_examples=150, **FAST)
@given(mutated_configs())
def test_any_damage_parses_or_names_the_key(case):
    stack, tree, steps = case
    note(f"{stack}: {steps}")
    outcome(stack, tree)


def _per_kind(kind: str):
    @settings(max_examples=40, **FAST)
    @given(mutated_configs(kinds=(kind,), max_steps=1))
    def check(case):
        stack, tree, steps = case
        note(f"{stack}: {steps}")
        outcome(stack, tree)
    return check


@pytest.mark.parametrize("kind", sorted(MUTATIONS))
def test_each_kind_of_damage_parses_or_names_the_key(kind):
    _per_kind(kind)()


@settings(max_examples=15, **FAST)
@given(mutated_configs())
def test_program_raises_only_run_error_with_the_same_message(case):
    stack, tree, steps = case
    note(f"{stack}: {steps}")
    render_in_process(stack, tree)


@settings(max_examples=60, **FAST)  # most are refused at parse; ~10 render
@given(mutated_configs(kinds=("out_of_range",), max_steps=1))
def test_out_of_range_numbers_render_or_name_the_key(case):
    stack, tree, steps = case
    note(f"{stack}: {steps}")
    render_in_process(stack, tree)
