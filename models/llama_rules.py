"""Rules that span llama models, the swap section, node pools and the gateway; and the GPU demand of every backend.

Called from PlatformConfig's validators (models/platform.py); each problem is one 'key.path: what is wrong; how to fix' line.
"""

import math
import re

from .cluster import NodePoolSpec
from .common import Problems
from .llama_sizing import cache_block_problem, kv_gib, kv_problem
from .llamacpp import LlamaCppModelSpec
from .platform_spec import PlatformSpec

SWAP_NAME = "llama-swap"
# VRAM llama.cpp needs beyond the weights at least: CUDA/ROCm context, compute buffers, a small KV cache.
VRAM_HEADROOM_GIB = 1.0
_BUILD = re.compile(r"-b(\d+)(?:$|-)")


def llama_models(cfg: PlatformSpec) -> list[tuple[int, LlamaCppModelSpec]]:
    return [(i, m) for i, m in enumerate(cfg.models) if m.engine == "llamacpp"]


def static_models(cfg: PlatformSpec) -> list[LlamaCppModelSpec]:
    return [m for _, m in llama_models(cfg) if m.placement == "static"]


def cpu_models(cfg: PlatformSpec) -> list[LlamaCppModelSpec]:
    return [m for _, m in llama_models(cfg) if m.placement == "cpu"]


def swap_models(cfg: PlatformSpec) -> list[LlamaCppModelSpec]:
    return [m for _, m in llama_models(cfg) if m.placement == "swap"]


def swap_cache_gib(cfg: PlatformSpec) -> int:
    """The swap PVC: every swap model's GGUF, plus a quarter for re-download temp files."""
    if cfg.swap and cfg.swap.cache_gib:
        return cfg.swap.cache_gib
    return max(10, math.ceil(sum(m.weights_gib for m in swap_models(cfg)) * 1.25) + 2)


def gpu_demands(cfg: PlatformSpec, effective: bool = False) -> list[tuple[str, str, int, int]]:
    """(pool, who, replicas, GPUs per replica) of every GPU workload; `effective` applies scaleToZero."""
    out: list[tuple[str, str, int, int]] = []
    for m in cfg.models:
        replicas = cfg.effective_replicas(m) if effective else m.replicas
        if m.engine == "vllm":
            out.append((m.pool, m.name, replicas, m.tensor_parallel_size))
        elif m.engine == "llamacpp" and m.placement == "static":
            out.append((m.static_pool, m.name, replicas, 1))
    if cfg.swap:
        replicas = 0 if (effective and cfg.scale_to_zero) else cfg.swap.replicas
        out.append((cfg.swap.pool, SWAP_NAME, replicas, 1))
    return out


def _build(image: str) -> str | None:
    found = _BUILD.search(image.rsplit(":", 1)[-1]) if "@" not in image else None
    return found.group(1) if found else None


def _placement_rules(cfg: PlatformSpec, p: Problems) -> None:
    pools = {n.name: n for n in cfg.node_pools}
    owner: dict[str, tuple[int, LlamaCppModelSpec]] = {}
    for i, m in llama_models(cfg):
        if m.placement == "swap" and cfg.swap is None:
            p.add(
                f"models[{i}].placement",
                f"'{m.name}' is a swap model but no swap: section is declared; add "
                "swap: {pool: <a nodePools[].name>} or use placement: static with a pool",
            )
        if m.placement != "static" or m.pool not in pools:
            continue  # an unknown pool is reported once, by the pool check
        pool = pools[m.pool]
        if m.pool in owner:
            j, first = owner[m.pool]
            p.add(
                f"models[{i}].pool",
                f"pool '{pool.name}' (role {pool.role}, {pool.shape.gpus} GPU per node) is already pinned by "
                f"models[{j}] '{first.name}'; a static model owns its role-labelled pool and GPU (Service "
                f"llama-{pool.role}). Give '{m.name}' its own pool with its own role, or use placement: swap",
            )
        else:
            owner[m.pool] = (i, m)
    if cfg.swap is None:
        return
    if cfg.swap.pool not in pools:
        known = ", ".join(sorted(pools)) or "none declared"
        p.add(
            "swap.pool",
            f"'{cfg.swap.pool}' is not a declared node pool (known: {known}); use one of "
            "nodePools[].name or add the pool",
        )
    if not swap_models(cfg):
        p.add(
            "swap",
            "declares a llama-swap pool but no model has placement: swap, so it would hold a GPU "
            "for nothing; add a swap model or remove the swap section",
        )
    if cfg.swap.health_check_timeout >= cfg.gateway.request_timeout:
        p.add(
            "swap.healthCheckTimeout",
            f"{cfg.swap.health_check_timeout}s is not below gateway.requestTimeout "
            f"({cfg.gateway.request_timeout}s); the gateway would give up while a swapped-in model is still "
            "loading. Lower healthCheckTimeout or raise gateway.requestTimeout",
        )


def _name_rules(cfg: PlatformSpec, p: Problems) -> None:
    """A tenant name belongs to exactly one backend, also ignoring case (tenants cannot tell them apart)."""
    seen: dict[str, tuple[int, str]] = {}
    for i, m in enumerate(cfg.models):
        name = getattr(m, "name", None)
        if not isinstance(name, str):
            continue
        key = name.lower()
        if key in seen and seen[key][1] != name:
            j, other = seen[key]
            p.add(
                f"models[{i}].name",
                f"'{name}' differs only in case from models[{j}].name '{other}'; a name "
                "can belong to exactly one backend and tenants cannot tell these apart. Rename one",
            )
        seen.setdefault(key, (i, name))
    taken = {f"llama-{n.role}": "a static pool's Service" for n in cfg.node_pools} | {SWAP_NAME: "llama-swap"}
    for i, m in llama_models(cfg):
        if m.placement != "cpu":
            continue
        if len(m.k8s_name) <= len("llama-"):
            p.add(f"models[{i}].name", f"'{m.name}' gives no usable Kubernetes name; include letters or digits")
        elif m.k8s_name in taken:
            p.add(
                f"models[{i}].name",
                f"'{m.name}' would be served as {m.k8s_name}, which is already {taken[m.k8s_name]}; rename the model",
            )
        taken[m.k8s_name] = f"the Service of CPU model '{m.name}'"


