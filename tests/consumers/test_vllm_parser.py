"""vLLM 0.11.0's own `vllm serve` parser accepts every vLLM argument list every stack renders.

The probe (vllm_parser_probe.py) runs in .venv-vllm (.ci/install_vllm.sh): it builds the real serve parser
(FlexibleArgumentParser + make_arg_parser, as `vllm serve` does, on vLLM's CpuPlatform on this GPU-less machine),
parses each list, runs vLLM's pre-start checks (validate_parsed_serve_args: the chat template exists, auto tool
choice needs a parser; validate_api_server_args: that parser is registered) and builds AsyncEngineArgs from the
result. vLLM 0.11's parser does NOT itself check --quantization (ModelConfig skips validating it until the model
is loaded), nor --tool-call-parser without --enable-auto-tool-choice, so those are checked here against
QUANTIZATION_METHODS and ToolParserManager, the registries vLLM resolves them with at start.
"""

import copy
from typing import Any, get_args

import pytest

from components.manifests import vllm
from models import parse_config, read_stack_file
from models import serving as serving_models
from offline.report import render_plan
from tests.conftest import NS, ROOT, plan_for, raw_config
from tests.consumers.require import vllm_python
from tests.consumers.vllm_parser import probe, serve_cases

pytestmark = pytest.mark.consumer

STACKS = {
    "dev": ROOT / "Pulumi.dev.yaml",
    "prod": ROOT / "Pulumi.prod.yaml",
    "local": ROOT / "Pulumi.local.yaml",
    "llama-seed": ROOT / "examples" / "Pulumi.llama-seed.yaml",
}
# Config enum -> the vLLM registry its values must come from.
ENUMS = {
    "tool_call_parser": serving_models.ToolCallParser,
    "reasoning_parser": serving_models.ReasoningParser,
    "quantization": serving_models.Quantization,
    "dtype": serving_models.Dtype,
    "kv_cache_dtype": serving_models.KvCacheDtype,
}
FIELDS = {"tool_call_parser": "toolCallParser", "reasoning_parser": "reasoningParser", "dtype": "dtype"}
FIELDS |= {"quantization": "quantization", "kv_cache_dtype": "kvCacheDtype"}
# Lists vLLM must refuse, so a probe that accepts everything cannot pass: (who, args, expected error part).
CONTROLS = [
    ("control/internlm2", ["m", "--tool-call-parser=internlm2", "--enable-auto-tool-choice"], "invalid tool call"),
    ("control/no-parser", ["m", "--enable-auto-tool-choice"], "requires --tool-call-parser"),
    ("control/reasoning", ["m", "--reasoning-parser=nope"], "invalid choice"),
    ("control/template", ["m", "--chat-template=/etc/vllm/missing.jinja"], "doesn't exist"),
    ("control/runner", ["m", "--runner=embed"], "invalid choice"),
]


def _every_field_raw() -> dict[str, Any]:
    """dev with every optional vLLM field set, so each flag the builder can emit goes through the parser."""
    raw = copy.deepcopy(raw_config("dev"))
    raw["models"][0].update(
        chatTemplate="{% for m in messages %}{{ m.content }}{% endfor %}",
        toolCallParser="hermes",
        enableAutoToolChoice=True,
        reasoningParser="deepseek_r1",
        kvCacheDtype="fp8",
        enableChunkedPrefill=False,
        maxNumBatchedTokens=4096,
        maxNumSeqs=16,
        revision="main",
        cpuOffloadGB=2,
        disableCustomAllReduce=True,
    )
    embed = next(m for m in raw_config("prod")["models"] if m.get("mode") == "embedding" and m["engine"] == "vllm")
    raw["models"].append({**embed, "pool": raw["models"][0]["pool"], "name": "vllm-embed", "registerInGateway": False})
    return raw


def _enum_cases() -> list[dict[str, Any]]:
    """Every value each config enum accepts, rendered by the real builder from a dev model."""
    cases = []
    for key, enum in ENUMS.items():
        for value in get_args(enum):
            if not value:
                continue
            raw = copy.deepcopy(raw_config("dev"))
            raw["models"][0][FIELDS[key]] = value
            if key == "tool_call_parser":
                raw["models"][0]["enableAutoToolChoice"] = True  # only then does vLLM resolve the parser
            spec = parse_config(raw).models[0]
            cases.append({"who": f"enum/{key}={value}", "args": vllm.vllm_args(spec), "files": {}})
    return cases


# The RoPE-scaling fix that models/vllm_sizing.py's context message suggests, and the sizing table's new models.
ROPE = '--rope-scaling={"rope_type":"yarn","factor":2.0,"original_max_position_embeddings":32768}'
SIZING = {
    "sizing/rope-scaling": {"maxModelLen": 65536, "extraArgs": [ROPE]},
    "sizing/gemma-3": {
        "modelName": "google/gemma-3-4b-it",
        "weightsGiB": 8.6,
        "cacheGiB": 20,
        "quantization": None,
        "maxModelLen": None,
        "gpuMemoryUtilization": 0.95,
    },
}


