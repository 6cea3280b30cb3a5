#!/usr/bin/env python3
"""Pre-stage Hugging Face weights onto the cache PVC, offline-first.

A warm cache resolves with local_files_only and makes zero hub calls; a cold one pulls once,
retrying the hub's 429s with backoff. The serving container then runs with HF_HUB_OFFLINE=1.
Env: MODEL_ID, MODEL_REVISION (optional), HF_HOME, IGNORE_PATTERNS (comma list), HF_TOKEN (optional),
PRESTAGE_ATTEMPTS (default 5).
"""

import os
import sys
import time


def _patterns() -> list[str] | None:
    raw = os.environ.get("IGNORE_PATTERNS", "")
    return [p.strip() for p in raw.split(",") if p.strip()] or None


def prestage(repo: str, revision: str | None, attempts: int = 5) -> str:
    attempts = int(os.environ.get("PRESTAGE_ATTEMPTS", attempts))
    from huggingface_hub import snapshot_download

    try:
        path = snapshot_download(repo, revision=revision, local_files_only=True)
        print(f"prestage: warm cache: {repo}@{revision or 'main'} at {path}; 0 hub calls", flush=True)
        return path
    except Exception as exc:
        print(f"prestage: cold cache for {repo}@{revision or 'main'} ({type(exc).__name__}); pulling once", flush=True)
    delay = 10.0
    for attempt in range(1, attempts + 1):
        try:
            path = snapshot_download(repo, revision=revision, ignore_patterns=_patterns())
            print(f"prestage: pulled {repo} to {path}", flush=True)
            return path
        except Exception as exc:
            if attempt == attempts:
                raise
            print(f"prestage: attempt {attempt} failed ({exc}); retrying in {delay:.0f}s", flush=True)
            time.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")


def main() -> int:
    repo = os.environ.get("MODEL_ID")
    if not repo:
        print("prestage: MODEL_ID is not set", file=sys.stderr)
        return 2
    try:
        prestage(repo, os.environ.get("MODEL_REVISION") or None)
    except Exception as exc:
        print(
            f"prestage: could not stage {repo}: {exc}. If the hub rate-limits this cluster, "
            "download elsewhere and copy the HF cache onto the PVC",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    # The pod stages as a non-root user; vLLM (root with every capability dropped) shares the volume's fsGroup:
    # group-writable files and folders let it use the cache exactly as the stager left it.
    os.umask(0o002)
    sys.exit(main())
