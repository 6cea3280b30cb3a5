"""Scale from zero on the local control plane (issue 16); writes OUT/scale.json, exit 1 when a check fails.

    python -m e2e.scale STACK_FILE --model NAME --load-seconds D --out DIR --pulumi-env ENV --keda-bin DIR
        [--hold S] [--cluster-dir D]

The stack's kubeconfig variant (e2e/stack_variant.py) with NAME and a second vLLM model of its pool on demand
(startupSeconds 30, idleMinutes 1) and every other vLLM model of that pool fixed at 0, `pulumi up` on the local
control plane, then: KEDA's real operator (scripts/engine/build_keda.sh) reads the rendered demand URL through a
forward proxy to the real LiteLLM proxy (the applied ConfigMap, a real Redis) on 127.0.0.1; kwok makes the
model's pods Ready D seconds after they start (the `llm-platform.test/ready-after` annotation); a fake OpenAI
backend on 127.0.0.1 answers only while a pod is Ready. A client asks NAME once and retries after Retry-After.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from e2e import assets, observe, scale_rig
from e2e.driver import cluster_up, current_context, namespaces
from e2e.engine import REPO, Engine, change_counts, environment
from e2e.report import write_scenario
from e2e.stack_variant import stack_name, write_variant
from tests.consumers.litellm_proxy import http_json

DEMAND = "llm_platform_model_demand"


def on_demand_variant(variant: Path, model: str, hold: int) -> dict[str, str]:
    """Switch `model` and one more vLLM model of its pool to on demand, the pool's other vLLM models to a fixed 0.
    Returns the roles: {target, other, hard}."""
    doc = yaml.safe_load(variant.read_text())
    cfg = doc["config"]
    models = cfg["llm-platform:models"]
    target = next(m for m in models if m["name"] == model)
    if target.get("engine") != "vllm":
        raise SystemExit(f"--model {model}: only vLLM models scale on demand")
    same_pool = [m for m in models if m.get("engine") == "vllm" and m.get("pool") == target["pool"] and m is not target]
    roles = {"target": model, "other": same_pool[0]["name"] if same_pool else "", "hard": ""}
    on = {"mode": "onDemand", "idleMinutes": 1, "maxReplicas": 1}
    target.update(replicas=0, startupSeconds=30, scaling=on)
    for i, m in enumerate(same_pool):
        if i == 0:
            m.update(replicas=0, startupSeconds=30, scaling=on)
        else:
            m.update(replicas=0)
            m.pop("scaling", None)
            roles["hard"] = roles["hard"] or m["name"]
    auto = cfg.setdefault("llm-platform:autoscaler", {})
    auto.update(keda="existing", holdSeconds=hold)
    variant.write_text(yaml.safe_dump(doc, sort_keys=False))
    return roles


class Timeline(threading.Thread):
    """Every second: replicas and Ready pods of the watched Deployments, from the API server."""

    def __init__(self, kube: scale_rig.Kube, namespace: str, names: list[str]) -> None:
        super().__init__(daemon=True)
        self.kube, self.namespace, self.names = kube, namespace, [n for n in names if n]
        self.rows: list[dict[str, Any]] = []
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            row: dict[str, Any] = {"t": time.monotonic()}
            try:
                deps = {
                    d["metadata"]["name"]: d for d in self.kube.json("get", "deploy", "-n", self.namespace)["items"]
                }
                pods = self.kube.json("get", "pods", "-n", self.namespace)["items"]
            except (RuntimeError, ValueError):
                self.halt.wait(1)
                continue
            for n in self.names:
                mine = [p for p in pods if p["metadata"].get("labels", {}).get("app.kubernetes.io/name") == n]
                row[n] = {
                    "replicas": (deps.get(n) or {}).get("spec", {}).get("replicas"),
                    "scheduled": sum(1 for p in mine if p["spec"].get("nodeName")),
                    "ready": sum(
                        1
                        for p in mine
                        if any(
                            c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", [])
                        )
                    ),
                }
            self.rows.append(row)
            self.halt.wait(1)

    def first(self, name: str, pred, after: float = 0.0) -> float | None:
        return next((r["t"] for r in self.rows if r["t"] >= after and name in r and pred(r[name])), None)

    def last(self, name: str) -> dict[str, Any]:
        return next((r[name] for r in reversed(self.rows) if name in r), {})


def ask(gw: scale_rig.Gateway, model: str, timeout: float = 120) -> tuple[int, dict, Any]:
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}
    url = gw.proxy.base_url + "/v1/chat/completions"
    return http_json("POST", url, key=scale_rig.MASTER, body=body, timeout=timeout)


REFUSALS = ("model_loading", "model_disabled", "model_not_available")


def refusal_type(body: Any) -> str | None:
    """The hook's refusal type: LiteLLM wraps the hook's detail inside its own error message."""
    text = json.dumps(body)
    return next((t for t in REFUSALS if t in text), None)


def spend_events(gw: scale_rig.Gateway, model: str) -> int:
    """Billed requests of `model` as LiteLLM's own prometheus callback counted them (its alias or served name)."""
    text = urllib.request.urlopen(gw.proxy.base_url + "/metrics", timeout=10).read().decode()
    names = {f'"{model}"', f'"{gw.served[model]}"', f'"openai/{gw.served[model]}"'}
    total = 0.0
    for line in text.splitlines():
        if line.startswith("litellm_requests_metric_total{") and any(n in line for n in names):
            total += float(line.rsplit(" ", 1)[1])
    return int(total)


