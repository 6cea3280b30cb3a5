"""The shape table (models/model_shapes.py) says what each model's config.json says: every row against the public
copy recorded in tests/contracts/model_configs.json (the Hub is not reachable here), derived the way vLLM reads a
config: head_dim as given or hidden_size / heads, KV heads defaulting to the heads, positions as
max_position_embeddings (an XLM-R encoder less its padding offset of 2)."""

import json
from pathlib import Path

import pytest

from models.model_shapes import SHAPES, SUFFIXES, known_shape

CONTRACT = json.loads((Path(__file__).parent / "contracts" / "model_configs.json").read_text())["models"]
CHECKED = {k: v for k, v in CONTRACT.items() if v["status"] in ("recorded", "partial")}
NOT_FOUND = sorted(k for k, v in CONTRACT.items() if v["status"] == "not found")
XLM_R = ("xlm-roberta", "roberta")


def row_of(model: str) -> str | None:
    """The table key a hub id resolves to (instruct/chat/quantized suffixes dropped), as known_shape does."""
    for suffix in ("", *SUFFIXES):
        if model.endswith(suffix) and (key := model[: len(model) - len(suffix)]) in SHAPES:
            return key
    return None


def expected(config: dict) -> dict:
    """What the sizing rules read, from the fields the copy has (a partial copy yields fewer)."""
    c = config
    heads = c.get("num_attention_heads", c.get("n_head"))
    out: dict = {}
    if "num_hidden_layers" in c or "n_layer" in c:
        out["layers"] = c.get("num_hidden_layers", c.get("n_layer"))
    if "kv_lora_rank" in c:
        out |= {"kv_lora_rank": c["kv_lora_rank"], "qk_rope_head_dim": c["qk_rope_head_dim"]}
    elif heads:
        out["kv_heads"] = c.get("num_key_value_heads") or heads
        if "head_dim" in c:
            out["head_dim"] = c["head_dim"]
        elif "hidden_size" in c or "n_embd" in c:
            out["head_dim"] = c.get("hidden_size", c.get("n_embd")) // heads
    positions = c.get("max_position_embeddings", c.get("n_positions"))
    if positions:
        out["max_position"] = positions - 2 if c.get("model_type") in XLM_R else positions
    if c.get("sliding_window_pattern"):
        out["sliding_window"] = c["sliding_window"]
    return out


ENCODERS = ("bert", "xlm-roberta", "nomic_bert")


class TestEveryRowIsCheckedOrListed:
    def test_every_table_row_has_a_recorded_copy_or_is_listed_not_found(self):
        covered = {row_of(k) for k in CONTRACT} | {r for v in CONTRACT.values() for r in v.get("alsoRows", [])}
        assert set(SHAPES) <= covered, f"rows with no entry in model_configs.json: {sorted(set(SHAPES) - covered)}"

    def test_every_contract_entry_names_a_table_row(self):
        assert all(row_of(k) for k in CONTRACT), [k for k in CONTRACT if not row_of(k)]

    def test_most_rows_are_checked(self):
        # the Hub is out of reach: a copy must come from somewhere public; a shrinking check is a regression
        assert len(CHECKED) >= 62 and len(NOT_FOUND) <= 6, (len(CHECKED), NOT_FOUND)

    def test_the_unchecked_rows_are_named_in_the_docs(self):
        text = (Path(__file__).parents[1] / "docs" / "concepts" / "models.md").read_text().lower()
        assert all(m in text for m in NOT_FOUND), [m for m in NOT_FOUND if m not in text]


class TestRowsMatchTheirConfigJson:
    @pytest.mark.parametrize("model", sorted(CHECKED))
    def test_row_matches_the_recorded_copy(self, model: str):
        entry = CHECKED[model]
        shape = known_shape(model)
        assert shape is not None
        want = expected(entry["config"])
        if shape.encoder_only or entry["config"].get("model_type") in ENCODERS:
            assert shape.encoder_only, f"{model} is an encoder ({entry['config'].get('model_type')})"
            want = {k: v for k, v in want.items() if k == "max_position"}
        got = {k: getattr(shape, k) for k in want}
        assert got == want, f"{model}: table {got} != config.json {want} ({entry['source']})"

    def test_sliding_window_rows_count_their_global_layers_like_the_model_family(self):
        for model, entry in CHECKED.items():
            pattern = entry["config"].get("sliding_window_pattern")
            shape = known_shape(model)
            if pattern and shape:  # Gemma 3: one full-attention layer per pattern
                assert shape.global_layers == shape.layers // pattern, model
