"""The seed-003 example stack (examples/Pulumi.llama-seed.yaml) for the llama.cpp tests, and its rendered
llama-server command lines."""

import copy
import shlex
from functools import lru_cache
from typing import Any

import yaml

from models import read_stack_file
from offline.mocks import run_program
from offline.plan import Plan, to_plan
from tests.conftest import NS, ROOT

SEED_FILE = ROOT / "examples" / "Pulumi.llama-seed.yaml"
SERVER_BIN = "/app/llama-server"


def seed_values() -> dict[str, Any]:
    return read_stack_file(SEED_FILE)


def seed_raw() -> dict[str, Any]:
    """The llm-platform:* keys of the seed stack, namespace stripped, as PlatformConfig input (a fresh copy)."""
    return copy.deepcopy({k.removeprefix(NS): v for k, v in seed_values().items() if k.startswith(NS)})


@lru_cache(maxsize=1)
def _seed_plan() -> Plan:
    return to_plan(run_program(seed_values(), "llama-seed"))


def seed_plan() -> Plan:
    return copy.deepcopy(_seed_plan())


def swap_config(plan: Plan) -> dict[str, Any]:
    return yaml.safe_load(plan.one("ConfigMap", "llama-swap-config")["data"]["config.yaml"])


def rendered_llama_commands(plan: Plan) -> dict[str, list[str]]:
    """Every llama-server command line the plan would run, binary excluded, keyed by the name it serves:
    each static container's args, and each llama-swap model's cmd (${PORT} left in place)."""
    out: dict[str, list[str]] = {}
    for dep in plan.find("Deployment"):
        for c in dep["spec"]["template"]["spec"]["containers"]:
            if c["name"] == "llama-server":
                assert c["command"] == [SERVER_BIN]
                args = c["args"]
                out[args[args.index("--alias") + 1]] = list(args)
    if plan.find("ConfigMap", "llama-swap-config"):
        for name, entry in swap_config(plan)["models"].items():
            argv = shlex.split(entry["cmd"])  # as llama-swap splits it (after substituting ${PORT})
            assert argv[0] == SERVER_BIN, entry["cmd"]
            out[name] = argv[1:]
    return out
