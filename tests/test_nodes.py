"""GKE nodes: a created cluster upgrades only inside its maintenance window; every pool runs a dedicated
least-privilege service account; GPU drivers follow GKE's qualified DEFAULT; model servers have no CPU limit."""

import copy

import pytest

from components.node_service_account import NODE_ROLES, account_id
from models import ConfigError, parse_config
from tests.conftest import plan_for, raw_config


@pytest.fixture(scope="module")
def prod():
    return plan_for(raw_config("prod"), {"gcp:project": "ai-prod-project"})


@pytest.fixture(scope="module")
def dev():
    return plan_for(raw_config("dev"), {"gcp:project": "ai-dev-project"})


def gcp(plan, typ):
    return [(name, inputs) for t, name, inputs in plan.gcp if t == typ]


class TestMaintenanceWindow:
    def test_a_created_cluster_gets_the_weekend_window_by_default(self, prod):
        ((_, cluster),) = gcp(prod, "gcp:container/cluster:Cluster")
        window = cluster["maintenancePolicy"]["recurringWindow"]
        assert window == {
            "startTime": "2025-01-04T03:00:00Z",  # a Saturday; GKE keeps the time of day and the RRULE
            "endTime": "2025-01-04T11:00:00Z",
            "recurrence": "FREQ=WEEKLY;BYDAY=SA,SU",
        }

    def test_configured_days_hours_and_exclusions_are_rendered(self):
        raw = copy.deepcopy(raw_config("prod"))
        freeze = {"name": "launch", "start": "2026-12-20T00:00:00Z", "end": "2027-01-05T00:00:00Z"}
        raw["cluster"]["maintenance"] = {"days": ["TU", "WE"], "startUtc": "22:30", "hours": 6, "exclusions": [freeze]}
        # Rendered through pulumi-gcp's input types: every key is translated, so every name is one the SDK knows.
        ((_, cluster),) = gcp(plan_for(raw), "gcp:container/cluster:Cluster")
        assert cluster["maintenancePolicy"] == {
            "recurringWindow": {
                "startTime": "2025-01-04T22:30:00Z",
                "endTime": "2025-01-05T04:30:00Z",
                "recurrence": "FREQ=WEEKLY;BYDAY=TU,WE",
            },
            "maintenanceExclusions": [
                {
                    "exclusionName": "launch",
                    "startTime": freeze["start"],
                    "endTime": freeze["end"],
                    "exclusionOptions": {"scope": "NO_MINOR_OR_NODE_UPGRADES"},
                }
            ],
        }

    def test_too_short_a_window_is_refused_with_the_gke_minimum(self):
        raw = copy.deepcopy(raw_config("prod"))
        raw["cluster"]["maintenance"] = {"days": ["SU"], "hours": 6}
        with pytest.raises(ConfigError) as exc:
            parse_config(raw)
        assert exc.value.lines[0].startswith("cluster.maintenance.hours: 1 day(s) x 6 h a week leaves 27 h")


class TestNodeServiceAccount:
    def test_pools_run_a_dedicated_account_with_only_the_node_roles(self, prod):
        ((_, account),) = [
            a for a in gcp(prod, "gcp:serviceaccount/account:Account") if a[1]["accountId"].endswith("-nodes")
        ]
        assert account["accountId"] == account_id("ai-prod") == "ai-prod-nodes"
        email = "ai-prod-nodes@ai-prod-project.iam.gserviceaccount.com"
        roles = sorted(i["role"] for _, i in gcp(prod, "gcp:projects/iAMMember:IAMMember"))
        assert roles == sorted(NODE_ROLES) and "roles/editor" not in roles
        assert {i["member"] for _, i in gcp(prod, "gcp:projects/iAMMember:IAMMember")} == {f"serviceAccount:{email}"}
        pools = gcp(prod, "gcp:container/nodePool:NodePool")
        assert len(pools) >= 2  # the GPU pools and the created cluster's system pool
        assert {i["nodeConfig"]["serviceAccount"] for _, i in pools} == {email}

    def test_an_existing_account_is_used_as_given(self):
        raw = copy.deepcopy(raw_config("dev"))
        raw["cluster"]["nodeServiceAccount"] = "gke-nodes@ai-dev-project.iam.gserviceaccount.com"
        plan = plan_for(raw)
        assert not [a for a in gcp(plan, "gcp:serviceaccount/account:Account") if a[1]["accountId"].endswith("-nodes")]
        (pool,) = [i for _, i in gcp(plan, "gcp:container/nodePool:NodePool")]
        assert pool["nodeConfig"]["serviceAccount"] == "gke-nodes@ai-dev-project.iam.gserviceaccount.com"

    def test_account_ids_fit_gcp_limits(self):
        assert account_id("a" * 40) == "a" * 24 + "-nodes"
        assert account_id("abcdefghijklmnopqrstuvw-xyz") == "abcdefghijklmnopqrstuvw-nodes"


class TestGpuDrivers:
    def test_gpu_pools_pin_gkes_default_driver(self, dev):
        (pool,) = [i for _, i in gcp(dev, "gcp:container/nodePool:NodePool")]
        (acc,) = pool["nodeConfig"]["guestAccelerators"]
        assert acc["gpuDriverInstallationConfig"] == {"gpuDriverVersion": "DEFAULT"}

    def test_latest_is_an_explicit_choice(self):
        raw = copy.deepcopy(raw_config("dev"))
        raw["nodePools"][0]["gpuDriverVersion"] = "LATEST"
        assert parse_config(raw).node_pools[0].gpu_driver_version == "LATEST"
        raw["nodePools"][0]["gpuDriverVersion"] = "535"
        with pytest.raises(ConfigError):
            parse_config(raw)


class TestNoCpuLimitOnGpuNodes:
    def test_model_servers_keep_a_cpu_request_and_no_cpu_limit(self, dev):
        server = dev.one("Deployment", "coder-chat")["spec"]["template"]["spec"]["containers"][0]
        assert "cpu" in server["resources"]["requests"] and "cpu" not in server["resources"]["limits"]
        gateway = dev.one("Deployment", "litellm")["spec"]["template"]["spec"]["containers"][0]
        assert "cpu" in gateway["resources"]["limits"]  # CPU workloads on shared nodes keep theirs
