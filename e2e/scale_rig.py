"""The pieces scale-from-zero runs against on 127.0.0.1 (e2e/scale.py): KEDA's operator as a process, a forward
proxy that lets it read the rendered demand URL, a fake OpenAI backend that answers only while the model's kwok
pod is Ready, and the real LiteLLM proxy (with a real Redis) built from the ConfigMap Pulumi applied."""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import yaml

from e2e import pki, procs
from tests.consumers.litellm_proxy import LiteLLMProxy, free_port, run_litellm_proxy, write_without_database
from tests.consumers.redis_server import run_redis_server
from tests.consumers.stub_openai import run_stub_openai

MASTER, UPSTREAM, REDIS_PASSWORD = "sk-e2e-scale-master", "e2e-scale-upstream", "e2e-scale-redis"


class Kube:
    """kubectl against the local control plane, JSON in and out."""

    def __init__(self, kubeconfig: Path, kubectl: str = "kubectl") -> None:
        self.kubeconfig, self.kubectl = kubeconfig, kubectl

    def run(self, *args: str, stdin: str | None = None, check: bool = True) -> str:
        res = subprocess.run(
            [self.kubectl, "--kubeconfig", str(self.kubeconfig), *args],
            input=stdin, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        if check and res.returncode:
            raise RuntimeError(f"kubectl {' '.join(args[:3])}: {res.stderr.strip()}")
        return res.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "-o", "json"))

    def ready_pods(self, namespace: str, name: str) -> int:
        pods = self.json("get", "pods", "-n", namespace, "-l", f"app.kubernetes.io/name={name}")["items"]
        return sum(
            1
            for p in pods
            if not p["metadata"].get("deletionTimestamp")
            and any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", []))
        )


