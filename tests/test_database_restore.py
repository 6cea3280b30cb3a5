"""A restore that never destroys first: a new Cluster recovered beside the live one, verified, switched to by one
config change, the old one kept until the restore block is removed; the program owns the app credentials."""

import copy

import pytest

from components.manifests import database_backup as bk
from components.manifests import database_restore as restore_cmds
from components.manifests.database import APP_SECRET
from offline.mocks import run_program
from offline.plan import Plan, to_plan
from tests.conftest import NS as CONFIG_NS
from tests.conftest import raw_config, stack_values

NS = "litellm"
PLUGIN = "barman-cloud.cloudnative-pg.io"
SIDE_BY_SIDE = {"fromBackupOf": "litellm-db", "into": "litellm-db-2"}


RESTORE = dict(SIDE_BY_SIDE, targetTime="2026-11-30T04:00:00Z")


def dev_with(**db) -> Plan:
    """The dev stack (with its gcp:project) with gateway.database keys set; `secret_data`: the app Secret's
    stringData in clear (the plan masks secret values)."""
    raw = copy.deepcopy(raw_config("dev"))
    raw["gateway"]["database"].update(db)
    values = {CONFIG_NS + k: v for k, v in raw.items()} | {"gcp:project": stack_values("dev")["gcp:project"]}
    capture = run_program(values, "test")
    plan = to_plan(capture)
    (secret,) = [r for r in capture.resources if r.name == "llm-platform-db-app-credentials"]
    data = secret.inputs["stringData"]
    plan.outputs["_secret_data"] = data.get("value", data) if isinstance(data, dict) else data
    return plan


@pytest.fixture(scope="module")
def before() -> Plan:
    return dev_with()


@pytest.fixture(scope="module")
def restoring() -> Plan:  # the new Cluster recovers; the gateway still reads the old one
    return dev_with(restore=RESTORE)


@pytest.fixture(scope="module")
def switched() -> Plan:  # the one config change: cluster
    return dev_with(restore=RESTORE, cluster="litellm-db-2")


def clusters(plan: Plan) -> dict[str, dict]:
    return {m["metadata"]["name"]: m for m in plan.find("Cluster", namespace=NS)}


def pulumi_name(plan: Plan, manifest: dict) -> str:
    return plan.names[plan.k8s.index(manifest)]


def secret_data(plan: Plan) -> dict:
    return plan.outputs["_secret_data"]


def database_url(plan: Plan) -> str:
    return secret_data(plan)["uri"]


def gateway_template(plan: Plan) -> dict:
    return plan.one("Deployment", "litellm", NS)["spec"]["template"]


