#!/usr/bin/env python3
"""Stage GGUF files onto the cache PVC, offline-first, and link each at a deterministic path.

    fetch_gguf.py CATALOG.json

The catalog is a JSON list of {"name", "repo", "link", "quant"?, "file"?, "revision"?}. For each entry the one
GGUF in `repo` whose path matches `quant` as a delimited token (or the explicit `file`) is resolved from the HF
cache with zero hub calls when present; otherwise the repo is listed and the file pulled once, retrying with
backoff. A wrong repo, revision, file or quant, a gated repo without a token and a cache too small for the file
fail at once with exit 3, after one hub call (the stage Job, backoffLimit 0, fails with it). A split GGUF (-00001-of-0000N) is staged whole (a cache missing any shard is cold) and linked at its
first shard, which llama.cpp loads.
`link` (e.g. /models/weights/model.gguf) becomes a relative symlink into the cache, replaced atomically.
After every entry staged (PRUNE=1, the default) the cache keeps only what the catalog links: other repos, other
revisions, other quants and links of models no longer in the catalog go, so a model change never fills the volume.
The catalog is the pod's whole cache (one PVC per static server, one for the swap pool).
Env: HF_HOME, HF_TOKEN (optional), FETCH_ATTEMPTS (default 5), PRUNE. Needs only the stdlib and huggingface_hub.
"""

import json
import os
import re
import sys
import time
from pathlib import Path

SHARD = re.compile(r"-(\d{5})-of-(\d{5})\.gguf$")
FATAL_EXIT = 3  # components/manifests/weight_stage.py: what no retry fixes, told apart in the log
GIB = 1024**3


class StageError(Exception):
    """A catalog entry that cannot be staged and retrying cannot fix; the message says why and what to change."""


def hub_refusal(exc: Exception, repo: str, revision: str | None) -> StageError | None:
    """The hub's answers that no retry changes, as the fix to make; None for anything else (429, 5xx, network)."""
    try:
        from huggingface_hub import utils
    except ImportError:
        return None
    if isinstance(exc, utils.GatedRepoError):  # a subclass of RepositoryNotFoundError: test it first
        return StageError(f"{repo} is gated: accept its licence on huggingface.co and put a token in Secret hf-token")
    if isinstance(exc, utils.RevisionNotFoundError):
        return StageError(f"revision {revision!r} does not exist in {repo} (check the model's revision)")
    if isinstance(exc, utils.RepositoryNotFoundError):
        return StageError(f"no hub repo {repo!r} (check ggufRepo; a private repo needs Secret hf-token)")
    if isinstance(exc, utils.EntryNotFoundError):
        return StageError(f"{repo}@{revision or 'main'} lists a file the hub cannot serve ({exc})")
    return None


def quant_matches(quant: str, path: str) -> bool:
    """Same rule as models/llamacpp.py: Q4_K_M matches X-Q4_K_M.gguf and Q4_K_M/X-00001-of-00002.gguf."""
    return re.search(rf"(?<![A-Za-z0-9]){re.escape(quant)}(?![A-Za-z0-9_])", path, re.IGNORECASE) is not None


def _set_key(path: str) -> str:
    return SHARD.sub(".gguf", path)


def missing_shards(chosen: list[str]) -> list[str]:
    """Shards of a split GGUF that `chosen` lacks: every -0000k-of-0000N for k = 1..N must be there."""
    found = SHARD.search(chosen[0]) if chosen else None
    if found is None:
        return []
    total = int(found.group(2))
    want = [SHARD.sub(f"-{k:05d}-of-{total:05d}.gguf", chosen[0]) for k in range(1, total + 1)]
    return [w for w in want if w not in chosen]


def select(files: list[str], entry: dict) -> list[str]:
    """The repo files to stage for `entry`, first one linked: an explicit file, or the single quant match."""
    ggufs = sorted(f for f in files if f.endswith(".gguf"))
    repo = entry["repo"]
    if entry.get("file"):
        want = entry["file"]
        if want not in ggufs:
            raise StageError(f"{repo} has no file {want}; set ggufFile to one of: {', '.join(ggufs) or 'none'}")
        return [f for f in ggufs if _set_key(f) == _set_key(want)] if SHARD.search(want) else [want]
    quant = entry["quant"]
    sets: dict[str, list[str]] = {}
    for f in ggufs:
        if quant_matches(quant, f) and "mmproj" not in f.rsplit("/", 1)[-1].lower():
            sets.setdefault(_set_key(f), []).append(f)
    if not sets:
        raise StageError(
            f"no GGUF in {repo} matches quant {quant} (has: {', '.join(ggufs) or 'no .gguf'}); "
            "fix quant or set ggufFile"
        )
    if len(sets) > 1:
        raise StageError(
            f"quant {quant} matches several GGUFs in {repo}: {', '.join(sorted(sets))}; set "
            "ggufFile to the one you mean"
        )
    (chosen,) = sets.values()
    return sorted(chosen)


