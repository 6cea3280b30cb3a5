"""Bad input never gets a traceback (issue 6, point 1).

Hypothesis damages the shipped stack configs (tests/mutations.py: wrong types, missing keys, unknown keys,
out-of-range numbers, bad names, dangling references) and stack files (tests/stack_file_damage.py). Each damaged
config either parses and renders, or fails with the project's ConfigError, every line headed by the key path it
blames (tests/keyed_errors.py). The program under Pulumi's mocks raises only pulumi.RunError with that same
message, and `render.py` exits 2 with it on stderr, no traceback.
Deterministic: derandomized, no example database, so CI runs the same examples every time.
"""

import copy
import math
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from hypothesis import HealthCheck, given, note, settings

from models import ConfigError, parse_config, read_stack_file
from offline.mocks import run_program
from offline.plan import Plan, to_plan
from offline.report import RenderError, render_plan, summary, write_plan
from tests.conftest import ROOT
from tests.keyed_errors import KEYED_LINE, assert_keyed_error
from tests.mutations import MUTATIONS, as_program_sees, mutated_configs, namespaced, put, stack_raw
from tests.stack_file_damage import read_and_parse, stack_file_bytes

FAST = {
    "derandomize": True,
    "database": None,
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
}
NON_FINITE = re.compile(r"(?<![A-Za-z])(?:-?Infinity|NaN|[-+]?\.inf|\.nan|nan|inf)(?![A-Za-z])")


def outcome(stack: str, tree: dict[str, Any]) -> ConfigError | None:
    """None when the damaged config parses; else its ConfigError, which must name a key on every line. Checked
    as render.py and the program parse (JSON-encoded values) and as a caller of parse_config does (YAML as is)."""
    try:
        parse_config(copy.deepcopy(tree))
    except ConfigError as exc:
        assert_keyed_error(exc, tree)
    seen = as_program_sees(tree, stack)
    try:
        parse_config(seen)
    except ConfigError as exc:
        assert_keyed_error(exc, seen)
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


@settings(max_examples=60, **FAST)  # most are refused at parse; 12 render
@given(mutated_configs(kinds=("out_of_range",), max_steps=1))
def test_out_of_range_numbers_render_or_name_the_key(case):
    stack, tree, steps = case
    note(f"{stack}: {steps}")
    render_in_process(stack, tree)


# --- regressions: what hypothesis found, pinned as plain tests ---------------------------------------------


def rejected(raw: dict[str, Any], stack: str = "dev") -> list[str]:
    exc = outcome(stack, raw)
    assert exc is not None, "the config was accepted"
    return exc.lines


