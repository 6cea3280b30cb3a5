"""The docs page "Validation rules" (docs/reference/validation-rules.md) holds scripts/rule_table.py's output, and that
table reaches every rule in models/.

A rule site is a `raise ValueError(...)`, `raise ConfigError(...)` or `p.add(...)` (a Problems line) in
models/*.py, found by parsing the source. Running every row under a line tracer shows which sites the rows
reach; a site no row reaches is a rule missing from the docs page.
"""

import ast
import sys
from pathlib import Path

from scripts import rule_table
from scripts.rule_rows import ROWS
from tests.conftest import ROOT

MODELS = ROOT / "models"
# Sites that are not rules of their own: the aggregators that re-raise collected lines.
AGGREGATORS = ("self.lines", "format_validation_error(")
# Rule sites no config can reach, with the reason (kept as guards; listed so a new unreachable site is a choice).
UNREACHABLE = {
    # a registered model must be priced (serving.py _priced_when_registered), so a budgeted key never meets an
    # unpriced routed model
    "has a budget but model": "GatewayEntry already requires both prices of a registered model",
    # LLAMA_NAME makes a name start with a letter or digit, which always survives into llama-<name>
    "gives no usable Kubernetes name": "a llama name always starts with [A-Za-z0-9]",
}


def rule_sites() -> dict[tuple[str, int, int], str]:
    """(file, first line, last line) -> source of every rule site in models/."""
    sites = {}
    for path in sorted(MODELS.glob("*.py")):
        source = path.read_text()
        for node in ast.walk(ast.parse(source)):
            call = node.exc if isinstance(node, ast.Raise) else node
            if not isinstance(call, ast.Call):
                continue
            func = call.func
            is_raise = isinstance(node, ast.Raise) and getattr(func, "id", "") in ("ValueError", "ConfigError")
            is_add = isinstance(func, ast.Attribute) and func.attr == "add" and getattr(func.value, "id", "") == "p"
            text = ast.get_source_segment(source, node) or ""
            if (is_raise or is_add) and not any(a in text for a in AGGREGATORS):
                sites[(path.name, node.lineno, node.end_lineno)] = text
    return sites


def reached_lines() -> set[tuple[str, int]]:
    seen: set[tuple[str, int]] = set()

    def local(frame, event, arg):
        if event == "line":
            seen.add((Path(frame.f_code.co_filename).name, frame.f_lineno))
        return local

    def tracer(frame, event, arg):
        return local if Path(frame.f_code.co_filename).parent == MODELS else None

    base = rule_table.dev_raw()
    for row in ROWS:
        rule_table.trigger(row, base, tracer)
    return seen


def test_docs_rule_table_is_the_script_output():
    page = rule_table.PAGE.read_text()
    assert rule_table.BEGIN in page and rule_table.END in page, "the validation-rules page lacks the table markers"
    expected = rule_table.page_with(rule_table.table(), page)
    assert page == expected, "docs/reference/validation-rules.md is stale: run .venv/bin/python scripts/gen_docs.py"


def test_every_rule_site_has_a_row():
    sites = rule_sites()
    assert len(sites) > 50, "the rule-site scan found too little; did models/ move?"
    seen = reached_lines()
    missing = []
    for (name, first, last), text in sites.items():
        if any((name, line) in seen for line in range(first, last + 1)):
            continue
        if any(snippet in text for snippet in UNREACHABLE):
            continue
        missing.append(f"models/{name}:{first}: {' '.join(text.split())[:140]}")
    assert not missing, "rules without a row in scripts/rule_rows.py:\n" + "\n".join(missing)


def test_unreachable_sites_are_still_there():
    texts = " ".join(rule_sites().values())
    stale = [s for s in UNREACHABLE if s not in texts]
    assert not stale, f"UNREACHABLE lists sites that no longer exist: {stale}"


def test_script_runs_standalone(tmp_path):
    import subprocess

    res = subprocess.run(
        [sys.executable, "scripts/rule_table.py"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("| key | rule | message (for the dev stack) |")
    assert res.stdout.count("\n") == len(ROWS) + 2
