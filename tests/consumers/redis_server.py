"""Run a real ``redis-server`` (Debian's package; scripts/test.sh installs it) for consumer tests.

Loopback only, a password always set (as the platform's Redis has), no persistence. Standard library only.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


class RedisServerError(RuntimeError):
    """redis-server exited early or never answered PING."""


def find_redis_server() -> Path | None:
    """``$REDIS_SERVER_BIN``, else ``redis-server`` on PATH."""
    env_bin = os.environ.get("REDIS_SERVER_BIN")
    if env_bin:
        p = Path(env_bin)
        return p if p.is_file() and os.access(p, os.X_OK) else None
    which = shutil.which("redis-server")
    return Path(which) if which else None


@dataclass
class RedisServer:
    port: int
    password: str
    proc: subprocess.Popen

    def command(self, *args: str) -> str:
        """One RESP command over a fresh connection; returns the first reply line."""
        payload = f"*{len(args)}\r\n" + "".join(f"${len(a.encode())}\r\n{a}\r\n" for a in args)
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
            s.sendall(f"*2\r\n$4\r\nAUTH\r\n${len(self.password)}\r\n{self.password}\r\n".encode())
            s.recv(64)
            s.sendall(payload.encode())
            return s.recv(4096).decode(errors="replace").split("\r\n")[0]


@contextlib.contextmanager
def run_redis_server(
    port: int, password: str, bin_path: str | os.PathLike, timeout: float = 20.0
) -> Iterator[RedisServer]:
    workdir = tempfile.mkdtemp(prefix=f"redis-{port}-")
    conf = Path(workdir) / "redis.conf"
    conf.write_text(f"requirepass {password}\n")  # as the pod does: the password from a file, not argv
    cmd = [str(bin_path), str(conf), "--port", str(port), "--bind", "127.0.0.1", "--dir", workdir]
    cmd += ["--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", ""]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
    server = RedisServer(port, password, proc)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RedisServerError(f"redis-server exited with {proc.returncode}: {' '.join(cmd)}")
            with contextlib.suppress(OSError):
                if server.command("PING") == "+PONG":
                    break
            if time.monotonic() > deadline:
                raise RedisServerError(f"redis-server did not answer PING within {timeout}s")
            time.sleep(0.1)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        shutil.rmtree(workdir, ignore_errors=True)
