#!/usr/bin/env python3
"""Pre-stage Hugging Face weights onto the cache PVC, offline-first.

Warm means every file the revision needs is on disk, not just that its snapshot folder exists (a pull cut off by a
spot preemption or an OOM kill leaves a folder holding only config.json). A snapshot is complete when either
  - this script's completion marker for that commit is present and every file it lists still resolves (written only
    after a full pull), or
  - with no marker (a cache copied in out of band), it holds config.json, a tokenizer, and every weight shard its
    safetensors/bin index names (or a single-file checkpoint).
A complete snapshot makes zero hub calls. Anything else is pulled once (huggingface_hub reuses the blobs it already
has), retrying the hub's 429s with backoff, and then marked complete. The server then runs with HF_HUB_OFFLINE=1.
Env: MODEL_ID, MODEL_REVISION (optional), HF_HOME, IGNORE_PATTERNS (comma list), HF_TOKEN (optional),
PRESTAGE_ATTEMPTS (default 5).
"""

import json
import os
import sys
import time
from pathlib import Path

MARKER_DIR = "llm-platform-complete"  # under the repo's cache folder, beside snapshots/: never inside a snapshot
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json", "vocab.txt", "spiece.model")
INDEXES = ("model.safetensors.index.json", "pytorch_model.bin.index.json")
SINGLE_FILES = ("model.safetensors", "pytorch_model.bin")


class IncompleteCache(Exception):
    """The snapshot exists but lacks files; the message lists them."""


def _patterns() -> list[str] | None:
    raw = os.environ.get("IGNORE_PATTERNS", "")
    return [p.strip() for p in raw.split(",") if p.strip()] or None


def _present(snap: Path, name: str) -> bool:
    return (snap / name).is_file()  # follows the blob symlink: a dangling link is missing


def _marker(snap: Path) -> Path:
    return snap.parent.parent / MARKER_DIR / snap.name


def missing_files(snap: Path) -> list[str]:
    """What a usable snapshot lacks, [] when complete (by marker, else by its own index)."""
    marker = _marker(snap)
    if marker.is_file():
        try:
            listed = json.loads(marker.read_text())["files"]
        except (ValueError, KeyError, TypeError):
            listed = None
        if isinstance(listed, list):
            return [f for f in listed if not _present(snap, f)]
    missing = [] if _present(snap, "config.json") else ["config.json"]
    if not any(_present(snap, t) for t in TOKENIZER_FILES):
        missing.append(f"a tokenizer ({' or '.join(TOKENIZER_FILES)})")
    index = next((i for i in INDEXES if _present(snap, i)), None)
    if index is not None:
        try:
            shards = sorted(set(json.loads((snap / index).read_text())["weight_map"].values()))
        except (ValueError, KeyError, TypeError, AttributeError):
            return [*missing, f"a readable {index}"]
        missing += [s for s in shards if not _present(snap, s)]
    elif not any(_present(snap, s) for s in SINGLE_FILES):
        missing.append(f"weights ({' or '.join(INDEXES + SINGLE_FILES)})")
    return missing


def mark_complete(snap: Path) -> None:
    files = sorted(p.relative_to(snap).as_posix() for p in snap.rglob("*") if p.is_file())
    marker = _marker(snap)
    marker.parent.mkdir(parents=True, exist_ok=True)
    tmp = marker.with_name(f".{marker.name}.tmp")
    tmp.write_text(json.dumps({"files": files}, indent=1))
    os.replace(tmp, marker)


def _local(repo: str, revision: str | None) -> Path | None:
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(repo, revision=revision, local_files_only=True))
    except Exception:
        return None


def _pull_once(repo: str, revision: str | None) -> Path:
    """List the revision first: snapshot_download alone falls back to a partial snapshot when the hub is down."""
    from huggingface_hub import HfApi, snapshot_download
    from huggingface_hub.utils import filter_repo_objects

    info = HfApi().model_info(repo, revision=revision)
    wanted = list(filter_repo_objects([s.rfilename for s in info.siblings or []], ignore_patterns=_patterns()))
    # the requested revision, not info.sha: a branch pull also writes refs/<branch>, which offline serving reads
    snap = Path(snapshot_download(repo, revision=revision, ignore_patterns=_patterns()))
    gone = [f for f in wanted if not _present(snap, f)]
    if gone:
        raise IncompleteCache(f"the pull left {', '.join(gone)} missing")
    return snap


def _pull(repo: str, revision: str | None, attempts: int) -> Path:
    delay = 10.0
    for attempt in range(1, attempts + 1):
        try:
            return _pull_once(repo, revision)
        except Exception as exc:
            if attempt == attempts:
                raise
            print(f"prestage: attempt {attempt} failed ({exc}); retrying in {delay:.0f}s", flush=True)
            time.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")


def prestage(repo: str, revision: str | None, attempts: int = 5) -> Path:
    attempts = int(os.environ.get("PRESTAGE_ATTEMPTS", attempts))
    ref = f"{repo}@{revision or 'main'}"
    snap = _local(repo, revision)
    missing = missing_files(snap) if snap is not None else None
    if snap is not None and not missing:
        print(f"prestage: warm cache: {ref} at {snap} is complete; 0 hub calls", flush=True)
        return snap
    if missing:
        print(f"prestage: incomplete cache for {ref} (missing {', '.join(missing)}); pulling the rest", flush=True)
    else:
        print(f"prestage: cold cache for {ref}; pulling once", flush=True)
    try:
        snap = _pull(repo, revision, attempts)
    except Exception as exc:
        if missing:
            raise IncompleteCache(
                f"the cached snapshot lacks {', '.join(missing)} and the pull failed ({exc})"
            ) from exc
        raise
    mark_complete(snap)
    print(f"prestage: pulled {repo} to {snap}; marked complete", flush=True)
    return snap


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
