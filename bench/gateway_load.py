#!/usr/bin/env python3
"""Load through the real gateway (issue 6, point 6): the rendered LiteLLM proxy vs. llama-server direct.

    .venv/bin/python bench/gateway_load.py                          # 500 requests at concurrency 16
    .venv/bin/python bench/gateway_load.py --requests 100 --concurrency 4 --rounds 1

What runs, all on 127.0.0.1:
- the dev stack is rendered (offline.report.render_plan); its `litellm-config` ConfigMap is localised the way
  tests/consumers/test_gateway_e2e.py does it: the running chat model's api_base and the availability hook's
  probe target point at one real llama-server serving a tiny GGUF under the model's served name, every other
  model at a closed port; the database settings are dropped (Prisma cannot run here);
- the real LiteLLM proxy starts from that config with the rendered Deployment's container args (minus
  --config/--port, which the harness sets) and its literal env values (LITELLM_LOG, ...);
- the same chat load (N requests, C keep-alive connections, temperature 0, fixed max_tokens) goes through the
  gateway and straight to llama-server, after a warm-up, in alternating rounds; per side the round with the
  median p50 is reported, and the ratio is gateway p50 / direct p50.
Target: 0 errors and a p50 ratio <= 1.3. Prints figures; asserts nothing (not a timed test). Exit code 1 only
when a request failed.
"""

import argparse
import contextlib
import os
import http.client
import json
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from offline.report import render_plan  # noqa: E402
from tests.consumers.litellm_proxy import find_litellm, free_port, run_litellm_proxy  # noqa: E402
from tests.consumers.llama_server import find_llama_server, run_llama_server  # noqa: E402
from tests.consumers.tiny_gguf import ensure_tiny_gguf  # noqa: E402

MASTER, UPSTREAM = "sk-bench-master", "bench-upstream-key"
TARGET_RATIO = 1.3
REQUEST_TIMEOUT = 60.0  # seconds per request; a side also stops at its own deadline
SIDE_DEADLINE = 600.0
# Prompt and generation length per request. The tiny GGUF never emits EOS, so every reply is exactly
# MAX_TOKENS tokens long (finish_reason "length"): the backend does the same work for every request.
MAX_TOKENS = 8
PROMPT = "Write a short greeting."


# --------------------------------------------------------------------------- #
# the rendered gateway, localised
# --------------------------------------------------------------------------- #
@dataclass
class Gateway:
    config: dict[str, Any]
    availability: dict[str, Any]
    hook_name: str
    hook_text: str
    args: list[str]          # rendered container args minus --config/--port/--host
    env: dict[str, str]      # rendered literal env values (secretKeyRef ones are set by the bench)
    chat_alias: str
    served_name: str


def rendered_gateway(stack_file: Path = ROOT / "Pulumi.dev.yaml") -> Gateway:
    plan = render_plan(stack_file, stack_file.stem.split(".", 1)[-1])
    data = plan.one("ConfigMap", "litellm-config")["data"]
    config = yaml.safe_load(data["config.yaml"])
    running = {d["metadata"]["name"] for d in plan.find("Deployment") if d["spec"]["replicas"] > 0}
    chat = next(e for e in config["model_list"]
                if e["model_name"] in running and e["model_info"].get("mode", "chat") == "chat")
    (container,) = plan.one("Deployment", "litellm")["spec"]["template"]["spec"]["containers"]
    args, it = [], iter(container.get("args", []))
    for arg in it:
        if arg in ("--config", "--port", "--host"):
            next(it, None)
        elif not arg.startswith(("--config=", "--port=", "--host=")):
            args.append(arg)
    env = {e["name"]: str(e["value"]) for e in container.get("env", []) if "value" in e}
    hook = next(k for k in data if k.endswith(".py"))
    return Gateway(config, json.loads(data["availability.json"]), hook, data[hook], args, env,
                   chat["model_name"], chat["litellm_params"]["model"].split("/", 1)[1])


