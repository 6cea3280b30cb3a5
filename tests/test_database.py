"""The gateway database on day 2: state that outlives a destroy, backups that exist, placement that drains."""

import copy
import re

import pytest

from components.manifests import database_backup as bk
from models import ConfigError, parse_config
from offline.mocks import run_program
from offline.plan import Plan, is_kept, to_plan
from tests.conftest import plan_for, raw_config, stack_values

NS = "litellm"
PLUGIN = "barman-cloud.cloudnative-pg.io"


@pytest.fixture(scope="module")
def dev() -> Plan:
    return to_plan(run_program(stack_values("dev"), "dev"))  # with gcp:project


@pytest.fixture(scope="module")
def prod() -> Plan:
    return to_plan(run_program(stack_values("prod"), "prod"))


def cluster_spec(plan: Plan) -> dict:
    return plan.one("Cluster", "litellm-db", NS)["spec"]


def gcp(plan: Plan, suffix: str) -> list[dict]:
    return [inputs for t, _, inputs in plan.gcp if t.endswith(suffix)]


def reject(raw) -> str:
    with pytest.raises(ConfigError) as exc:
        parse_config(raw)
    return str(exc.value)


class TestStatefulNamespacesAreKept:
    """Deleting a Namespace deletes the retained Cluster and PVCs in it: the Namespace must be kept too (the real
    engine showed it: destroy deleted the namespaces and Kubernetes garbage-collected the retained PVCs)."""

    def test_namespaces_holding_data_are_protected_and_retained(self, dev):
        for ns in ("litellm", "experience"):  # the database and key Secrets; front-end data PVCs and keys
            name = dev.names[dev.k8s.index(dev.one("Namespace", ns))]
            assert dev.options[name] == {"protect": True, "retain_on_delete": True}, ns

    def test_serving_namespace_outlives_the_stack_with_its_caches(self, dev):
        serving = dev.one("Namespace", "serving")
        assert is_kept(dev, serving) and dev.options[dev.names[dev.k8s.index(serving)]]["retain_on_delete"]

    def test_every_kept_object_sits_in_a_kept_namespace(self, dev, prod):
        for plan in (dev, prod):
            kept_ns = {m["metadata"]["name"] for m in plan.find("Namespace") if is_kept(plan, m)}
            for m in plan.k8s:
                ns = m["metadata"].get("namespace")
                if is_kept(plan, m) and ns in {n["metadata"]["name"] for n in plan.find("Namespace")}:
                    assert ns in kept_ns, f"{m['kind']}/{m['metadata']['name']} is kept in a deletable {ns}"

    def test_a_laptop_gateway_namespace_without_state_is_not_protected(self):
        plan = plan_for(raw_config("local"), stack="local")
        name = plan.names[plan.k8s.index(plan.one("Namespace", NS))]
        assert plan.options[name]["protect"] is False


class TestDatabasePlacement:
    def test_single_instance_has_no_pdb(self, dev):
        spec = cluster_spec(dev)
        assert spec["instances"] == 1 and spec["enablePDB"] is False  # CNPG's PDB would block every drain
        assert "topologySpreadConstraints" not in spec
        assert set(spec.get("affinity", {})) <= {"nodeSelector"}, "no anti-affinity for one instance"

    def test_prod_instances_on_distinct_nodes_and_spread_over_zones(self, prod):
        spec = cluster_spec(prod)
        assert spec["instances"] >= 2 and spec["enablePDB"] is True
        assert {k: v for k, v in spec["affinity"].items() if k != "nodeSelector"} == {
            "enablePodAntiAffinity": True,
            "podAntiAffinityType": "required",
            "topologyKey": "kubernetes.io/hostname",
        }
        (spread,) = spec["topologySpreadConstraints"]
        assert spread["topologyKey"] == "topology.kubernetes.io/zone" and spread["maxSkew"] == 1
        assert spread["labelSelector"]["matchLabels"]["cnpg.io/cluster"] == "litellm-db"

    def test_guaranteed_qos(self, dev, prod):
        for plan in (dev, prod):
            res = cluster_spec(plan)["resources"]
            assert res["requests"] == res["limits"] and set(res["limits"]) == {"cpu", "memory"}
            sidecar = plan.one("ObjectStore", bk.OBJECT_STORE, NS)["spec"]["instanceSidecarConfiguration"]
            assert sidecar["resources"]["requests"] == sidecar["resources"]["limits"]  # the plugin's sidecar too

    def test_postgres_image_pinned_by_digest(self, dev):
        assert re.fullmatch(
            r"ghcr\.io/cloudnative-pg/postgresql:1[67]\.\d+@sha256:[0-9a-f]{64}", cluster_spec(dev)["imageName"]
        )


