"""evaluate(): the one call the driver and the CLI share, against the real reference stacks."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import jsonschema
import pytest

from cost.artefact import from_report, load_artefact, write_artefact
from cost.decision.errors import DecisionUsageError, PolicyError
from cost.decision.record import SCHEMA_PATH, BlockedRecord, DecisionRecord, load_record
from cost.decision.service import evaluate
from cost.decision.whatif import reverse_plan
from cost.errors import CostUsageError
from dr.records import CostFigures, DecisionRef
from tests.conftest import REPO
from tests.decision.helpers import EVENT_COST, NOW

TIGHT = Path(__file__).parent / "fixtures" / "tight-budget-policy.yaml"
VALIDATOR = jsonschema.Draft202012Validator(json.loads((REPO / SCHEMA_PATH).read_text()))


@pytest.fixture(scope="module")
def cutover_plan(offline_plan):
    return offline_plan("cloud-dr", drMode="active", trafficTarget="cloud")


def run(plan, root: Path, run_id: str = "run-1", **kw):
    kw.setdefault("now", NOW)
    kw.setdefault("scenario", "cutover")
    return evaluate(
        plan,
        stack=kw.pop("stack", "cloud-dr"),
        project_dir=REPO,
        artefacts_root=root,
        run_id=run_id,
        **kw,
    )


def valid(path: Path) -> dict:
    doc = json.loads(path.read_text())
    VALIDATOR.validate(doc)
    return doc


def test_shipped_policy_allows_a_cutover_of_cloud_dr(cutover_plan, root: Path, catalog):
    """Acceptance: with the shipped policy, a cutover of the reference stack is allow."""
    out = run(cutover_plan, root, catalog=catalog)
    assert out.decision == "allow", out.reason
    assert out.figures.event_cost == EVENT_COST
    assert out.figures.currency == "USD"
    assert (out.figures.past_monthly, out.figures.planned_monthly) == (
        Decimal("635.810000"),
        Decimal("1115.780000"),
    )
    # the artefact of this run, with the scenario's purpose, beside the record
    assert out.artefact_path == root / "cloud-dr" / "cost-run-run-1.json"
    art = load_artefact(out.artefact_path)
    assert (art.purpose, art.run_id, art.created_at) == ("dr-cutover", "run-1", NOW)
    assert out.record_path == root / "cloud-dr" / "decision-run-1.json"
    doc = valid(out.record_path)
    assert doc["decision"] == "allow" and doc["policy"]["entry"] == "cloud-dr"
    assert doc["policy"]["path"] == "stacks/budget-policy.yaml"
    assert doc["estimate"]["artefact_run_id"] == "run-1"
    assert out.blocked_path is None and not (root / "cloud-dr" / "blocked-run-1.json").exists()


def test_outcome_fits_the_driver_records(cutover_plan, root: Path, catalog):
    """decision_ref() and cost_figures() build dr.records' DecisionRef and CostFigures as they are."""
    out = run(cutover_plan, root, catalog=catalog)
    ref = DecisionRef(**out.decision_ref())
    assert (ref.decision, ref.record_path) == (
        "allow",
        str(root / "cloud-dr" / "decision-run-1.json"),
    )
    figures = CostFigures(**out.cost_figures())
    assert (figures.event_cost, figures.diff_monthly) == ("35.909664", "479.970000")


def test_tightened_policy_blocks_and_writes_the_blocked_record(cutover_plan, root: Path, catalog):
    """Acceptance: with a tightened policy the cutover is block, with a blocked record."""
    out = run(cutover_plan, root, policy_path=TIGHT, catalog=catalog)
    assert out.decision == "block"
    assert [c.id for c in out.failed_checks] == ["dr.event_cost"]
    assert out.blocked_path == root / "cloud-dr" / "blocked-run-1.json"
    blocked = load_record(out.blocked_path)
    assert isinstance(blocked, BlockedRecord)
    valid(out.blocked_path)
    assert blocked.reason == out.reason
    assert [c.id for c in blocked.failed_checks] == ["dr.event_cost"]
    assert blocked.break_glass.permitted is True
    assert (
        blocked.break_glass.detail
        == "re-run with --approved-by WHO --reason TEXT to allow (recorded)"
    )
    assert blocked.decision_record == str(out.record_path)
    record = load_record(out.record_path)
    assert isinstance(record, DecisionRecord) and record.blocked_record == str(out.blocked_path)


def test_break_glass_is_recorded_with_who_why_and_the_original_decision(
    cutover_plan, root: Path, catalog
):
    out = run(
        cutover_plan,
        root,
        policy_path=TIGHT,
        catalog=catalog,
        approved_by="alice",
        override_reason="P1: on-prem down",
    )
    assert (out.decision, out.original_decision) == ("allow", "block")
    doc = valid(out.record_path)
    assert doc["override"] == {
        "kind": "break-glass", "approved_by": "alice", "reason": "P1: on-prem down",
        "original_decision": "block", "permitted": True, "detail": "permitted by the policy",
    }  # fmt: skip
    assert out.blocked_path is None
    assert DecisionRef(**out.decision_ref()).approved_by == "alice"


