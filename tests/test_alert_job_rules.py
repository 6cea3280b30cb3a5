"""The failed-Job alerts (components/manifests/alert_rules_jobs.py) select Jobs by name pattern: every stage,
release and smoke-test Job a stack declares matches its alert's pattern, and no other Job does. promtool runs the
rules themselves (tests/alert_cases_jobs.py through tests/test_alert_rules_promtool.py)."""

import re

import pytest

from components.manifests import alert_rules as ar
from components.manifests.alert_rules_jobs import SMOKE_JOB_PATTERN, STAGE_JOB_PATTERN
from components.manifests.smoke import NAME as SMOKE_POD
from components.manifests.weight_stage import RELEASE, STAGE
from models import parse_config
from tests.alert_cases import alerting_raw
from tests.conftest import plan_for, raw_config
from tests.llama_seed import seed_plan


def pod_name(job: dict) -> str:
    return job["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"]


@pytest.fixture(scope="module")
def jobs() -> list[dict]:
    """The Jobs of the dev stack (vLLM stages, smoke test, key Job) and the llama seed (GGUF stages, grow)."""
    found = plan_for(raw_config("dev")).find("Job") + seed_plan().find("Job")
    kinds = {pod_name(j) for j in found}
    assert {STAGE, RELEASE, SMOKE_POD} <= kinds and len(kinds) > 3, kinds
    return found


def test_every_stage_and_release_job_and_only_those_match_the_stage_alert(jobs):
    for j in jobs:
        staging = pod_name(j) in (STAGE, RELEASE)
        assert bool(re.fullmatch(STAGE_JOB_PATTERN, j["metadata"]["name"])) == staging, j["metadata"]["name"]


def test_the_smoke_job_and_only_it_matches_the_smoke_alert(jobs):
    for j in jobs:
        smoke = pod_name(j) == SMOKE_POD
        assert bool(re.fullmatch(SMOKE_JOB_PATTERN, j["metadata"]["name"])) == smoke, j["metadata"]["name"]


def job_alerts(raw: dict) -> dict[str, str]:
    cluster = ar.rule_groups(parse_config(raw)).get(ar.CLUSTER, [])
    return {r["alert"]: r["expr"] for r in cluster if r["alert"] in ("ModelStageFailed", "SmokeTestFailed")}


def test_rules_select_failed_jobs_in_their_namespace():
    alerts = job_alerts(alerting_raw())
    assert 'namespace="serving"' in alerts["ModelStageFailed"] and 'condition="true"' in alerts["ModelStageFailed"]
    assert 'namespace="litellm"' in alerts["SmokeTestFailed"] and 'condition="true"' in alerts["SmokeTestFailed"]


def test_no_smoke_test_no_smoke_alert():
    raw = alerting_raw()
    raw["gateway"]["smokeTest"] = {"enabled": False}
    assert set(job_alerts(raw)) == {"ModelStageFailed"}


def test_the_stage_alert_does_not_follow_a_replicas_flip():
    """A model at replicas: 0 stages nothing, but the rule stays: the `config set --path ...replicas 0` flip changes
    only workloads (tests/engine), not the alert objects."""
    raw = alerting_raw()
    raw["gateway"]["smokeTest"] = {"enabled": False}
    before = job_alerts(raw)
    for m in raw["models"]:
        m["replicas"] = 0
    assert job_alerts(raw) == before and set(before) == {"ModelStageFailed"}


def test_no_backend_that_stages_no_stage_alert():
    """Only CPU llama.cpp models (they fetch in an init container, no stage Job): no stage alert."""
    raw = alerting_raw()
    raw["models"] = [m for m in raw["models"] if m.get("engine") == "llamacpp" and m.get("placement") == "cpu"]
    raw["gateway"]["smokeTest"] = {"enabled": False}
    raw["gateway"].pop("keys", None)
    raw.get("frontends", {}).clear()
    raw.get("alerts", {}).pop("latencyP95SecondsByModel", None)
    assert raw["models"] and job_alerts(raw) == {}