class TestBackups:
    def test_cluster_archives_wal_through_the_plugin(self, dev):
        spec = cluster_spec(dev)
        assert spec["plugins"] == [
            {
                "name": PLUGIN,
                "isWALArchiver": True,
                "parameters": {"barmanObjectName": bk.OBJECT_STORE, "serverName": "litellm-db"},
            }
        ]
        assert "backup" not in spec, "not the deprecated in-tree barmanObjectStore"

    def test_object_store_points_at_gcs_over_workload_identity(self, dev):
        store = dev.one("ObjectStore", bk.OBJECT_STORE, NS)
        assert store["apiVersion"] == "barmancloud.cnpg.io/v1"
        conf = store["spec"]["configuration"]
        assert conf["destinationPath"] == "gs://ai-dev-project-litellm-db-backups/litellm-db"
        assert conf["googleCredentials"] == {"gkeEnvironment": True}
        assert store["spec"]["retentionPolicy"] == "14d"

    def test_scheduled_backup_uses_the_plugin(self, dev):
        sb = dev.one("ScheduledBackup", bk.SCHEDULED_BACKUP, NS)["spec"]
        assert sb["method"] == "plugin" and sb["pluginConfiguration"] == {"name": PLUGIN}
        assert sb["schedule"] == "0 0 3 * * *" and sb["cluster"] == {"name": "litellm-db"}

    def test_cluster_pods_act_as_the_bound_gcp_service_account(self, dev):
        # the backup's account, not the nodes' (components/node_service_account.py)
        (account,) = [a for a in gcp(dev, "serviceaccount/account:Account") if not a["accountId"].endswith("-nodes")]
        email = f"{account['accountId']}@ai-dev-project.iam.gserviceaccount.com"
        annotations = cluster_spec(dev)["serviceAccountTemplate"]["metadata"]["annotations"]
        assert annotations == {"iam.gke.io/gcp-service-account": email}
        (wi,) = gcp(dev, "serviceaccount/iAMMember:IAMMember")
        assert wi["role"] == "roles/iam.workloadIdentityUser"
        assert wi["member"] == "serviceAccount:ai-dev-project.svc.id.goog[litellm/litellm-db]"
        roles = {g["role"] for g in gcp(dev, "storage/bucketIAMMember:BucketIAMMember")}
        assert roles == {"roles/storage.objectAdmin", "roles/storage.legacyBucketReader"}
        assert all(g["member"] == f"serviceAccount:{email}" for g in gcp(dev, "BucketIAMMember"))

    def test_instances_run_only_on_workload_identity_nodes(self, dev, prod):
        # Elsewhere the pod gets the node's identity, not the bound account, and archiving fails unseen.
        assert cluster_spec(dev)["affinity"]["nodeSelector"] == {"iam.gke.io/gke-metadata-server-enabled": "true"}
        prod_affinity = cluster_spec(prod)["affinity"]
        assert prod_affinity["nodeSelector"] == {"iam.gke.io/gke-metadata-server-enabled": "true"}
        assert prod_affinity["podAntiAffinityType"] == "required", "placement kept beside the node selector"

    def test_no_gcs_no_node_selector(self, dev_raw):
        dev_raw["gateway"]["database"]["backup"] = {"enabled": False}
        assert "nodeSelector" not in cluster_spec(plan_for(dev_raw)).get("affinity", {})

    def test_bucket_is_private_protected_and_retained(self, dev):
        (bucket,) = gcp(dev, "storage/bucket:Bucket")
        assert bucket["name"] == "ai-dev-project-litellm-db-backups" and bucket["location"] == "US-CENTRAL1"
        assert bucket["uniformBucketLevelAccess"] is True and bucket["publicAccessPrevention"] == "enforced"
        assert bucket["softDeletePolicy"]["retentionDurationSeconds"] >= 7 * 86400
        assert not bucket.get("forceDestroy")
        (name,) = [n for t, n, _ in dev.gcp if t.endswith("storage/bucket:Bucket")]
        assert dev.options[name] == {"protect": True, "retain_on_delete": True}

    def test_plugin_and_cert_manager_installed_pinned(self, dev):
        charts = {r["chart"]: r for _, r in dev.helm}
        plugin = charts["plugin-barman-cloud"]
        assert plugin["namespace"] == "cnpg-system" and re.fullmatch(r"\d+\.\d+\.\d+", plugin["version"])
        assert re.fullmatch(r"v\d+\.\d+\.\d+", charts["cert-manager"]["version"])

    def test_database_pods_may_reach_gcs_and_the_metadata_server(self, dev):
        egress = dev.one("NetworkPolicy", "litellm-db-egress", NS)["spec"]["egress"]
        peers = {
            (p["ipBlock"]["cidr"], port["port"])
            for r in egress
            for p in r["to"]
            if "ipBlock" in p
            for port in r["ports"]
        }
        metadata = {("169.254.169.254/32", 80), ("169.254.169.254/32", 8080)}  # Dataplane V2
        metadata |= {("169.254.169.252/32", 987), ("169.254.169.252/32", 988)}  # Calico / legacy dataplane
        assert {("0.0.0.0/0", 443), *metadata} <= peers

    def test_operators_see_where_backups_go(self, dev):
        out = dev.outputs["database"]["backup"]
        assert out["destination"] == "gs://ai-dev-project-litellm-db-backups/litellm-db/litellm-db"
        assert out["scheduledBackup"] == "litellm/litellm-db-daily (0 0 3 * * *, retention 14d)"
        assert "--method=plugin" in out["backupNow"]

    def test_every_gke_stack_with_cnpg_backs_up(self):
        for stack in ("dev", "prod"):
            assert parse_config(raw_config(stack)).gateway.database.backup.on, stack

    def test_laptops_switch_backups_off(self, dev_raw):
        raw = copy.deepcopy(dev_raw)
        raw["cluster"] = {"target": "kubeconfig", "name": "kind"}
        raw["nodePools"][0].update(managed=False, vramGiB=24)
        assert "gateway.database.backup.enabled: Barman Cloud reaches GCS through GKE" in reject(raw)
        raw["gateway"]["database"]["backup"] = {"enabled": False}
        plan = plan_for(raw)
        assert not plan.find("ObjectStore") and not plan.find("ScheduledBackup") and not plan.gcp
        assert "plugins" not in cluster_spec(plan) and "serviceAccountTemplate" not in cluster_spec(plan)

    def test_backups_need_workload_identity(self, dev_raw):
        dev_raw["cluster"]["workloadIdentity"] = False
        assert "gateway.database.backup.enabled: Barman Cloud reaches GCS as a GCP service account" in reject(dev_raw)

    def test_backup_decision_is_required_on_gke(self, dev_raw):
        del dev_raw["gateway"]["database"]["backup"]
        assert "gateway.database.backup: the database holds every virtual key" in reject(dev_raw)


