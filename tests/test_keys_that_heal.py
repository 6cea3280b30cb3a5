"""Day 2 for keys and Secrets, on the rendered plan: the healing CronJob and its narrow RBAC, the awaited key Job,
the salt key that never rotates, and Secret checksums on every pod template that reads a program-owned Secret."""

import json
from functools import cache
from pathlib import Path

import pulumi
import pytest
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from components.k8s import SECRETS_CHECKSUM, apply, secret_refs
from components.manifests import keys
from models import read_stack_file
from offline.mocks import install_mocks, run_program, unwrap
from offline.plan import Plan, pod_spec, to_plan
from tests.conftest import ROOT, plan_for

STACKS = sorted(str(p.relative_to(ROOT)) for p in [*ROOT.glob("Pulumi.*.yaml"), *ROOT.glob("examples/Pulumi.*.yaml")])


@cache
def stack_plan(stack_file: str) -> Plan:
    name = Path(stack_file).name.removeprefix("Pulumi.").removesuffix(".yaml")
    return to_plan(run_program(read_stack_file(ROOT / stack_file), name))


@cache
def librechat_plan() -> Plan:
    """LibreChat is off in every stack file; its generated secrets must roll it too."""
    from tests.test_pod_hardening import all_plans

    return all_plans()["dev+librechat+3gw"]


def template_annotations(m: dict) -> dict:
    return m["spec"]["template"].get("metadata", {}).get("annotations", {})


class TestHealingCronJob:
    def test_schedule_forbids_overlap_and_runs_the_job_pod(self, dev_plan):
        cron = dev_plan.one("CronJob", keys.HEAL_NAME, "litellm")
        assert cron["spec"]["schedule"] == keys.HEAL_SCHEDULE and cron["spec"]["concurrencyPolicy"] == "Forbid"
        (job,) = [j for j in dev_plan.find("Job") if j["metadata"]["name"].startswith("litellm-keys-")]
        pod = cron["spec"]["jobTemplate"]["spec"]["template"]
        # same pods as the Job (so the same NetworkPolicy and RBAC apply), only a shorter readiness wait
        assert pod["metadata"]["labels"] == job["spec"]["template"]["metadata"]["labels"]
        strip = [{k: v for k, v in c.items() if k != "env"} for c in pod["spec"]["containers"]]
        assert strip == [{k: v for k, v in c.items() if k != "env"} for c in pod_spec(job)["containers"]]

    def test_consumers_are_the_front_ends_using_each_key(self, dev_plan):
        declared = json.loads(dev_plan.one("ConfigMap", "litellm-keys")["data"]["keys.json"])["keys"]
        consumers = {k["key_alias"]: k["consumers"] for k in declared}
        assert consumers == {
            "open-webui": [{"namespace": "experience", "deployment": "open-webui"}],
            "tabby": [{"namespace": "experience", "deployment": "tabby"}],
            "smoke-test": [],
        }
        for c in (c for cs in consumers.values() for c in cs):
            deployment = dev_plan.one("Deployment", c["deployment"], c["namespace"])
            reads = secret_refs(pod_spec(deployment)) | {
                v["secret"]["secretName"] for v in pod_spec(deployment).get("volumes", []) if "secret" in v
            }
            assert reads & {k["secret_name"] for k in declared}, f"{c['deployment']} reads no key Secret"

    def test_patch_only_the_consumer_deployments_by_name(self, dev_plan):
        role = dev_plan.one("Role", "litellm-keys", "experience")
        (patch,) = [r for r in role["rules"] if r["apiGroups"] == ["apps"]]
        assert patch == {
            "apiGroups": ["apps"],
            "resources": ["deployments"],
            "verbs": ["get", "patch"],
            "resourceNames": ["open-webui", "tabby"],
        }
        assert not any("apps" in r["apiGroups"] for r in dev_plan.one("Role", "litellm-keys", "litellm")["rules"])


class TestReconcilerCannotCreateSecrets:
    """Pulumi creates each key Secret empty and deletes it with its key; the reconciler only reads and patches
    those by name, and holds one Lease by name."""

    def test_no_create_and_only_declared_names(self, dev_plan):
        declared = json.loads(dev_plan.one("ConfigMap", "litellm-keys")["data"]["keys.json"])["keys"]
        for role in dev_plan.find("Role", "litellm-keys"):
            ns = role["metadata"]["namespace"]
            for rule in role["rules"]:
                assert "create" not in rule["verbs"] and "delete" not in rule["verbs"], rule
                assert rule.get("resourceNames"), f"an unnamed rule in {ns}: {rule}"
                if rule["resources"] == ["secrets"]:
                    want = {k["secret_name"] for k in declared if k["namespace"] == ns}
                    assert set(rule["resourceNames"]) == want and rule["verbs"] == ["get", "patch"]

    def test_each_key_secret_is_declared_empty_with_its_data_ignored(self, dev_plan):
        declared = json.loads(dev_plan.one("ConfigMap", "litellm-keys")["data"]["keys.json"])["keys"]
        for k in declared:
            secret = dev_plan.one("Secret", k["secret_name"], k["namespace"])
            assert "data" not in secret and "stringData" not in secret
            name = dev_plan.names[dev_plan.k8s.index(secret)]
            assert set(dev_plan.options[name]["ignore_changes"]) == {"data", "stringData"}

    def test_the_lease_is_declared_and_only_updatable(self, dev_plan):
        lease = dev_plan.one("Lease", "litellm-keys", "litellm")
        assert lease["apiVersion"] == "coordination.k8s.io/v1"
        role = dev_plan.one("Role", "litellm-keys", "litellm")
        (rule,) = [r for r in role["rules"] if r["apiGroups"] == ["coordination.k8s.io"]]
        assert rule == {
            "apiGroups": ["coordination.k8s.io"],
            "resources": ["leases"],
            "verbs": ["get", "update"],
            "resourceNames": ["litellm-keys"],
        }


