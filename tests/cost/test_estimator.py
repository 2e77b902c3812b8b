"""The estimator on the reference stacks (live offline plans) and on edge cases."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cost.artefact import from_report
from cost.compare import compare_to
from cost.errors import UsageFileError
from cost.estimator import estimate
from tests.cost.conftest import FIXED_NOW
from tests.cost.helpers import D, plan_of, report, resource, usage

OWN_PREFIXES = ("azure-native:", "proxmoxve:", "kubernetes:", "hybridops:", "pulumi:")


def _estimate(plan, catalogs, stack_usage, stack):
    return estimate(
        plan, catalogs, usage=stack_usage(stack), catalogs=catalogs.infos, generated_at=FIXED_NOW
    )


@pytest.mark.parametrize("stack", ["cloud-dr", "onprem-prod"])
def test_reference_stacks_are_priced_completely(stack, offline_plan, catalogs, stack_usage):
    """Every resource of our own types is priced or free: no unsupported, no price-not-found."""
    rep = _estimate(offline_plan(stack), catalogs, stack_usage, stack)
    assert rep.summary.unsupported == 0 and rep.summary.price_not_found == 0, rep.summary
    assert all(r.type.startswith(OWN_PREFIXES) for r in rep.resources)
    assert all(r.status in ("priced", "free") for r in rep.resources)
    assert rep.total_monthly_cost > 0 and rep.currency == "USD"


def test_active_costs_more_than_standby_and_diff_is_additive(offline_plan, catalogs, stack_usage):
    """drMode=active costs more per month; the diff equals the sum of per-resource diffs."""
    standby = _estimate(offline_plan("cloud-dr"), catalogs, stack_usage, "cloud-dr")
    active = _estimate(offline_plan("cloud-dr", drMode="active"), catalogs, stack_usage, "cloud-dr")
    assert active.total_monthly_cost > standby.total_monthly_cost
    assert active.past_total_monthly_cost == standby.total_monthly_cost
    assert active.diff_total_monthly_cost == sum(r.diff_monthly_cost for r in active.resources)
    assert active.diff_total_hourly_cost == sum(r.diff_hourly_cost for r in active.resources)
    assert (
        active.diff_total_monthly_cost == active.total_monthly_cost - active.past_total_monthly_cost
    )
    # the DR pool: 0 -> 3 x Standard_D4s_v5 (0.192/h) + 3 P10 OS disks (19.71)
    pool = next(r for r in active.resources if r.name == "cloud-pool-dr")
    assert pool.op == "update" and pool.diff_monthly_cost == D("479.610000")


def test_reference_totals(offline_plan, catalogs, stack_usage):
    """The figures quoted in the docs: standby 635.81, active + traffic switch 1,115.78 per month."""
    standby = _estimate(offline_plan("cloud-dr"), catalogs, stack_usage, "cloud-dr")
    active = _estimate(
        offline_plan("cloud-dr", drMode="active", trafficTarget="cloud"),
        catalogs,
        stack_usage,
        "cloud-dr",
    )
    assert (standby.total_monthly_cost, active.total_monthly_cost) == (
        D("635.810000"),
        D("1115.780000"),
    )
    assert active.diff_total_hourly_cost == D(
        "0.657493"
    )  # dr pool 0.657 + the cloud health check 0.36/730
    assert active.usage.dr is not None and active.usage.dr.expected_hours_per_event == D(48)
    # failback resync: 150 GB egress = 100 x 0 + 50 x 0.087
    assert active.usage.dr.one_off_total == D("4.350000")


def test_create_update_delete_and_replace(catalogs):
    """Past/planned per op: create has no past, delete no planned, update/replace both."""
    ip = {"sku": {"name": "Standard"}}
    vault_old = {"properties": {"sku": {"name": "standard"}}}
    rep = report(
        catalogs,
        resource("azure-native:network:PublicIPAddress", "new-ip", ip),
        resource("azure-native:network:PublicIPAddress", "gone-ip", None, op="delete", old=ip),
        resource(
            "azure-native:compute:Disk",
            "grown",
            {"sku": {"name": "Premium_LRS"}, "diskSizeGB": 256},
            op="replace",
            old={"sku": {"name": "Premium_LRS"}, "diskSizeGB": 128},
        ),
        resource("azure-native:keyvault:Vault", "kv", vault_old, op="same", old=vault_old),
    )
    by = {r.name: r for r in rep.resources}
    assert by["new-ip"].past_components is None and by["new-ip"].diff_monthly_cost == D("3.650000")
    assert by["gone-ip"].components is None and by["gone-ip"].diff_monthly_cost == D("-3.650000")
    assert by["grown"].diff_monthly_cost == D("18.302142")  # P15 38.012142 - P10 19.71
    assert by["kv"].past_components == by["kv"].components
    assert rep.diff_total_monthly_cost == D("18.302142")
    assert rep.summary.changed == 3 and rep.summary.ops == {
        "create": 1,
        "delete": 1,
        "replace": 1,
        "same": 1,
    }


def test_missing_price_is_counted_listed_and_never_zero(catalogs):
    """A key absent from the catalog: null costs, counted, listed with the resources needing it."""
    rep = report(
        catalogs,
        resource(
            "azure-native:compute:Disk", "big", {"sku": {"name": "Premium_LRS"}, "diskSizeGB": 500}
        ),
    )
    r = rep.resources[0]
    assert r.status == "price-not-found" and r.components[0].monthly_cost is None
    assert rep.summary.price_not_found == 1
    assert [(m.price_key, m.resources) for m in rep.summary.missing_prices] == [
        ("disk/eastus/P20 LRS", ["big"])
    ]


def test_no_region_means_price_not_found_not_a_guess(catalogs):
    """An AgentPool in a stack with no Azure location cannot be priced, and the report says why."""
    rep = report(
        catalogs,
        resource("azure-native:containerservice:AgentPool", "p", {"vmSize": "Standard_D2s_v5"}),
        config={},
    )
    assert rep.resources[0].status == "price-not-found"
    assert any("no Azure region" in n for n in rep.notes)


def test_usage_file_errors_name_the_file_and_key(catalogs):
    """A typo in a usage key fails with the file and the full key path."""
    bad = usage({"r1": {"monthly_operatons": 5}})
    plan = plan_of(resource("azure-native:keyvault:Vault", "r1", {}))
    with pytest.raises(
        UsageFileError, match=r"^test-usage.yaml: resource_usage.r1.monthly_operatons: Extra inputs"
    ):
        estimate(plan, catalogs, usage=bad)


def test_usage_for_unknown_resource_is_noted(catalogs):
    rep = report(
        catalogs,
        resource("azure-native:keyvault:Vault", "r1", {}),
        usage_=usage({"nope": {"x": 1}}),
    )
    assert any("resource_usage.nope matches no resource" in n for n in rep.notes)


def test_compare_to_rebases_past_on_an_artefact(offline_plan, catalogs, stack_usage):
    """--compare-to: past = the artefact's planned costs; a resource only in the artefact is a delete."""
    standby = _estimate(offline_plan("cloud-dr"), catalogs, stack_usage, "cloud-dr")
    active = _estimate(offline_plan("cloud-dr", drMode="active"), catalogs, stack_usage, "cloud-dr")
    base = from_report(standby, run_id="base-1", purpose="baseline")
    # drop one resource from the current report to see it appear as a delete
    trimmed = active.model_copy(
        update={"resources": [r for r in active.resources if r.name != "cloud-kv"]}
    )
    rebased = compare_to(trimmed, base)
    kv = next(r for r in rebased.resources if r.name == "cloud-kv")
    assert (
        kv.op == "delete"
        and kv.monthly_cost == Decimal(0)
        and kv.diff_monthly_cost == D("-0.450000")
    )
    assert rebased.past_total_monthly_cost == standby.total_monthly_cost
    assert rebased.diff_total_monthly_cost == sum(r.diff_monthly_cost for r in rebased.resources)
    assert rebased.baseline == "artefact base-1"


def test_estimate_is_deterministic(offline_plan, catalogs, stack_usage):
    """Same plan, same catalog -> byte-identical report."""
    plan = offline_plan("onprem-prod")
    a = _estimate(plan, catalogs, stack_usage, "onprem-prod").model_dump_json()
    b = _estimate(plan, catalogs, stack_usage, "onprem-prod").model_dump_json()
    assert a == b


def test_missing_old_inputs_flag_the_past_instead_of_guessing(catalogs):
    """An update whose plan step lacks old inputs: past is unpriceable (flagged), not zero-filled silently."""
    step = resource(
        "azure-native:network:PublicIPAddress", "ip", {"sku": {"name": "Standard"}}, op="update"
    )
    rep = report(catalogs, step.model_copy(update={"old_inputs": None}))
    r = rep.resources[0]
    assert r.status == "price-not-found" and r.past_components[0].note.startswith(
        "the plan has no old inputs"
    )
    assert r.monthly_cost == D("3.650000") and r.past_monthly_cost == Decimal(0)
    assert rep.summary.missing_prices[0].price_key == "input:old_inputs"
    assert rep.diff_total_monthly_cost == r.diff_monthly_cost