def _sizing_cases() -> list[dict[str, Any]]:
    cases = []
    for who, changes in SIZING.items():
        raw = copy.deepcopy(raw_config("dev"))
        raw["models"][0].update({k: v for k, v in changes.items() if v is not None})
        for k in [k for k, v in changes.items() if v is None]:
            raw["models"][0].pop(k, None)
        cases.append({"who": who, "args": vllm.vllm_args(parse_config(raw).models[0]), "files": {}})
    return cases


@pytest.fixture(scope="module")
def answer() -> dict[str, Any]:
    python = vllm_python()
    cases: list[dict[str, Any]] = []
    for stack, path in STACKS.items():
        cases += serve_cases(render_plan(path, stack), stack)
    cases += serve_cases(plan_for(_every_field_raw()), "every-field")
    cases += _enum_cases()
    cases += _sizing_cases()
    cases += [{"who": who, "args": args, "files": {}} for who, args, _ in CONTROLS]
    got = probe(python, cases)
    got["by_who"] = {r["who"]: r for r in got["results"]}
    return got


def _stack_results(answer: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in answer["results"] if r["who"].split("/")[0] in (*STACKS, "every-field")]


class TestVllmParserTier:
    def test_it_is_vllm_0_11_on_the_cpu_platform(self, answer):
        assert answer["vllm"] == "0.11.0"
        assert answer["platform"] == "CpuPlatform"

    def test_every_stack_model_is_parsed(self, answer):
        for stack, path in STACKS.items():
            raw = {k.removeprefix(NS): v for k, v in read_stack_file(path).items() if k.startswith(NS)}
            declared = {m["name"] for m in raw.get("models", []) if m.get("engine") == "vllm"}
            parsed = {r["who"].split("/", 1)[1] for r in answer["results"] if r["who"].startswith(stack + "/")}
            assert parsed == declared, stack
        assert len(_stack_results(answer)) >= 8  # dev 3 + prod 5 + every-field 4

    def test_vllm_accepts_the_sizing_rules_suggested_args(self, answer):
        for who in SIZING:
            assert answer["by_who"][who]["ok"], answer["by_who"][who]["error"]
        assert answer["by_who"]["sizing/rope-scaling"]["parsed"]["max_model_len"] == 65536

    def test_vllm_accepts_every_rendered_arg_list(self, answer):
        bad = {r["who"]: r["error"] for r in _stack_results(answer) if not r["ok"]}
        assert not bad

    def test_no_deprecated_flag_is_rendered(self, answer):
        """--task is deprecated in 0.11 (removed in 0.13); embeddings use --runner=pooling."""
        for r in _stack_results(answer):
            assert r["deprecated"] == [] and r["parsed"]["task"] is None, r["who"]
        assert answer["by_who"]["prod/coder-embed"]["parsed"]["runner"] == "pooling"
        assert answer["by_who"]["every-field/vllm-embed"]["parsed"]["runner"] == "pooling"

    def test_rendered_quantization_and_tool_parser_are_registered(self, answer):
        """The parser lets any --quantization through (vLLM looks it up in QUANTIZATION_METHODS at load), and any
        --tool-call-parser when auto tool choice is off (it is resolved in ToolParserManager per request)."""
        methods, parsers = set(answer["registries"]["quantization"]), set(answer["registries"]["tool_call_parser"])
        for r in _stack_results(answer):
            q, t = r["parsed"]["quantization"], r["parsed"]["tool_call_parser"]
            assert q is None or q in methods, f"{r['who']}: --quantization={q} is not one of vLLM's methods"
            assert t is None or t in parsers, f"{r['who']}: --tool-call-parser={t} is not registered"

    def test_chat_template_and_tool_choice_pass_vllms_prestart_checks(self, answer):
        r = answer["by_who"]["every-field/coder-chat"]
        assert r["ok"], r["error"]
        assert r["parsed"]["enable_auto_tool_choice"] and r["parsed"]["tool_call_parser"] == "hermes"
        assert r["parsed"]["chat_template"].endswith(f"{vllm.TEMPLATE_MOUNT}/{vllm.TEMPLATE_FILE}")
        assert r["parsed"]["kv_cache_dtype"] == "fp8"

    def test_the_probe_rejects_what_vllm_refuses(self, answer):
        for who, _, expected in CONTROLS:
            r = answer["by_who"][who]
            assert not r["ok"] and expected in (r["error"] or ""), (who, r["error"])


class TestConfigEnumsAreVllms:
    """Every value a config enum accepts is one vLLM 0.11 registers: no config passes validation and then
    crash-loops on `invalid tool call parser` or an unknown quantization."""

    @pytest.mark.parametrize("key", sorted(ENUMS))
    def test_enum_is_a_subset_of_the_vllm_registry(self, answer, key):
        ours = {v for v in get_args(ENUMS[key]) if v}
        assert ours - set(answer["registries"][key]) == set()

    def test_every_enum_value_passes_the_parser(self, answer):
        bad = {r["who"]: r["error"] for r in answer["results"] if r["who"].startswith("enum/") and not r["ok"]}
        assert not bad
        choices = answer["registries"]["parser_choices"]
        assert set(get_args(serving_models.Dtype)) <= set(choices["dtype"])
        assert set(get_args(serving_models.KvCacheDtype)) <= set(choices["kv_cache_dtype"])