class TestRestore:
    """The side-by-side restore itself: tests/test_database_restore.py."""

    def test_the_old_restore_key_says_what_replaced_it(self, dev_raw):
        dev_raw["gateway"]["database"]["restoreFrom"] = {"bucket": "old-backups"}
        assert "gateway.database.restoreFrom: replaced by restore" in reject(dev_raw)

    def test_restore_into_the_archive_it_reads_is_refused(self, dev_raw):
        db = dev_raw["gateway"]["database"]
        db["backup"]["serverName"] = "litellm-db-2"  # the old recipe's name for litellm-db's own archive
        db["restore"] = {"fromBackupOf": "litellm-db", "into": "litellm-db-2"}
        assert "gateway.database.restore.into: 'litellm-db-2' would archive into the folder" in reject(dev_raw)


class TestSynchronousReplication:
    def test_prod_commits_wait_for_one_standby_but_never_block(self, prod):
        assert cluster_spec(prod)["postgresql"]["synchronous"] == {
            "method": "any",
            "number": 1,
            "dataDurability": "preferred",
        }

    def test_a_single_instance_has_nothing_to_wait_for(self, dev):
        assert "synchronous" not in cluster_spec(dev).get("postgresql", {})


class TestBucketRetentionLock:
    def test_retention_policy_on_a_created_bucket(self, dev_raw):
        dev_raw["gateway"]["database"]["backup"].update(bucketRetentionDays=7, lockBucketRetention=True)
        (bucket,) = gcp(plan_for(dev_raw), "storage/bucket:Bucket")
        assert bucket["retentionPolicy"] == {"retentionPeriod": str(7 * 86400), "isLocked": True}

    def test_no_policy_by_default(self, dev):
        (bucket,) = gcp(dev, "storage/bucket:Bucket")
        assert "retentionPolicy" not in bucket
