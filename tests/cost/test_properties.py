"""Property tests (hypothesis): additivity, determinism, tier arithmetic, rounding, loader robustness."""

from __future__ import annotations

import contextlib
import json
import random
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cost.artefact import parse_artefact
from cost.catalog.model import PriceEntry, PriceTier, Provenance
from cost.errors import ArtefactError
from cost.estimator import _bands, estimate
from cost.money import MONEY_QUANTUM, money
from tests.cost.helpers import plan_of, resource

SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

vm_sizes = st.sampled_from(
    ["Standard_D2s_v5", "Standard_D4s_v5", "Standard_D4ds_v5", "Standard_D2_v5", "Standard_B2s"]
)
pool = st.fixed_dictionaries(
    {
        "vmSize": vm_sizes,
        "count": st.integers(0, 20),
        "osDiskSizeGB": st.sampled_from([64, 128, 256, 512, 1024]),
    }
)
disk = st.fixed_dictionaries(
    {
        "sku": st.fixed_dictionaries({"name": st.sampled_from(["Premium_LRS", "StandardSSD_LRS"])}),
        "diskSizeGB": st.integers(1, 2048),
    }
)
pve = st.fixed_dictionaries(
    {
        "cpu": st.fixed_dictionaries({"cores": st.integers(1, 64)}),
        "memory": st.fixed_dictionaries({"dedicated": st.integers(256, 262144)}),
        "disks": st.lists(
            st.fixed_dictionaries(
                {"size": st.integers(1, 4000), "datastoreId": st.just("local-zfs")}
            ),
            max_size=3,
        ),
    }
)
endpoint = st.fixed_dictionaries(
    {
        "type": st.sampled_from(
            [
                "Microsoft.Network/trafficManagerProfiles/externalEndpoints",
                "Microsoft.Network/trafficManagerProfiles/azureEndpoints",
            ]
        ),
        "endpointStatus": st.sampled_from(["Enabled", "Disabled"]),
    }
)
tm = st.fixed_dictionaries({"endpoints": st.lists(endpoint, max_size=4)})
KINDS = {
    "azure-native:containerservice:AgentPool": pool,
    "azure-native:compute:Disk": disk,
    "proxmoxve:index/vmLegacy:VmLegacy": pve,
    "azure-native:trafficmanager:Profile": tm,
    "azure-native:network:PublicIPAddress": st.just({"sku": {"name": "Standard"}}),
    "azure-native:network:Subnet": st.just({}),
    "made-up:thing:Thing": st.just({}),
}


@st.composite
def planned(draw, index: int):
    type_ = draw(st.sampled_from(sorted(KINDS)))
    op = draw(st.sampled_from(["create", "update", "same", "delete", "replace"]))
    new = draw(KINDS[type_])
    old = new if op == "same" else draw(KINDS[type_])
    return resource(type_, f"r{index}", new, op=op, old=old)


@st.composite
def plans(draw):
    n = draw(st.integers(0, 25))
    return plan_of(*[draw(planned(i)) for i in range(n)])


@SETTINGS
@given(plan=plans())
def test_totals_and_diff_are_exact_sums_of_resources(catalogs, plan):
    """diff total == sum of per-resource diffs (monthly and hourly), whatever the mix of ops and statuses."""
    rep = estimate(plan, catalogs)
    known = [r for r in rep.resources if r.monthly_cost is not None]
    assert rep.total_monthly_cost == sum((r.monthly_cost for r in known), Decimal(0))
    assert rep.past_total_monthly_cost == sum((r.past_monthly_cost for r in known), Decimal(0))
    assert rep.diff_total_monthly_cost == sum((r.diff_monthly_cost for r in known), Decimal(0))
    assert rep.diff_total_hourly_cost == sum((r.diff_hourly_cost for r in known), Decimal(0))
    assert rep.diff_total_monthly_cost == rep.total_monthly_cost - rep.past_total_monthly_cost
    s = rep.summary
    assert (
        s.priced + s.free + s.unsupported + s.price_not_found == s.resources == len(plan.resources)
    )
    for r in rep.resources:
        for c in (r.components or []) + (r.past_components or []):
            assert (c.monthly_cost is None) == (c.status == "price-not-found")


@SETTINGS
@given(plan=plans(), seed=st.integers(0, 2**32))
def test_estimates_are_deterministic_and_order_independent(catalogs, plan, seed):
    """Decimal arithmetic: same inputs, same digits; shuffling resources changes no total."""
    a = estimate(plan, catalogs)
    b = estimate(plan, catalogs)
    assert a.model_dump_json(exclude={"generated_at"}) == b.model_dump_json(
        exclude={"generated_at"}
    )
    shuffled = list(plan.resources)
    random.Random(seed).shuffle(shuffled)
    c = estimate(plan.model_copy(update={"resources": shuffled}), catalogs)
    assert (c.total_monthly_cost, c.past_total_monthly_cost, c.total_hourly_cost) == (
        a.total_monthly_cost,
        a.past_total_monthly_cost,
        a.total_hourly_cost,
    )


prices = st.decimals(min_value=0, max_value=10, places=6, allow_nan=False, allow_infinity=False)


@st.composite
def tiered_entries(draw):
    starts = sorted(set(draw(st.lists(st.integers(1, 10**6), max_size=4))))
    tiers = tuple(PriceTier(Decimal(s), draw(prices), Provenance(source="t")) for s in [0, *starts])
    return PriceEntry(
        key="k",
        currency="USD",
        unit_of_measure="1 GB",
        period=None,
        unit_size=Decimal(1),
        tiers=tiers,
    )


@settings(max_examples=200, deadline=None)
@given(entry=tiered_entries(), units=st.decimals(min_value=0, max_value=10**7, places=3))
def test_tier_bands_cover_the_quantity_exactly(entry, units):
    bands = list(_bands(entry, units, "GB"))
    assert sum((u for _, u, _ in bands), Decimal(0)) == units
    assert all(u >= 0 for _, u, _ in bands)


@settings(max_examples=300, deadline=None)
@given(
    value=st.decimals(min_value=-(10**9), max_value=10**9, allow_nan=False, allow_infinity=False)
)
def test_money_rounding(value):
    rounded = money(value)
    assert abs(rounded - value) <= MONEY_QUANTUM / 2
    assert money(rounded) == rounded and rounded.as_tuple().exponent == -6
    assert not (rounded.is_zero() and rounded.is_signed())  # never "-0.000000"


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_artefact_loader_never_crashes_on_bytes(raw):
    try:
        parse_artefact(raw, "fuzz.json")
    except ArtefactError as exc:
        assert str(exc).startswith("fuzz.json: ")


@settings(max_examples=100, deadline=None)
@given(
    doc=st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=10),
        lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
    )
)
def test_artefact_loader_never_crashes_on_json(doc):
    if isinstance(doc, dict):
        doc = {**doc, "kind": "hybridops.cost-run"}
    with contextlib.suppress(ArtefactError):
        parse_artefact(json.dumps(doc).encode(), "fuzz.json")
