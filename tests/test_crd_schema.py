"""The CNPG objects (Cluster, ScheduledBackup, the plugin's ObjectStore) against their CRDs' openAPIV3Schema.

kubernetes-validate knows built-in kinds only. The API server prunes an unknown field of a custom resource
silently, so a misspelt CNPG field would render, apply, and do nothing: unknown fields fail here. The CRDs come
from the operator's and the plugin's Go modules (tests/crd_modules.py, fetched by .ci/fetch_crds.sh); in CI
(LLM_PLATFORM_REQUIRE_CONSUMERS=1) a module that cannot be fetched fails the test instead of skipping it.
"""

import functools
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from models import parse_config
from offline.mocks import run_program
from offline.plan import to_plan
from tests.conftest import ROOT, plan_for, raw_config, require_consumers
from tests.crd_modules import CNPG_CRDS, CRDS
from tests.test_k8s_schema import STACKS, stack_config

pytestmark = pytest.mark.consumer


def _unavailable(msg: str) -> None:
    if require_consumers():
        pytest.fail(msg + " (LLM_PLATFORM_REQUIRE_CONSUMERS=1): run `bash .ci/fetch_crds.sh`")
    pytest.skip(msg)


@functools.cache
def module_dir(module: str) -> Path | None:
    go = shutil.which("go")
    if go is None:
        return None
    cmd = [go, "mod", "download", "-json", module]
    res = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=600)
    info = json.loads(res.stdout or "{}")
    return Path(info["Dir"]) if res.returncode == 0 and info.get("Dir") else None


def strict(schema: Any) -> Any:
    """Closed objects: a property the CRD does not declare is an error, as the API server would drop it."""
    if isinstance(schema, dict):
        out = {k: strict(v) for k, v in schema.items()}
        closed = "properties" in out and "additionalProperties" not in out
        if closed and not out.get("x-kubernetes-preserve-unknown-fields"):
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [strict(v) for v in schema]
    return schema


@functools.cache
def validator(kind: str) -> jsonschema.Draft7Validator:
    module, path = CRDS[kind]
    root = module_dir(module)
    if root is None or not (root / path).is_file():
        _unavailable(f"CRD of {kind} not available: go mod download {module} failed or go is missing")
    crd = yaml.safe_load((root / path).read_text())
    (version,) = [v for v in crd["spec"]["versions"] if v.get("storage")]
    return jsonschema.Draft7Validator(strict(version["schema"]["openAPIV3Schema"]))


def check(manifest: dict) -> None:
    found = validator(manifest["kind"])
    errors = sorted(found.iter_errors(manifest), key=lambda e: list(e.absolute_path))
    if errors:
        where = f"{manifest['kind']}/{manifest['metadata']['name']}"
        pytest.fail(where + ":\n" + "\n".join(f"  {list(e.absolute_path)}: {e.message}" for e in errors))


def cnpg_objects(plan) -> list[dict]:
    return [m for m in plan.k8s if m["kind"] in CNPG_CRDS]


@pytest.mark.parametrize("stack", STACKS)
def test_cnpg_objects_match_their_crds(stack):
    plan = to_plan(run_program(*stack_config(stack)))
    for m in cnpg_objects(plan):
        check(m)
    kinds = {m["kind"] for m in cnpg_objects(plan)}
    if stack in ("dev", "prod"):
        assert kinds == set(CNPG_CRDS), f"{stack} declares a Cluster, its ObjectStore and a ScheduledBackup"


def test_restore_cluster_matches_the_crd():
    raw = raw_config("dev")
    db = raw["gateway"]["database"]
    db["restore"] = {"fromBackupOf": "litellm-db", "into": "litellm-db-2", "targetTime": "2026-11-30T04:00:00Z"}
    db["cluster"] = "litellm-db-2"  # switched: both Clusters, both ScheduledBackups
    objects = cnpg_objects(plan_for(raw))
    assert {m["metadata"]["name"] for m in objects if m["kind"] == "Cluster"} == {"litellm-db", "litellm-db-2"}
    (restored,) = [m for m in objects if m["metadata"]["name"] == "litellm-db-2"]
    assert set(restored["spec"]["bootstrap"]["recovery"]) >= {"source", "secret", "recoveryTarget"}
    assert {m["metadata"]["name"] for m in objects if m["kind"] == "ObjectStore"} == {
        "litellm-db-backups",
        "litellm-db-restore-source",
    }
    for m in objects:
        check(m)


