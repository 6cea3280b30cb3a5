"""The cost plan prices G2 nodes by the cluster's region (issue 15, point 10): every region of the recorded Cloud
Billing Catalog export (tests/contracts/g2_prices_2025-03-06.json) is reproduced by models/pricing_regions.py's
per-region components, and a stack in one of them is priced from its own row, without a warning."""

import copy
import json
from pathlib import Path

import pytest

from models import parse_config
from models.cost import cost_plan
from models.pricing import G2_PRICES, REGION_PRICES, node_price
from tests.conftest import raw_config

RECORDED = json.loads((Path(__file__).parent / "contracts" / "g2_prices_2025-03-06.json").read_text())["prices"]


# us-central1 keeps its own, newer table: checked against this export below
@pytest.mark.parametrize("region", sorted(set(RECORDED) - {"us-central1"}))
def test_every_recorded_row_is_reproduced(region):
    for machine, (on_demand, spot) in RECORDED[region].items():
        ours = REGION_PRICES[region][machine]
        assert ours[0] == pytest.approx(on_demand, abs=1e-6) and ours[1] == pytest.approx(spot, abs=1e-6), machine


def test_the_two_sources_agree_on_us_central1_on_demand():
    # Spot prices moved between the export (2025-03-06) and the us-central1 table (2026-11-23); on-demand did not.
    for machine, (on_demand, _) in RECORDED["us-central1"].items():
        assert G2_PRICES[machine][0] == pytest.approx(on_demand, abs=1e-6), machine


def test_every_l4_region_of_the_zone_table_is_priced():
    from models.cluster import L4_ZONES

    assert set(L4_ZONES) <= set(REGION_PRICES)


def test_a_stack_in_europe_west4_is_priced_from_europe_west4_without_warning():
    raw = copy.deepcopy(raw_config("dev"))
    raw["cluster"]["location"] = "europe-west4"
    raw["nodePools"][0]["zones"] = ["europe-west4-a"]
    raw["gateway"]["database"]["backup"].pop("bucketLocation", None)
    cfg = parse_config(raw)
    assert not [w for w in cfg.warnings() if "G2 prices" in w]
    plan = cost_plan(cfg)
    assert plan["priceTable"] == "2025-03-06 europe-west4"
    price, source = node_price("g2-standard-8", True, {}, "europe-west4")
    assert price == pytest.approx(RECORDED["europe-west4"]["g2-standard-8"][1], abs=1e-6)
    assert source == "table 2025-03-06 europe-west4"
