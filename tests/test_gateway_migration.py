"""Schema migrations before the rollout (issue 20, point 8): serving pods never migrate, a Job per image does,
after a backup when backups are on; the gateway waits for it."""

import copy

import pytest

from components.manifests import gateway_migrate
from offline.plan import pod_spec
from tests.conftest import plan_for, raw_config

NS = "litellm"


def env_of(container: dict) -> dict:
    return {e["name"]: e for e in container["env"]}


def jobs(plan) -> list[dict]:
    return [m for m in plan.k8s if m["kind"] == "Job" and m["metadata"]["name"].startswith("litellm-migrate-")]


@pytest.fixture(scope="module")
def dev():
    return plan_for(raw_config("dev"))


class TestServingPodsNeverMigrate:
    def test_gateway_pods_skip_schema_updates(self, dev):
        (c,) = pod_spec(dev.one("Deployment", "litellm"))["containers"]
        assert env_of(c)["DISABLE_SCHEMA_UPDATE"] == {"name": "DISABLE_SCHEMA_UPDATE", "value": "true"}

    def test_without_a_database_there_is_nothing_to_migrate(self):
        plan = plan_for(raw_config("local"))  # database mode none
        assert not jobs(plan)
        (c,) = pod_spec(plan.one("Deployment", "litellm"))["containers"]
        assert "DISABLE_SCHEMA_UPDATE" not in env_of(c)


class TestMigrationJob:
    def test_runs_the_gateway_image_to_migrate_and_exit(self, dev):
        (job,) = jobs(dev)
        (c,) = pod_spec(job)["containers"]
        (gw,) = pod_spec(dev.one("Deployment", "litellm"))["containers"]
        assert c["image"] == gw["image"]
        assert c["args"] == ["--config", "/etc/litellm/config.yaml", "--skip_server_startup"]
        env = env_of(c)
        assert env["DATABASE_URL"] == env_of(gw)["DATABASE_URL"]  # the same Secret reference, no literal
        assert env["ENFORCE_PRISMA_MIGRATION_CHECK"]["value"] == "true"
        assert env["DISABLE_SCHEMA_UPDATE"]["value"] == "false"
        assert job["spec"]["backoffLimit"] >= 1 and pod_spec(job)["restartPolicy"] == "Never"

    def test_a_new_image_is_a_new_job(self):
        raw = copy.deepcopy(raw_config("dev"))
        before = jobs(plan_for(raw))[0]["metadata"]["name"]
        raw.setdefault("images", {})["litellm"] = "ghcr.io/berriai/litellm-non_root:v1.102.5"
        assert jobs(plan_for(raw))[0]["metadata"]["name"] != before

    def test_the_rollout_waits_for_the_job_and_the_job_for_the_backup(self, dev):
        names = {m["metadata"]["name"]: n for n, m in zip(dev.names, dev.k8s, strict=True)}
        job = names[jobs(dev)[0]["metadata"]["name"]]
        deployment = next(n for n, m in zip(dev.names, dev.k8s, strict=True) if m["kind"] == "Deployment"
                          and m["metadata"]["name"] == "litellm")  # fmt: skip
        assert job in dev.depends_on[deployment]
        (backup,) = [m for m in dev.k8s if m["kind"] == "Backup"]
        assert names[backup["metadata"]["name"]] in dev.depends_on[job]
        assert backup["metadata"]["annotations"]["pulumi.com/waitFor"] == "jsonpath={.status.phase}=completed"
        assert backup["spec"]["cluster"] == {"name": "litellm-db"} and backup["spec"]["method"] == "plugin"

    def test_no_backup_when_backups_are_off(self):
        raw = copy.deepcopy(raw_config("dev"))
        raw["gateway"]["database"]["backup"] = {"enabled": False}
        plan = plan_for(raw)
        assert jobs(plan) and not [m for m in plan.k8s if m["kind"] == "Backup"]

    def test_the_job_may_reach_the_database_and_nothing_else(self, dev):
        policy = dev.one("NetworkPolicy", "litellm-migrate-egress", NS)
        assert policy["spec"]["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": gateway_migrate.NAME}}
        (rule,) = policy["spec"]["egress"]
        assert rule["ports"] == [{"protocol": "TCP", "port": 5432}]
        db_in = dev.one("NetworkPolicy", "litellm-db-ingress", NS)["spec"]["ingress"][0]
        assert {"app.kubernetes.io/name": gateway_migrate.NAME} in [
            p.get("podSelector", {}).get("matchLabels") for p in db_in["from"]
        ]
