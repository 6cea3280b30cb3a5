"""The load generator of bench/gateway_load.py: N chat requests over C keep-alive connections, each timed and
checked; a Side holds one run's latencies, errors and CPU seconds."""

import http.client
import json
import statistics
import threading
import time
from dataclasses import dataclass, field

REQUEST_TIMEOUT = 60.0  # seconds per request; a side also stops at its own deadline
SIDE_DEADLINE = 600.0
PROMPT = "Write a short greeting."


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

    @property
    def noise(self) -> float:
        """Cores the rest of the box used on average during this run."""
        return self.cpu.get("other", 0.0) / self.wall if self.wall else 0.0

    def pct(self, q: float) -> float:
        xs = sorted(self.latencies) or [float("nan")]
        return xs[min(len(xs) - 1, max(0, round(q * len(xs)) - 1))]

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies) if self.latencies else float("nan")

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.wall if self.wall else 0.0

    def line(self) -> str:
        return (
            f"{self.name:<8} n={self.requests:<4} c={self.concurrency:<3} errors={len(self.errors):<3} "
            f"p50={self.p50 * 1000:7.1f} ms  p95={self.pct(0.95) * 1000:7.1f} ms  "
            f"max={max(self.latencies, default=float('nan')) * 1000:7.1f} ms  {self.throughput:6.1f} req/s  cpu "
            + " ".join(f"{k}={v:.1f}s" for k, v in self.cpu.items())
        )


def fire(
    base_url: str,
    key: str,
    model: str,
    n: int,
    concurrency: int,
    name: str = "",
    max_tokens: int = 8,
    deadline: float = SIDE_DEADLINE,
) -> Side:
    """Send n chat requests over `concurrency` keep-alive connections; every one is timed and checked."""
    host, port = base_url.removeprefix("http://").rsplit(":", 1)
    body = json.dumps(
        {"model": model, "messages": [{"role": "user", "content": PROMPT}], "max_tokens": max_tokens, "temperature": 0}
    ).encode()
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
                    conn.close()  # a fresh connection for the next request
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