class TestSideBySide:
    def test_the_restore_adds_a_cluster_and_leaves_the_live_one_as_it_was(self, before, restoring):
        assert set(clusters(restoring)) == {"litellm-db", "litellm-db-2"}
        assert clusters(restoring)["litellm-db"] == clusters(before)["litellm-db"], "the live Cluster is untouched"

    def test_the_new_cluster_recovers_from_the_live_clusters_archive(self, restoring):
        spec = clusters(restoring)["litellm-db-2"]["spec"]
        assert spec["bootstrap"] == {
            "recovery": {
                "source": "origin",
                "database": "litellm",
                "owner": "litellm",
                "secret": {"name": APP_SECRET},
                "recoveryTarget": {"targetTime": "2026-11-30T04:00:00Z"},
            }
        }
        (source,) = spec["externalClusters"]
        assert source == {
            "name": "origin",
            "plugin": {
                "name": PLUGIN,
                "parameters": {"barmanObjectName": bk.RESTORE_STORE, "serverName": "litellm-db"},
            },
        }
        store = restoring.one("ObjectStore", bk.RESTORE_STORE, NS)["spec"]
        assert store["configuration"]["destinationPath"] == "gs://ai-dev-project-litellm-db-backups/litellm-db"
        assert "retentionPolicy" not in store, "the restore source is never pruned"

    def test_the_new_cluster_archives_under_its_own_name(self, restoring):
        names = {c: s["spec"]["plugins"][0]["parameters"]["serverName"] for c, s in clusters(restoring).items()}
        assert names == {"litellm-db": "litellm-db", "litellm-db-2": "litellm-db-2"}

    def test_a_base_backup_is_taken_as_soon_as_the_restored_cluster_is_up(self, restoring):
        sb = restoring.one("ScheduledBackup", "litellm-db-2-daily", NS)["spec"]
        assert sb["cluster"] == {"name": "litellm-db-2"} and sb["immediate"] is True and sb["method"] == "plugin"

    def test_the_gateway_keeps_reading_the_live_cluster_until_the_switch(self, before, restoring):
        assert "@litellm-db-rw.litellm.svc.cluster.local:5432/litellm" in database_url(restoring)
        assert database_url(restoring) == database_url(before)

    def test_each_cluster_reads_gcs_as_the_bound_service_account(self, restoring):
        members = sorted(i["member"] for t, _, i in restoring.gcp if t.endswith("serviceaccount/iAMMember:IAMMember"))
        assert members == [
            "serviceAccount:ai-dev-project.svc.id.goog[litellm/litellm-db-2]",
            "serviceAccount:ai-dev-project.svc.id.goog[litellm/litellm-db]",
        ]
        for spec in clusters(restoring).values():  # the recovery Job too: CNPG copies the nodeSelector to Jobs
            assert spec["spec"]["affinity"]["nodeSelector"] == {"iam.gke.io/gke-metadata-server-enabled": "true"}

    def test_both_clusters_have_their_policies_and_the_gateway_may_reach_both(self, restoring):
        for c in ("litellm-db", "litellm-db-2"):
            egress = restoring.one("NetworkPolicy", f"{c}-egress", NS)
            assert egress["spec"]["podSelector"] == {"matchLabels": {"cnpg.io/cluster": c}}
        rules = restoring.one("NetworkPolicy", "litellm-egress", NS)["spec"]["egress"]
        (db_rule,) = [r for r in rules if r["ports"] == [{"protocol": "TCP", "port": 5432}]]
        assert {p["podSelector"]["matchLabels"]["cnpg.io/cluster"] for p in db_rule["to"]} == {
            "litellm-db",
            "litellm-db-2",
        }

    def test_both_clusters_are_scraped(self, restoring):
        (monitor,) = [m for m in restoring.find("PodMonitoring", namespace=NS) if m["metadata"]["name"] == "litellm-db"]
        (expr,) = monitor["spec"]["selector"]["matchExpressions"]
        assert expr == {"key": "cnpg.io/cluster", "operator": "In", "values": ["litellm-db", "litellm-db-2"]}


class TestTheSwitch:
    def test_switching_changes_only_the_database_url_and_the_gateways_checksum(self, restoring, switched):
        assert clusters(switched) == clusters(restoring), "no Cluster changes when the gateway switches"
        assert "@litellm-db-2-rw.litellm.svc.cluster.local:5432/litellm" in database_url(switched)

        def by_name(plan: Plan) -> dict:
            return {(m["kind"], m["metadata"].get("namespace"), m["metadata"]["name"]): m for m in plan.k8s}

        old, new = by_name(restoring), by_name(switched)
        # The migration runs again against the Cluster switched to (a restore may predate the image's schema),
        # after a backup of that Cluster: a new Job and Backup per database (components/manifests/gateway_migrate.py).
        migration = {("Job", NS, "litellm-migrate-"), ("Backup", NS, "litellm-db-2-pre-migrate-")}
        added = {(k, n, name.rsplit("-", 1)[0] + "-") for k, n, name in set(new) - set(old)}
        assert added == migration, added
        new = {k: v for k, v in new.items() if k in old}
        old = {k: v for k, v in old.items() if k in new}
        changed = {key[0] + "/" + key[2] for key in old if old[key] != new[key]}
        assert changed == {"Deployment/litellm"}, "besides the Secret (masked here), only the gateway's checksum"
        assert secret_data(switched)["password"] == secret_data(restoring)["password"]

    def test_the_gateway_rolls_because_the_checksum_covers_the_credentials(self, restoring, switched):
        env = {e["name"]: e for e in gateway_template(switched)["spec"]["containers"][0]["env"]}
        assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {"name": APP_SECRET, "key": "uri"}
        key = "llm-platform/secrets-checksum"
        assert (
            gateway_template(switched)["metadata"]["annotations"][key]
            != gateway_template(restoring)["metadata"]["annotations"][key]
        )

    def test_the_old_cluster_stays_declared_protected_and_retained(self, switched):
        old = clusters(switched)["litellm-db"]
        assert switched.options[pulumi_name(switched, old)] == {"protect": True, "retain_on_delete": True}

    def test_urns_follow_the_cluster_not_which_one_the_gateway_reads(self, before, restoring, switched):
        names = {"r": {c: pulumi_name(restoring, m) for c, m in clusters(restoring).items()}}
        names["s"] = {c: pulumi_name(switched, m) for c, m in clusters(switched).items()}
        assert (
            names["r"]
            == names["s"]
            == {
                "litellm-db": "llm-platform-db-cluster",  # the name main gave it: an upgrade neither replaces nor deletes
                "litellm-db-2": "llm-platform-db-cluster-litellm-db-2",
            }
        )
        assert pulumi_name(before, clusters(before)["litellm-db"]) == "llm-platform-db-cluster"
        sb = before.one("ScheduledBackup", bk.SCHEDULED_BACKUP, NS)
        assert pulumi_name(before, sb) == "llm-platform-db-scheduled-backup"

    def test_removing_the_restore_keeps_only_the_restored_cluster(self):
        done = dev_with(cluster="litellm-db-2")
        assert set(clusters(done)) == {"litellm-db-2"}
        assert pulumi_name(done, clusters(done)["litellm-db-2"]) == "llm-platform-db-cluster-litellm-db-2"


