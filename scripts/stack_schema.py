#!/usr/bin/env python3
"""The JSON Schema of a stack file (Pulumi.<stack>.yaml), generated from the pydantic models in models/.

    python scripts/stack_schema.py            # print it
    python scripts/gen_docs.py                # writes schema/stack.schema.json with every other generated file

Keys are camelCase as the stack file spells them, under `config:` with the `llm-platform:` prefix; other
namespaces (`gcp:project`, ...) and Pulumi's own file keys (`encryptionsalt`, `secure:` values) are accepted as
Pulumi writes them. Descriptions come from the models: a class docstring, a field's `Field(description=...)`, the
`#` comment lines right above the field (and a trailing `# ...` on its line), or else models/field_docs.py.
Editors read it through the `# yaml-language-server: $schema=...` modeline at the top of every shipped stack file; the config check in models/ stays the authority (cross-field rules live there).
"""

import ast
import io
import json
import sys
import tokenize
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from models.field_docs import FIELD_DOCS  # noqa: E402
from models.platform_spec import PlatformSpec  # noqa: E402

NS = "llm-platform:"
SCHEMA_PATH = ROOT / "schema" / "stack.schema.json"
MODELINE = "# yaml-language-server: $schema="


def field_comments(models_dir: Path = ROOT / "models") -> dict[tuple[str, str], str]:
    """(class name, field name) -> the comment lines right above the field, plus a trailing comment on its line."""
    found: dict[tuple[str, str], str] = {}
    for path in sorted(models_dir.glob("*.py")):
        source = path.read_text()
        comments = {
            tok.start[0]: (tok.string.lstrip("#").strip(), tok.line.strip().startswith("#"))
            for tok in tokenize.generate_tokens(io.StringIO(source).readline)
            if tok.type == tokenize.COMMENT
        }
        for cls in ast.walk(ast.parse(source)):
            if not isinstance(cls, ast.ClassDef):
                continue
            for stmt in cls.body:
                if not (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)):
                    continue
                lines: list[str] = []
                row = stmt.lineno - 1
                while row in comments and comments[row][1]:  # whole-line comments directly above
                    lines.insert(0, comments[row][0])
                    row -= 1
                trailing = comments.get(stmt.end_lineno or stmt.lineno)
                if trailing and not trailing[1]:
                    lines.append(trailing[0])
                if lines:
                    found[(cls.name, stmt.target.id)] = " ".join(lines)
    return found


def _describe(defs: dict[str, Any], models: dict[str, type[BaseModel]], comments: dict[tuple[str, str], str]) -> None:
    for name, schema in defs.items():
        cls = models.get(name)
        for alias, prop in schema.get("properties", {}).items():
            prop.pop("title", None)
            field = (
                next((f for f, info in cls.model_fields.items() if (info.alias or f) == alias), None) if cls else None
            )
            if cls is None or field is None or "description" in prop:
                continue
            owners = [c.__name__ for c in cls.__mro__]  # a field may come from a base class
            text = next((comments[(o, field)] for o in owners if (o, field) in comments), None)
            text = text or next((FIELD_DOCS[f"{o}.{alias}"] for o in owners if f"{o}.{alias}" in FIELD_DOCS), None)
            if text:
                prop["description"] = text


def _model_classes(root: type[BaseModel]) -> dict[str, type[BaseModel]]:
    """Every pydantic model reachable from `root`'s fields, by class name (the schema's $defs keys)."""
    seen: dict[str, type[BaseModel]] = {}
    todo: list[Any] = [root]
    while todo:
        tp = todo.pop()
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            if tp.__name__ not in seen:
                seen[tp.__name__] = tp
                todo.extend(info.annotation for info in tp.model_fields.values())
        else:
            todo.extend(get_args(tp))
    return seen


def stack_schema() -> dict[str, Any]:
    spec = PlatformSpec.model_json_schema(by_alias=True, mode="validation")
    defs = spec.pop("$defs")
    root_name = "PlatformSpec"
    defs[root_name] = spec
    _describe(defs, _model_classes(PlatformSpec), field_comments())
    config_props = {NS + key: prop for key, prop in spec["properties"].items()}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "llm-platform stack file (Pulumi.<stack>.yaml)",
        "description": (
            "Generated from models/ by scripts/gen_docs.py; do not edit. The platform's own keys sit under config: "
            "with the llm-platform: prefix; the config check (render.py, pulumi preview) also runs the cross-field "
            "rules this schema cannot express."
        ),
        "type": "object",
        "properties": {
            "config": {
                "type": "object",
                "properties": config_props,
                "required": [NS + key for key in spec.get("required", [])],
                # Another provider's or Pulumi's namespace (gcp:project, pulumi:tags): any value, `secure:` included.
                "patternProperties": {"^(?!llm-platform:)[A-Za-z0-9_.-]+:.+$": {"$ref": "#/$defs/PulumiConfigValue"}},
                # An llm-platform: key this platform does not define is a typo.
                "additionalProperties": False,
            },
            "encryptionsalt": {"type": "string", "description": "Pulumi's passphrase salt for secure: values"},
            "encryptedkey": {"type": "string", "description": "Pulumi's data key for a cloud secrets provider"},
            "secretsprovider": {"type": "string", "description": "Pulumi's secrets provider URL"},
            "environment": {"description": "Pulumi ESC environments this stack imports"},
        },
        "required": ["config"],
        "additionalProperties": False,
        "$defs": {
            **dict(sorted(defs.items())),
            "PulumiConfigValue": {
                "description": "A config value of another namespace: any YAML, or {secure: <ciphertext>}",
                "anyOf": [
                    {
                        "type": "object",
                        "properties": {"secure": {"type": "string"}},
                        "required": ["secure"],
                        "additionalProperties": False,
                    },
                    {"not": {"type": "object", "required": ["secure"]}},
                ],
            },
        },
    }


def schema_text() -> str:
    return json.dumps(stack_schema(), indent=2, sort_keys=False) + "\n"


def modeline_for(stack_file: Path) -> str:
    """The editor modeline a shipped stack file starts with: a path to the schema relative to the file."""
    rel = Path(*[".."] * len(stack_file.resolve().parent.relative_to(ROOT).parts), "schema", "stack.schema.json")
    return MODELINE + rel.as_posix()


def shipped_stack_files() -> list[Path]:
    return sorted(ROOT.glob("Pulumi.*.yaml")) + sorted((ROOT / "examples").glob("Pulumi.*.yaml"))


if __name__ == "__main__":
    sys.stdout.write(schema_text())
