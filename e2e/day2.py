"""Day-2 checks of the engine tier: versions against the SDK pins, secret hashes, `--path` flips, upgrades.

Pure helpers over what the CLI and the API server return; the driver (e2e/driver.py) runs the commands.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from components.manifests import gateway as gw
from e2e.engine import REPO

NS = "llm-platform:"
RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"
# Types that hold data or identity: an upgrade may never replace or delete one (issue 19, point 3).
STATEFUL_TYPES = (
    "kubernetes:core/v1:PersistentVolumeClaim",
    "kubernetes:core/v1:Namespace",
    "kubernetes:postgresql.cnpg.io/v1:Cluster",
    RANDOM_PASSWORD,
    "gcp:storage/bucket:Bucket",
)
# What a replicas/scaleToZero flip is meant to change: the model workloads (Deployments; llama-swap's config and
# the gateway's model list are ConfigMaps), the gateway's Deployment, and the weight stage of the model whose
# replicas go to 0 (its release and stage Jobs, their account, Role, RoleBinding and NetworkPolicies: a model at
# replicas 0 stages nothing, docs/concepts/weight-staging.md). Anything else in the diff is a defect.
FLIP_TYPES = frozenset(
    {
        "kubernetes:apps/v1:Deployment",
        "kubernetes:core/v1:ConfigMap",
        "kubernetes:batch/v1:Job",
        "kubernetes:core/v1:ServiceAccount",
        "kubernetes:rbac.authorization.k8s.io/v1:Role",
        "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
        "kubernetes:networking.k8s.io/v1:NetworkPolicy",
    }
)
_PIN = re.compile(r"^(pulumi-kubernetes|pulumi-random)==([\w.+-]+)\s*$", re.M)
VERSION = re.compile(r"^\d+\.\d+\.\d+([-+][\w.]+)?$")


def sdk_pins(requirements: Path = REPO / "requirements.txt") -> dict[str, str]:
    """{"kubernetes": "4.32.0", "random": "4.21.1"}: the Python SDK pins the providers must equal."""
    return {name.removeprefix("pulumi-"): v for name, v in _PIN.findall(requirements.read_text())}


def version_errors(versions: dict[str, str], pins: dict[str, str]) -> list[str]:
    errors = [f"versions.{k}: {v!r} is not a version" for k, v in versions.items() if not VERSION.match(v or "")]
    for provider, pin in sorted(pins.items()):
        if versions.get(provider) != pin:
            errors.append(
                f"the {provider} provider that ran is {versions.get(provider)!r}, the SDK pin in requirements.txt "
                f"is {pin}: build the provider at the pin (scripts/engine/build_pulumi_tools.sh)"
            )
    return errors


def short_hash(value: Any) -> str:
    return hashlib.sha256(str(value).encode()).hexdigest()[:12]


def state_password_hashes(export: Any) -> dict[str, str]:
    """RandomPassword name -> hash of its result, from `pulumi stack export --show-secrets`."""
    out: dict[str, str] = {}
    resources = ((export or {}).get("deployment") or {}).get("resources") or []
    for r in resources:
        if r.get("type") == RANDOM_PASSWORD and "result" in (r.get("outputs") or {}):
            result = r["outputs"]["result"]
            if isinstance(result, dict):  # {"4dabf...": "1b47...", "plaintext": "\"value\""} when not decrypted
                result = result.get("plaintext", result)
            out[f"RandomPassword/{r['urn'].rsplit('::', 1)[-1]}"] = short_hash(result)
    return out


def cluster_secret_hashes(secrets: list[dict[str, Any]], gateway_ns: str) -> dict[str, str]:
    """The salt Secret's data and the master key entry of the gateway Secret, read from the API server."""
    out: dict[str, str] = {}
    for s in secrets:
        meta = s["metadata"]
        if meta.get("namespace") != gateway_ns:
            continue
        data = s.get("data") or {}
        if meta["name"] == gw.SALT_SECRET:
            out[f"Secret/{gateway_ns}/{gw.SALT_SECRET}"] = short_hash(sorted(data.items()))
        elif meta["name"] == gw.SECRET and gw.MASTER_KEY_ENV in data:
            out[f"Secret/{gateway_ns}/{gw.SECRET}:{gw.MASTER_KEY_ENV}"] = short_hash(data[gw.MASTER_KEY_ENV])
    return out


