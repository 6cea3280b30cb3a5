"""The cost plan: the dated G2 price table, its stack-config override, and the pure per-pool calculation."""

import datetime
import math

import pytest
import yaml

from models import ConfigError, parse_config
from models.cluster import NodePoolSpec
from models.cost import cost_plan, format_cost_plan, pool_cost
from models.machines import G2_MACHINES
from models.pricing import G2_PRICES, HOURS_PER_MONTH, PRICES_AS_OF, check_table, node_price
from offline.report import render
from tests.conftest import ROOT


def pool(machine: str = "g2-standard-48", *, max_nodes: int = 3, spot: bool = False, min_nodes: int = 0):
    return NodePoolSpec(name="p", machineType=machine, minNodes=min_nodes, maxNodes=max_nodes, spot=spot, role="r")


def errors(raw: dict) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        parse_config(raw)
    return exc.value.lines


class TestPriceTable:
    def test_dated_and_covers_every_shape(self):
        assert datetime.date.fromisoformat(PRICES_AS_OF)
        assert G2_PRICES.keys() == G2_MACHINES.keys()
        assert all(0 < spot < on_demand for on_demand, spot in G2_PRICES.values())

    def test_anchors_from_research(self):
        assert G2_PRICES["g2-standard-4"] == (0.706832276, 0.424056)
        assert G2_PRICES["g2-standard-48"] == (4.001665392, 2.400672)

    def test_rows_follow_the_component_prices(self):
        assert check_table() == []

    def test_spot_and_on_demand_pick(self):
        assert node_price("g2-standard-8", False, {}) == (0.853624312, f"table {PRICES_AS_OF} us-central1")
        assert node_price("g2-standard-8", True, {})[0] == 0.512112


class TestPricingConfig:
    def test_override_both_halves(self, dev_raw):
        dev_raw["pricing"] = {"g2-standard-8": {"onDemand": 0.9, "spot": 0.3}}
        plan = cost_plan(parse_config(dev_raw))
        p = plan["pools"]["l4-coder"]
        assert (p["usdPerNodeHour"], p["priceSource"]) == (0.3, "stack config")
        assert p["planned"]["usdPerMonth"] == round(0.3 * HOURS_PER_MONTH, 2)

    def test_partial_override_keeps_the_table_for_the_other_half(self, dev_raw):
        dev_raw["pricing"] = {"g2-standard-8": {"onDemand": 0.9}}
        p = cost_plan(parse_config(dev_raw))["pools"]["l4-coder"]  # the dev pool is spot
        assert (p["usdPerNodeHour"], p["priceSource"]) == (0.512112, f"table {PRICES_AS_OF} us-central1")

    def test_unknown_shape(self, dev_raw):
        dev_raw["pricing"] = {"g2-standard-7": {"spot": 0.3}}
        (line,) = errors(dev_raw)
        assert line.startswith("pricing: 'g2-standard-7' is not a priced machine type; use one of g2-standard-4")

    def test_empty_entry(self, dev_raw):
        dev_raw["pricing"] = {"g2-standard-8": {}}
        assert errors(dev_raw)[0].startswith("pricing.g2-standard-8: is empty; set onDemand and/or spot")

    def test_non_positive_and_misspelt(self, dev_raw):
        dev_raw["pricing"] = {"g2-standard-8": {"onDemand": 0, "spotPrice": 0.2}}
        lines = errors(dev_raw)
        assert any(ln.startswith("pricing.g2-standard-8.onDemand: input should be greater than 0") for ln in lines)
        assert "pricing.g2-standard-8.spotPrice: is not a known key; remove it or fix its spelling" in lines

    def test_spot_above_on_demand(self, dev_raw):
        dev_raw["pricing"] = {"g2-standard-8": {"spot": 2.0}}
        (line,) = errors(dev_raw)
        assert line.startswith("pricing.g2-standard-8.spot: 2.0 is above the on-demand price (0.853624312)")


class TestCostPlan:
    def test_nodes_are_gpus_over_gpus_per_node(self):
        p = pool_cost(pool(), requested=5, min_nodes=0, overrides={})
        assert (p["gpusPerNode"], p["planned"]["nodes"], p["planned"]["gpus"]) == (4, 2, 8)
        assert p["planned"]["gpuHoursPerMonth"] == 8 * 730
        assert p["planned"]["usdPerMonth"] == round(2 * 4.001665392 * 730, 2)
        assert p["idle"] == {"nodes": 0, "gpus": 0, "gpuHoursPerMonth": 0, "usdPerMonth": 0}

    def test_capped_by_max_nodes_and_floored_by_min_nodes(self):
        assert pool_cost(pool(max_nodes=1), requested=9, min_nodes=0, overrides={})["planned"]["nodes"] == 1
        p = pool_cost(pool(min_nodes=2), requested=1, min_nodes=2, overrides={})
        assert p["idle"]["nodes"] == p["planned"]["nodes"] == 2

    def test_spot_pool_uses_spot_price(self):
        p = pool_cost(pool("g2-standard-4", spot=True), requested=1, min_nodes=1, overrides={})
        assert p["provisioning"] == "spot" and p["usdPerNodeHour"] == 0.424056
        assert p["idle"]["usdPerMonth"] == round(0.424056 * 730, 2) == 309.56

    def test_totals_add_up(self, dev_raw):
        dev_raw["nodePools"].append(
            {
                "name": "l4-big",
                "machineType": "g2-standard-24",
                "minNodes": 1,
                "maxNodes": 2,
                "role": "big",
                "zones": ["us-central1-b"],
            }
        )
        dev_raw["models"][1].update(pool="l4-big", replicas=3)
        plan = cost_plan(parse_config(dev_raw))
        big = plan["pools"]["l4-big"]
        assert (big["gpusRequested"], big["idle"]["nodes"], big["planned"]["nodes"]) == (3, 1, 2)
        for level in ("idle", "planned"):
            total = plan["total"][level]
            assert total["gpuHoursPerMonth"] == sum(p[level]["gpuHoursPerMonth"] for p in plan["pools"].values())
            assert math.isclose(total["usdPerMonth"], sum(p[level]["usdPerMonth"] for p in plan["pools"].values()))

    def test_scale_to_zero_idles_at_zero_dollars(self, dev_raw):
        dev_raw["nodePools"][0]["minNodes"] = 1
        assert cost_plan(parse_config(dev_raw))["total"]["idle"]["usdPerMonth"] > 0
        dev_raw["scaleToZero"] = True
        plan = cost_plan(parse_config(dev_raw))
        assert plan["scaleToZero"] is True
        assert (
            plan["total"]["idle"]
            == plan["total"]["planned"]
            == {"nodes": 0, "gpus": 0, "gpuHoursPerMonth": 0, "usdPerMonth": 0}
        )
        assert any(ln.startswith("  idle GPU cost:    $0.00/month") for ln in format_cost_plan(plan))

    def test_stack_output_and_cost_yaml(self, dev_plan, dev_raw, tmp_path):
        assert dev_plan.outputs["costPlan"] == cost_plan(parse_config(dev_raw))
        text = render(ROOT / "Pulumi.dev.yaml", tmp_path, "dev")
        assert yaml.safe_load((tmp_path / "cost.yaml").read_text()) == dev_plan.outputs["costPlan"]
        assert "planned GPU cost: $373.84/month (730 GPU-hours)" in text
