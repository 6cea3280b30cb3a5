#!/usr/bin/env python3
"""Regenerate every generated docs artifact from the code, in one command:

    .venv/bin/python scripts/gen_docs.py           # write them
    .venv/bin/python scripts/gen_docs.py --check   # exit 1 naming each stale one (what the tests check)

- schema/stack.schema.json            the stack file's JSON Schema (scripts/stack_schema.py, from models/)
- docs/reference/config.md            every config key (scripts/config_reference.py, from that schema)
- docs/reference/validation-rules.md  the rule table between its markers (scripts/rule_table.py, from rule rows)
- docs/assets/platform-dev.svg        the dev stack's picture (offline/diagram.py, as render.py draws it)

Run it after adding a config key, a rule row or changing Pulumi.dev.yaml; tests/test_stack_schema.py,
tests/test_rule_table.py and tests/test_docs_site.py fail until it has been run.
"""

import argparse
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from models import config_from_pulumi_values, parse_config, read_stack_file  # noqa: E402
from offline.diagram import write_diagram  # noqa: E402
from offline.mocks import pulumi_config_values  # noqa: E402
from scripts import config_reference, rule_table, stack_schema  # noqa: E402

DEV_SVG = ROOT / "docs" / "assets" / "platform-dev.svg"


def dev_svg() -> str:
    cfg = parse_config(config_from_pulumi_values(pulumi_config_values(read_stack_file(ROOT / "Pulumi.dev.yaml"))))
    with tempfile.TemporaryDirectory() as tmp:
        return write_diagram(cfg, "dev", Path(tmp)).read_text()


def artifacts() -> dict[Path, Callable[[], str]]:
    """Each generated file and how to make its full text now."""
    return {
        stack_schema.SCHEMA_PATH: stack_schema.schema_text,
        config_reference.PAGE: config_reference.page,
        rule_table.PAGE: lambda: rule_table.page_with(rule_table.table(), rule_table.PAGE.read_text()),
        DEV_SVG: dev_svg,
    }


def stale() -> list[str]:
    return [
        str(path.relative_to(ROOT))
        for path, make in artifacts().items()
        if not path.is_file() or path.read_text() != make()
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if any artifact is stale")
    args = parser.parse_args(argv)
    if args.check:
        old = stale()
        for name in old:
            print(f"stale: {name} (run .venv/bin/python scripts/gen_docs.py)", file=sys.stderr)
        return 1 if old else 0
    for path, make in artifacts().items():
        text = make()
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.read_text() != text:
            path.write_text(text)
            print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
