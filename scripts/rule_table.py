#!/usr/bin/env python3
"""Every stack-config validation rule, triggered once by a minimal edit of the dev stack: the table on the docs
page docs/reference/validation-rules.md.

    python scripts/rule_table.py            # print the Markdown table
    python scripts/rule_table.py --write    # replace the table in that page (scripts/gen_docs.py does it too)

Each row is one edit of Pulumi.dev.yaml's llm-platform:* keys (or of the stack file itself) and the line the
config check prints for it: the key path it blames and the message, as a user sees them. tests/test_rule_table.py
keeps the page equal to this output, and checks that the rows together reach every rule site in models/ (each
`raise ValueError`, `raise ConfigError` and `p.add`), so a new rule without a row fails the tests.
"""

import argparse
import copy
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from models import ConfigError, parse_config, read_stack_file  # noqa: E402
from scripts.rule_rows import ROWS, FileRow, Row  # noqa: E402

NS = "llm-platform:"
PAGE = ROOT / "docs" / "reference" / "validation-rules.md"
BEGIN, END = "<!-- rule-table:begin (scripts/rule_table.py --write) -->", "<!-- rule-table:end -->"


def dev_raw() -> dict[str, Any]:
    values = read_stack_file(ROOT / "Pulumi.dev.yaml")
    return {k.removeprefix(NS): v for k, v in values.items() if k.startswith(NS)}


def trigger(row: Row | FileRow, base: dict[str, Any], tracer: Callable | None = None) -> str:
    """The one line the row's edit makes the config check print (the line that starts with row.path)."""
    old = sys.gettrace()
    try:
        if isinstance(row, FileRow):
            with tempfile.TemporaryDirectory() as tmp:
                cwd = os.getcwd()
                os.chdir(tmp)  # messages name the file as given: a relative, stable name
                try:
                    name = row.write(Path(tmp), (ROOT / "Pulumi.dev.yaml").read_text())
                    sys.settrace(tracer)
                    read_stack_file(name)
                finally:
                    sys.settrace(old)
                    os.chdir(cwd)
        else:
            raw = copy.deepcopy(base)
            replaced = row.edit(raw)
            sys.settrace(tracer)
            try:
                parse_config(replaced if row.replaces else raw)
            finally:
                sys.settrace(old)
    except ConfigError as exc:
        found = [ln for ln in exc.lines if ln.startswith(row.path)]
        if not found:
            raise SystemExit(f"rule row {row.path!r}: no line starts with it; got {exc.lines}") from None
        return found[0]
    raise SystemExit(f"rule row {row.path!r}: the edit was accepted; it no longer triggers its rule")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;").replace("\n", " ")


def table(rows: list[Row | FileRow] | None = None) -> str:
    base = dev_raw()
    out = ["| key | rule | message (for the dev stack) |", "| --- | --- | --- |"]
    for row in rows or ROWS:
        line = trigger(row, base)
        keyed = line.startswith(row.path + ": ")  # else a whole-file or whole-config line
        key, message = (f"`{row.path}`", line[len(row.path) + 2 :]) if keyed else (f"({row.path.strip()})", line)
        out.append(f"| {key} | {_cell(row.rule)} | {_cell(message)} |")
    return "\n".join(out) + "\n"


def page_with(table_md: str, page: str) -> str:
    start, end = page.index(BEGIN) + len(BEGIN), page.index(END)
    return page[:start] + "\n" + table_md + page[end:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="replace the table in the docs page")
    args = parser.parse_args(argv)
    md = table()
    if args.write:
        PAGE.write_text(page_with(md, PAGE.read_text()))
        print(f"{PAGE.relative_to(ROOT)}: {md.count(chr(10)) - 2} rules")
    else:
        sys.stdout.write(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
