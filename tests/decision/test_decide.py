"""decide(): every check with exact values, at its boundaries, and the rules that combine them."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError

from cost.decision.decide import CHECK_IDS, decide
from cost.decision.model import EstimateUnavailable, LedgerEvent
from tests.decision.helpers import (
    ACTIVE_MONTHLY,
    EVENT_COST,
    NOW,
    ONE_OFF,
    STANDBY_MONTHLY,
    ctx,
    entry,
    facts,
    failback_facts,
    ledger,
    policy,
)

Q = Decimal("0.000001")  # the money quantum


def status(decision, check_id: str) -> str:
    return decision.check(check_id).status


def test_reference_cutover_is_allowed_with_exact_figures():
    """The shipped limits allow the reference cutover; the figures are exact Decimals."""
    d = decide(facts(), policy(), ledger(), ctx())
    assert d.decision == "allow" and d.original_decision == "allow"
    f = d.figures
    assert f.event_cost == EVENT_COST
    assert f.event_hours == 48 and f.event_hours_source == "usage"
    assert f.one_off_total == ONE_OFF
    assert f.projected_monthly == STANDBY_MONTHLY + EVENT_COST == Decimal("671.719664")
    assert f.dr_spend_after == EVENT_COST
    assert f.warn_threshold == Decimal("800.000000")
    assert d.reason == "allow: 14 checks passed, none failed"
    assert d.policy_entry == "cloud-dr"


def test_every_check_is_listed_in_the_stable_order():
    """Every decision lists every check id once, in CHECK_IDS order, whatever the input."""
    for evidence in (facts(), EstimateUnavailable(problem="missing", reason="none")):
        for scenario in ("cutover", "failback", "burst", "change"):
            d = decide(evidence, policy(), ledger(), ctx(scenario))
            assert [c.id for c in d.checks] == list(CHECK_IDS)


# -- dr.event_cost and dr.monthly_budget


@pytest.mark.parametrize(
    ("limit", "expected"),
    [(EVENT_COST, "allow"), (EVENT_COST - Q, "block"), (EVENT_COST + Q, "allow")],
)
def test_event_cost_limit_is_exact_at_the_boundary(limit, expected):
    """Equal to the maximum per event passes; one money quantum below it blocks."""
    d = decide(facts(), policy(dr={"max_event_cost": str(limit)}), ledger(), ctx())
    assert d.decision == expected
    c = d.check("dr.event_cost")
    assert (c.value, c.limit) == (EVENT_COST, limit)
    assert c.status == ("passed" if expected == "allow" else "failed")


def test_event_cost_block_reason_shows_the_formula():
    d = decide(facts(), policy(dr={"max_event_cost": 20}), ledger(), ctx())
    assert d.decision == "block"
    assert d.check("dr.event_cost").reason == (
        "event cost $35.91 ($0.66/h x 48 h + $4.35 one-off) exceeds the maximum $20.00 per event"
    )
    assert d.reason.startswith("block: dr.event_cost: event cost $35.91")


def test_monthly_dr_budget_counts_the_ledger_exactly():
    """Spend this month + this event equal to the DR budget passes; a quantum more blocks."""
    budget = Decimal(300)
    spend = budget - EVENT_COST
    ok = decide(facts(), policy(), ledger(spend), ctx())
    assert ok.check("dr.monthly_budget").status == "passed"
    assert ok.figures.dr_spend_after == budget
    over = decide(facts(), policy(), ledger(spend + Q), ctx())
    assert over.check("dr.monthly_budget").status == "failed"
    assert over.decision == "block"
    assert over.check("dr.monthly_budget").value == budget + Q


def test_savings_are_not_credit_against_the_event_budget():
    """A cutover plan that lowers the hourly rate costs its one-off costs, not less."""
    d = decide(facts(diff_hourly=Decimal("-1")), policy(), ledger(), ctx())
    assert d.figures.event_cost == ONE_OFF


def test_policy_event_hours_win_over_the_usage_file():
    d = decide(facts(), policy(dr={"expected_event_hours": 10}), ledger(), ctx())
    assert d.figures.event_hours == 10 and d.figures.event_hours_source == "policy"
    assert d.figures.event_cost == Decimal("0.657493") * 10 + ONE_OFF
    assert d.check("dr.event_duration").reason == "10 h per event (from the policy)"


def test_unknown_event_duration_warns_and_never_allows():
    d = decide(facts(expected_hours=None), policy(), ledger(), ctx())
    assert d.decision == "warn"
    assert status(d, "dr.event_duration") == "failed"
    assert d.check("dr.event_cost").effect == "warn"
    assert d.figures.event_cost is None
    assert "lower bound: event cost unknown" in d.check("budget.monthly").reason


def test_an_entry_without_dr_limits_cannot_judge_a_dr_event():
    d = decide(facts(), policy(dr=None), ledger(), ctx())
    assert d.decision == "warn"
    assert d.check("dr.event_cost").reason.startswith("the budget entry has no 'dr' limits")


# -- budget.monthly and budget.warn_ratio


def test_monthly_budget_is_exact_at_the_boundary():
    """Projected spend equal to the budget is within it (a warn, at the warn ratio 1)."""
    projected = STANDBY_MONTHLY + EVENT_COST
    at = decide(facts(), policy(monthly_budget=str(projected), warn_ratio=1), ledger(), ctx())
    assert status(at, "budget.monthly") == "passed"
    assert status(at, "budget.warn_ratio") == "failed"  # reaching the threshold warns
    assert at.decision == "warn"
    over = decide(facts(), policy(monthly_budget=str(projected - Q), warn_ratio=1), ledger(), ctx())
    assert status(over, "budget.monthly") == "failed"
    assert over.decision == "block"


def test_warn_ratio_is_exact_at_the_boundary():
    """projected == ratio x budget warns; one quantum under it passes."""
    projected = STANDBY_MONTHLY + EVENT_COST  # 671.719664
    budget = projected * 2
    at = decide(facts(), policy(monthly_budget=str(budget), warn_ratio=0.5), ledger(), ctx())
    assert at.check("budget.warn_ratio").limit == projected
    assert (at.decision, status(at, "budget.warn_ratio")) == ("warn", "failed")
    under = decide(
        facts(), policy(monthly_budget=str(budget + 2 * Q), warn_ratio=0.5), ledger(), ctx()
    )
    assert (under.decision, status(under, "budget.warn_ratio")) == ("allow", "passed")


def test_warn_ratio_reading_is_exact_decimal():
    """0.8 in YAML is exactly 0.8, not the float 0.8000000000000000444..."""
    assert policy().budgets["cloud-dr"].warn_ratio == Decimal("0.8")


def test_change_projects_the_planned_run_rate_plus_dr_spend():
    d = decide(facts(purpose="pr-check"), policy(), ledger("10"), ctx("change"))
    assert d.figures.projected_monthly == ACTIVE_MONTHLY + 10
    assert d.figures.event_cost is None
    assert status(d, "dr.event_cost") == "skipped"


# -- change.*


def test_change_limits_abs_and_pct_exact():
    """+150 of 600 (25%) is exactly at both limits: allowed; a quantum more is blocked by both."""
    past, diff = Decimal(600), Decimal(150)
    f = facts(past_monthly=past, planned_monthly=past + diff, diff_monthly=diff)
    at = decide(f, policy(monthly_budget=10000), ledger(), ctx("change"))
    assert at.decision == "allow"
    assert at.check("change.max_increase_pct").reason == (
        "monthly cost changes by 25.00% of $600.00 (limit 25%)"
    )
    f2 = facts(past_monthly=past, planned_monthly=past + diff + Q, diff_monthly=diff + Q)
    over = decide(f2, policy(monthly_budget=10000), ledger(), ctx("change"))
    assert over.decision == "block"
    assert status(over, "change.max_increase_abs") == "failed"
    assert status(over, "change.max_increase_pct") == "failed"


def test_change_pct_is_skipped_without_a_past_cost():
    f = facts(past_monthly=Decimal(0), planned_monthly=Decimal(100), diff_monthly=Decimal(100))
    d = decide(f, policy(monthly_budget=10000), ledger(), ctx("change"))
    assert status(d, "change.max_increase_pct") == "skipped"
    assert d.decision == "allow"


def test_change_limits_can_be_left_out():
    d = decide(facts(), policy(change={"max_monthly_increase": None, "max_monthly_increase_pct": None},
                               monthly_budget=10000), ledger(), ctx("change"))  # fmt: skip
    assert status(d, "change.max_increase_abs") == "skipped"
    assert status(d, "change.max_increase_pct") == "skipped"


def test_dr_checks_are_skipped_for_changes_and_change_checks_for_dr():
    dr = decide(facts(), policy(), ledger(), ctx("cutover"))
    assert status(dr, "change.max_increase_abs") == "skipped"
    ch = decide(facts(), policy(monthly_budget=10000, change={"max_monthly_increase": 1000, "max_monthly_increase_pct": 100}), ledger(), ctx("change"))  # fmt: skip
    assert [status(ch, i) for i in ("dr.event_duration", "dr.event_cost", "dr.monthly_budget")] == [
        "skipped"
    ] * 3


# -- artefact.* and estimate.*: no silent allow


@pytest.mark.parametrize(
    ("problem", "failed"),
    [
        ("missing", "artefact.present"),
        ("unreadable", "artefact.readable"),
        ("newer-schema", "artefact.schema"),
    ],
)
def test_no_usable_estimate_warns_with_the_reason(problem, failed):
    reason = f"the artefact is {problem}"
    d = decide(
        EstimateUnavailable(problem=problem, reason=reason, origin="x.json"),
        policy(),
        ledger(),
        ctx(),
    )
    assert d.decision == "warn"
    assert d.check(failed).status == "failed" and d.check(failed).reason == reason
    assert reason in d.reason
    assert all(
        d.check(i).status == "skipped"
        for i in ("budget.monthly", "dr.event_cost", "artefact.fresh")
    )
    assert d.figures.event_cost is None


def test_freshness_is_exact_at_the_age_limit():
    """An estimate exactly max_artefact_age_hours old is fresh; a microsecond more is stale (warn)."""
    at = decide(facts(created_at=NOW - timedelta(hours=24)), policy(), ledger(), ctx())
    assert (at.decision, status(at, "artefact.fresh")) == ("allow", "passed")
    stale = decide(
        facts(created_at=NOW - timedelta(hours=24, microseconds=1)), policy(), ledger(), ctx()
    )
    assert (stale.decision, status(stale, "artefact.fresh")) == ("warn", "failed")
    assert stale.check("artefact.fresh").reason.startswith(
        "estimate is stale: 24 h old, limit 24 h"
    )


def test_fractional_age_limit():
    d = decide(
        facts(created_at=NOW - timedelta(minutes=31)),
        policy(max_artefact_age_hours=0.5),
        ledger(),
        ctx(),
    )
    assert status(d, "artefact.fresh") == "failed"
    assert "0.52 h old" in d.check("artefact.fresh").reason


def test_an_estimate_from_the_future_is_not_fresh():
    skew = decide(facts(created_at=NOW + timedelta(minutes=5)), policy(), ledger(), ctx())
    assert status(skew, "artefact.fresh") == "passed"  # within the clock-skew tolerance
    future = decide(facts(created_at=NOW + timedelta(minutes=6)), policy(), ledger(), ctx())
    assert (future.decision, status(future, "artefact.fresh")) == ("warn", "failed")


def test_an_estimate_of_another_stack_says_nothing():
    d = decide(facts(stack="onprem-prod"), policy(dr={"max_event_cost": 1}), ledger(), ctx())
    assert d.decision == "warn"  # not block: the figures are not about this stack
    assert status(d, "artefact.stack") == "failed"
    assert status(d, "dr.event_cost") == "skipped"


def test_another_currency_cannot_be_compared():
    d = decide(facts(currency="EUR"), policy(), ledger(), ctx())
    assert d.decision == "warn"
    assert (
        d.check("estimate.currency").reason
        == "estimate is in EUR, the policy in USD: not comparable"
    )


def test_unpriced_resources_warn_but_a_lower_bound_over_the_limit_still_blocks():
    gaps = {"unsupported": 2, "unsupported_types": {"azure-native:foo:Bar": 2}, "price_not_found": 1,
            "missing_price_keys": ["vm/eastus/X"]}  # fmt: skip
    ok = decide(facts(**gaps), policy(), ledger(), ctx())
    assert ok.decision == "warn"
    assert ok.check("estimate.complete").reason == (
        "2 unsupported resource(s) (azure-native:foo:Bar); 1 resource(s) with a missing price "
        "(vm/eastus/X): totals are a lower bound"
    )
    over = decide(facts(**gaps), policy(dr={"max_event_cost": 1}), ledger(), ctx())
    assert over.decision == "block"
    assert "also 1 warning(s): estimate.complete" in over.reason


def test_unpriced_one_off_costs_warn_for_dr():
    d = decide(facts(one_off_price_not_found=1), policy(), ledger(), ctx())
    assert d.decision == "warn"
    assert "1 one-off cost(s) without a price" in d.check("estimate.complete").reason


def test_shadowing_unreadable_artefact_warns():
    d = decide(facts(shadowed_by=["b.json: not valid JSON"]), policy(), ledger(), ctx())
    assert d.decision == "warn"
    assert "b.json: not valid JSON" in d.check("artefact.readable").reason


def test_no_budget_entry_warns():
    d = decide(facts(stack="other"), policy(), ledger(), ctx(stack="other", component="other"))
    assert d.decision == "warn"
    assert (
        d.check("policy.entry").reason == "no budget entry for 'other': the cost cannot be judged"
    )
    assert status(d, "artefact.fresh") == "skipped"


def test_component_entry_wins_then_stack_then_default():
    p = policy(
        {"cloud-dr": entry(), "cloud-dr/burst": entry(dr={"max_event_cost": 1}), "*": entry()}
    )
    assert (
        decide(facts(), p, ledger(), ctx("burst", component="burst")).policy_entry
        == "cloud-dr/burst"
    )
    assert decide(facts(), p, ledger(), ctx("cutover")).policy_entry == "cloud-dr"
    other = decide(facts(stack="x"), p, ledger(), ctx(stack="x", component="x"))
    assert other.policy_entry == "*"


def test_incomplete_ledger_warns():
    d = decide(facts(), policy(), ledger(problems=["decision-a.json: not valid JSON"]), ctx())
    assert d.decision == "warn"
    assert d.check("ledger.complete").reason == (
        "spend of 2026-11 may be understated: 1 unreadable decision record(s): decision-a.json: not valid JSON"
    )
    event = LedgerEvent(
        run_id="a", scenario="cutover", decided_at=NOW, event_cost=None, record_path="p"
    )
    d2 = decide(facts(), policy(), ledger(events=[event], unknown_cost_events=1), ctx())
    assert "1 allowed event(s) of unknown cost" in d2.check("ledger.complete").reason


# -- failback, drill


def test_failback_is_never_blocked_on_cost():
    d = decide(failback_facts(), policy(monthly_budget=1), ledger("1000"), ctx("failback"))
    assert d.decision == "warn"
    assert (
        d.check("budget.monthly").status == "failed" and d.check("budget.monthly").effect == "warn"
    )
    assert d.figures.event_cost == EVENT_COST  # the event being closed, shown
    assert d.check("dr.event_cost").status == "skipped"
    assert (
        d.check("dr.event_cost").reason
        == "a failback ends the event: its cost ($35.91 for the event) was judged at cutover"
    )
    assert status(d, "failback.lowers_cost") == "passed"


def test_failback_that_raises_the_run_rate_warns():
    d = decide(facts(purpose="dr-failback"), policy(), ledger(), ctx("failback"))
    assert d.decision == "warn"
    assert status(d, "failback.lowers_cost") == "failed"


def test_reference_failback_is_allowed():
    d = decide(failback_facts(), policy(), ledger(str(EVENT_COST)), ctx("failback"))
    assert d.decision == "allow"
    assert d.figures.projected_monthly == STANDBY_MONTHLY + EVENT_COST


def test_a_drill_is_judged_like_the_real_scenario():
    """Drills rehearse the gate: same checks, same decision, reason marked as a drill."""
    tight = policy(dr={"max_event_cost": 10})
    real = decide(facts(), tight, ledger(), ctx())
    drill = decide(facts(), tight, ledger(), ctx(drill=True))
    assert real.decision == drill.decision == "block"
    assert [c.model_dump() for c in real.checks] == [c.model_dump() for c in drill.checks]
    assert drill.reason == "drill: " + real.reason


# -- approvals and break-glass


def test_approval_turns_a_warn_into_an_allow_and_is_recorded():
    d = decide(
        facts(expected_hours=None),
        policy(),
        ledger(),
        ctx(approved_by="alice", override_reason="P1 outage"),
    )
    assert (d.decision, d.original_decision) == ("allow", "warn")
    assert d.override is not None and d.override.kind == "approval"
    assert (d.override.approved_by, d.override.reason) == ("alice", "P1 outage")
    assert status(d, "override.approval") == "passed"
    assert d.reason.startswith("allow (approved by alice: P1 outage) over warn: dr.event_duration")


def test_break_glass_turns_a_block_into_an_allow_where_permitted():
    d = decide(
        facts(),
        policy(dr={"max_event_cost": 10}),
        ledger(),
        ctx(approved_by="bob", override_reason="site down"),
    )
    assert (d.decision, d.original_decision) == ("allow", "block")
    assert d.override is not None and d.override.kind == "break-glass" and d.override.permitted
    assert status(d, "override.break_glass") == "passed"
    assert status(d, "dr.event_cost") == "failed"  # the failed check stays on record


@pytest.mark.parametrize(
    ("break_glass", "scenario", "severity", "why"),
    [
        ({"allowed": False}, "cutover", None, "the policy does not permit break-glass for this stack"),
        ({"scenarios": ["failback"]}, "cutover", None, "the policy permits break-glass only for failback"),
        ({"severities": ["critical"]}, "cutover", "warning",
         "the policy permits break-glass only at severity critical (this request: warning)"),
    ],
)  # fmt: skip
def test_break_glass_is_refused_where_the_policy_does_not_permit_it(
    break_glass, scenario, severity, why
):
    p = policy(dr={"max_event_cost": 10}, break_glass=break_glass)
    d = decide(
        facts(),
        p,
        ledger(),
        ctx(scenario, severity=severity, approved_by="bob", override_reason="x"),
    )
    assert (d.decision, d.original_decision) == ("block", "block")
    assert d.override is not None and not d.override.permitted and d.override.detail == why
    assert d.check("override.break_glass").status == "failed"
    assert d.reason.endswith(f"break-glass by bob refused: {why}")


def test_break_glass_at_a_permitted_severity():
    p = policy(dr={"max_event_cost": 10}, break_glass={"severities": ["critical"]})
    d = decide(
        facts(), p, ledger(), ctx(severity="critical", approved_by="bob", override_reason="x")
    )
    assert d.decision == "allow"


def test_approval_of_an_allow_changes_nothing():
    d = decide(facts(), policy(), ledger(), ctx(approved_by="bob", override_reason="x"))
    assert d.decision == "allow" and d.override is None
    assert d.check("override.approval").reason == "nothing to approve"


def test_approval_needs_who_and_why():
    with pytest.raises(ValidationError, match="--approved-by and --reason go together"):
        ctx(approved_by="bob")
    with pytest.raises(ValidationError, match="--approved-by and --reason go together"):
        ctx(override_reason="because")


def test_now_must_be_timezone_aware():
    with pytest.raises(ValidationError, match="timezone-aware"):
        ctx(now=NOW.replace(tzinfo=None))


def test_burst_is_charged_like_a_cutover():
    d = decide(facts(purpose="burst"), policy(), ledger(), ctx("burst"))
    assert d.decision == "allow" and d.figures.event_cost == EVENT_COST
