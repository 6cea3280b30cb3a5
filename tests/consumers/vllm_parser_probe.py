"""Runs inside .venv-vllm (vLLM 0.11.0, never the project venv): vLLM's own `vllm serve` parser and registries.

    python vllm_parser_probe.py < request.json > answer.json
    python vllm_parser_probe.py --version-check 0.11.0

request: {"cases": [{"who": str, "args": [str, ...], "files": {path: text}}]}; "args" is what the pod passes to
`vllm serve`, "files" the ConfigMap files its mounts provide (written to a scratch root, and every arg that
points into one of their folders is pointed there instead).
answer: {"vllm": version, "platform": str, "registries": {...}, "results": [{"who", "ok", "error", "parsed",
"deprecated"}]}. Only the standard library and vLLM are imported: the checks that compare live in the tests.
"""

import argparse
import contextlib
import io
import json
import os
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path
from typing import Any, get_args

os.environ.setdefault("VLLM_LOGGING_LEVEL", "ERROR")
os.environ.setdefault("VLLM_NO_USAGE_STATS", "1")
# The pod runs with HF_HUB_OFFLINE=1, where EngineArgs swaps the model id for its staged snapshot; there is no
# cache here, so the probe stays in online mode, in which constructing EngineArgs makes no hub call.
os.environ["HF_HUB_OFFLINE"] = "0"


def select_platform() -> str:
    """Pick vLLM's CpuPlatform on a machine without a GPU, before anything resolves `current_platform`.

    On a GPU-less machine vLLM 0.11 would fall back to UnspecifiedPlatform, whose missing device type breaks
    EngineArgs; a CPU build of vLLM would detect CpuPlatform itself, this CUDA wheel does not.
    """
    from vllm import platforms

    if platforms._current_platform is None:
        qualname = platforms.resolve_current_platform_cls_qualname()
        if qualname.endswith("UnspecifiedPlatform"):
            from vllm.platforms.cpu import CpuPlatform

            platforms._current_platform = CpuPlatform()
    return type(platforms.current_platform).__name__


def serve_parser() -> tuple[argparse.ArgumentParser, Any]:
    """The parser `vllm serve` builds (vllm/entrypoints/cli/main.py), with only the serve subcommand."""
    from vllm.entrypoints.cli import serve
    from vllm.utils import FlexibleArgumentParser

    parser = FlexibleArgumentParser(description="vLLM CLI")
    subparsers = parser.add_subparsers(required=False, dest="subparser")
    (cmd,) = [c for c in serve.cmd_init() if c.name == "serve"]
    cmd.subparser_init(subparsers).set_defaults(dispatch_function=cmd.cmd)
    return parser, cmd


def choices(parser: argparse.ArgumentParser) -> dict[str, list[str]]:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    serve = sub.choices["serve"]
    return {a.dest: sorted(map(str, a.choices)) for a in serve._actions if a.choices}


def registries(parser: argparse.ArgumentParser) -> dict[str, list[str]]:
    from vllm.config.cache import CacheDType
    from vllm.config.model import ModelDType, RunnerOption
    from vllm.entrypoints.openai.tool_parsers import ToolParserManager
    from vllm.model_executor.layers.quantization import QUANTIZATION_METHODS
    from vllm.reasoning import ReasoningParserManager

    return {
        "tool_call_parser": sorted(ToolParserManager.tool_parsers),
        "reasoning_parser": sorted(ReasoningParserManager.reasoning_parsers),
        "quantization": sorted(QUANTIZATION_METHODS),
        "dtype": sorted(get_args(ModelDType)),
        "kv_cache_dtype": sorted(get_args(CacheDType)),
        "runner": sorted(get_args(RunnerOption)),
        "parser_choices": choices(parser),  # type: ignore[dict-item]
    }


def _materialise(case: dict[str, Any], root: Path) -> list[str]:
    """Write the mounted files under root and point the args at them."""
    args = list(case["args"])
    for path, text in case.get("files", {}).items():
        local = root / path.lstrip("/")
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_text(text)
    folders = {str(Path(p).parent) for p in case.get("files", {})}
    for i, arg in enumerate(args):
        for folder in folders:
            if f"={folder}/" in arg:
                args[i] = arg.replace(f"={folder}/", f"={root}{folder}/", 1)
    return args


def check(parser: argparse.ArgumentParser, cmd: Any, case: dict[str, Any], root: Path) -> dict[str, Any]:
    from vllm.engine.arg_utils import AsyncEngineArgs
    from vllm.entrypoints.openai.api_server import validate_api_server_args
    from vllm.utils import FlexibleArgumentParser

    result: dict[str, Any] = {"who": case["who"], "ok": False, "error": None, "parsed": {}, "deprecated": []}
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            ns = parser.parse_args(["serve", *_materialise(case, root)])
        cmd.validate(ns)  # validate_parsed_serve_args: the chat template, auto tool choice needs a parser
        validate_api_server_args(ns)  # what `vllm serve` checks before loading: registered tool/reasoning parser
        if ns.model_tag is not None:  # ServeSubcommand.cmd
            ns.model = ns.model_tag
        AsyncEngineArgs.from_cli_args(ns)  # every parsed flag maps onto an engine argument
    except SystemExit:
        result["error"] = err.getvalue().strip().splitlines()[-1] if err.getvalue().strip() else "argparse exit"
        return result
    except Exception as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"
        return result
    keys = ("model", "served_model_name", "quantization", "dtype", "kv_cache_dtype", "tool_call_parser")
    keys += ("reasoning_parser", "enable_auto_tool_choice", "chat_template", "runner", "task", "max_model_len")
    result["parsed"] = {k: _plain(getattr(ns, k, None)) for k in keys}
    deprecated = getattr(FlexibleArgumentParser, "_deprecated", set())
    result["deprecated"] = sorted(a.dest for a in deprecated if getattr(ns, a.dest, a.default) != a.default)
    result["ok"] = True
    return result


def _plain(value: Any) -> Any:
    return value if value is None or isinstance(value, (str, int, float, bool, list)) else str(value)


def main(argv: list[str]) -> int:
    platform = select_platform()
    parser, cmd = serve_parser()
    if argv[:1] == ["--version-check"]:
        got = version("vllm")
        if got != argv[1]:
            print(f"vllm {got} installed, expected {argv[1]}", file=sys.stderr)
            return 1
        print(f"vllm {got} serve parser on {platform}: {len(registries(parser)['tool_call_parser'])} tool parsers")
        return 0
    request = json.load(sys.stdin)
    with tempfile.TemporaryDirectory() as tmp:
        results = [check(parser, cmd, case, Path(tmp) / str(i)) for i, case in enumerate(request["cases"])]
    answer = {"vllm": version("vllm"), "platform": platform, "registries": registries(parser), "results": results}
    json.dump(answer, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
