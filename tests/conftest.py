"""Shared fixtures: stack files as raw config, and the program run under Pulumi's mocks."""

import copy
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from models import read_stack_file
from offline.mocks import PlanCapture, install_mocks, run_program
from offline.plan import Plan, to_plan

ROOT = Path(__file__).resolve().parent.parent
NS = "llm-platform:"


def stack_values(name: str = "dev") -> dict[str, Any]:
    return read_stack_file(ROOT / f"Pulumi.{name}.yaml")


def raw_config(name: str = "dev") -> dict[str, Any]:
    """The llm-platform:* keys of a stack file, namespace stripped, as PlatformConfig input."""
    return {k.removeprefix(NS): v for k, v in stack_values(name).items() if k.startswith(NS)}


@pytest.fixture
def dev_raw() -> dict[str, Any]:
    return copy.deepcopy(raw_config("dev"))


def plan_for(raw: dict[str, Any], extra: dict[str, Any] | None = None, stack: str = "test") -> Plan:
    values = {NS + k: v for k, v in raw.items()}
    values.update(extra or {})
    return to_plan(run_program(values, stack))


@pytest.fixture(scope="session")
def dev_plan() -> Plan:
    return to_plan(run_program(stack_values("dev"), "dev"))


@pytest.fixture
def render() -> Callable[..., Plan]:
    return plan_for


def require_consumers() -> bool:
    """In CI a missing real consumer is a failure, not a skip."""
    return os.environ.get("LLM_PLATFORM_REQUIRE_CONSUMERS") == "1"


@pytest.fixture
def capture() -> PlanCapture:
    """Fresh Pulumi mocks; the resources a test declares land in the returned capture."""
    return install_mocks("test")