def hashes_unchanged(phases: dict[str, dict[str, str]]) -> list[str]:
    """Names whose hash differs between any two phases that both have it (empty: unchanged everywhere)."""
    seen: dict[str, str] = {}
    changed: list[str] = []
    for hashes in phases.values():
        for name, h in hashes.items():
            if seen.setdefault(name, h) != h and name not in changed:
                changed.append(name)
    return sorted(changed)


def path_flips(config: dict[str, Any]) -> tuple[list[tuple[str, str, str | None]], str | None]:
    """The `config set --path` changes of the flip: (key, flipped value, value to restore; None: remove it).

    One model with replicas goes to 0 through `models[i].replicas`, and a nested number and a nested boolean
    of it change (vLLM: gpuMemoryUtilization, enablePrefixCaching; llama.cpp: contextSize, jinja), which only
    its workload reads. Returns the changes and the model's name (None when no model has a replica)."""
    models = config.get(NS + "models") or []
    for i, m in enumerate(models):
        if int(m.get("replicas", 1) or 0) < 1 or m.get("placement") == "swap":
            continue
        key = f"{NS}models[{i}]"

        def was(field: str, m: dict[str, Any] = m) -> str | None:
            return None if field not in m else str(m[field]).lower() if isinstance(m[field], bool) else str(m[field])

        flips: list[tuple[str, str, str | None]] = [(f"{key}.replicas", "0", was("replicas"))]
        if m.get("engine", "vllm") == "vllm":
            util = float(m.get("gpuMemoryUtilization", 0.9))
            flips += [
                (f"{key}.gpuMemoryUtilization", f"{round(util - 0.05, 2)}", was("gpuMemoryUtilization")),
                (
                    f"{key}.enablePrefixCaching",
                    "false" if m.get("enablePrefixCaching") else "true",
                    was("enablePrefixCaching"),
                ),
            ]
        else:
            ctx = int(m.get("contextSize", 8192))
            flips += [
                (f"{key}.contextSize", str(max(512, ctx // 2)), was("contextSize")),
                (f"{key}.jinja", "false" if m.get("jinja", True) else "true", was("jinja")),
            ]
        return flips, m["name"]
    return [], None


def typed_in_file(doc: dict[str, Any], key: str) -> Any:
    """The value `key` (a --path such as llm-platform:models[0].replicas) holds in a stack file's config."""
    top, _, rest = key.partition("[")
    node: Any = (doc.get("config") or {}).get(top)
    for part in re.findall(r"(\d+)\]|\.(\w+)", "[" + rest if rest else ""):
        index, field = part
        node = node[int(index)] if index else node[field]
    return node


def upgrade_changes(preview_json: Any) -> dict[str, list[str]]:
    """URNs a `pulumi preview --json` would replace or delete, and the steps that change anything."""
    out: dict[str, list[str]] = {"changed": [], "replaced": [], "deleted": []}
    for step in (preview_json or {}).get("steps") or []:
        op, urn = step.get("op"), step.get("urn", "")
        if op in (None, "same", "read"):
            continue
        out["changed"].append(f"{op} {urn}")
        if op in ("replace", "create-replacement", "delete-replaced", "replaced"):
            out["replaced"].append(urn)
        elif op in ("delete", "discard"):
            out["deleted"].append(urn)
    out = {k: sorted(set(v)) for k, v in out.items()}
    return out


def urn_type(urn: str) -> str:
    """urn:pulumi:STACK::PROJECT::parent$type::name -> type."""
    parts = urn.split("::")
    return parts[2].split("$")[-1] if len(parts) > 3 else ""


def stateful_urns(urns: list[str]) -> list[str]:
    """The URNs of stateful types, and of the kept salt Secret."""
    return [
        u
        for u in urns
        if urn_type(u) in STATEFUL_TYPES or (urn_type(u) == "kubernetes:core/v1:Secret" and u.endswith("-salt-key"))
    ]