class TestCredentials:
    def test_every_cluster_bootstraps_with_the_programs_secret(self, before, restoring):
        assert clusters(before)["litellm-db"]["spec"]["bootstrap"] == {
            "initdb": {"database": "litellm", "owner": "litellm", "secret": {"name": APP_SECRET}}
        }
        secret = restoring.one("Secret", APP_SECRET, NS)
        assert secret["type"] == "kubernetes.io/basic-auth" and secret_data(restoring)["username"] == "litellm"
        password = secret_data(restoring)["password"]
        assert password.isalnum() and len(password) == 40, "alphanumeric: it sits in a URL unescaped"
        assert (
            database_url(restoring)
            == f"postgresql://litellm:{password}@litellm-db-rw.litellm.svc.cluster.local:5432/litellm"
        )

    def test_the_password_is_generated_protected_and_the_secret_kept(self, before):
        assert before.options["llm-platform-db-app-password"]["protect"] is True
        secret = before.one("Secret", APP_SECRET, NS)
        assert before.options[pulumi_name(before, secret)] == {"protect": True, "retain_on_delete": True}


class TestFromAnotherArchive:
    def test_a_lost_clusters_archive_restores_into_the_cluster_the_gateway_reads(self):
        archive = {"bucket": "old-backups", "serverName": "litellm-db"}
        plan = dev_with(cluster="litellm-db-2", restore={"into": "litellm-db-2", "fromArchive": archive})
        assert set(clusters(plan)) == {"litellm-db-2"}
        store = plan.one("ObjectStore", bk.RESTORE_STORE, NS)["spec"]["configuration"]
        assert store["destinationPath"] == "gs://old-backups/litellm-db"
        grants = {(i["bucket"], i["role"]) for t, _, i in plan.gcp if t.endswith("BucketIAMMember")}
        assert ("old-backups", "roles/storage.objectViewer") in grants


class TestOutputs:
    def test_the_output_gives_the_verify_and_switch_commands(self, restoring, switched):
        out = restoring.outputs["database"]["restore"]
        assert set(out["verify"]) == {"litellm-db", "litellm-db-2"}
        assert out["verify"]["litellm-db-2"] == restore_cmds.verify_command(NS, "litellm-db-2")
        assert out["switch"] == "pulumi config set --path 'llm-platform:gateway.database.cluster' litellm-db-2"
        assert "switch" not in switched.outputs["database"]["restore"]

    def test_the_output_says_how_to_check_archiving_and_the_first_backup_of_every_cluster(self, restoring):
        status = restoring.outputs["database"]["backup"]["status"]
        assert set(status) == {"litellm-db", "litellm-db-2"}
        assert "--for=condition=ContinuousArchiving" in status["litellm-db-2"]
        assert "cnpg.io/cluster=litellm-db-2,cnpg.io/immediateBackup=true" in status["litellm-db-2"]
