"""An existing GKE cluster is checked at preview for what the stack needs, next to Workload Identity: not
Autopilot (pools cannot be added), the PD CSI driver on (standard-rwo), Managed Prometheus on (PodMonitoring)."""

import subprocess
import sys

import pytest

from models import parse_config
from models.gke_preflight import ClusterNeeds, needs_of, preflight_problems
from tests.conftest import ROOT, raw_config

ALL_ON = {
    "enable_autopilot": False,
    "addons_configs": [{"gce_persistent_disk_csi_driver_configs": [{"enabled": True}]}],
    "monitoring_configs": [{"managed_prometheuses": [{"enabled": True}]}],
}
NEEDS_ALL = ClusterNeeds(node_pools=True, storage_class="standard-rwo", pod_monitoring=True)


def dev_cluster():
    return parse_config(raw_config("dev")).cluster


class TestPreflightRules:
    def test_a_standard_cluster_with_both_addons_passes(self):
        assert preflight_problems(dev_cluster(), NEEDS_ALL, ALL_ON) == []

    def test_missing_fields_are_not_taken_as_off(self):
        assert preflight_problems(dev_cluster(), NEEDS_ALL, {"addons_configs": [], "monitoring_configs": []}) == []

    def test_each_off_switch_names_its_key_and_the_gcloud_fix(self):
        found = {
            "enable_autopilot": True,
            "addons_configs": [{"gce_persistent_disk_csi_driver_configs": [{"enabled": False}]}],
            "monitoring_configs": [{"managed_prometheuses": [{"enabled": False}]}],
        }
        autopilot, csi, gmp = preflight_problems(dev_cluster(), NEEDS_ALL, found)
        assert autopilot.startswith("nodePools: cluster 'ai-dev' (us-central1) is an Autopilot cluster")
        assert csi.startswith("storageClass: cluster 'ai-dev' has the Compute Engine persistent disk CSI driver")
        assert "--update-addons=GcePersistentDiskCsiDriver=ENABLED" in csi
        assert gmp.startswith("observability.scrape: cluster 'ai-dev' has Managed Service for Prometheus off")
        assert "gcloud container clusters update ai-dev --location=us-central1 --enable-managed-prometheus" in gmp

    def test_only_what_the_stack_uses_is_required(self):
        found = {**ALL_ON, "monitoring_configs": [{"managed_prometheuses": []}]}
        raw = raw_config("dev")
        raw["observability"] = {"scrape": "none"}
        assert needs_of(parse_config(raw)) == ClusterNeeds(
            True, "standard-rwo", False, (("us-central1-a", "l4-coder"),)
        )
        assert preflight_problems(dev_cluster(), needs_of(parse_config(raw)), found) == []
        assert len(preflight_problems(dev_cluster(), needs_of(parse_config(raw_config("dev"))), found)) == 1


@pytest.mark.parametrize(
    "switch,value,start",
    [
        ("existing_autopilot", True, "nodePools: cluster 'ai-dev' (us-central1) is an Autopilot cluster"),
        ("existing_pd_csi", False, "storageClass: cluster 'ai-dev' has the Compute Engine persistent disk CSI"),
        ("existing_managed_prometheus", False, "observability.scrape: cluster 'ai-dev' has Managed Service for"),
        ("existing_cpu_zones", ("us-central1-b",), "nodePools.l4-coder.zones: cluster 'ai-dev' has no CPU node pool"),
    ],
)
def test_the_program_fails_preview_on_the_looked_up_cluster(switch, value, start):
    # In a child process: the failed run leaves the pools' pending inputs behind in this process's runtime.
    code = (
        "import pulumi\n"
        "from offline.mocks import PlatformMocks\n"
        "from tests.conftest import plan_for, raw_config\n"
        f"PlatformMocks.{switch} = {value!r}\n"
        "try:\n"
        "    plan_for(raw_config('dev'), {'gcp:project': 'ai-dev-project'})\n"
        "except pulumi.RunError as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], check=True, cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.stdout.strip().startswith(start), done.stdout + done.stderr
