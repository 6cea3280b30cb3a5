"""The rendered alert rules under Prometheus's own tool (`-m consumer`): `promtool check rules` on every stack's
rule file, and `promtool test rules` on synthetic series (tests/alert_cases.py) with, per alert, a firing case,
a healthy case and cases at the threshold's edge. promtool comes from .ci/install_promtool.sh; in CI
(LLM_PLATFORM_REQUIRE_CONSUMERS=1) a missing promtool fails instead of skipping.

promtool compares annotations too; the unit tests strip them (they are templates, which `check rules` parses)
so each case states only the labels an alert carries.
"""

import copy
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from components.manifests.alert_objects import rule_file
from models.load import parse_config
from tests.alert_cases import alerting_raw, cases
from tests.conftest import raw_config, require_consumers

pytestmark = pytest.mark.consumer
CACHE = Path(os.environ.get("LLM_PLATFORM_CACHE", str(Path.home() / ".cache" / "llm-platform")))


def find_promtool() -> Path | None:
    found = os.environ.get("PROMTOOL") or shutil.which("promtool")
    if found:
        return Path(found)
    cached = sorted(CACHE.glob("promtool/*/usr/bin/promtool"))
    return cached[-1] if cached else None


@pytest.fixture(scope="module")
def promtool() -> Path:
    binary = find_promtool()
    if binary is None:
        msg = "promtool not found: run `bash .ci/install_promtool.sh`"
        if require_consumers():
            pytest.fail(msg + " (LLM_PLATFORM_REQUIRE_CONSUMERS=1)")
        pytest.skip(msg)
    return binary


def run(promtool: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(promtool), *args], cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("stack", ["dev", "prod", "local", "alerting"])
def test_every_stacks_rules_pass_promtool_check(promtool, tmp_path, stack):
    raw = alerting_raw() if stack == "alerting" else raw_config(stack)
    cfg = parse_config(raw)
    doc = rule_file(cfg)
    if not doc["groups"]:
        assert stack == "local", "only the local stack (no scraping) renders no rules"
        return
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(doc))
    res = run(promtool, "check", "rules", "rules.yaml", cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr


def unit_test_file(raw: dict, interval: str = "1m") -> tuple[dict, dict]:
    """(rule file without annotations, promtool test file with one test per case sampled every `interval`)."""
    doc = copy.deepcopy(rule_file(parse_config(raw)))
    severities = {}
    for group in doc["groups"]:
        group["interval"] = interval  # a group's own interval overrides the test file's evaluation_interval
        for r in group["rules"]:
            r.pop("annotations")
            severities[r["alert"]] = r["labels"]
    tests = []
    for c in (c for c in cases(raw) if c["interval"] == interval):
        base = {"severity": severities[c["alert"]]["severity"], "platform": "llm-platform"}
        tests.append(
            {
                "name": c["name"],
                "interval": interval,
                "input_series": c["series"],
                "alert_rule_test": [
                    {
                        "eval_time": c["eval_time"],
                        "alertname": c["alert"],
                        "exp_alerts": [{"exp_labels": {**base, **fired}} for fired in c["fired"]],
                    }
                ],
            }
        )
    return doc, {"rule_files": ["rules.yaml"], "evaluation_interval": interval, "tests": tests}


@pytest.mark.parametrize("interval", ["1m", "10m"])
def test_every_alert_fires_and_stays_silent_where_it_should(promtool, tmp_path, interval):
    raw = alerting_raw()
    doc, tests = unit_test_file(raw, interval)
    assert tests["tests"]
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(doc))
    (tmp_path / "tests.yaml").write_text(yaml.safe_dump(tests, sort_keys=False))
    res = run(promtool, "test", "rules", "tests.yaml", cwd=tmp_path)
    assert res.returncode == 0, res.stdout[-6000:] + res.stderr[-3000:]


def test_every_alert_has_a_firing_and_a_silent_case():
    raw = alerting_raw()
    alerts = {r["alert"] for g in rule_file(parse_config(raw))["groups"] for r in g["rules"]}
    firing = {c["alert"] for c in cases(raw) if c["fired"]}
    silent = [c["alert"] for c in cases(raw) if not c["fired"]]
    assert alerts == firing, f"alerts without a firing case: {alerts - firing}"
    thin = {a for a in alerts if silent.count(a) < 2}
    assert not thin, f"alerts without both a healthy and an edge case: {thin}"


def test_a_broken_case_fails_promtool(promtool, tmp_path):
    """The harness can fail: a healthy series expected to fire is reported."""
    raw = alerting_raw()
    doc, tests = unit_test_file(raw)
    (broken,) = [t for t in tests["tests"] if t["name"] == "disk at 30 %"]
    broken["alert_rule_test"][0]["exp_alerts"] = [{"exp_labels": {"severity": "warning", "platform": "llm-platform"}}]
    tests["tests"] = [broken]
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(doc))
    (tmp_path / "tests.yaml").write_text(yaml.safe_dump(tests))
    res = run(promtool, "test", "rules", "tests.yaml", cwd=tmp_path)
    assert res.returncode != 0 and "FAILED" in res.stdout + res.stderr
