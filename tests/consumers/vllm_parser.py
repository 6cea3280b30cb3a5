"""Feed rendered `vllm serve` argument lists to vLLM 0.11's own parser (vllm_parser_probe.py in .venv-vllm)."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from offline.plan import Plan, pod_spec

REPO_ROOT = Path(__file__).resolve().parents[2]
PROBE = Path(__file__).resolve().parent / "vllm_parser_probe.py"


def find_vllm_python() -> Path | None:
    """The interpreter of the pinned vLLM venv ($VLLM_VENV or .venv-vllm), when vLLM is installed there."""
    venv = Path(os.environ.get("VLLM_VENV", ".venv-vllm"))
    venv = venv if venv.is_absolute() else REPO_ROOT / venv
    python = venv / "bin" / "python"
    if not python.is_file() or not list(venv.glob("lib/python3*/site-packages/vllm/__init__.py")):
        return None
    return python


def serve_cases(plan: Plan, who: str) -> list[dict[str, Any]]:
    """Every `vllm serve` container in the plan: its args, and the ConfigMap files its mounts provide."""
    cases = []
    for dep in plan.find("Deployment"):
        pod = pod_spec(dep) or {}
        config_maps = {v["name"]: v["configMap"]["name"] for v in pod.get("volumes", []) if "configMap" in v}
        for c in pod.get("containers", []):
            if c.get("command") != ["vllm", "serve"]:
                continue
            files = {}
            for mount in c.get("volumeMounts", []):
                if mount["name"] in config_maps:
                    cm = plan.one("ConfigMap", config_maps[mount["name"]], dep["metadata"]["namespace"])
                    files.update({f"{mount['mountPath']}/{k}": v for k, v in cm.get("data", {}).items()})
            cases.append({"who": f"{who}/{dep['metadata']['name']}", "args": list(c["args"]), "files": files})
    return cases


def probe(python: Path, cases: list[dict[str, Any]]) -> dict[str, Any]:
    proc = subprocess.run(
        [str(python), str(PROBE)],
        input=json.dumps({"cases": cases}),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-4000:])
        raise RuntimeError(f"vllm_parser_probe exited {proc.returncode}: {proc.stderr.strip()[-800:]}")
    return json.loads(proc.stdout)
