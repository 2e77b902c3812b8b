"""Decision records (schema, versions, atomic files), the ledger, and reading estimates from disk."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import jsonschema
import pytest

from cost.artefact import from_report, write_artefact
from cost.decision.decide import decide
from cost.decision.evidence import latest_evidence, load_estimate_file, parse_estimate
from cost.decision.ledger import month_bounds, read_ledger
from cost.decision.model import EstimateFacts, EstimateUnavailable
from cost.decision.record import (
    RECORD_SCHEMA_VERSION,
    SCHEMA_PATH,
    DecisionRecord,
    PolicyRef,
    RecordError,
    dumps,
    json_schema,
    parse_record,
    schema_text,
    write_record,
)
from tests.conftest import REPO
from tests.decision.helpers import NOW, ctx, facts, ledger, policy

REGENERATE = "python -m cost.decision.schema --write-schema docs/ci/decision-record.schema.json"


def make_record(run_id: str = "r1", *, scenario: str = "cutover", decided_at=NOW, stack: str = "cloud-dr",
                drill: bool = False, estimate: EstimateFacts | None = None, max_event_cost: int = 150,
                **ctx_over) -> DecisionRecord:  # fmt: skip
    f = estimate or facts(created_at=decided_at)
    c = ctx(scenario, now=decided_at, drill=drill, stack=stack, component="cloud-dr", **ctx_over)
    d = decide(f, policy(dr={"max_event_cost": max_event_cost}), ledger(), c)
    return DecisionRecord(
        run_id=run_id, decided_at=decided_at, stack=stack, component="cloud-dr", scenario=scenario,
        drill=drill, decision=d.decision, original_decision=d.original_decision, reason=d.reason,
        checks=d.checks, figures=d.figures, override=d.override, estimate=f,
        policy=PolicyRef(path="p.yaml", sha256="0" * 64, currency="USD", entry=d.policy_entry),
        ledger=ledger(),
    )  # fmt: skip


# -- records


def test_committed_schema_matches_the_models():
    """docs/ci/decision-record.schema.json is what the models generate (else regenerate it)."""
    committed = (REPO / SCHEMA_PATH).read_text(encoding="utf-8")
    assert committed == schema_text(), f"decision record schema drifted: run `{REGENERATE}`"


def test_records_validate_against_the_committed_schema(tmp_path: Path):
    schema = json.loads((REPO / SCHEMA_PATH).read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    record = make_record()
    doc = json.loads(dumps(record))
    validator.validate(doc)
    assert doc["kind"] == "hybridops.cost-decision" and doc["schema_version"] == 1
    assert doc["figures"]["event_cost"] == "35.909664"  # money as decimal strings
    doc["checks"][0]["status"] = "maybe"
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(doc)


def test_record_round_trip_and_atomic_write(tmp_path: Path):
    record = make_record()
    path = write_record(record, tmp_path / "cloud-dr" / "decision-r1.json")
    assert [p.name for p in path.parent.iterdir()] == ["decision-r1.json"]  # no temp files left
    back = parse_record(path.read_bytes(), path)
    assert back == record


def test_newer_record_version_is_refused_with_a_clear_message():
    doc = json.loads(dumps(make_record()))
    doc["schema_version"] = RECORD_SCHEMA_VERSION + 1
    with pytest.raises(RecordError, match="schema_version 2 is newer than this hybridops reads"):
        parse_record(json.dumps(doc).encode(), "x.json")


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (
            b"{",
            "not valid JSON (Expecting property name enclosed in double quotes: line 1 column 2 (char 1))",
        ),
        (b"\xff\xfe\x00", "not valid JSON (not UTF-8 text)"),
        (b"[]", "not a decision record (expected a JSON object)"),
        (b'{"kind": "hybridops.cost-run"}', "not a decision record (kind is 'hybridops.cost-run')"),
        (b'{"kind": "hybridops.cost-decision"}', "invalid record at run_id: Field required"),
    ],
)
def test_unreadable_records_say_why(raw, reason):
    with pytest.raises(RecordError) as err:
        parse_record(raw, "x.json")
    assert str(err.value) == f"x.json: {reason}"


def test_schema_is_one_file_for_both_kinds():
    schema = json_schema()
    assert {d["$ref"] for d in schema["oneOf"]} == {
        "#/$defs/DecisionRecord",
        "#/$defs/BlockedRecord",
    }


# -- ledger


def write(root: Path, record: DecisionRecord) -> Path:
    return write_record(record, root / "cloud-dr" / f"decision-{record.run_id}.json")


def test_month_bounds_roll_over_the_year():
    start, end = month_bounds(NOW.replace(month=12, day=31))
    assert (start.isoformat(), end.isoformat()) == (
        "2026-12-01T00:00:00+00:00",
        "2027-01-01T00:00:00+00:00",
    )


def test_ledger_counts_allowed_events_of_this_month_only(root: Path):
    """Allowed cutovers and bursts of the month count; blocks, drills, failbacks, other months,
    other stacks and the current run do not."""
    write(root, make_record("a"))
    write(root, make_record("b", scenario="burst", decided_at=NOW - timedelta(days=1)))
    write(root, make_record("blocked", max_event_cost=1))
    write(root, make_record("drill", drill=True))
    write(root, make_record("fb", scenario="failback"))
    write(root, make_record("october", decided_at=NOW.replace(month=10)))
    write(root, make_record("other", stack="onprem-prod"))
    write(root, make_record("current"))
    led = read_ledger(root, "cloud-dr", stack="cloud-dr", now=NOW, exclude_run_id="current")
    assert [e.run_id for e in led.events] == ["b", "a"]  # by time
    assert led.dr_spend == Decimal("35.909664") * 2
    assert led.ignored == 6 and led.problems == [] and led.unknown_cost_events == 0
    assert led.month == "2026-11"


def test_ledger_counts_overridden_events(root: Path):
    write(root, make_record("bg", max_event_cost=1, approved_by="bob", override_reason="outage"))
    led = read_ledger(root, "cloud-dr", stack="cloud-dr", now=NOW)
    assert [(e.run_id, e.overridden) for e in led.events] == [("bg", True)]


def test_ledger_reports_corrupt_records_of_this_month_and_ignores_old_ones(root: Path):
    folder = root / "cloud-dr"
    folder.mkdir()
    (folder / "decision-bad.json").write_bytes(b"\x00garbage")
    old = folder / "decision-old.json"
    old.write_text("{}")
    long_ago = NOW.replace(month=9).timestamp()
    os.utime(old, (long_ago, long_ago))
    os.utime(folder / "decision-bad.json", (NOW.timestamp(), NOW.timestamp()))
    led = read_ledger(root, "cloud-dr", stack="cloud-dr", now=NOW, display_root="out")
    assert led.problems == [
        "out/cloud-dr/decision-bad.json: not valid JSON (Expecting value: line 1 column 1 (char 0))"
    ]
    assert led.ignored == 1


def test_event_without_a_cost_is_priced_from_its_artefact(root: Path, report):
    """A record without an event cost (decided with no duration) is priced from the artefact it names."""
    art = from_report(report("cutover"), run_id="r9", purpose="dr-cutover", component="cloud-dr")
    write_artefact(art, root)
    f = facts(expected_hours=None, artefact_run_id="r9")
    rec = make_record("n1", estimate=f, approved_by="bob", override_reason="hours unknown")
    assert rec.figures.event_cost is None and rec.decision == "allow"
    write(root, rec)
    led = read_ledger(root, "cloud-dr", stack="cloud-dr", now=NOW)
    (event,) = led.events
    assert event.cost_source == "artefact" and event.event_hours == 48
    assert event.event_cost == Decimal("35.909664")
    # without the artefact the cost is unknown, and said so
    (root / "cloud-dr" / "cost-run-r9.json").unlink()
    led2 = read_ledger(root, "cloud-dr", stack="cloud-dr", now=NOW)
    assert led2.unknown_cost_events == 1 and led2.dr_spend == 0


def test_ledger_of_a_missing_directory_is_empty(root: Path):
    assert read_ledger(root, "nothing", stack="x", now=NOW).events == []


# -- estimates from disk


def artefact(report, root: Path, run_id: str, *, created_at=NOW, purpose="dr-cutover", stack=None):
    a = from_report(
        report, run_id=run_id, purpose=purpose, component="cloud-dr", created_at=created_at
    )
    if stack:
        a = a.model_copy(update={"stack": stack})
    return write_artefact(a, root)


def test_latest_artefact_by_created_at_for_the_scenario(root: Path, report):
    artefact(report("cutover"), root, "old", created_at=NOW - timedelta(hours=2))
    artefact(report("cutover"), root, "new", created_at=NOW - timedelta(hours=1))
    artefact(report("cutover"), root, "pr", created_at=NOW, purpose="pr-check")
    found = latest_evidence(
        root, "cloud-dr", stack="cloud-dr", scenario="cutover", drill=False, display_root="r"
    )
    assert isinstance(found, EstimateFacts)
    assert (found.artefact_run_id, found.artefact_path) == ("new", "r/cloud-dr/cost-run-new.json")
    change = latest_evidence(root, "cloud-dr", stack="cloud-dr", scenario="change", drill=False)
    assert isinstance(change, EstimateFacts) and change.artefact_run_id == "pr"


def test_a_newer_corrupt_artefact_shadows_the_latest_readable_one(root: Path, report):
    path = artefact(report("cutover"), root, "good", created_at=NOW - timedelta(hours=1))
    bad = path.parent / "cost-run-zzz.json"
    bad.write_bytes(b'{"kind": "hybridops.cost-run", "schema_version": 1')
    os.utime(bad, (NOW.timestamp(), NOW.timestamp()))
    found = latest_evidence(
        root, "cloud-dr", stack="cloud-dr", scenario="cutover", drill=False, display_root="r"
    )
    assert isinstance(found, EstimateFacts) and found.artefact_run_id == "good"
    assert found.shadowed_by == [
        "r/cloud-dr/cost-run-zzz.json: not valid JSON (Expecting ',' delimiter: line 1 column 51 (char 50))"
    ]
    # an older corrupt file does not shadow
    long_ago = (NOW - timedelta(days=3)).timestamp()
    os.utime(bad, (long_ago, long_ago))
    again = latest_evidence(root, "cloud-dr", stack="cloud-dr", scenario="cutover", drill=False)
    assert isinstance(again, EstimateFacts) and again.shadowed_by == []


def test_only_corrupt_or_newer_artefacts_are_the_reason(root: Path, report):
    folder = root / "cloud-dr"
    folder.mkdir()
    (folder / "cost-run-x.json").write_text("not json")
    found = latest_evidence(
        root, "cloud-dr", stack="cloud-dr", scenario="cutover", drill=False, display_root="r"
    )
    assert isinstance(found, EstimateUnavailable) and found.problem == "unreadable"
    assert found.reason.startswith("r/cloud-dr/cost-run-x.json: not valid JSON")
    doc = json.loads(dumps_artefact(report("cutover")))
    doc["schema_version"] = 99
    (folder / "cost-run-x.json").write_text(json.dumps(doc))
    newer = latest_evidence(root, "cloud-dr", stack="cloud-dr", scenario="cutover", drill=False)
    assert isinstance(newer, EstimateUnavailable) and newer.problem == "newer-schema"
    assert (
        "schema_version 99 is newer than this hybridops reads (1); upgrade hybridops"
        in newer.reason
    )


def dumps_artefact(rep) -> str:
    from cost.artefact import dumps

    return dumps(from_report(rep, run_id="x", purpose="dr-cutover", component="cloud-dr"))


def test_missing_artefacts_say_how_to_make_one(root: Path, report):
    none = latest_evidence(
        root, "cloud-dr", stack="cloud-dr", scenario="cutover", drill=False, display_root="r"
    )
    assert isinstance(none, EstimateUnavailable) and none.problem == "missing"
    assert none.reason == (
        "no cost artefacts under r/cloud-dr (estimate first, e.g. `hybridops cost estimate --stack cloud-dr "
        "--write --purpose dr-cutover`, or use --offline)"
    )
    artefact(report("cutover"), root, "pr", purpose="pr-check")
    other = latest_evidence(
        root, "cloud-dr", stack="cloud-dr", scenario="cutover", drill=False, display_root="r"
    )
    assert isinstance(other, EstimateUnavailable)
    assert other.reason == (
        "no cost artefact of purpose dr-cutover for stack 'cloud-dr' under r/cloud-dr (1 of other stacks or purposes)"
    )
    drill = latest_evidence(
        root, "cloud-dr", stack="cloud-dr", scenario="cutover", drill=True, display_root="r"
    )
    assert isinstance(drill, EstimateUnavailable) and "purpose dr-cutover or drill" in drill.reason


def test_estimate_file_may_be_a_cost_report(tmp_path: Path, report):
    from cost.render import render_json

    path = tmp_path / "estimate.json"
    path.write_text(render_json(report("cutover")))
    loaded = load_estimate_file(path)
    assert type(loaded).__name__ == "CostReport"
    assert isinstance(load_estimate_file(tmp_path / "nope.json"), EstimateUnavailable)
    assert parse_estimate(b'{"total_monthly_cost": "x"}', "f").problem == "unreadable"  # type: ignore[union-attr]