def _fits(key: str, who: str, weights: float, full_offload: bool, pool: NodePoolSpec, p: Problems) -> None:
    ram = pool.shape.allocatable_ram_gib
    if weights > ram:
        p.add(
            key,
            f"{weights:g} GiB of GGUF ({who}) exceeds the {ram} GiB of host RAM a pod gets on "
            f"{pool.machine_type} (pool '{pool.name}'); llama.cpp mmaps the file through the page cache and "
            "keeps non-offloaded layers in RAM. Use a bigger machine type or a smaller quant",
        )
    vram = round(pool.gpu_vram_gib - VRAM_HEADROOM_GIB, 2)
    if full_offload and weights > vram:
        p.add(
            key,
            f"{weights:g} GiB of GGUF ({who}) does not fit the {vram:g} GiB of VRAM left on one "
            f"{pool.gpu_vram_gib:g} GiB GPU of pool '{pool.name}' after {VRAM_HEADROOM_GIB:g} GiB for the KV "
            "cache and compute buffers; set gpuLayers to a layer count to keep the rest in host RAM, or use "
            "a smaller quant",
        )


def _all_at_once(swapped: list[LlamaCppModelSpec], pool: NodePoolSpec, p: Problems) -> None:
    """exclusive: false keeps every swap model loaded: each llama-server holds its GGUF, its KV cache and its own
    compute buffers on the GPU at the same time. Checked when every model is fully offloaded with a known shape."""
    if not all(m.full_offload for m in swapped):
        return
    kvs = [kv_gib(m) for m in swapped]
    if any(kv is None for kv in kvs):
        return  # a model outside the shape table already has its warning
    need = [m.weights_gib + (kv or 0.0) + VRAM_HEADROOM_GIB for m, kv in zip(swapped, kvs, strict=True)]
    if sum(need) <= pool.gpu_vram_gib:
        return
    parts = ", ".join(
        f"{m.name} {m.weights_gib:g} + {kv:.2f} KV" for m, kv in zip(swapped, kvs, strict=True) if kv is not None
    )
    p.add(
        "swap.exclusive",
        f"false keeps every swap model loaded at once, and together they need {sum(need):.2f} GiB of VRAM "
        f"(GGUF + KV cache GiB: {parts}; plus {VRAM_HEADROOM_GIB:g} GiB of buffers per server), more than the "
        f"{pool.gpu_vram_gib:g} GiB GPU of pool '{pool.name}': the last model to load fails with a CUDA "
        "out-of-memory error. Set exclusive: true (one model at a time), smaller contextSize values, or fewer "
        "swap models",
    )


def _sizing_rules(cfg: PlatformSpec, p: Problems) -> None:
    pools = {n.name: n for n in cfg.node_pools}
    swap_pool = pools.get(cfg.swap.pool) if cfg.swap else None
    for i, m in llama_models(cfg):
        if problem := cache_block_problem(m):
            p.add(f"models[{i}].extraArgs", problem)
        pool = pools.get(m.static_pool) if m.placement == "static" else swap_pool
        if pool is not None:
            _fits(f"models[{i}].weightsGiB", f"'{m.name}'", m.weights_gib, m.full_offload, pool, p)
            if problem := kv_problem(m, pool.gpu_vram_gib, VRAM_HEADROOM_GIB):
                p.add(f"models[{i}].contextSize", problem)
    swapped = swap_models(cfg)
    if cfg.swap is None or not swapped:
        return
    total = round(sum(m.weights_gib for m in swapped), 2)
    if swap_pool is not None and not cfg.swap.exclusive:
        _fits(
            "swap.exclusive",
            "all swap models at once, exclusive: false",
            total,
            all(m.full_offload for m in swapped),
            swap_pool,
            p,
        )
    if swap_pool is not None and not cfg.swap.exclusive:
        _all_at_once(swapped, swap_pool, p)
    if cfg.swap.cache_gib is not None and cfg.swap.cache_gib < total:
        p.add(
            "swap.cacheGiB",
            f"{cfg.swap.cache_gib} is smaller than the {total} GiB of swap-model GGUFs; set "
            f"cacheGiB to at least {math.ceil(total)} (a bound PVC can grow but never shrink)",
        )


def _image_rules(cfg: PlatformSpec, p: Problems) -> None:
    images = cfg.images
    for server_key, server, swap_key, swap in (
        ("llamacpp", images.llamacpp, "llamaSwap", images.llama_swap),
        ("llamacppRocm", images.llamacpp_rocm, "llamaSwapRocm", images.llama_swap_rocm),
    ):
        a, b = _build(server), _build(swap)
        if a and b and a != b:
            p.add(
                f"images.{swap_key}",
                f"'{swap}' bundles llama.cpp b{b} but images.{server_key} is b{a}; "
                "static and swap servers must run the same build so rendered flags mean the same. Pin "
                "matching tags",
            )


def llama_problems(cfg: PlatformSpec) -> Problems:
    p = Problems()
    _placement_rules(cfg, p)
    _name_rules(cfg, p)
    _sizing_rules(cfg, p)
    _image_rules(cfg, p)
    return p