def run(args: argparse.Namespace) -> dict[str, Any]:
    stack_file = Path(args.stack_file)
    base, _ = stack_name(stack_file)
    stack = "scale-" + base
    work = Path(tempfile.mkdtemp(prefix=f"llm-e2e-{stack}-"))
    env = environment(Path(args.pulumi_env))
    rep: dict[str, Any] = {"stack": str(stack_file), "model": args.model, "loadSeconds": args.load_seconds}
    errors: list[str] = []
    rep["errors"] = errors
    kubeconfig = cluster_up(stack_file, Path(args.cluster_dir), REPO, env)
    kube = scale_rig.Kube(kubeconfig)
    variant, _ = write_variant(stack_file, work, stack, current_context(kubeconfig))
    # from empty: what a killed earlier run kept in this control plane's store would collide with this `up`
    observe.Cluster(kubeconfig).delete_namespaces(set(namespaces(variant).values()))
    roles = on_demand_variant(variant, args.model, args.hold)
    rep["roles"] = roles
    doc = yaml.safe_load(variant.read_text())["config"]
    auto = doc.get("llm-platform:autoscaler", {})
    poll = int(auto.get("pollingIntervalSeconds", 15))
    rep["pollingIntervalSeconds"] = poll
    ns = {"serving": "serving", "gateway": "litellm", **(doc.get("llm-platform:namespaces") or {})}
    eng = Engine(work, stack, variant, env, kubeconfig)
    if not eng.init().ok:
        errors.append("pulumi stack init failed")
        return rep
    if not (res := eng.up()).ok:
        errors.append("pulumi up failed: " + res.output[-2000:])
        return rep
    for name in (roles["target"], roles["other"]):  # kwok: Ready D seconds after the pod starts (a load)
        if name:
            patch = {"spec": {"template": {"metadata": {"annotations": {assets.READY_AFTER: f"{args.load_seconds}s"}}}}}
            kube.run("patch", "deployment", name, "-n", ns["serving"], "--type=merge", "--field-manager=e2e-scale",
                     "-p", json.dumps(patch))  # fmt: skip
    kube.run("create", "namespace", "keda", check=False)
    certs = scale_rig.keda_certs(Path(args.cluster_dir) / "pki", work / "keda-certs")
    ports: dict[str, int] = {}
    gw = scale_rig.Gateway(kube, ns["gateway"], work / "gateway", Path(args.litellm), ports)
    backends = {
        n: scale_rig.GatedBackend(kube, ns["serving"], n, gw.served[n], ports[n])
        for n in (roles["target"], roles["other"])
        if n
    }
    forward = scale_rig.DemandForward(gw.demand["port"])
    timeline = Timeline(kube, ns["serving"], [roles["target"], roles["other"], roles["hard"]])
    timeline.start()
    try:
        with scale_rig.keda_operator(
            Path(args.keda_bin) / "keda-operator", kubeconfig, certs, ns["serving"], forward.url, work
        ) as keda:
            if args.rounds:
                rounds(rep, errors, gw, timeline, roles, poll, args)
            else:
                scenario(rep, errors, gw, keda, eng, timeline, roles, poll, args, backends)
            if (code := keda["proc"].poll()) is not None:  # it must have run the whole scenario
                errors.append(f"keda-operator exited ({code}) during the scenario: see {work}/keda-operator-*.log")
    finally:
        for b in backends.values():
            b.close()
        timeline.halt.set()
        gw.close()
        forward.shutdown()
    rep["forwardedDemandReads"] = forward.hits
    if not args.rounds and not (rep.get("backendCalls") == rep.get("client200") == rep.get("spendEvents")):
        errors.append(f"backendCalls {rep.get('backendCalls')}, client200 {rep.get('client200')} and spendEvents "
                      f"{rep.get('spendEvents')} differ")  # fmt: skip
    return rep


