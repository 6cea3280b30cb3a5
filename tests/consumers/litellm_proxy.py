"""Real-consumer harness for the LiteLLM proxy.

The proxy lives in its own venv (``.ci/install_litellm.sh`` creates
``.venv-litellm``) because litellm's pins clash with pulumi's. Tests import
this module from the project's own interpreter and drive the ``litellm`` CLI
as a subprocess, so nothing here imports litellm.

Only loopback addresses are ever used: the proxy binds 127.0.0.1 and the stub
upstream binds 127.0.0.1.

Usage::

    with run_stub_openai(free_port(), "qwen2.5-coder-7b-instruct", api_key="up") as stub, \\
         run_litellm_proxy(cfg, free_port(), {"LITELLM_MASTER_KEY": "sk-master",
                                              "UPSTREAM_API_KEY": "up"}) as proxy:
        status, headers, body = http_json("GET", proxy.base_url + "/v1/models",
                                          key="sk-master")
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_VENV = ".venv-litellm"


# --------------------------------------------------------------------------- #
# helpers
# --------------------------------------------------------------------------- #
def find_litellm() -> Path | None:
    """Path of the ``litellm`` CLI, or None when it is not installed.

    ``$LITELLM_BIN`` wins; otherwise ``$LITELLM_VENV`` (default
    ``.venv-litellm`` at the repo root) ``/bin/litellm``.
    """
    env_bin = os.environ.get("LITELLM_BIN")
    if env_bin:
        p = Path(env_bin)
        return p if p.is_file() and os.access(p, os.X_OK) else None
    venv = Path(os.environ.get("LITELLM_VENV", DEFAULT_VENV))
    if not venv.is_absolute():
        venv = REPO_ROOT / venv
    p = venv / "bin" / "litellm"
    return p if p.is_file() and os.access(p, os.X_OK) else None


def free_port() -> int:
    """An unused TCP port on 127.0.0.1 (racy but fine for tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_json(
    method: str,
    url: str,
    body: Any = None,
    key: str | None = None,
    timeout: float = 60.0,
    headers: Mapping[str, str] | None = None,
) -> tuple[int, dict[str, str], Any]:
    """Tiny stdlib HTTP client: returns (status, lower-cased headers, json-or-text).

    Never raises on HTTP error statuses; only on connection failure/timeouts.
    """
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if key is not None:
        req.add_header("Authorization", f"Bearer {key}")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, hdrs, raw = resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as e:
        status, hdrs, raw = e.code, e.headers, e.read()
    text = raw.decode("utf-8", "replace")
    try:
        parsed: Any = json.loads(text) if text else None
    except ValueError:
        parsed = text
    return status, {k.lower(): v for k, v in hdrs.items()}, parsed


def drop_shared_state(config: dict) -> dict:
    """The rendered config without its database and Redis (for runs that exercise neither): LiteLLM exits at
    start when coordination_redis names no host, and Prisma cannot fetch its engines here."""
    general = config.get("general_settings") or {}
    for key in ("database_url", "store_model_in_db", "coordination_redis"):
        general.pop(key, None)
    for key in ("redis_host", "redis_port", "redis_password"):
        (config.get("router_settings") or {}).pop(key, None)
    return config


def write_without_database(work: Path, config: dict, availability: dict, data: dict) -> None:
    """Write the localised config.yaml (database settings dropped: Prisma cannot fetch its engines here; Redis
    stays), availability.json and the rendered ConfigMap's hooks (`data`) into `work`."""
    for key in ("database_url", "store_model_in_db"):
        config["general_settings"].pop(key, None)
    (work / "config.yaml").write_text(yaml.safe_dump(config))
    (work / "availability.json").write_text(json.dumps(availability))
    for hook in (k for k in data if k.endswith(".py")):  # every callback module the ConfigMap ships
        (work / hook).write_text(data[hook])


# --------------------------------------------------------------------------- #
# LiteLLM proxy process
# --------------------------------------------------------------------------- #
@dataclass
class LiteLLMProxy:
    base_url: str
    proc: subprocess.Popen
    log_path: Path
    port: int

    def log(self) -> str:
        """Everything the proxy has written to stdout/stderr so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, n: int = 60) -> str:
        return "\n".join(self.log().splitlines()[-n:])


class LiteLLMProxyError(RuntimeError):
    pass


def _get_status(url: str, timeout: float = 5.0) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except (OSError, urllib.error.URLError):
        return None


def _stop(proc: subprocess.Popen, grace: float = 10.0) -> None:
    """Stop the proxy's own process group (uvicorn may fork workers)."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@contextlib.contextmanager
def run_litellm_proxy(
    config_path: str | os.PathLike,
    port: int,
    env: Mapping[str, str | None] | None = None,
    timeout: float = 120.0,
    extra_args: tuple[str, ...] | list[str] = (),
    litellm_bin: str | os.PathLike | None = None,
) -> Iterator[LiteLLMProxy]:
    """Start ``litellm --config <path> --port <port> --host 127.0.0.1``.

    Waits until ``/health/liveliness`` and then ``/health/readiness`` return
    200, yields a :class:`LiteLLMProxy`, and kills the process group on exit.
    ``env`` is layered over ``os.environ`` plus
    ``LITELLM_LOCAL_MODEL_COST_MAP=True`` (no network fetch of the cost map);
    a ``None`` value removes that variable, and an empty ``DATABASE_URL`` is
    dropped (the proxy refuses to boot with ``DATABASE_URL=""``).
    Raises :class:`LiteLLMProxyError` with the log tail if it does not come up.
    """
    binary = Path(litellm_bin) if litellm_bin else find_litellm()
    if binary is None:
        raise LiteLLMProxyError("litellm CLI not found: run .ci/install_litellm.sh or set LITELLM_BIN")
    full_env = dict(os.environ)
    full_env.update(
        {
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "PYTHONUNBUFFERED": "1",
            "NO_COLOR": "1",
        }
    )
    for k, v in (env or {}).items():
        if v is None:
            full_env.pop(k, None)
        else:
            full_env[k] = v
    # litellm 1.102 exits at startup on DATABASE_URL="" ("unsupported scheme");
    # an empty value means "no database" here, so drop it.
    if not full_env.get("DATABASE_URL"):
        full_env.pop("DATABASE_URL", None)

    log_fd, log_name = tempfile.mkstemp(prefix=f"litellm-{port}-", suffix=".log")
    log_path = Path(log_name)
    cmd = [
        str(binary),
        "--config",
        str(config_path),
        "--port",
        str(port),
        "--host",
        "127.0.0.1",
        *extra_args,
    ]
    with os.fdopen(log_fd, "wb") as log_file:
        proc = subprocess.Popen(
            cmd,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=full_env,
            cwd=str(Path(config_path).resolve().parent),
            start_new_session=True,  # own process group -> clean kill
        )
    base_url = f"http://127.0.0.1:{port}"
    handle = LiteLLMProxy(base_url=base_url, proc=proc, log_path=log_path, port=port)
    try:
        deadline = time.monotonic() + timeout
        for path in ("/health/liveliness", "/health/readiness"):
            while True:
                if proc.poll() is not None:
                    raise LiteLLMProxyError(
                        f"litellm exited with code {proc.returncode} before "
                        f"{path} was ready.\ncmd: {' '.join(cmd)}\n"
                        f"--- log tail ---\n{handle.log_tail()}"
                    )
                if _get_status(base_url + path) == 200:
                    break
                if time.monotonic() > deadline:
                    raise LiteLLMProxyError(
                        f"litellm did not answer 200 on {path} within {timeout}s.\n"
                        f"cmd: {' '.join(cmd)}\n--- log tail ---\n{handle.log_tail()}"
                    )
                time.sleep(0.25)
        yield handle
    finally:
        _stop(proc)
        if os.environ.get("LITELLM_KEEP_LOGS") != "1":
            with contextlib.suppress(OSError):
                log_path.unlink()