class TestKeyJobIsAwaited:
    def test_no_skip_await_and_fails_before_pulumis_timeout(self, dev_plan):
        (job,) = [j for j in dev_plan.find("Job") if j["metadata"]["name"].startswith("litellm-keys-")]
        assert "pulumi.com/skipAwait" not in job["metadata"].get("annotations", {})
        assert job["metadata"]["annotations"]["pulumi.com/replaceUnready"] == "true", "a failed Job re-runs next up"
        assert job["spec"]["activeDeadlineSeconds"] < 600 and job["spec"]["backoffLimit"] <= 2
        wait = {e["name"]: e.get("value") for e in pod_spec(job)["containers"][0]["env"]}["WAIT_SECONDS"]
        assert int(wait) < job["spec"]["activeDeadlineSeconds"]


class TestSaltKey:
    def test_gateway_reads_salt_from_its_own_kept_secret(self, dev_plan):
        env = {e["name"]: e for e in pod_spec(dev_plan.one("Deployment", "litellm"))["containers"][0]["env"]}
        assert env["LITELLM_SALT_KEY"]["valueFrom"]["secretKeyRef"] == {
            "name": "litellm-salt-key",
            "key": "LITELLM_SALT_KEY",
        }
        secret = dev_plan.one("Secret", "litellm-salt-key", "litellm")
        name = dev_plan.names[dev_plan.k8s.index(secret)]
        assert dev_plan.options[name] == {
            "protect": True,
            "retain_on_delete": True,
            "ignore_changes": ["data", "stringData"],
        }

    def test_salt_value_is_protected_and_never_rotates(self):
        capture = run_program(read_stack_file(ROOT / "Pulumi.dev.yaml"), "dev")
        (salt,) = [r for r in capture.resources if r.type.endswith("RandomPassword") and r.name.endswith("salt-key")]
        assert "keepers" not in salt.inputs, "a keeper change would replace the salt and orphan every credential"
        assert capture.options[salt.name]["protect"] is True

    def test_no_database_no_salt(self, dev_raw):
        dev_raw["gateway"].update(database={"mode": "none"}, storeModelInDb=False, keys=[])
        dev_raw["gateway"]["smokeTest"] = {"enabled": False}
        for fe in dev_raw.get("frontends", {}).values():
            fe["enabled"] = False
        plan = plan_for(dev_raw)
        assert plan.find("Secret", "litellm-salt-key") == []
        env = {e["name"] for e in pod_spec(plan.one("Deployment", "litellm"))["containers"][0]["env"]}
        assert "LITELLM_SALT_KEY" not in env


class TestSecretChangesRollPods:
    @pytest.mark.parametrize("stack", [*STACKS, "dev+librechat+3gw"])
    def test_every_reader_of_a_declared_secret_carries_its_checksum(self, stack):
        plan = stack_plan(stack) if stack in STACKS else librechat_plan()
        declared = {(s["metadata"].get("namespace"), s["metadata"]["name"]) for s in plan.find("Secret")}
        readers: set[str] = set()
        for m in plan.k8s:
            pod = pod_spec(m)
            if pod is None or m["kind"] == "CronJob":  # a CronJob starts fresh pods every run
                continue
            ns = m["metadata"].get("namespace")
            if {(ns, n) for n in secret_refs(pod)} & declared:
                checksum = template_annotations(m).get(SECRETS_CHECKSUM, "")
                assert len(checksum) == 16, f"{m['kind']}/{m['metadata']['name']} reads a Secret without checksum"
                readers.add(m["metadata"]["name"])
        if stack == "dev+librechat+3gw":
            assert {"litellm", "librechat", "open-webui"} <= readers

    def test_checksum_follows_the_value_and_hides_it(self):
        def annotation(value: str) -> str:
            capture = install_mocks("test")
            secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "n"}}
            container = {
                "name": "c",
                "image": "i@sha256:0",
                "env": [{"name": "E", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}],
            }
            deploy = {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "d", "namespace": "n"},
                "spec": {"template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [container]}}},
            }

            def program():
                opts = pulumi.ResourceOptions()
                apply("s", {**secret, "stringData": {"k": pulumi.Output.secret(value)}}, opts)
                apply("d", deploy, opts)

            _sync_await(run_pulumi_func(program))
            (d,) = [unwrap(r.inputs) for r in capture.resources if r.type.endswith("Deployment")]
            return template_annotations(d)[SECRETS_CHECKSUM]

        first, again, other = annotation("value-1"), annotation("value-1"), annotation("value-2")
        assert first == again and first != other and "value" not in first

    def test_master_key_change_replaces_the_key_job(self, dev_plan):
        """The Job reads the master key: its template carries the checksum, so a new key re-runs it."""
        (job,) = [j for j in dev_plan.find("Job") if j["metadata"]["name"].startswith("litellm-keys-")]
        gateway = dev_plan.one("Deployment", "litellm")
        assert template_annotations(job)[SECRETS_CHECKSUM] and template_annotations(gateway)[SECRETS_CHECKSUM]
