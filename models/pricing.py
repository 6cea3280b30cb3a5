"""Hourly prices of the G2 machine shapes, and the stack-config override (`llm-platform:pricing`).

PRICE TABLE, dated 2026-11-23, us-central1 (Iowa) (other regions: models/pricing_regions.py), USD per node-hour, Linux, no discounts (no CUD/SUD).
Source: Google Cloud "VM instance pricing" page, accelerator-optimized family, G2 rows
(cloud.google.com/compute/vm-instance-pricing). Anchors from a colleague's research of that page:
    g2-standard-4   on-demand 0.706832276  spot 0.424056
    g2-standard-48  on-demand 4.001665392  spot 2.400672
Google bills a G2 VM as vCPUs + memory + attached L4s, and every G2 shape has 4 GB of memory per vCPU,
so price = vcpus x (vCPU + 4 GB) + gpus x L4. The two anchors give those component prices exactly:
    on-demand: vCPU+4GB 0.036698009/h, L4 0.56004024/h
    spot:      vCPU+4GB 0.022014/h,    L4 0.336/h
and every other row below is derived from them (tests/test_cost_plan.py checks the table against both).
Cross-check: the Cloud Billing Catalog export in Cyclenerd/google-cloud-pricing-cost-calculator (pricing.yml,
generated 2025-03-06) lists g2-standard-8 at 0.853624271 and g2-standard-32 at 1.734376367 on-demand, which
this decomposition reproduces to 1e-6. Spot prices move (up to monthly): override them in stack config,
e.g. `llm-platform:pricing: {g2-standard-8: {onDemand: 0.85, spot: 0.34}}`.
"""

from collections.abc import Sequence
from typing import Annotated

from pydantic import AfterValidator, Field, model_validator

from .base import Spec
from .machines import G2_MACHINES
from .pricing_regions import G2_COMPONENTS, REGIONAL_PRICES_AS_OF

PRICES_AS_OF = "2026-11-23"
PRICES_REGION = "us-central1"
HOURS_PER_MONTH = 730  # Google's own billing-month convention

# machine type -> (on-demand, spot) in USD per node-hour
G2_PRICES: dict[str, tuple[float, float]] = {
    "g2-standard-4": (0.706832276, 0.424056),
    "g2-standard-8": (0.853624312, 0.512112),
    "g2-standard-12": (1.000416348, 0.600168),
    "g2-standard-16": (1.147208384, 0.688224),
    "g2-standard-24": (2.000832696, 1.200336),
    "g2-standard-32": (1.734376528, 1.040448),
    "g2-standard-48": (4.001665392, 2.400672),
    "g2-standard-96": (8.003330784, 4.801344),
}

UsdPerHour = Annotated[float, Field(gt=0, le=1000)]


class MachinePrice(Spec):
    """A stack's own price for one machine shape; a missing half keeps the table's figure."""

    on_demand: UsdPerHour | None = None
    spot: UsdPerHour | None = None

    @model_validator(mode="after")
    def _something_set(self) -> "MachinePrice":
        if self.on_demand is None and self.spot is None:
            raise ValueError(
                "is empty; set onDemand and/or spot in USD per node-hour (e.g. {onDemand: 0.85, "
                "spot: 0.51}), or remove the entry to use the built-in table"
            )
        return self


def _known_shapes(value: dict[str, MachinePrice]) -> dict[str, MachinePrice]:
    unknown = sorted(set(value) - set(G2_PRICES))
    if unknown:
        raise ValueError(
            f"{', '.join(repr(u) for u in unknown)} is not a priced machine type; use one of {', '.join(G2_PRICES)}"
        )
    for shape, price in value.items():
        on_demand, spot = price.on_demand or G2_PRICES[shape][0], price.spot or G2_PRICES[shape][1]
        if spot > on_demand:
            raise ValueError(
                f"{shape}.spot: {spot} is above the on-demand price ({on_demand}); spot VMs are "
                "never dearer, so check the figures (USD per node-hour)"
            )
    return value


PricingOverrides = Annotated[dict[str, MachinePrice], AfterValidator(_known_shapes)]


def _from_components(components: tuple[float, float, float, float]) -> dict[str, tuple[float, float]]:
    od_vcpu, od_l4, spot_vcpu, spot_l4 = components
    return {
        shape: (round(m.vcpus * od_vcpu + m.gpus * od_l4, 9), round(m.vcpus * spot_vcpu + m.gpus * spot_l4, 9))
        for shape, m in G2_MACHINES.items()
    }


# Regions whose G2 prices are in the table: us-central1's own (above), and every other region of the 2025-03-06
# Cloud Billing Catalog export (models/pricing_regions.py). A cluster elsewhere is priced with us-central1's and
# warned about (price_warning), until its figures are set in `pricing`.
REGION_PRICES: dict[str, dict[str, tuple[float, float]]] = {
    **{region: _from_components(c) for region, c in G2_COMPONENTS.items()},
    PRICES_REGION: G2_PRICES,
}
REGION_AS_OF: dict[str, str] = {
    **dict.fromkeys(G2_COMPONENTS, REGIONAL_PRICES_AS_OF),
    PRICES_REGION: PRICES_AS_OF,
}


def price_region(region: str | None) -> str:
    """The region whose table prices apply: the cluster's own when the table has it, else us-central1."""
    return region if region in REGION_PRICES else PRICES_REGION


def price_table(region: str | None) -> str:
    """The table the cost plan uses, as "<as-of date> <region>"."""
    table = price_region(region)
    return f"{REGION_AS_OF[table]} {table}"


def node_price(
    machine_type: str, spot: bool, overrides: dict[str, MachinePrice], region: str | None = None
) -> tuple[float, str]:
    """USD per node-hour for one shape and provisioning model in the cluster's region, and where it came from."""
    override = overrides.get(machine_type)
    value = None if override is None else (override.spot if spot else override.on_demand)
    if value is not None:
        return value, "stack config"
    on_demand, spot_price = REGION_PRICES[price_region(region)][machine_type]
    return (spot_price if spot else on_demand), f"table {price_table(region)}"


def price_warning(region: str | None, machine_types: Sequence[tuple[str, bool]], overrides: dict) -> str | None:
    """Why the cost plan's figures may be off: the cluster's region is not in the table and some priced shape
    (machine type, spot) has no stack-config price."""
    if region is None or region in REGION_PRICES:
        return None
    unpriced = sorted({t for t, spot in machine_types if node_price(t, spot, overrides, region)[1] != "stack config"})
    if not unpriced:
        return None
    return (
        f"'{region}' has no G2 prices in the table, so the cost plan uses {PRICES_REGION}'s for {', '.join(unpriced)}; "
        "set this region's figures (Google Cloud VM instance pricing, G2) in llm-platform:pricing, e.g. "
        f"{{{unpriced[0]}: {{onDemand: ..., spot: ...}}}}"
    )


def check_table() -> list[str]:
    """Rows of G2_PRICES that disagree with the component decomposition (empty when consistent)."""
    components = {False: (0.036698009, 0.56004024), True: (0.022014, 0.336)}
    bad = []
    for shape, prices in G2_PRICES.items():
        m = G2_MACHINES[shape]
        for spot, (per_vcpu, per_l4) in components.items():
            expected = m.vcpus * per_vcpu + m.gpus * per_l4
            if abs(prices[int(spot)] - expected) > 1e-6:
                bad.append(f"{shape} {'spot' if spot else 'on-demand'}: {prices[int(spot)]} != {expected:.9f}")
    return bad