def _local(repo: str, revision: str | None) -> tuple[Path, list[str]] | None:
    """The cached snapshot and the files in it that really resolve, or None on a cold cache."""
    from huggingface_hub import snapshot_download

    try:
        snap = Path(snapshot_download(repo, revision=revision, local_files_only=True))
    except Exception:
        return None
    return snap, [p.relative_to(snap).as_posix() for p in snap.rglob("*") if p.is_file()]


def _retry(what: str, fn, attempts: int, repo: str, revision: str | None):
    delay = 10.0
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except Exception as exc:
            if (refusal := hub_refusal(exc, repo, revision)) is not None:
                raise refusal from exc
            if attempt == attempts:
                raise
            print(f"fetch-gguf: {what}: attempt {attempt} failed ({exc}); retrying in {delay:.0f}s", flush=True)
            time.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")


def stage(entry: dict, attempts: int) -> list[Path]:
    """Resolve the entry's GGUF in the HF cache (pulling once if cold); return its files, the one to link first."""
    repo, revision, name = entry["repo"], entry.get("revision"), entry["name"]
    local = _local(repo, revision)
    if local is not None:
        snap, files = local
        try:
            chosen = select(files, entry)
        except StageError as exc:
            if "several" in str(exc):
                raise
            chosen = []
        gone = missing_shards(chosen)
        if chosen and not gone:
            print(
                f"fetch-gguf: {name}: warm cache: {repo}@{revision or 'main'} {', '.join(chosen)}; 0 hub calls",
                flush=True,
            )
            return [snap / f for f in chosen]
        if gone:
            print(f"fetch-gguf: {name}: incomplete split GGUF in the cache (missing {', '.join(gone)})", flush=True)
    print(f"fetch-gguf: {name}: cold cache for {repo}@{revision or 'main'}; pulling once", flush=True)
    from huggingface_hub import HfApi, hf_hub_download

    info = _retry(
        f"look up {repo}",
        lambda: HfApi().model_info(repo, revision=revision, files_metadata=True),
        attempts, repo, revision,
    )  # fmt: skip
    sizes = {s.rfilename: getattr(s, "size", None) or 0 for s in info.siblings or []}
    chosen = select(list(sizes), entry)
    gone = missing_shards(chosen)
    if gone:
        raise StageError(f"{repo} lists only part of split GGUF {chosen[0]}: no {', '.join(gone)}")
    check_room(repo, sum(sizes[f] for f in chosen))
    paths = [
        _retry(f"download {f}", lambda f=f: hf_hub_download(repo, f, revision=revision), attempts, repo, revision)
        for f in chosen
    ]
    print(f"fetch-gguf: {name}: pulled {', '.join(chosen)}", flush=True)
    return [Path(p) for p in paths]


