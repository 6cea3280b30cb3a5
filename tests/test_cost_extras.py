"""The cost plan's monthly figure counts boot disks, PVCs and the cluster fee beside the GPU nodes, and prices by
the cluster's region (a warning where the table has no prices for it)."""

import copy

from models import parse_config
from models.cost import cost_plan, format_cost_plan
from models.cost_extras import CLUSTER_FEE_USD_PER_HOUR, DISK_USD_PER_GB_MONTH, pvcs
from models.pricing import HOURS_PER_MONTH
from tests.conftest import raw_config


def plan(name="dev", **changes):
    raw = copy.deepcopy(raw_config(name))
    raw.update(changes)
    return cost_plan(parse_config(raw)), parse_config(raw)


class TestDisksAndFee:
    def test_dev_counts_every_pvc_and_the_planned_nodes_boot_disks(self):
        p, cfg = plan("dev")
        # coder-chat 20, coder-fim 10, coder-agent 30, embeddings (CPU llama) cache, the CNPG volume
        assert p["pvcs"]["gib"]["model cache coder-chat"] == 20 and "gateway database" in p["pvcs"]["gib"]
        assert p["pvcs"]["usdPerMonth"] == round(sum(pvcs(cfg).values()) * 0.10, 2)
        assert p["bootDisks"]["idle"] == {"gb": 0, "usdPerMonth": 0.0}  # minNodes 0, existing cluster
        assert p["bootDisks"]["planned"] == {"gb": 200, "usdPerMonth": 20.0}  # one g2-standard-8, 200 GB
        assert p["clusterFeeUsdPerMonth"] == 0  # an existing cluster: its fee is not this stack's
        planned = p["total"]["planned"]["usdPerMonth"] + 20.0 + p["pvcs"]["usdPerMonth"]
        assert p["monthly"]["planned"] == round(planned, 2)
        assert p["monthly"]["idle"] == p["pvcs"]["usdPerMonth"]  # scaled to zero, the disks still bill

    def test_a_created_cluster_adds_its_fee_and_system_boot_disks(self):
        p, cfg = plan("prod")
        assert p["clusterFeeUsdPerMonth"] == round(CLUSTER_FEE_USD_PER_HOUR * HOURS_PER_MONTH, 2) == 73.0
        system_gb = 100 * cfg.cluster.system_pool_nodes()["minNodes"]
        assert p["bootDisks"]["idle"]["gb"] == system_gb + sum(
            p_["idle"]["nodes"] * pool.disk_size_gb
            for pool in cfg.node_pools
            for n, p_ in p["pools"].items()
            if n == pool.name
        )
        lines = format_cost_plan(p)
        assert any(ln.startswith("  disks and fee:") and "cluster fee $73.00" in ln for ln in lines)
        assert any(ln.startswith("  monthly total:") for ln in lines)

    def test_premium_rwo_pvcs_are_priced_as_pd_ssd(self):
        p, cfg = plan("dev", storageClass="premium-rwo")
        assert p["pvcs"]["disk"] == "pd-ssd"
        assert p["pvcs"]["usdPerMonth"] == round(sum(pvcs(cfg).values()) * DISK_USD_PER_GB_MONTH["pd-ssd"], 2)


class TestRegion:
    def test_us_central1_is_priced_from_its_own_table_without_warning(self):
        p, cfg = plan("dev")
        assert p["priceTable"].endswith("us-central1") and cfg.warnings() == []

    def test_a_region_outside_the_table_warns_and_names_the_override(self):
        raw = copy.deepcopy(raw_config("dev"))
        raw["cluster"]["location"] = "europe-north2"  # in the billing export for other families, not for G2
        raw["nodePools"][0]["zones"] = ["europe-north2-a"]
        raw["gateway"]["database"]["backup"].pop("bucketLocation", None)
        cfg = parse_config(raw)
        (warning,) = [w for w in cfg.warnings() if "G2 prices" in w]
        assert warning.startswith("cluster.location: 'europe-north2' has no G2 prices in the table")
        assert "llm-platform:pricing" in warning and "g2-standard-8" in warning
        assert cost_plan(cfg)["priceTable"].endswith("us-central1")
        raw["pricing"] = {"g2-standard-8": {"onDemand": 0.95, "spot": 0.4}}
        assert not [w for w in parse_config(raw).warnings() if "G2 prices" in w]


class TestPvcsMatchTheRender:
    """Every GiB the stack's render claims (PVCs, and each CNPG instance's data and WAL volumes) is costed."""

    @staticmethod
    def rendered_gib(rendered) -> int:
        def gib(size: str) -> int:
            assert size.endswith("Gi"), size
            return int(size.removesuffix("Gi"))

        total = sum(
            gib(m["spec"]["resources"]["requests"]["storage"])
            for m in rendered.k8s
            if m["kind"] == "PersistentVolumeClaim"
        )
        for c in (m for m in rendered.k8s if m["kind"] == "Cluster"):
            volumes = [c["spec"]["storage"], *([c["spec"]["walStorage"]] if "walStorage" in c["spec"] else [])]
            total += c["spec"].get("instances", 1) * sum(gib(v["size"]) for v in volumes)
        return total

    def test_the_costed_gib_equal_the_rendered_claims(self):
        from tests.conftest import plan_for
        from tests.llama_seed import seed_raw

        for name, raw in (("dev", raw_config("dev")), ("prod", raw_config("prod")), ("llama-seed", seed_raw())):
            costed = sum(pvcs(parse_config(copy.deepcopy(raw))).values())
            assert costed == self.rendered_gib(plan_for(copy.deepcopy(raw))), name
