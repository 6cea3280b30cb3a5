"""GGUF staging off the GPU: a llama.cpp GPU backend (a static server on its pool, or the llama-swap pod) gets the
same release -> stage -> Deployment order as a vLLM model (weight_stage.py), with fetch_gguf.py as the stage. A
wrong repo, a missing file or an ambiguous `quant` fails a Job on a CPU node instead of holding an L4 node in
Init:CrashLoopBackOff. CPU models keep their init container: they hold no GPU.
"""

from typing import Any

from models.llama_rules import static_models, swap_models
from models.llamacpp import LlamaCppModelSpec
from models.platform import PlatformConfig

from . import llama_swap as ls
from . import llamacpp as lc
from .cache_growth import NAME as GROW
from .common import APP_UID, checksum
from .weight_stage import STAGE, cpu_placement, generic_release_job, job_manifest, mark_staged

__all__ = ["mark_staged", "staged_deployments", "static_jobs", "swap_jobs"]


def deadline_seconds(weights_gib: float) -> int:
    """As a vLLM stage: 30 minutes plus 2 per GiB."""
    return 1800 + 120 * int(weights_gib + 1)


def _names(base: str, entries: list[dict[str, Any]]) -> dict[str, str]:
    key = checksum(entries)[:8]  # what is staged: repos, files, quants, links
    stem = base[:40].rstrip("-")
    return {"stage": f"{stem}-stage-{key}", "release": f"{stem}-release-{key}"}


def _stage(name: str, namespace: str, cfg: PlatformConfig, pvc: str, scripts: str, zones: list[str], weights: float):
    fetch = {
        **lc.fetch_container(cfg.images.gguf_fetch, cfg.hf_token_secret),
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }
    pod = {
        "automountServiceAccountToken": False,
        "affinity": cpu_placement(zones),
        "securityContext": {
            "seccompProfile": {"type": "RuntimeDefault"},
            "fsGroup": APP_UID,
            "fsGroupChangePolicy": "OnRootMismatch",
        },
        "containers": [fetch],
        "volumes": lc.cache_volumes(pvc, scripts),
    }
    return job_manifest(name, namespace, STAGE, deadline_seconds(weights), 0, pod)  # the script retries


def static_jobs(spec: LlamaCppModelSpec, cfg: PlatformConfig) -> tuple[dict[str, Any], dict[str, Any]]:
    """(release Job, stage Job) of a static GPU server."""
    pool = cfg.pool(spec.static_pool)
    n, ns = lc.static_names(pool), cfg.namespaces.serving
    jobs = _names(n["deployment"], lc.catalog([spec]))
    release = generic_release_job(jobs["release"], ns, n["deployment"], account=GROW, scripts=GROW)
    stage = _stage(jobs["stage"], ns, cfg, n["pvc"], n["scripts"], cfg.pool_zones(pool), spec.weights_gib)
    return release, stage


def swap_jobs(cfg: PlatformConfig) -> tuple[dict[str, Any], dict[str, Any]]:
    """(release Job, stage Job) of the llama-swap pod: every swap GGUF staged before llama-swap starts."""
    pool, ns, members = cfg.pool(cfg.swap_spec.pool), cfg.namespaces.serving, swap_models(cfg)
    n = ls.NAMES
    jobs = _names(n["deployment"], lc.catalog(members))
    release = generic_release_job(jobs["release"], ns, n["deployment"], account=GROW, scripts=GROW)
    weights = sum(m.weights_gib for m in members)
    stage = _stage(jobs["stage"], ns, cfg, n["pvc"], n["scripts"], cfg.pool_zones(pool), weights)
    return release, stage


def staged_deployments(cfg: PlatformConfig) -> list[str]:
    """The llama.cpp Deployments the release Jobs may scale (the cache-grow account's Role)."""
    out = [lc.static_names(cfg.pool(m.static_pool))["deployment"] for m in static_models(cfg) if m.replicas > 0]
    if cfg.swap is not None and cfg.swap.replicas > 0:
        out.append(ls.NAMES["deployment"])
    return sorted(out)