def from_zero(gw: scale_rig.Gateway, model: str, load: int) -> dict[str, Any]:
    """A client that honours Retry-After asks `model` until it answers 200 (or load + 180 s pass): t0, the first
    answer, the answers by status, and when the first 200 came (None: never)."""
    answers: dict[str, int] = {}
    t0 = time.monotonic()
    status, headers, body = ask(gw, model)
    first = {
        "status": status, "retryAfter": headers.get("retry-after"), "seconds": round(time.monotonic() - t0, 2),
        "type": refusal_type(body) if status != 200 else None,
    }  # fmt: skip
    answers[str(status)] = 1
    first_200 = time.monotonic() if status == 200 else None
    while first_200 is None and time.monotonic() < t0 + load + 180:
        time.sleep(float(headers.get("retry-after") or 5))
        status, headers, body = ask(gw, model)
        answers[str(status)] = answers.get(str(status), 0) + 1
        if status == 200:
            first_200 = time.monotonic()
    return {"t0": t0, "first": first, "answers": answers, "first200": first_200}


def rounds(rep, errors, gw, timeline, roles, poll, args) -> None:
    """--rounds N (bench/scale_overhead.py): N first requests, each from zero after the model idled out; only the
    platform's overhead on top of the load time is recorded."""
    target, load = roles["target"], args.load_seconds
    rep["overheadRounds"] = overheads = []
    for i in range(args.rounds):
        if i and wait_first(timeline, target, lambda r: r["replicas"] == 0 and not r["ready"], time.monotonic(),
                            60 + 3 * poll + 60) is None:  # fmt: skip
            errors.append(f"round {i + 1}: {target} did not go back to zero")
            return
        got = from_zero(gw, target, load)
        if got["first200"] is None:
            errors.append(f"round {i + 1}: {target} never answered 200 within {load + 180} s: {got['answers']}")
            return
        retry = int(got["first"]["retryAfter"] or 0)
        overheads.append({"overheadSeconds": round(got["first200"] - got["t0"] - load, 1), "retryAfter": retry})