def localise(gw: Gateway, work: Path, chat_port: int) -> Path:
    """Write config.yaml, the hook and availability.json into `work`; only addresses and the DB change."""
    config, availability = json.loads(json.dumps(gw.config)), json.loads(json.dumps(gw.availability))
    for entry in config["model_list"]:
        name = entry["model_name"]
        port = chat_port if name == gw.chat_alias else free_port()  # a closed port: the model has no pod
        entry["litellm_params"]["api_base"] = f"http://127.0.0.1:{port}/v1"
        if name in availability:
            availability[name].update(host="127.0.0.1", port=port)
    for key in ("database_url", "store_model_in_db"):
        config.get("general_settings", {}).pop(key, None)
    (work / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    (work / "availability.json").write_text(json.dumps(availability))
    (work / gw.hook_name).write_text(gw.hook_text)
    return work / "config.yaml"


def llama_threads() -> int:
    """Leave a core to the proxy and the load generator (2 cores here: one thread)."""
    return max(1, (os.cpu_count() or 2) // 2)


@contextlib.contextmanager
def servers(gw: Gateway, work: Path, concurrency: int, max_tokens: int) -> Iterator[tuple[Any, Any]]:
    """Yield the (LiteLLMProxy, LlamaServer) handles."""
    llama, litellm = find_llama_server(), find_litellm()
    if llama is None or litellm is None:
        raise SystemExit("needs llama-server and litellm: bash .ci/install_llama_server.sh; "
                         "bash .ci/install_litellm.sh")
    gguf = ensure_tiny_gguf(work / "tiny.gguf")
    slots = max(1, concurrency)
    argv = ["-m", str(gguf), "--alias", gw.served_name, "--parallel", str(slots),
            "--ctx-size", str(slots * max(256, max_tokens + 128)), "--threads", str(llama_threads()), "--n-gpu-layers", "0"]
    chat_port = free_port()
    with run_llama_server(argv, port=chat_port, bin_path=llama, env={"LLAMA_API_KEY": UPSTREAM}) as direct:
        config_path = localise(gw, work, chat_port)
        env = {**gw.env, "LITELLM_MASTER_KEY": MASTER, "UPSTREAM_API_KEY": UPSTREAM, "DATABASE_URL": None}
        with run_litellm_proxy(config_path, free_port(), env=env, extra_args=gw.args, litellm_bin=litellm,
                               timeout=180) as proxy:
            yield proxy, direct


def cpu_seconds(pgid: int) -> float:
    """user+system CPU seconds of every live process in a process group (Linux /proc; 0 elsewhere)."""
    tick, total = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100, 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid:  # fields after "(comm)": state ppid pgrp ... utime(11) stime(12)
                total += int(fields[11]) + int(fields[12])
    return total / tick


# --------------------------------------------------------------------------- #
# load generator: C threads, one keep-alive connection each
# --------------------------------------------------------------------------- #
@dataclass
class Side:
    name: str
    requests: int
    concurrency: int
    wall: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds per process during this run

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        xs = sorted(self.latencies)
        return xs[min(len(xs) - 1, max(0, round(q * len(xs)) - 1))]

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies) if self.latencies else float("nan")

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.wall if self.wall else 0.0

    def line(self) -> str:
        return (f"{self.name:<8} n={self.requests:<4} c={self.concurrency:<3} errors={len(self.errors):<3} "
                f"p50={self.p50 * 1000:7.1f} ms  p95={self.pct(0.95) * 1000:7.1f} ms  "
                f"max={max(self.latencies, default=float('nan')) * 1000:7.1f} ms  {self.throughput:6.1f} req/s  cpu "
                + " ".join(f"{k}={v:.1f}s" for k, v in self.cpu.items()))


def fire(base_url: str, key: str, model: str, n: int, concurrency: int, name: str = "",
         max_tokens: int = MAX_TOKENS, deadline: float = SIDE_DEADLINE) -> Side:
    """Send n chat requests over `concurrency` keep-alive connections; every one is timed and checked."""
    host, port = base_url.removeprefix("http://").rsplit(":", 1)
    body = json.dumps({"model": model, "messages": [{"role": "user", "content": PROMPT}],
                       "max_tokens": max_tokens, "temperature": 0}).encode()
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
    side, lock, left = Side(name, n, concurrency), threading.Lock(), [n]
    stop_at = time.monotonic() + deadline

    def worker() -> None:
        conn = None
        while True:
            with lock:
                if left[0] <= 0:
                    break
                left[0] -= 1
            if time.monotonic() > stop_at:
                with lock:
                    side.errors.append("side deadline passed")
                continue
            t0 = time.perf_counter()
            try:
                conn = conn or http.client.HTTPConnection(host, int(port), timeout=REQUEST_TIMEOUT)
                conn.request("POST", "/v1/chat/completions", body, headers)
                resp = conn.getresponse()
                raw = resp.read()
                dt = time.perf_counter() - t0
                reply = json.loads(raw) if resp.status == 200 else None
                ok = bool(reply and reply.get("choices") and reply["choices"][0]["message"].get("content"))
                err = None if ok else f"HTTP {resp.status}: {raw[:200]!r}"
                if resp.getheader("connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException, ValueError) as exc:
                dt, err = time.perf_counter() - t0, f"{type(exc).__name__}: {exc}"
                if conn is not None:
                    conn.close()
                conn = None
            with lock:
                (side.errors.append(err) if err else side.latencies.append(dt))
        if conn is not None:
            conn.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(max(1, min(concurrency, n)))]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(deadline + REQUEST_TIMEOUT)
    side.wall = time.perf_counter() - t0
    return side


# --------------------------------------------------------------------------- #
# the benchmark
# --------------------------------------------------------------------------- #
@dataclass
class Result:
    gateway: Side
    direct: Side
    rounds: dict[str, list[Side]]
    settings: dict[str, Any]

    @property
    def errors(self) -> int:
        return sum(len(s.errors) for runs in self.rounds.values() for s in runs)

    @property
    def ratio(self) -> float:
        return self.gateway.p50 / self.direct.p50 if self.direct.p50 else float("inf")

    def summary(self) -> str:
        verdict = "PASS" if self.errors == 0 and self.ratio <= TARGET_RATIO else "MISS"
        return (f"gateway_load {verdict}: n={self.gateway.requests} c={self.gateway.concurrency} "
                f"errors={self.errors} gateway p50={self.gateway.p50 * 1000:.1f}ms "
                f"p95={self.gateway.pct(0.95) * 1000:.1f}ms {self.gateway.throughput:.0f}req/s | "
                f"direct p50={self.direct.p50 * 1000:.1f}ms p95={self.direct.pct(0.95) * 1000:.1f}ms "
                f"{self.direct.throughput:.0f}req/s | p50 ratio={self.ratio:.2f} (target <= {TARGET_RATIO})")


def median_run(runs: list[Side]) -> Side:
    """The round whose p50 is the median (the lower middle one for an even count)."""
    ordered = sorted(runs, key=lambda s: s.p50)
    return ordered[(len(ordered) - 1) // 2]


def run_benchmark(requests: int = 500, concurrency: int = 16, rounds: int = 3, max_tokens: int = MAX_TOKENS,
                  warmup: int | None = None, stack_file: Path = ROOT / "Pulumi.dev.yaml",
                  log=print) -> Result:  # noqa: ANN001
    """Render, start both servers, warm up, then alternate gateway/direct rounds of `requests` each."""
    gw = rendered_gateway(stack_file)
    warmup = 2 * concurrency if warmup is None else warmup
    settings = {"container args": " ".join(gw.args), **{f"env {k}": v for k, v in gw.env.items()},
                "litellm_settings": gw.config.get("litellm_settings"),
                "router_settings": gw.config.get("router_settings"),
                "general_settings": {k: v for k, v in gw.config.get("general_settings", {}).items()
                                     if k != "master_key"}}
    with tempfile.TemporaryDirectory(prefix="gateway-load-") as tmp, \
            servers(gw, Path(tmp), concurrency, max_tokens) as (proxy, llama):
        targets = {"gateway": (proxy.base_url, MASTER, gw.chat_alias),
                   "direct": (llama.base_url, UPSTREAM, gw.served_name)}
        groups = {"proxy": proxy.proc.pid, "llama": llama.proc.pid}
        log(f"rendered gateway: {settings['container args']} | model {gw.chat_alias} -> {gw.served_name} | "
            f"llama-server --parallel {concurrency} --threads {llama_threads()} | max_tokens {max_tokens}")
        for name, (url, key, model) in targets.items():
            warm = fire(url, key, model, warmup, concurrency, f"warm-{name}", max_tokens, deadline=120)
            log(f"  warm-up {name}: {len(warm.latencies)} ok, {len(warm.errors)} errors"
                + (f" (first: {warm.errors[0]})" if warm.errors else ""))
        runs: dict[str, list[Side]] = {"gateway": [], "direct": []}
        for i in range(rounds):
            for name, (url, key, model) in targets.items():
                before = {k: cpu_seconds(g) for k, g in groups.items()} | {"client": time.process_time()}
                side = fire(url, key, model, requests, concurrency, name, max_tokens)
                after = {k: cpu_seconds(g) for k, g in groups.items()} | {"client": time.process_time()}
                side.cpu = {k: after[k] - before[k] for k in before}
                runs[name].append(side)
                log(f"  round {i + 1}: {side.line()}" + (f"  first error: {side.errors[0]}" if side.errors else ""))
    return Result(median_run(runs["gateway"]), median_run(runs["direct"]), runs, settings)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=500, help="requests per side per round (default 500)")
    ap.add_argument("--concurrency", type=int, default=16, help="parallel keep-alive connections (default 16)")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds per side; median p50 (default 3)")
    ap.add_argument("--max-tokens", type=int, default=MAX_TOKENS,
                    help=f"tokens generated per request, always exactly this many (default {MAX_TOKENS})")
    ap.add_argument("--stack-file", type=Path, default=ROOT / "Pulumi.dev.yaml")
    args = ap.parse_args(argv)
    if not (1 <= args.requests <= 10000 and 1 <= args.concurrency <= 64 and 1 <= args.rounds <= 9
            and 1 <= args.max_tokens <= 1024):
        ap.error("bounds: --requests 1..10000, --concurrency 1..64, --rounds 1..9, --max-tokens 1..1024")
    res = run_benchmark(args.requests, args.concurrency, args.rounds, args.max_tokens, stack_file=args.stack_file)
    print("gateway settings:", json.dumps(res.settings, sort_keys=True))
    print(res.gateway.line())
    print(res.direct.line())
    print(res.summary())
    return 1 if res.errors else 0


if __name__ == "__main__":
    sys.exit(main())