class TestFoundByHypothesis:
    def test_block_of_wrong_type_does_not_name_a_pydantic_class(self):
        raw = stack_raw("dev")
        raw["cluster"] = False
        assert rejected(raw) == ["cluster: must be a mapping of keys (key: value lines); got false"]

    def test_duplicate_key_alias_names_each_key(self):
        raw = stack_raw("dev")
        raw["gateway"]["keys"][2]["alias"] = "open-webui"
        lines = rejected(raw)
        assert any(
            ln.startswith("gateway.keys[0].alias, gateway.keys[2].alias: 'open-webui' is used more than once")
            and "rename all but one" in ln
            for ln in lines
        ), lines

    @pytest.mark.parametrize("brk", ["\n", "\r\n", "\u2028", "\x85"])
    def test_line_break_in_a_value_keeps_one_keyed_line(self, brk):
        raw = stack_raw("dev")
        raw["frontends"]["tabby"]["embeddingModel"] = f"embeddings{brk}x"  # a cross-field (Problems) rule
        lines = rejected(raw)
        assert len(lines) == 1 and lines[0].startswith("frontends.tabby.embeddingModel: 'embeddings\\"), lines
        raw = stack_raw("dev")
        raw["nodePools"][0]["role"] = f"coder{brk}x"  # a field rule
        lines = rejected(raw)
        assert len(lines) == 1 and lines[0].startswith("nodePools[0].role: 'coder\\"), lines

    def test_value_with_colon_is_not_read_as_a_key(self):
        raw = stack_raw("dev")
        raw["cluster"]["name"] = "ai-dev: x"
        assert rejected(raw) == [
            "cluster.name: 'ai-dev: x' is not a DNS-1123 label; use lowercase letters, digits "
            "and '-', starting and ending with a letter or digit (e.g. 'coder-chat')"
        ]

    @pytest.mark.parametrize("key,shown", [(0, "0"), (True, "true"), (None, "null")])
    def test_non_string_yaml_key_is_a_key_not_a_list_index(self, key, shown):
        raw = stack_raw("dev")
        raw["cluster"][key] = 1
        # As render.py and `pulumi up` see it (JSON-encoded: the key arrives as a string) ...
        assert rejected(raw) == [f"cluster.{shown}: is not a known key; remove it or fix its spelling"]
        # ... and as a direct parse_config caller sees it (YAML's own key type).
        with pytest.raises(ConfigError) as exc:
            parse_config(raw)
        assert exc.value.lines[0].startswith(f"cluster.{shown}: is not a key name: YAML reads an unquoted number")

    def test_non_string_key_in_a_label_or_price_map_is_one_line_per_key(self):
        raw = stack_raw("dev+extras")
        raw["network"]["gatewayIngressFrom"][0]["namespaceSelector"]["matchLabels"][0] = 1
        raw["pricing"][True] = {"spot": 0.1}
        with pytest.raises(ConfigError) as exc:
            parse_config(raw)
        assert_keyed_error(exc.value, raw)
        assert [ln.split(":")[0] for ln in exc.value.lines] == [
            "pricing.true",
            "network.gatewayIngressFrom[0].namespaceSelector.matchLabels.0",
        ]

    @pytest.mark.parametrize(
        "path,value",
        [
            (("models", 0, "cpuOffloadGB"), math.inf),  # rendered --cpu-offload-gb=inf
            (("gateway", "keys", 0, "maxBudget"), math.inf),  # rendered "max_budget": Infinity
            (("models", 0, "weightsGiB"), math.nan),
        ],
    )
    def test_infinite_or_nan_number_is_refused(self, path, value):
        raw = stack_raw("dev")
        put(raw, path, value)
        key = "models[0]." + path[-1] if path[0] == "models" else "gateway.keys[0].maxBudget"
        assert rejected(raw) == [
            f"{key}: must be a finite number (YAML reads .inf and .nan as infinity and NaN); "
            f"got {'Infinity' if value == math.inf else 'NaN'}"
        ]


class TestStackFileFoundByHypothesis:
    """Damaged stack files that crashed read_stack_file or the CLI's JSON encoding before a ConfigError."""

    def refused(self, path: Path) -> str:
        with pytest.raises(RenderError) as exc:
            render_plan(path)
        return str(exc.value)

    def test_not_utf8(self, tmp_path):
        f = tmp_path / "Pulumi.latin1.yaml"
        f.write_bytes((ROOT / "Pulumi.dev.yaml").read_bytes().replace(b"name: ai-dev", b"name: caf\xe9", 1))
        assert "is not UTF-8 text (byte " in self.refused(f) and "save it as UTF-8" in self.refused(f)

    def test_a_directory(self, tmp_path):
        assert "cannot be read (Is a directory)" in self.refused(tmp_path)

    def test_multi_line_yaml_error_is_one_line(self, tmp_path):
        f = tmp_path / "Pulumi.broken.yaml"
        f.write_text("config:\n  llm-platform:cluster: {name: [\n")
        with pytest.raises(ConfigError) as exc:
            read_stack_file(f)
        assert len(exc.value.lines) == 1 and "\n" not in exc.value.lines[0]

    def test_non_string_and_date_values_render_as_the_program_sees_them(self, tmp_path):
        text = (ROOT / "Pulumi.dev.yaml").read_text()
        text = text.replace("config:\n", "config:\n  1: ignored\n", 1)  # an int key beside gcp:project
        text = text.replace("      maxModelLen: 16384\n", "      maxModelLen: 16384\n      revision: 2024-06-01\n", 1)
        f = tmp_path / "Pulumi.dates.yaml"
        f.write_text(text)
        plan = render_plan(f)  # a YAML date is text to the program, as the CLI's JSON encoding makes it
        args = plan.one("Deployment", "coder-chat")["spec"]["template"]["spec"]["containers"][0]["args"]
        assert "--revision=2024-06-01" in args or "2024-06-01" in args