def test_a_misspelt_field_is_caught():
    raw = raw_config("dev")
    (cluster,) = [m for m in cnpg_objects(plan_for(raw)) if m["kind"] == "Cluster"]
    cluster["spec"]["enablePdb"] = False  # the CRD's field is enablePDB
    assert list(validator("Cluster").iter_errors(cluster)), "unknown fields must fail"
    assert ROOT.is_dir()


# The Barman Cloud plugin chart the stack pins (models/database_backup.py: pluginChartVersion 0.5.0) installs
# plugin v0.11.0 and its own copy of the ObjectStore CRD; the Go module above is v0.13.0.
PLUGIN_CHART = ROOT.parent / "shared" / "upstream" / "cnpg-chart-plugin-barman-cloud-0.5.0.tar.gz"
CHART_CRDS = "charts/charts/plugin-barman-cloud/templates/crds/crds.yaml"


@functools.cache
def chart_object_store_validator() -> jsonschema.Draft7Validator:
    import tarfile

    if not PLUGIN_CHART.is_file():
        _unavailable(f"the pinned plugin chart's source is missing: {PLUGIN_CHART}")
    with tarfile.open(PLUGIN_CHART) as tar:
        member = tar.extractfile(CHART_CRDS)
        assert member is not None, CHART_CRDS
        text = member.read().decode()
    # The CRDs sit inside `{{- if .Values.crds.create }} ... {{- end }}`: the only template lines in the file.
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("{{"))
    (crd,) = [d for d in yaml.safe_load_all(body) if d and d["spec"]["names"]["kind"] == "ObjectStore"]
    (version,) = [v for v in crd["spec"]["versions"] if v.get("storage")]
    return jsonschema.Draft7Validator(strict(version["schema"]["openAPIV3Schema"]))


def test_object_stores_match_the_crd_the_pinned_chart_installs():
    raw = raw_config("dev")
    assert parse_config(raw).gateway.database.backup.plugin_chart_version == "0.5.0", "the chart read here"
    raw["gateway"]["database"]["restore"] = {"fromBackupOf": "litellm-db", "into": "litellm-db-2"}
    stores = [m for m in plan_for(raw).k8s if m["kind"] == "ObjectStore"]
    assert len(stores) == 2
    found = chart_object_store_validator()
    for store in stores:
        errors = sorted(found.iter_errors(store), key=lambda e: list(e.absolute_path))
        assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors]
    bad = {**stores[0], "spec": {**stores[0]["spec"], "retentionPolicyy": "30d"}}
    assert list(found.iter_errors(bad)), "the chart's CRD rejects an unknown field"


def test_scaled_objects_match_kedas_crd():
    """An on-demand model's ScaledObject (issue 16) against KEDA v2.21.0's CRD: a misspelt trigger or bound would
    be pruned by the API server and the model would never scale."""
    from tests.test_on_demand import on_demand

    raw = on_demand()
    raw["scaleToZero"] = True  # the paused form too
    for plan in (plan_for(on_demand()), plan_for(raw)):
        objects = [m for m in plan.k8s if m["kind"] == "ScaledObject"]
        assert objects
        for manifest in objects:
            check(manifest)
    bad = plan_for(on_demand())
    (obj,) = [m for m in bad.k8s if m["kind"] == "ScaledObject"]
    obj["spec"]["cooldownPeriods"] = obj["spec"].pop("cooldownPeriod")
    with pytest.raises(pytest.fail.Exception):
        check(obj)
