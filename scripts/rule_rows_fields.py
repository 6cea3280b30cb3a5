"""Rule rows for the stack file and each field's type: one minimal edit of the dev stack per rule (see
scripts/rule_edits.py for Row, FileRow and the helpers). Block rules are in scripts/rule_rows_blocks.py.
"""

import math
from pathlib import Path

from scripts.rule_edits import (
    FileRow,
    Row,
    add_external,
    drop,
    key,
    model,
    pool,
    setv,
)


def _write(path: Path, data: str | bytes) -> str:
    """Write a stack file into the temp dir; its name is what the row reads."""
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data)
    return path.name


def _mkdir(path: Path) -> str:
    path.mkdir()
    return path.name


# --- the rows ------------------------------------------------------------------------------------------------

FILE_ROWS = [
    FileRow("the stack file exists", lambda tmp, text: "Pulumi.missing.yaml"),
    FileRow("the stack file is readable", lambda tmp, text: _mkdir(tmp / "Pulumi.dir.yaml")),
    FileRow(
        "the stack file is UTF-8",
        lambda tmp, text: _write(tmp / "Pulumi.latin1.yaml", text.replace("ai-dev", "caf\xe9").encode("latin-1")),
    ),
    FileRow("the stack file is YAML", lambda tmp, text: _write(tmp / "Pulumi.bad.yaml", "config:\n  a: [\n")),
    FileRow("the stack file has a config: mapping", lambda tmp, text: _write(tmp / "Pulumi.list.yaml", "- config\n")),
]

FIELD_ROWS = [
    Row("stack config", "the config is a mapping (parse_config's input)", lambda r: ["cluster"], replaces=True),
    # Checks every field gets from its type (models/load.py words them).
    Row("nodePools[0].maxNodes", "a required key is set", lambda r: drop(pool(r), "maxNodes")),
    Row("nodePools[0].maxNode", "no unknown key (typos)", lambda r: setv(pool(r), maxNode=2)),
    Row(
        "models[0].extraArgs[0]",
        "no credential anywhere in stack config (it is in git)",
        lambda r: setv(model(r), extraArgs=["--hf-token=hf_" + "AbCdEfGhIjKlMnOpQrStUvWx"]),
    ),
    Row("cluster.0", "keys are names, not YAML numbers/booleans/null", lambda r: r["cluster"].update({0: 1})),
    Row("cluster", "a block is a mapping", lambda r: r.update(cluster="ai-dev")),
    Row("nodePools", "a list is a list", lambda r: r.update(nodePools={"name": "l4-coder"})),
    Row("pricing", "a map is a map", lambda r: r.update(pricing=["g2-standard-8"])),
    Row("nodePools[0].maxNodes", "an integer is an integer", lambda r: setv(pool(r), maxNodes="two")),
    Row("nodePools[0].maxNodes", "no fraction where a count is needed", lambda r: setv(pool(r), maxNodes=1.5)),
    Row("models[0].weightsGiB", "a number is a number", lambda r: setv(model(r), weightsGiB="lots")),
    Row("models[0].cpuOffloadGB", "numbers are finite (no .inf/.nan)", lambda r: setv(model(r), cpuOffloadGB=math.inf)),
    Row("scaleToZero", "a boolean is a boolean", lambda r: r.update(scaleToZero="maybe")),
    Row("cluster.location", "a text value is text", lambda r: setv(r["cluster"], location=["us-central1"])),
    Row("nodePools[0].minNodes", "lower bounds (counts, sizes, prices)", lambda r: setv(pool(r), minNodes=-1)),
    Row("models[0].replicas", "upper bounds", lambda r: setv(model(r), replicas=65)),
    Row("models[0].weightsGiB", "sizes are positive", lambda r: setv(model(r), weightsGiB=0)),
    Row("models[0].dtype", "one of a fixed set of values", lambda r: setv(model(r), dtype="fp16")),
    Row(
        "gateway.keys[0].budgetDuration",
        "a value of a given form",
        lambda r: setv(key(r, "open-webui"), budgetDuration="30 days"),
    ),
    Row("models[0].modelName", "no empty text where a value is needed", lambda r: setv(model(r), modelName="")),
    Row(
        "gateway.keys[0].models",
        "no empty list where one item is needed",
        lambda r: setv(key(r, "open-webui"), models=[]),
    ),
    Row("models[4].apiBase", "a URL is a URL", lambda r: add_external(r, apiBase="models.example.com")),
    Row("models[0].engine", "a model's engine is known", lambda r: setv(model(r), engine="ollama")),
    Row("models[0]", "a model names its engine", lambda r: drop(model(r), "engine")),
]