class DemandForward(http.server.ThreadingHTTPServer):
    """An HTTP forward proxy (KEDA honours HTTP_PROXY): any absolute URL it is asked for is fetched from the
    gateway's demand port on 127.0.0.1, so the ScaledObject keeps the rendered in-cluster URL."""

    def __init__(self, target_port: int) -> None:
        self.target_port, self.hits = target_port, 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                outer.hits += 1
                path = "/" + self.path.split("://", 1)[-1].split("/", 1)[-1] if "://" in self.path else self.path
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{outer.target_port}{path}", timeout=5) as r:
                        body, status = r.read(), r.status
                except OSError as exc:
                    body, status = str(exc).encode(), 502
                self.send_response(status)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        super().__init__(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class GatedBackend:
    """A fake OpenAI server on 127.0.0.1:port that listens only while the model has a Ready pod (the hook's TCP
    probe then sees what it would see through the model's Service). Never dials a pod IP."""

    def __init__(self, kube: Kube, namespace: str, model: str, served: str, port: int) -> None:
        self.kube, self.namespace, self.model, self.served, self.port = kube, namespace, model, served, port
        self.calls, self.stop = 0, threading.Event()
        self.stub: Any = None
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def total(self) -> int:
        """Calls answered so far, including the running stub's."""
        return self.calls + (len(self.stub.requests) if self.stub is not None else 0)

    def _loop(self) -> None:
        stack: ExitStack | None = None
        stub = None
        while not self.stop.is_set():
            self.stub = stub
            try:
                ready = self.kube.ready_pods(self.namespace, self.model) > 0
            except (RuntimeError, subprocess.SubprocessError, ValueError):
                ready = stack is not None  # keep the last state through an API hiccup
            if ready and stack is None:
                stack = ExitStack()
                stub = stack.enter_context(run_stub_openai(self.port, self.served, api_key=UPSTREAM))
            elif not ready and stack is not None:
                self.calls += len(stub.requests) if stub else 0
                stack.close()
                stack, stub = None, None
            self.stop.wait(0.5)
        if stack is not None:
            self.calls += len(stub.requests) if stub else 0
            stack.close()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(10)


def keda_certs(cluster_pki: Path, dest: Path) -> Path:
    """ca.crt, tls.crt, tls.key for the operator's gRPC metrics service (what the chart's cert job makes)."""
    dest.mkdir(parents=True, exist_ok=True)
    crt, key = pki.serving_cert(cluster_pki, "keda-operator", "keda-operator", ["DNS:localhost", "IP:127.0.0.1"])
    for src, name in ((cluster_pki / "ca.crt", "ca.crt"), (crt, "tls.crt"), (key, "tls.key")):
        (dest / name).write_bytes(src.read_bytes())
    return dest


@contextlib.contextmanager
def keda_operator(binary: Path, kubeconfig: Path, certs: Path, watch: str, proxy: str, logs: Path) -> Iterator[dict]:
    env = {
        **os.environ,
        "KUBECONFIG": str(kubeconfig),
        "WATCH_NAMESPACE": watch,
        "KEDA_CLUSTER_OBJECT_NAMESPACE": "keda",
        "POD_NAMESPACE": "keda",
        "POD_NAME": "keda-operator-e2e",
        "OPERATOR_NAME": "keda-operator",
        "HTTP_PROXY": proxy,
        "http_proxy": proxy,
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }
    state: dict[str, Any] = {"starts": 0}

    def start() -> subprocess.Popen:
        argv = [
            str(binary), "--leader-elect=false", f"--cert-dir={certs}",
            f"--metrics-bind-address=127.0.0.1:{free_port()}", f"--health-probe-bind-address=127.0.0.1:{free_port()}",
            f"--metrics-service-bind-address=127.0.0.1:{free_port()}",
            "--enable-webhook-patching=false", "--enable-apiservice-patching=false",
        ]  # fmt: skip
        state["starts"] += 1
        log = (logs / f"keda-operator-{state['starts']}.log").open("w")
        return subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    state["proc"] = start()

    def restart() -> None:
        state["proc"].terminate()
        state["proc"].wait(30)
        state["proc"] = start()

    state["restart"] = restart
    try:
        time.sleep(3)
        if state["proc"].poll() is not None:
            raise RuntimeError("keda-operator exited at start:\n" + procs.tail(logs / "keda-operator-1.log"))
        yield state
    finally:
        state["proc"].terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            state["proc"].wait(30)


class Gateway:
    """The real LiteLLM proxy from the applied ConfigMap: backends on 127.0.0.1, its Redis a local redis-server,
    restartable mid-scenario. One worker: its /metrics then covers every request (spend)."""

    def __init__(self, kube: Kube, namespace: str, work: Path, litellm: Path, ports: dict[str, int]) -> None:
        data = kube.json("get", "configmap", "litellm-config", "-n", namespace)["data"]
        config, availability = yaml.safe_load(data["config.yaml"]), json.loads(data["availability.json"])
        self.demand = json.loads(data["demand.json"])
        self.rendered_port = self.demand["port"]
        self.demand["port"] = free_port()
        self.served: dict[str, str] = {}
        for entry in config["model_list"]:
            name = entry["model_name"]
            port = ports.setdefault(name, free_port())
            entry["litellm_params"]["api_base"] = f"http://127.0.0.1:{port}/v1"
            self.served[name] = entry["litellm_params"]["model"].split("/", 1)[1]
            if name in availability:
                availability[name].update(host="127.0.0.1", port=port)
        work.mkdir(parents=True, exist_ok=True)
        write_without_database(work, config, availability, data)
        (work / "demand.json").write_text(json.dumps(self.demand))
        self.work, self.litellm, self.stack = work, litellm, ExitStack()
        self.redis = self.stack.enter_context(
            run_redis_server(free_port(), REDIS_PASSWORD, Path(_which("redis-server")))
        )
        self.proxy: LiteLLMProxy = self.start()

    def start(self) -> LiteLLMProxy:
        env = {"LITELLM_MASTER_KEY": MASTER, "UPSTREAM_API_KEY": UPSTREAM, "DATABASE_URL": None}
        env.update(REDIS_HOST="127.0.0.1", REDIS_PORT=str(self.redis.port), REDIS_PASSWORD=REDIS_PASSWORD)
        self._proxy_cm = run_litellm_proxy(
            self.work / "config.yaml", free_port(), env=env, litellm_bin=self.litellm, timeout=240,
            extra_args=["--num_workers", "1"],
        )  # fmt: skip
        return self._proxy_cm.__enter__()

    def restart(self, hold: int | None = None) -> None:
        """Restart the proxy (its workers lose their memory; the demand stays in Redis); `hold`: with that
        autoscaler.holdSeconds in demand.json."""
        self._proxy_cm.__exit__(None, None, None)
        if hold is not None:
            self.demand["holdSeconds"] = hold
            (self.work / "demand.json").write_text(json.dumps(self.demand))
        self.proxy = self.start()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._proxy_cm.__exit__(None, None, None)
        self.stack.close()


def _which(name: str) -> str:
    for d in os.environ.get("PATH", "").split(os.pathsep):
        if (p := Path(d) / name).is_file() and os.access(p, os.X_OK):
            return str(p)
    raise RuntimeError(f"{name} not found on PATH (bash .ci/install_redis_server.sh)")
