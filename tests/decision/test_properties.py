"""Property tests (hypothesis): monotone in cost, exact at thresholds, loaders that never crash."""

from __future__ import annotations

import contextlib
import json
import os
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cost.decision.decide import CHECK_IDS, decide
from cost.decision.evidence import latest_evidence, parse_estimate
from cost.decision.ledger import read_ledger
from cost.decision.model import STRICTNESS, EstimateFacts, EstimateUnavailable
from cost.decision.record import RecordError, parse_record
from cost.money import money
from tests.decision.helpers import NOW, ctx, facts, ledger, policy

SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

amounts = st.decimals(
    min_value=0, max_value=100_000, places=6, allow_nan=False, allow_infinity=False
)
small = st.decimals(min_value=0, max_value=500, places=6, allow_nan=False, allow_infinity=False)
hours = st.decimals(
    min_value=Decimal("0.5"), max_value=500, places=2, allow_nan=False, allow_infinity=False
)
scenarios = st.sampled_from(["cutover", "failback", "burst", "change"])


@st.composite
def estimates(draw):
    """A plausible estimate: non-negative run rates before and after."""
    past_h = draw(small)
    planned_h = draw(small)
    past_m = draw(amounts)
    planned_m = draw(amounts)
    return {
        "past_hourly": past_h, "planned_hourly": planned_h, "diff_hourly": planned_h - past_h,
        "past_monthly": past_m, "planned_monthly": planned_m, "diff_monthly": planned_m - past_m,
        "one_off_total": draw(small), "expected_hours": draw(st.one_of(st.none(), hours)),
    }  # fmt: skip


@st.composite
def policies(draw):
    return policy(
        monthly_budget=str(draw(amounts)),
        warn_ratio=str(draw(st.decimals(min_value=Decimal("0.01"), max_value=1, places=2))),
        change={"max_monthly_increase": str(draw(amounts)), "max_monthly_increase_pct": str(draw(small))},
        dr={"max_event_cost": str(draw(amounts)), "monthly_dr_budget": str(draw(amounts)),
            "expected_event_hours": draw(st.one_of(st.none(), hours.map(str)))},
        break_glass={"allowed": draw(st.booleans())},
    )  # fmt: skip


def raise_cost(
    est: dict, extra_planned_h: Decimal, extra_planned_m: Decimal, extra_one_off: Decimal
) -> dict:
    """The same estimate, costing more after the change (planned side and one-off costs up)."""
    out = dict(est)
    out["planned_hourly"] += extra_planned_h
    out["diff_hourly"] += extra_planned_h
    out["planned_monthly"] += extra_planned_m
    out["diff_monthly"] += extra_planned_m
    out["one_off_total"] += extra_one_off
    return out


@SETTINGS
@given(
    est=estimates(), pol=policies(), scenario=scenarios, spend=small, more_spend=small,
    dh=small, dm=amounts, do=small, approve=st.booleans(), drill=st.booleans(),
)  # fmt: skip
def test_raising_the_cost_never_makes_the_decision_less_strict(
    est, pol, scenario, spend, more_spend, dh, dm, do, approve, drill
):
    """More planned cost, more one-off cost or more spend this month: never a laxer decision."""
    who = {"approved_by": "a", "override_reason": "r"} if approve else {}
    c = ctx(scenario, drill=drill, **who)
    before = decide(facts(**est), pol, ledger(spend), c)
    after = decide(facts(**raise_cost(est, dh, dm, do)), pol, ledger(spend + more_spend), c)
    assert STRICTNESS[after.original_decision] >= STRICTNESS[before.original_decision]
    assert STRICTNESS[after.decision] >= STRICTNESS[before.decision]
    assert [x.id for x in after.checks] == list(CHECK_IDS)


@SETTINGS
@given(est=estimates(), pol=policies(), scenario=scenarios)
def test_missing_data_is_never_an_allow(est, pol, scenario):
    """Without a usable estimate the decision is warn (never allow, never block)."""
    for evidence in (
        EstimateUnavailable(problem="missing", reason="x"),
        facts(**est, currency="EUR"),
        facts(**est, stack="other"),
    ):
        assert decide(evidence, pol, ledger(), ctx(scenario)).decision == "warn"


