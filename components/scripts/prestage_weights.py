#!/usr/bin/env python3
"""Stage Hugging Face weights onto the model's cache PVC, offline-first (the weight-stage Job; docs/concepts/weight-staging.md).

Warm means every file the revision needs is on disk, not just that its snapshot folder exists (a pull cut off by a
spot preemption or an OOM kill leaves a folder holding only config.json). A snapshot is complete when either
  - this script's completion marker for that commit is present and every file it lists still resolves (written only
    after a full pull), or
  - with no marker (a cache copied in out of band), it holds config.json, a tokenizer, and every weight shard its
    safetensors/bin index names (or a single-file checkpoint).
A complete snapshot makes zero hub calls. Anything else is checked against the hub first (the repo, the revision,
access, the weights and config.json it must have, and their size against the free space), failing at once with
the repo and file named (exit 3: the Job does not retry). Then only what vLLM loads is pulled (an allow-list like
vLLM's own loader: the safetensors shards, else the .bin ones, their index, *.json, tokenizer files), retrying
the hub's 429s with backoff, and marked complete. After a good stage, other snapshots, revisions and models are
removed from the cache (PRUNE=1), so a model change never fills the disk. The server then runs with
HF_HUB_OFFLINE=1.
Env: MODEL_ID, MODEL_REVISION (optional), HF_HOME, HF_TOKEN (optional), PRESTAGE_ATTEMPTS (default 5),
PRUNE (default 1).
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
# What vLLM's loader reads besides the weights: every *.json (config, generation and tokenizer config, a sentence-
# transformers' modules.json and 1_Pooling/config.json) and the tokenizer and chat-template files.
SIDE_FILES = ("*.json", "tokenizer.model", "*.tiktoken", "merges.txt", "vocab.txt", "spiece.model", "*.jinja")
# Training leftovers a .bin checkpoint repo may carry; vLLM's loader skips them too.
NOT_WEIGHTS = ("training_args.bin", "optimizer.bin", "scheduler.bin")
FATAL_EXIT = 3  # retrying cannot fix a wrong name or a gated repo: no retry here, and the Job (backoffLimit 0) fails


class IncompleteCache(Exception):
    """The snapshot exists but lacks files; the message lists them."""


class Fatal(Exception):
    """The hub says no in a way retrying cannot change (no such repo, revision or file; gated; too big)."""


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


def weight_files(files: list[str], shards_of) -> list[str]:
    """The weights vLLM's loader reads, from a repo listing: the safetensors checkpoint, else the .bin one.

    An index decides (only the shards it maps: not Mistral's consolidated.safetensors beside them); without one,
    the top-level files of that format (never onnx/, original/ or other subfolders). `shards_of(index)` reads an
    index's weight_map. Raises Fatal when the repo has no weights vLLM can load."""
    top = [f for f in files if "/" not in f]
    for index, ext in zip(INDEXES, (".safetensors", ".bin"), strict=True):
        if index in top:
            shards = sorted(set(shards_of(index)))
            absent = [s for s in shards if s not in files]
            if absent:
                raise Fatal(f"{index} names {', '.join(absent)}, which the repo does not have")
            return [index, *shards]
        single = [f for f in top if f.endswith(ext) and f not in NOT_WEIGHTS]
        if single:
            return single
    raise Fatal("it has no *.safetensors or *.bin weights at its top level (a GGUF repo is served by engine: llamacpp)")


def side_files(files: list[str]) -> list[str]:
    from fnmatch import fnmatch

    return [f for f in files if any(fnmatch(f.rsplit("/", 1)[-1], p) for p in SIDE_FILES)]


def _hub_errors():
    from huggingface_hub import utils

    return utils.RepositoryNotFoundError, utils.GatedRepoError, utils.RevisionNotFoundError, utils.EntryNotFoundError


def plan_download(repo: str, revision: str | None) -> tuple[list[str], int]:
    """Check the repo before downloading anything: (the files to pull, their bytes). Raises Fatal naming what is
    wrong: an unknown repo or revision, a gated repo without access, no config.json, an index naming a missing
    shard, no loadable weights."""
    from huggingface_hub import HfApi, hf_hub_download

    not_found, gated, no_revision, no_entry = _hub_errors()
    ref = f"{repo}@{revision or 'main'}"
    try:
        info = HfApi().model_info(repo, revision=revision, files_metadata=True)
    except gated as exc:  # a subclass of not_found: test it first
        raise Fatal(
            f"{repo} is gated: accept its licence on huggingface.co and put a token in Secret hf-token"
        ) from exc
    except no_revision as exc:
        raise Fatal(f"revision {revision!r} does not exist in {repo} (check the model's revision)") from exc
    except not_found as exc:
        raise Fatal(f"no hub repo {repo!r} (check modelName; a private repo needs Secret hf-token)") from exc
    siblings = {s.rfilename: (getattr(s, "size", None) or 0) for s in info.siblings or []}
    if "config.json" not in siblings:
        raise Fatal(f"{ref} has no config.json: not a transformers model vLLM can load")

    def fetch(name: str) -> Path:
        try:
            return Path(hf_hub_download(repo, name, revision=revision))
        except gated as exc:
            raise Fatal(
                f"{repo} is gated and this cluster's token has no access (file {name}): accept its licence "
                "on huggingface.co and put a token in Secret hf-token"
            ) from exc
        except no_entry as exc:
            raise Fatal(f"{ref} lists {name} but the hub cannot serve it") from exc

    fetch("config.json")  # a few bytes that prove access before gigabytes
    try:
        weights = weight_files(
            list(siblings), lambda index: json.loads(fetch(index).read_text())["weight_map"].values()
        )
    except Fatal as exc:
        raise Fatal(f"{ref}: {exc}") from None
    wanted = sorted(set(weights) | set(side_files(list(siblings))))
    return wanted, sum(siblings[f] for f in wanted)


def _local(repo: str, revision: str | None) -> Path | None:
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(repo, revision=revision, local_files_only=True))
    except Exception:
        return None