def scenario(rep, errors, gw, keda, eng, timeline, roles, poll, args, backends) -> None:
    target, other, hard = roles["target"], roles["other"], roles["hard"]
    load = args.load_seconds
    got = from_zero(gw, target, load)
    t0, answers, first_200 = got["t0"], got["answers"], got["first200"]
    rep["firstAnswer"] = got["first"]
    rep["answersBetween"] = answers
    rep["client200"] = answers.get("200", 0)
    if first_200 is None:
        errors.append(f"{target} never answered 200 within {load + 180} s: {answers}")
        return
    up1 = timeline.first(target, lambda r: (r["replicas"] or 0) >= 1, t0)
    rep["secondsToReplicas1"] = round(up1 - t0, 1) if up1 else None
    rep["secondsToFirst200"] = round(first_200 - t0, 1)
    rep["overheadSeconds"] = round(first_200 - t0 - load, 1)
    limit = poll + 2 + (0 if args.hold else int(rep["firstAnswer"]["retryAfter"] or 0))
    rep["overheadLimitSeconds"] = limit
    if rep["overheadSeconds"] > limit:
        errors.append(f"overhead {rep['overheadSeconds']} s > {limit} s")
    if set(answers) - {"200", "503"}:
        errors.append(f"answers other than 200/503: {answers}")
    last_request = time.monotonic()
    time.sleep(2)  # LiteLLM logs the success (spend, the request counter) just after answering
    rep["spendEvents"] = spend_events(gw, target)  # before the gateway restarts: its counters are per process
    rep["backendCalls"] = backends[target].total()

    # One GPU, one model: the other on-demand model waits while the first holds the pool's only GPU.
    if other:
        o_status, _, o_body = ask(gw, other)
        time.sleep(poll + 5)
        pods = timeline.last(target).get("scheduled", 0) + timeline.last(other).get("scheduled", 0)
        rep["oneGpu"] = {"pods": pods, "otherStatus": o_status, "otherType": refusal_type(o_body),
                         "otherReplicas": timeline.last(other).get("replicas")}  # fmt: skip
        if o_status != 503 or pods != 1:
            errors.append(f"one GPU: {pods} GPU pods scheduled, {other} answered {o_status}")
    # A second preview with the model scaled up: KEDA owns replicas, Pulumi wants nothing.
    res = eng.preview(expect_no_changes=True)
    rep["previewAfterScaleUp"] = change_counts(res.json) if res.json else None
    if not res.ok:
        errors.append("preview after scale-up wants changes: " + json.dumps(rep["previewAfterScaleUp"]))
    # Hard zero: a fixed model at 0 stays at 0 under demand and is refused without loading.
    if hard:
        h_status, _, h_body = ask(gw, hard)
        time.sleep(poll + 2)
        kind = refusal_type(h_body)
        rep["hardZero"] = {"status": h_status, "type": kind, "replicas": timeline.last(hard).get("replicas")}
        rep["hardZeroHeld"] = h_status == 503 and kind == "model_not_available" and rep["hardZero"]["replicas"] == 0
        if not rep["hardZeroHeld"]:
            errors.append(f"hard zero: {hard} answered {h_status} ({kind}), replicas {timeline.last(hard)}")
    # Idle: back to zero idleMinutes after the last request (nothing restarted, so KEDA's polls keep their phase).
    idle = 60
    rep["idleSeconds"] = idle
    zero = wait_first(timeline, target, lambda r: r["replicas"] == 0, last_request, idle + 3 * poll + 60)
    rep["secondsToZero"] = round(zero - last_request, 1) if zero else None
    # KEDA sees the lingering request at its first poll after it (<= poll) and scales to zero at the poll
    # idle seconds later (idle is a multiple of the polling interval): within [idle, idle + poll].
    rep["secondsToZeroLimit"] = idle + poll + 3
    if zero is None or not (idle - 1 <= zero - last_request <= rep["secondsToZeroLimit"]):
        errors.append(f"secondsToZero {rep['secondsToZero']} not within [{idle}, {rep['secondsToZeroLimit']}]")
    if not other:
        return
    # The waiting model gets the GPU once the first idled out.
    started = wait_first(timeline, other, lambda r: r["ready"] >= 1, zero or 0, load + 60)
    rep["oneGpu"]["otherReadyAfterFirstIdled"] = started is not None
    if started is None:
        errors.append(f"{other} did not start after {target} idled out")
        return
    # Restart KEDA's operator and the gateway while the other model idles: the idle timer lives in the API
    # server (the ScaledObject's status) and the demand in Redis, not in either process.
    time.sleep(poll)
    keda["restart"]()
    gw.restart()
    rep["restarted"] = True
    other_zero = wait_first(timeline, other, lambda r: r["replicas"] == 0, started, 2 * idle + 4 * poll + 60)
    rep["restartsEndAtZero"] = other_zero is not None
    if other_zero is None:
        errors.append(f"{other} did not go back to zero after KEDA's operator and the gateway restarted")
        return
    # Held: with holdSeconds the first request waits for the pod instead of a 503 (the GPU is free again).
    hold = load + poll + 30
    gw.restart(hold=hold)
    t1 = time.monotonic()
    h_status, _, h_body = ask(gw, target, timeout=hold + 30)
    held = time.monotonic() - t1
    rep["held"] = {"holdSeconds": hold, "status": h_status, "seconds": round(held, 1),
                   "overheadSeconds": round(held - load, 1), "overheadLimitSeconds": poll + 2}  # fmt: skip
    if h_status != 200 or held - load > poll + 2:
        errors.append(f"held request: {h_status} after {held:.1f} s ({refusal_type(h_body)}); limit {load + poll + 2}")


def wait_first(timeline: Timeline, name: str, pred, after: float, within: float) -> float | None:
    """When the timeline first shows `pred` for `name` after `after`, waiting up to `within` seconds."""
    end = time.monotonic() + within
    while time.monotonic() < end:
        if (found := timeline.first(name, pred, after)) is not None:
            return found
        time.sleep(1)
    return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m e2e.scale", description=__doc__.splitlines()[0])
    ap.add_argument("stack_file")
    ap.add_argument("--model", required=True)
    ap.add_argument("--load-seconds", type=int, default=20)
    ap.add_argument("--hold", type=int, default=0, help="autoscaler.holdSeconds for the run")
    ap.add_argument("--rounds", type=int, default=0, help="only N first requests from zero (bench/scale_overhead.py)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--pulumi-env", required=True)
    ap.add_argument("--keda-bin", required=True)
    ap.add_argument("--litellm", required=True, help="the litellm CLI (.ci/install_litellm.sh)")
    ap.add_argument("--cluster-dir", default=str(Path(tempfile.gettempdir()) / "llm-platform-scale-cluster"))
    args = ap.parse_args(argv)
    try:
        rep = run(args)
    finally:  # the scale cluster is this run's own: stop it and drop its store, so the next run starts clean
        subprocess.run([sys.executable, "-m", "e2e.cluster", "down", "--dir", args.cluster_dir], cwd=REPO, check=False)
        shutil.rmtree(args.cluster_dir, ignore_errors=True)
    return write_scenario(rep, args.out, "scale.json", f"e2e scale {args.model}")


if __name__ == "__main__":
    sys.exit(main())
