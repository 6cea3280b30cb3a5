"""Hypothesis strategies for a damaged stack file itself (bytes, YAML, the config map), and the read-and-parse
path render.py takes with one. Used by tests/test_bad_input.py.
"""

from pathlib import Path

import yaml
from hypothesis import strategies as st

from models import config_from_pulumi_values, parse_config, read_stack_file
from offline.mocks import pulumi_config_values
from tests.mutations import STACK_FILES

YAML_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8), st.dates(), st.binary(max_size=4)
)
YAML_KEYS = st.one_of(
    st.sampled_from(["llm-platform:cluster", "llm-platform:models", "llm-platform:", ":", "gcp:project", "config"]),
    st.text(max_size=10),
    st.integers(),
    st.booleans(),
    st.none(),
    st.dates(),
)
YAML_TREES = st.recursive(
    YAML_SCALARS, lambda kids: st.lists(kids, max_size=3) | st.dictionaries(YAML_KEYS, kids, max_size=3), max_leaves=8
)


@st.composite
def stack_file_bytes(draw) -> bytes:
    """A damaged stack file: random bytes, a shipped file with bytes spliced in, or odd YAML under config:."""
    how = draw(st.sampled_from(["bytes", "splice", "yaml"]))
    if how == "bytes":
        return draw(st.binary(max_size=64))
    if how == "yaml":
        doc = draw(st.one_of(YAML_TREES, st.dictionaries(st.just("config"), YAML_TREES, min_size=1)))
        return yaml.safe_dump(doc, allow_unicode=True).encode()
    text = STACK_FILES[draw(st.sampled_from(sorted(STACK_FILES)))].read_bytes()
    at = draw(st.integers(min_value=0, max_value=len(text)))
    cut = draw(st.integers(min_value=0, max_value=8))
    return (
        text[:at]
        + draw(st.binary(max_size=4) | st.sampled_from([b"\xe9", b"\t", b": ", b"\n  - ", b"{"]))
        + text[at + cut :]
    )


def read_and_parse(path: Path) -> None:
    """render.py up to the program run: read the file, JSON-encode as the CLI does, parse."""
    values = read_stack_file(path)
    parse_config(config_from_pulumi_values(pulumi_config_values(values)))