def _hub_dir() -> Path:
    """huggingface_hub's cache folder, from the env as it reads it (HF_HUB_CACHE, else HF_HOME/hub)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    return Path(os.environ.get("HF_HOME") or "~/.cache/huggingface").expanduser() / "hub"


def _repo_dir(repo: str) -> Path:
    return _hub_dir() / f"models--{repo.replace('/', '--')}"


def _check_room(repo: str, need: int) -> None:
    """Fail before the download when the cache volume cannot hold it, even after removing the other models."""
    import shutil

    hub = _hub_dir()
    hub.mkdir(parents=True, exist_ok=True)
    have = _bytes(_repo_dir(repo))
    if shutil.disk_usage(hub).free + have >= need:
        return
    prune(
        repo, None
    )  # other models first: the GPU pod that used them is already gone (docs/concepts/weight-staging.md)
    free = shutil.disk_usage(hub).free
    if free + have < need:
        gib = 1024**3
        raise Fatal(
            f"{repo} needs {need / gib:.1f} GiB and the cache volume has {free / gib:.1f} GiB free: "
            "raise the model's cacheGiB"
        )


def _bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink()) if path.is_dir() else 0


def _pull_once(repo: str, revision: str | None) -> Path:
    """List and check the revision first: snapshot_download alone falls back to a partial snapshot when the hub
    is down, and would pull gigabytes before finding out that a file is missing."""
    from huggingface_hub import snapshot_download

    wanted, need = plan_download(repo, revision)
    _check_room(repo, need)
    # the requested revision, not info.sha: a branch pull also writes refs/<branch>, which offline serving reads
    snap = Path(snapshot_download(repo, revision=revision, allow_patterns=wanted))
    gone = [f for f in wanted if not _present(snap, f)]
    if gone:
        raise IncompleteCache(f"the pull left {', '.join(gone)} missing")
    return snap


def _pull(repo: str, revision: str | None, attempts: int) -> Path:
    delay = 10.0
    for attempt in range(1, attempts + 1):
        try:
            return _pull_once(repo, revision)
        except Fatal:
            raise
        except Exception as exc:
            if attempt == attempts:
                raise
            print(f"prestage: attempt {attempt} failed ({exc}); retrying in {delay:.0f}s", flush=True)
            time.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")


def prune(repo: str, snap: Path | None) -> list[str]:
    """Remove every other model from the cache and, with `snap`, every other snapshot, ref and blob of `repo`.
    Returns what went, for the log."""
    import shutil

    hub, keep, gone = _hub_dir(), _repo_dir(repo), list[str]()
    if not hub.is_dir():
        return gone
    for other in sorted(hub.glob("models--*")):
        if other != keep:
            shutil.rmtree(other, ignore_errors=True)
            gone.append(other.name)
    if snap is None or not keep.is_dir():
        return gone
    for old in sorted((keep / "snapshots").glob("*")):
        if old.name != snap.name:
            shutil.rmtree(old, ignore_errors=True)
            gone.append(f"snapshot {old.name}")
    for marker in sorted((keep / MARKER_DIR).glob("*")):
        if marker.name != snap.name:
            marker.unlink()
    for ref in sorted((keep / "refs").rglob("*")):
        if ref.is_file() and ref.read_text().strip() != snap.name:
            ref.unlink()
    used = {Path(os.path.realpath(p)) for p in snap.rglob("*") if p.is_symlink()}
    for blob in sorted((keep / "blobs").glob("*")):
        if blob.is_file() and Path(os.path.realpath(blob)) not in used:  # both resolved: HF_HOME may be a link
            blob.unlink()
            gone.append(f"blob {blob.name[:12]}")
    return gone


def prestage(repo: str, revision: str | None, attempts: int = 5) -> Path:
    attempts = int(os.environ.get("PRESTAGE_ATTEMPTS", attempts))
    ref = f"{repo}@{revision or 'main'}"
    snap = _local(repo, revision)
    missing = missing_files(snap) if snap is not None else None
    if snap is not None and not missing:
        print(f"prestage: warm cache: {ref} at {snap} is complete; 0 hub calls", flush=True)
    else:
        if missing:
            print(f"prestage: incomplete cache for {ref} (missing {', '.join(missing)}); pulling the rest", flush=True)
        else:
            print(f"prestage: cold cache for {ref}; checking the hub, then pulling once", flush=True)
        try:
            snap = _pull(repo, revision, attempts)
        except Fatal:
            raise
        except Exception as exc:
            if missing:
                raise IncompleteCache(
                    f"the cached snapshot lacks {', '.join(missing)} and the pull failed ({exc})"
                ) from exc
            raise
        mark_complete(snap)
        print(f"prestage: pulled {repo} to {snap}; marked complete", flush=True)
    if os.environ.get("PRUNE", "1") == "1":
        gone = prune(repo, snap)
        compiled = os.environ.get("VLLM_CACHE_ROOT")
        if compiled and any(g.startswith("models--") for g in gone) and Path(compiled).is_dir():
            import shutil  # another model's torch.compile cache: useless to this one

            shutil.rmtree(compiled, ignore_errors=True)
            gone.append(compiled)
        if gone:
            print(f"prestage: removed from the cache: {', '.join(gone)}", flush=True)
    return snap


def main() -> int:
    repo = os.environ.get("MODEL_ID")
    if not repo:
        print("prestage: MODEL_ID is not set", file=sys.stderr)
        return 2
    try:
        prestage(repo, os.environ.get("MODEL_REVISION") or None)
    except Fatal as exc:
        print(f"prestage: cannot stage {repo}: {exc}", file=sys.stderr)
        return FATAL_EXIT
    except Exception as exc:
        print(
            f"prestage: could not stage {repo}: {exc}. If the hub rate-limits this cluster, "
            "download elsewhere and copy the HF cache onto the PVC",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    # The Job stages as a non-root user; vLLM (root with every capability dropped) shares the volume's fsGroup:
    # group-writable files and folders let it use the cache exactly as the stager left it.
    os.umask(0o002)
    sys.exit(main())
