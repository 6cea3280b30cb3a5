"""Write a rendered plan to disk and summarise it."""

import shutil
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pulumi
import yaml

from models import ConfigError, config_from_pulumi_values, parse_config, read_stack_file
from models.cost import format_cost_plan
from offline.diagram import write_diagram
from offline.mocks import pulumi_config_values, run_program
from offline.plan import Plan, requested_gpus, to_plan

# libyaml's emitter where PyYAML has it (same output, several times faster on big stacks).
if TYPE_CHECKING:
    _BaseDumper = yaml.SafeDumper
else:
    _BaseDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Dumper(_BaseDumper):  # a subclass, so the str representer below stays ours
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None  # embedded files stay readable in diffs
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump(doc: Any) -> str:
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=True, default_flow_style=False)


class RenderError(Exception):
    """A config the program rejects; the message is the program's own."""


def render_plan(stack_file: Path, stack: str = "dev") -> Plan:
    try:
        values = read_stack_file(stack_file)
        # The check the program runs first, on the values as the program gets them (objects JSON-encoded, so
        # e.g. a YAML key `0:` arrives as "0"): render.py and `pulumi up` print the same message.
        parse_config(config_from_pulumi_values(pulumi_config_values(values)))
        return to_plan(run_program(values, stack))
    except (ConfigError, pulumi.RunError) as exc:
        raise RenderError(str(exc)) from None


def _file_name(manifest: dict[str, Any]) -> str:
    meta = manifest["metadata"]
    return f"{meta.get('namespace', '_cluster')}--{manifest['kind'].lower()}--{meta['name']}.yaml"


def write_plan(plan: Plan, out: Path) -> None:
    for sub in ("k8s", "gcp", "helm"):
        shutil.rmtree(out / sub, ignore_errors=True)
        (out / sub).mkdir(parents=True)
    for manifest in plan.k8s:
        (out / "k8s" / _file_name(manifest)).write_text(dump(manifest))
    for typ, name, inputs in plan.gcp:
        short = typ.split(":")[-1].lower()
        (out / "gcp" / f"{short}--{name}.yaml").write_text(dump({"type": typ, "name": name, "inputs": inputs}))
    for name, inputs in plan.helm:
        (out / "helm" / f"release--{name}.yaml").write_text(dump(inputs))
    (out / "outputs.yaml").write_text(dump(plan.outputs))
    (out / "cost.yaml").write_text(dump(plan.outputs.get("costPlan") or {}))
    leaked = [
        p.name
        for p in out.rglob("*.yaml")  # one read per file, not one per secret
        if (text := p.read_text()) and any(s in text for s in plan.generated_secrets)
    ]
    if leaked:
        raise RuntimeError(f"refusing to keep a render that contains a generated secret: {leaked}")


def summary(plan: Plan, out: Path) -> str:
    lines = [f"rendered to {out}/ (k8s/, gcp/, outputs.yaml, cost.yaml, platform.svg)", "models:"]
    for d in sorted(plan.find("Deployment"), key=lambda d: d["metadata"]["name"]):  # stable for PR diffs
        comp = d["metadata"]["labels"].get("app.kubernetes.io/component")
        if comp == "model":
            lines.append(f"  {d['metadata']['name']:<28} replicas={d['spec']['replicas']}")
    lines.append("routes (model name -> upstream the gateway calls):")
    for name, url in (plan.outputs.get("modelEndpoints") or {}).items():
        lines.append(f"  {name:<28} {url}")
    lines.append("GPUs requested (pool: stack output; role: rendered pods):")
    for pool, n in (plan.outputs.get("gpusRequested") or {}).items():
        lines.append(f"  pool {pool:<23} {n}")
    for role, n in sorted(requested_gpus(plan.k8s).items()):
        lines.append(f"  role {role:<23} {n}")
    counts = Counter(m["kind"] for m in plan.k8s)
    lines.append("resources: " + ", ".join(f"{k}={v}" for k, v in sorted(counts.items())) + f"; GCP={len(plan.gcp)}")
    lines += format_cost_plan(plan.outputs.get("costPlan") or {})
    lines += [f"warning: {w}" for w in plan.outputs.get("configWarnings") or []]
    return "\n".join(lines)


def render(stack_file: Path, out: Path, stack: str = "dev") -> str:
    plan = render_plan(stack_file, stack)
    write_plan(plan, out)
    # The config already passed the check inside render_plan; parsed again here for the picture.
    cfg = parse_config(config_from_pulumi_values(pulumi_config_values(read_stack_file(stack_file))))
    write_diagram(cfg, stack, out)
    return summary(plan, out)
