"""A new stack over the same cluster (issue 19): what the first stack kept is adopted, with the values it holds.

After the first stack's day 2, its state goes (`state unprotect --all`, `destroy`: what it retains stays in the
cluster: the database, the weight caches, the salt and credential Secrets). Then, as docs/concepts/keys.md says:
- a stack that does not carry the old salt must stop at its first `up` with a server-side apply conflict on the
  kept salt Secret (nothing overwritten);
- a stack that carries `llm-platform-secrets:saltKey` and `databasePassword`, read from the kept Secrets, comes up,
  previews no change, and leaves both Secrets' values as they were.
"""

from __future__ import annotations

import base64
import subprocess
from typing import Any

from components.manifests import database
from components.manifests import gateway as gw
from e2e import observe
from e2e.day2 import short_hash
from e2e.engine import Engine, change_counts
from e2e.report import Report

CARRIED = {"saltKey": (gw.SALT_SECRET, gw.SALT_KEY_ENV), "databasePassword": (database.APP_SECRET, "password")}


def kept_values(cluster: observe.Cluster, gateway_ns: str) -> dict[str, str]:
    """config key -> the value its kept Secret holds (only the Secrets the cluster has)."""
    secrets = {s["metadata"]["name"]: s for s in cluster.get("secrets") if s["metadata"]["namespace"] == gateway_ns}
    out = {}
    for key, (name, field) in CARRIED.items():
        data = (secrets.get(name) or {}).get("data") or {}
        if field in data:
            out[key] = base64.b64decode(data[field]).decode()
    return out


def set_secret(eng: Engine, key: str, value: str) -> bool:
    """`pulumi config set --secret` with the value on stdin: never on a command line or in pulumi.log."""
    cmd = ["pulumi", "config", "set", "--secret", "--stack", eng.stack, "--config-file", str(eng.config_file),
           f"llm-platform-secrets:{key}", "--non-interactive", "--cwd", str(eng.project)]  # fmt: skip
    res = subprocess.run(cmd, input=value, env=eng.env, capture_output=True, text=True, check=False, timeout=120)
    return res.returncode == 0


def fresh(eng: Engine, name: str) -> Engine:
    """Another stack of the same project and variant, with its own state file folder and config file."""
    work = eng.workdir / name
    work.mkdir(parents=True, exist_ok=True)
    config = work / eng.config_file.name.replace(eng.stack, name)
    config.write_text(eng.config_file.read_text())
    other = Engine(work, name, config, eng.env, None, project=eng.project)
    other.env = {**eng.env, "PULUMI_BACKEND_URL": other.env["PULUMI_BACKEND_URL"]}
    return other


def run(report: Report, eng: Engine, cluster: observe.Cluster, gateway_ns: str) -> list[Engine]:
    """Returns the stacks it created, for the run's cleanup."""
    values = kept_values(cluster, gateway_ns)
    result: dict[str, Any] = {"carried": sorted(values)}
    report.new_stack = result
    if "saltKey" not in values:
        result["skipped"] = "no salt Secret: this stack keeps no database"
        return []
    before = {k: short_hash(v) for k, v in values.items()}
    eng.unprotect_all()
    res = eng.destroy()
    report.step("firstStackGone", res.ok, res.seconds)
    created: list[Engine] = []
    bare = fresh(eng, eng.stack + "-bare")
    created.append(bare)
    if bare.init().ok:
        res = bare.up()
        result["withoutSaltStops"] = not res.ok and "conflict" in res.output.lower()
        report.step("newStackWithoutSalt", result["withoutSaltStops"], res.seconds)
        if not result["withoutSaltStops"]:
            report.fail("a new stack without the kept salt did not stop at a conflict: " + res.output[-1500:])
        after_bare = kept_values(cluster, gateway_ns)
        if {k: short_hash(v) for k, v in after_bare.items()} != before:
            report.fail("the stack without the kept salt changed a kept Secret")
        bare.unprotect_all()
        bare.destroy()
    new = fresh(eng, eng.stack + "-new")
    created.append(new)
    ok = new.init().ok and all(set_secret(new, k, v) for k, v in values.items())
    res = new.up()
    report.step("newStackUp", ok and res.ok, res.seconds)
    if not res.ok:
        report.fail("a new stack carrying the kept salt and password did not come up: " + res.output[-1500:])
        return created
    res = new.preview(expect_no_changes=True)
    result["previewChanges"] = sum(change_counts(res.json).values()) if res.json else None
    report.step("newStackPreview", res.ok and result["previewChanges"] == 0, res.seconds)
    after = {k: short_hash(v) for k, v in kept_values(cluster, gateway_ns).items()}
    result["keptUnchanged"] = after == before
    if not result["keptUnchanged"]:
        report.fail(f"the new stack changed kept Secrets: {sorted(k for k in before if after.get(k) != before[k])}")
    return created