# --- render.py as a user runs it --------------------------------------------------------------------------

PASTED_KEY = "sk-Ab3dEf9hIjKlMnOpQrStUv"  # a LiteLLM-style key pasted where an alias belongs


def _bad_stack_files(tmp: Path) -> dict[str, tuple[Path, str]]:
    """name -> (stack file, a line render.py must print): one per kind of damage, and YAML-level damage."""
    out = {}

    def write(name: str, stack: str, edit, needle: str) -> None:
        raw = stack_raw(stack)
        edit(raw)
        f = tmp / f"Pulumi.{name}.yaml"
        f.write_text(yaml.safe_dump({"config": namespaced(raw, stack)}, allow_unicode=True))
        out[name] = (f, needle)

    write(
        "wrong-type",
        "dev",
        lambda r: r.update(cluster="ai-dev"),
        'cluster: must be a mapping of keys (key: value lines); got "ai-dev"',
    )
    write("missing", "prod", lambda r: r["nodePools"][1].pop("maxNodes"), "nodePools[1].maxNodes: is required")
    write(
        "unknown",
        "llama-seed",
        lambda r: r["swap"].update(ttlSeconds=60),
        "swap.ttlSeconds: is not a known key; remove it or fix its spelling",
    )
    write(
        "infinite",
        "dev",
        lambda r: r["models"][0].update(cpuOffloadGB=math.inf),
        "models[0].cpuOffloadGB: must be a finite number",
    )
    write(
        "bad-name",
        "llama-seed",
        lambda r: r["nodePools"][0].update(name="Static_A"),
        "nodePools[0].name: 'Static_A' is not a DNS-1123 label",
    )
    write(
        "dangling",
        "dev",
        lambda r: r["frontends"]["tabby"].update(key="tabby-key"),
        "frontends.tabby.key: 'tabby-key' is not a declared gateway key",
    )
    write(
        "credential",
        "dev",
        lambda r: r["frontends"]["tabby"].update(key=PASTED_KEY),
        "frontends.tabby.key: <redacted> looks like a credential",
    )
    yaml_key = tmp / "Pulumi.yaml-key.yaml"
    yaml_key.write_text(
        (ROOT / "Pulumi.dev.yaml")
        .read_text()
        .replace("    location: us-central1\n", "    location: us-central1\n    on: 1\n", 1)
    )
    out["yaml-key"] = (yaml_key, "cluster.true: is not a known key")
    return out


def test_render_cli_exits_2_with_the_key_and_no_traceback(tmp_path):
    cases = _bad_stack_files(tmp_path)
    procs = {
        name: subprocess.Popen(
            [sys.executable, "render.py", "--stack-file", str(f), "--out", str(tmp_path / "out" / name)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, (f, _) in cases.items()
    }  # in parallel: each is a fresh interpreter
    for name, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=180)
        needle = cases[name][1]
        assert proc.returncode == 2, f"{name}: exit {proc.returncode}\n{stderr}"
        assert stderr.startswith("error: invalid llm-platform stack config:\n"), f"{name}: {stderr}"
        assert needle in stderr, f"{name}: {needle!r} not in\n{stderr}"
        assert "Traceback" not in stdout + stderr and stdout == "", name
        assert PASTED_KEY not in stderr, "an error message echoed a credential"
        assert not (tmp_path / "out" / name).exists(), f"{name}: a refused config wrote output"


# --- the stack file itself: bytes, YAML, the config map -----------------------------------------------------


@settings(max_examples=150, **FAST)
@given(stack_file_bytes())
def test_any_stack_file_reads_or_fails_with_config_error(content):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "Pulumi.fuzz.yaml"
        path.write_bytes(content)
        try:
            read_and_parse(path)
        except ConfigError as exc:
            assert exc.lines and all(ln.startswith("stack file ") or KEYED_LINE.match(ln) for ln in exc.lines), (
                exc.lines
            )
