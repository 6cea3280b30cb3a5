"""The rendered dev gateway for bench/gateway_load.py, localised: its LiteLLM proxy and one llama-server.

The dev stack's `litellm-config` ConfigMap is rendered and only addresses change (the chat model and the
availability hook's probe target point at a real llama-server, every other model at a closed port); the
proxy runs with the rendered Deployment's container args and literal env values.
"""

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bench.cpu_share import pin
from offline.report import render_plan
from tests.consumers.litellm_proxy import drop_shared_state, find_litellm, free_port, run_litellm_proxy
from tests.consumers.llama_server import find_llama_server, run_llama_server
from tests.consumers.tiny_gguf import ensure_tiny_gguf

ROOT = Path(__file__).resolve().parent.parent
MASTER, UPSTREAM = "sk-bench-master", "bench-upstream-key"


# --------------------------------------------------------------------------- #
# the rendered gateway, localised
# --------------------------------------------------------------------------- #
@dataclass
class Gateway:
    config: dict[str, Any]
    availability: dict[str, Any]
    hooks: dict[str, str]  # every callback module the ConfigMap ships: file name -> source
    args: list[str]  # rendered container args minus --config/--port/--host
    env: dict[str, str]  # rendered literal env values (secretKeyRef ones are set by the bench)
    chat_alias: str
    served_name: str

    @property
    def workers(self) -> int:
        return int(next((v for k, v in zip(self.args, self.args[1:], strict=False) if k == "--num_workers"), 1))


def rendered_gateway(stack_file: Path = ROOT / "Pulumi.dev.yaml") -> Gateway:
    plan = render_plan(stack_file, stack_file.stem.split(".", 1)[-1])
    data = plan.one("ConfigMap", "litellm-config")["data"]
    config = yaml.safe_load(data["config.yaml"])
    running = {d["metadata"]["name"] for d in plan.find("Deployment") if d["spec"]["replicas"] > 0}
    chat = next(
        e for e in config["model_list"] if e["model_name"] in running and e["model_info"].get("mode", "chat") == "chat"
    )
    (container,) = plan.one("Deployment", "litellm")["spec"]["template"]["spec"]["containers"]
    args, it = [], iter(container.get("args", []))
    for arg in it:
        if arg in ("--config", "--port", "--host"):
            next(it, None)
        elif not arg.startswith(("--config=", "--port=", "--host=")):
            args.append(arg)
    env = {e["name"]: str(e["value"]) for e in container.get("env", []) if "value" in e}
    return Gateway(
        config,
        json.loads(data["availability.json"]),
        {k: v for k, v in data.items() if k.endswith(".py")},
        args,
        env,
        chat["model_name"],
        chat["litellm_params"]["model"].split("/", 1)[1],
    )


def localise(gw: Gateway, work: Path, chat_port: int) -> Path:
    """Write config.yaml, the hooks and availability.json into `work`; only addresses and the DB change."""
    config, availability = json.loads(json.dumps(gw.config)), json.loads(json.dumps(gw.availability))
    for entry in config["model_list"]:
        name = entry["model_name"]
        port = chat_port if name == gw.chat_alias else free_port()  # a closed port: the model has no pod
        entry["litellm_params"]["api_base"] = f"http://127.0.0.1:{port}/v1"
        if name in availability:
            availability[name].update(host="127.0.0.1", port=port)
    drop_shared_state(config)  # the database, and Redis: figures exclude Redis round trips
    (work / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    (work / "availability.json").write_text(json.dumps(availability))
    for name, text in gw.hooks.items():
        (work / name).write_text(text)
    return work / "config.yaml"


def cores() -> list[int]:
    return sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else list(range(os.cpu_count() or 1))


def llama_threads() -> int:
    """Half the cores (2 here: one thread); the rest stay with the proxy and the load generator."""
    return max(1, len(cores()) // 2)


@contextlib.contextmanager
def servers(gw: Gateway, work: Path, concurrency: int, max_tokens: int) -> Iterator[tuple[Any, Any]]:
    """Yield the (LiteLLMProxy, LlamaServer) handles."""
    llama, litellm = find_llama_server(), find_litellm()
    if llama is None or litellm is None:
        raise SystemExit(
            "needs llama-server and litellm: bash .ci/install_llama_server.sh; bash .ci/install_litellm.sh"
        )
    gguf = ensure_tiny_gguf(work / "tiny.gguf")
    slots = max(1, concurrency)
    argv = [
        "-m",
        str(gguf),
        "--alias",
        gw.served_name,
        "--parallel",
        str(slots),
        "--ctx-size",
        str(slots * max(256, max_tokens + 128)),
        "--threads",
        str(llama_threads()),
        "--n-gpu-layers",
        "0",
        "--poll",
        "0",
        # The proxy's pooled keep-alive connections each hold an HTTP thread: room for them and the client.
        "--threads-http",
        str(4 * slots),
    ]
    chat_port = free_port()
    with run_llama_server(argv, port=chat_port, bin_path=llama, env={"LLAMA_API_KEY": UPSTREAM}) as direct:
        if len(cores()) > 1:  # the model's own node: it never takes the gateway's cores
            pin(direct.proc.pid, set(cores()[-llama_threads() :]))
        config_path = localise(gw, work, chat_port)
        env = {**gw.env, "LITELLM_MASTER_KEY": MASTER, "UPSTREAM_API_KEY": UPSTREAM, "DATABASE_URL": None}
        if gw.workers > 1:
            # Workers share their prometheus samples through this folder; a private one, so that two proxies
            # on this machine never wipe each other's (the proxy's default is a fixed path under /tmp).
            (work / "prometheus").mkdir(exist_ok=True)
            env["PROMETHEUS_MULTIPROC_DIR"] = str(work / "prometheus")
        with run_litellm_proxy(
            config_path, free_port(), env=env, extra_args=gw.args, litellm_bin=litellm, timeout=180
        ) as proxy:
            yield proxy, direct
