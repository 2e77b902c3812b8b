"""The lab's timing arithmetic: latencies, RTO, RPO and the physical floor."""

from __future__ import annotations

from pathlib import Path

import pytest

from dr.lab.state import LabSettings
from dr.lab.timings import (
    LabTimings,
    epoch,
    parse_lsn,
    rows_lost,
    seconds_between,
    wal_bytes_lost,
)


def _timings(**kw: object) -> LabTimings:
    s = LabSettings()
    return LabTimings(
        drill_id="d", scenario="jenkins-outage", started_at=0.0, settings=s,
        floor_s=s.floor_s, floor_formula=s.floor_formula(), **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def test_floor_is_for_plus_scrape_plus_evaluation_plus_group_wait() -> None:
    """Lab defaults: 10 + 1 + 1 + 1 = 13 s; the formula names each term."""
    s = LabSettings()
    assert s.floor_s == 13.0
    assert s.floor_formula() == "for 10 s + scrape 1 s + evaluation 1 s + group_wait 1 s = 13 s"
    assert LabSettings(alert_for_s=30, scrape_interval_s=5, group_wait_s=2).floor_s == 38.0


def test_latencies_from_instants() -> None:
    """detection = dispatch - fault; decision = record - dispatch; RTO = writable - fault."""
    t = _timings(
        fault_at=1000.0,
        dispatch_received_at=1013.25,
        decision_recorded_at=1017.5,
        writable_at=1024.0004,
    )
    t.compute()
    assert (t.detection_latency_s, t.decision_latency_s, t.rto_s) == (13.25, 4.25, 24.0)


def test_without_a_fault_the_rto_clock_starts_at_the_dispatch() -> None:
    """A planned failback has no fault: RTO = dispatch -> new primary writable."""
    t = _timings(dispatch_received_at=50.0, writable_at=56.5)
    t.compute()
    assert (t.detection_latency_s, t.rto_s) == (None, 6.5)


def test_unknown_instants_give_no_figure_rather_than_zero() -> None:
    """A blocked run has no writable_at: RTO stays None."""
    t = _timings(fault_at=1.0, dispatch_received_at=14.0)
    t.compute()
    assert t.rto_s is None and t.decision_latency_s is None
    assert seconds_between(None, 3.0) is None


def test_rows_lost_counts_acknowledged_rows_missing_on_the_new_primary() -> None:
    """Rows never acknowledged do not count; extra rows on the new primary do not offset."""
    assert rows_lost([1, 2, 3, 4], [1, 2, 4, 99]) == 1
    assert rows_lost([], [1]) == 0
    assert rows_lost(range(1000), range(1000)) == 0


def test_wal_bytes_lost_is_the_unreceived_distance_never_negative() -> None:
    """LSN arithmetic: high/low 32-bit halves; a standby ahead means zero lost."""
    assert parse_lsn("1/0") == 1 << 32
    assert wal_bytes_lost("0/8834F8", "0/8834F8") == 0
    assert wal_bytes_lost("0/883600", "0/8834F8") == 0x108
    assert wal_bytes_lost("0/100", "0/200") == 0
    assert wal_bytes_lost(None, "0/1") is None


def test_epoch_reads_the_drivers_iso_timestamps() -> None:
    """writable_at in records is ISO-8601 with an offset."""
    assert epoch("1970-01-01T00:00:10+00:00") == 10.0
    assert epoch("1970-01-01T00:00:10Z") == 10.0
    assert epoch("not a time") is None
    assert epoch(None) is None


def test_checks_decide_passed_and_the_file_round_trips(tmp_path: Path) -> None:
    """A failed check fails the drill; lab-timings.json is the model as JSON."""
    t = _timings()
    assert t.check("one dispatch", True, "1 received")
    assert not t.check("decision allow", False, "block")
    assert not t.passed
    (path,) = t.write(tmp_path)
    assert path.name == "lab-timings.json"
    assert LabTimings.model_validate_json(path.read_text()) == t


@pytest.mark.parametrize("bad", [{"floor_s": "x"}, {"unknown": 1}])
def test_timings_model_rejects_bad_fields(bad: dict[str, object]) -> None:
    """extra='forbid' and typed fields: a typo or a wrong type fails loudly."""
    base = _timings().model_dump()
    with pytest.raises(ValueError):
        LabTimings.model_validate({**base, **bad})
