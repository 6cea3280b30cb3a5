"""Where the pinned docs tools live (.ci/install_mkdocs.sh: mkdocs, Material, check-jsonschema, in $DOCS_VENV)."""

import os
from pathlib import Path

import pytest

from tests.conftest import require_consumers

ROOT = Path(__file__).resolve().parent.parent


def docs_tool(name: str) -> Path:
    venv = Path(os.environ.get("DOCS_VENV", ".venv-docs"))
    path = (venv if venv.is_absolute() else ROOT / venv) / "bin" / name
    if not path.exists():
        msg = f"{name} not found at {path}: run `bash .ci/install_mkdocs.sh` or set DOCS_VENV"
        if require_consumers():
            pytest.fail(msg + " (LLM_PLATFORM_REQUIRE_CONSUMERS=1)")
        pytest.skip(msg)
    return path