def test_a_rerun_of_the_same_run_keeps_the_earlier_attempt(cutover_plan, root: Path, catalog):
    first = run(cutover_plan, root, policy_path=TIGHT, catalog=catalog)
    second = run(cutover_plan, root, policy_path=TIGHT, catalog=catalog, approved_by="a", override_reason="b",
                 now=NOW + timedelta(minutes=5))  # fmt: skip
    assert second.artefact_path == root / "cloud-dr" / "cost-run-run-1-2.json"
    assert [(p.decision, p.artefact_path) for p in second.record.previous_attempts] == [
        ("block", first.record.estimate.artefact_path)
    ]
    assert (
        first.blocked_path is not None and first.blocked_path.exists()
    )  # the block stays on record


def test_the_ledger_charges_earlier_events_of_the_month(cutover_plan, root: Path, catalog):
    run(cutover_plan, root, "a", catalog=catalog)
    run(cutover_plan, root, "drill", catalog=catalog, drill=True)
    third = run(cutover_plan, root, "b", catalog=catalog, now=NOW + timedelta(hours=1))
    assert third.figures.dr_spend_to_date == EVENT_COST  # the drill is not spend
    assert third.figures.dr_spend_after == EVENT_COST * 2
    assert [e.run_id for e in third.ledger.events] == ["a"]
    drill_art = load_artefact(root / "cloud-dr" / "cost-run-drill.json")
    assert drill_art.purpose == "drill"


def test_latest_artefact_older_than_the_limit_warns(report, root: Path):
    write_artefact(from_report(report("cutover"), run_id="ci-1", purpose="dr-cutover", component="cloud-dr",
                               created_at=NOW - timedelta(hours=25)), root)  # fmt: skip
    out = run(None, root)
    assert out.decision == "warn"
    assert out.reason.startswith("warn: artefact.fresh: estimate is stale: 25 h old, limit 24 h")
    assert out.artefact_path == root / "cloud-dr" / "cost-run-ci-1.json"


def test_corrupt_estimate_file_warns(tmp_path: Path, root: Path):
    bad = tmp_path / "est.json"
    bad.write_bytes(b"\x89PNG not an estimate")
    out = run(bad, root)
    assert out.decision == "warn"
    assert "not valid JSON" in out.reason
    doc = valid(out.record_path)
    assert doc["estimate"] is None and doc["estimate_problem"]["problem"] == "unreadable"


def test_a_cost_report_is_written_as_this_runs_artefact(report, root: Path):
    out = run(report("cutover"), root, run_id="rep")
    assert out.decision == "allow"
    assert out.estimate is not None and out.estimate.source == "report"
    assert load_artefact(root / "cloud-dr" / "cost-run-rep.json").purpose == "dr-cutover"


def test_failback_what_if_is_the_reversed_cutover(cutover_plan, root: Path, catalog):
    plan = reverse_plan(cutover_plan, overrides={}, note="what-if: failback")
    out = run(plan, root, scenario="failback", catalog=catalog)
    assert out.decision == "allow", out.reason
    assert out.figures.diff_monthly == Decimal("-479.970000")
    assert out.figures.event_cost == EVENT_COST  # the event being closed, not charged again
    assert load_artefact(out.artefact_path).purpose == "dr-failback"


def test_onprem_has_no_dr_budget(report, root: Path):
    out = run(report("onprem"), root, stack="onprem-prod")
    assert out.decision == "warn"
    assert "the budget entry has no 'dr' limits" in out.reason


@pytest.mark.parametrize(
    ("kw", "error", "message"),
    [
        ({"scenario": "rollback"}, DecisionUsageError, "--scenario 'rollback': expected one of cutover, failback, burst, change"),
        ({"approved_by": "bob"}, DecisionUsageError, "--approved-by and --reason go together"),
        ({"run_id": "../x"}, CostUsageError, "--run-id '../x'"),
        ({"policy_path": Path("/nonexistent.yaml")}, PolicyError, "cannot read the budget policy"),
    ],
)  # fmt: skip
def test_what_a_human_must_fix_raises(kw, error, message, root: Path):
    with pytest.raises(error) as err:
        run(None, root, **kw)
    assert message in str(err.value)


def test_estimate_plan_prices_like_cost_estimate(cutover_plan, catalog):
    """The figure the driver re-checks a step's preview with (no decision, no files)."""
    from cost.decision.service import estimate_plan

    rep = estimate_plan(cutover_plan, project_dir=REPO, catalog=catalog, now=NOW)
    assert rep.total_monthly_cost == Decimal("1115.780000") and rep.generated_at == NOW