@SETTINGS
@given(est=estimates(), h=hours, offset=st.sampled_from([-1, 0, 1]))
def test_event_cost_threshold_is_exact(est, h, offset):
    """max_event_cost == event cost passes; one quantum less blocks; the figure is the formula."""
    est = {**est, "expected_hours": h}
    cost = money(max(est["diff_hourly"], Decimal(0)) * h + est["one_off_total"])
    limit = cost + offset * Decimal("0.000001")
    if limit < 0:
        return
    pol = policy(
        monthly_budget="1e9",
        warn_ratio=1,
        dr={"max_event_cost": str(limit), "monthly_dr_budget": "1e9"},
    )
    d = decide(facts(**est), pol, ledger(), ctx("cutover"))
    assert d.figures.event_cost == cost
    assert d.check("dr.event_cost").status == ("failed" if offset < 0 else "passed")


@SETTINGS
@given(est=estimates(), spend=small, offset=st.sampled_from([-1, 0, 1]))
def test_monthly_budget_threshold_is_exact(est, spend, offset):
    projected = money(est["planned_monthly"] + spend)
    budget = projected + offset * Decimal("0.000001")
    if budget < 0:
        return
    d = decide(
        facts(**est), policy(monthly_budget=str(budget), warn_ratio=1), ledger(spend), ctx("change")
    )
    assert d.figures.projected_monthly == projected
    assert d.check("budget.monthly").status == ("failed" if offset < 0 else "passed")
    assert d.check("budget.warn_ratio").status == ("passed" if offset > 0 else "failed")


@SETTINGS
@given(past=st.decimals(min_value=Decimal("0.01"), max_value=10_000, places=2), pct=st.integers(0, 300),
       offset=st.sampled_from([-1, 0, 1]))  # fmt: skip
def test_increase_percent_threshold_is_exact(past, pct, offset):
    diff = past * pct / 100 + offset * Decimal("0.000001")
    est = {"past_monthly": past, "planned_monthly": past + diff, "diff_monthly": diff}
    pol = policy(
        monthly_budget="1e9",
        change={"max_monthly_increase": "1e9", "max_monthly_increase_pct": pct},
    )
    d = decide(facts(**est), pol, ledger(), ctx("change"))
    assert d.check("change.max_increase_pct").status == ("failed" if offset > 0 else "passed")


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(max_size=2048))
def test_any_bytes_as_an_estimate_never_crash_the_loader(raw):
    out = parse_estimate(raw, "f.json")
    assert isinstance(out, EstimateUnavailable) or type(out).__name__ in (
        "CostArtefact",
        "CostReport",
    )


json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8) | st.floats(allow_nan=False),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
ARTEFACT_KEYS = [
    "schema_version",
    "kind",
    "run_id",
    "created_at",
    "totals",
    "summary",
    "usage",
    "stack",
]


@settings(max_examples=200, deadline=None)
@given(doc=st.dictionaries(st.sampled_from(ARTEFACT_KEYS), json_like, max_size=8),
       kind=st.sampled_from(["hybridops.cost-run", "hybridops.cost-decision", "hybridops.cost-blocked", None]))  # fmt: skip
def test_artefact_and_record_shaped_junk_never_crashes(doc, kind):
    """Near-miss documents (right kind, wrong fields) are reasons, not exceptions."""
    if kind:
        doc["kind"] = kind
    raw = json.dumps(doc).encode()
    parse_estimate(raw, "f.json")
    with contextlib.suppress(RecordError):
        parse_record(raw, "f.json")


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(files=st.lists(st.binary(max_size=256), min_size=1, max_size=4))
def test_any_files_in_the_artefacts_directory_never_crash_the_service_readers(
    tmp_path_factory, files
):
    root: Path = tmp_path_factory.mktemp("junk")
    folder = root / "cloud-dr"
    folder.mkdir()
    for i, raw in enumerate(files):
        (folder / f"cost-run-{i}.json").write_bytes(raw)
        (folder / f"decision-{i}.json").write_bytes(raw)
        os.utime(folder / f"decision-{i}.json", (NOW.timestamp(), NOW.timestamp()))
    found = latest_evidence(root, "cloud-dr", stack="cloud-dr", scenario="cutover", drill=False)
    assert isinstance(found, EstimateUnavailable | EstimateFacts)
    led = read_ledger(root, "cloud-dr", stack="cloud-dr", now=NOW)
    d = decide(found, policy(), led, ctx())
    assert d.decision == "warn"