def hub_dir() -> Path:
    """huggingface_hub's cache folder, from the env as it reads it (HF_HUB_CACHE, else HF_HOME/hub)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    return Path(os.environ.get("HF_HOME") or "~/.cache/huggingface").expanduser() / "hub"


def check_room(repo: str, need: int) -> None:
    """Before the download: the cache volume must hold the file (a full volume fails halfway, after hours)."""
    import shutil

    home = hub_dir()
    home.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(home).free
    if need > free:
        raise StageError(
            f"{repo}: the GGUF needs {need / GIB:.1f} GiB and the cache volume has {free / GIB:.1f} GiB free: "
            "raise the model's cacheGiB (or the swap pool's)"
        )


def prune(staged: list[Path], links: list[Path]) -> list[str]:
    """Keep only the `staged` files (snapshot paths) and `links`: every other repo, snapshot, file, blob and ref in
    the hub cache, and every other symlink beside a link, goes. Returns what went, for the log."""
    import shutil

    hub, gone = hub_dir(), list[str]()
    keep: dict[Path, set[str]] = {}  # snapshot dir -> its kept files, relative
    for path in staged:
        if not path.is_relative_to(hub) or len(rel := path.relative_to(hub).parts) < 4:
            print(f"fetch-gguf: {path} is outside {hub}; nothing pruned", flush=True)
            return []  # models--org--name/snapshots/<commit>/<file...> is the only layout this reads
        keep.setdefault(hub.joinpath(*rel[:3]), set()).add("/".join(rel[3:]))
    repos = {snap.parent.parent for snap in keep}
    for repo in sorted(hub.glob("models--*")):
        if repo not in repos:
            shutil.rmtree(repo, ignore_errors=True)
            gone.append(repo.name)
            continue
        for snap in sorted((repo / "snapshots").glob("*")):
            if snap not in keep:
                shutil.rmtree(snap, ignore_errors=True)
                gone.append(f"{repo.name} snapshot {snap.name[:12]}")
                continue
            for f in sorted(snap.rglob("*"), reverse=True):  # files before their folders
                if f.is_dir() and not f.is_symlink():
                    if not any(f.iterdir()):
                        f.rmdir()
                elif f.relative_to(snap).as_posix() not in keep[snap]:
                    f.unlink()
                    gone.append(f"{repo.name} {f.relative_to(snap).as_posix()}")
        names = {snap.name for snap in keep if snap.parent.parent == repo}
        for ref in sorted((repo / "refs").rglob("*")):
            if ref.is_file() and ref.read_text().strip() not in names:
                ref.unlink()
        used = {Path(os.path.realpath(f)) for snap in keep if snap.parent.parent == repo for f in snap.rglob("*")}
        for blob in sorted((repo / "blobs").glob("*")):  # both resolved: HF_HOME may be a link
            if blob.is_file() and Path(os.path.realpath(blob)) not in used:
                blob.unlink()  # an old quant, or a download cut off (*.incomplete)
    wanted = {Path(p) for p in links}
    for folder in sorted({p.parent for p in wanted}):
        for old in sorted(folder.glob("*.gguf")):
            if old.is_symlink() and old not in wanted:
                old.unlink()
                gone.append(f"link {old}")
    return gone


def link(target: Path, link_path: Path) -> None:
    """A relative symlink (valid wherever the PVC is mounted), swapped in atomically."""
    link_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = link_path.with_name(f".{link_path.name}.tmp")
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(os.path.relpath(target, link_path.parent), tmp)
    os.replace(tmp, link_path)
    print(f"fetch-gguf: linked {link_path} -> {target}", flush=True)


def load_catalog(path: str) -> list[dict]:
    entries = json.loads(Path(path).read_text())
    if not isinstance(entries, list):
        raise StageError(f"{path} must hold a JSON list of models")
    for e in entries:
        missing = [k for k in ("name", "repo", "link") if not e.get(k)]
        if missing or not (e.get("quant") or e.get("file")):
            raise StageError(f"catalog entry {e} lacks {', '.join(missing) or 'quant or file'}")
    return entries


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: fetch_gguf.py CATALOG.json", file=sys.stderr)
        return 2
    try:
        entries = load_catalog(argv[1])
    except (OSError, ValueError, StageError) as exc:
        print(f"fetch-gguf: bad catalog: {exc}", file=sys.stderr)
        return 2
    attempts = int(os.environ.get("FETCH_ATTEMPTS", "5"))
    staged: list[Path] = []
    for entry in entries:
        try:
            files = stage(entry, attempts)
            link(files[0], Path(entry["link"]))
            staged += files
        except StageError as exc:
            print(f"fetch-gguf: cannot stage {entry['name']} from {entry['repo']}: {exc}", file=sys.stderr)
            return FATAL_EXIT
        except Exception as exc:
            print(
                f"fetch-gguf: could not stage {entry['name']} from {entry['repo']}: {exc}. If the hub "
                "rate-limits this cluster, download elsewhere and copy the HF cache onto the PVC",
                file=sys.stderr,
            )
            return 1
    if os.environ.get("PRUNE", "1") == "1":  # only after every entry staged: a failed stage removes nothing
        gone = prune(staged, [Path(e["link"]) for e in entries])
        if gone:
            print(f"fetch-gguf: removed from the cache: {', '.join(gone)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
