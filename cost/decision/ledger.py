"""The ledger: DR and burst spend of a stack/component in the current calendar month (UTC).

Built from earlier decision records (``decision-*.json``) beside the cost artefacts: every allowed,
non-drill ``cutover`` or ``burst`` decided this month is one event, charged at its projected event
cost. A record without that figure is priced from the cost artefact it references
(``cost-run-<run_id>.json``: (planned - past hourly) x hours + one-off costs); if neither knows, the
event counts as *unknown cost* and ``ledger.complete`` fails (a warn). Failbacks are not events
(they close one), blocks spent nothing, drills change nothing.

Unreadable records never crash the ledger: those modified this month are reported as problems (the
month's spend may be understated); older ones are only counted as ignored.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from cost.artefact import check_component, load_artefact
from cost.decision.decide import EVENT_SCENARIOS
from cost.decision.model import Ledger, LedgerEvent
from cost.decision.record import DecisionRecord, RecordError, parse_record
from cost.errors import ArtefactError
from cost.money import money


def month_bounds(now: datetime) -> tuple[datetime, datetime]:
    now = now.astimezone(UTC)
    start = datetime(now.year, now.month, 1, tzinfo=UTC)
    end = datetime(now.year + (now.month == 12), now.month % 12 + 1, 1, tzinfo=UTC)
    return start, end


def read_ledger(
    root: Path,
    component: str,
    *,
    stack: str,
    now: datetime,
    exclude_run_id: str | None = None,
    display_root: str | None = None,
) -> Ledger:
    start, end = month_bounds(now)
    month = start.strftime("%Y-%m")
    folder = root / check_component(component)
    shown_root = display_root or str(root)
    if not folder.is_dir():
        return Ledger(month=month)
    events: dict[str, LedgerEvent] = {}
    problems: list[str] = []
    ignored = 0
    unknown = 0
    for path in sorted(folder.glob("decision-*.json")):
        shown = f"{shown_root}/{component}/{path.name}"
        try:
            record = parse_record(path.read_bytes(), shown)
        except (OSError, RecordError) as exc:
            reason = (
                exc.args[0]
                if isinstance(exc, RecordError)
                else f"{shown}: cannot read: {exc.strerror}"
            )
            if _mtime_in_month(path, start):
                problems.append(str(reason))
            else:
                ignored += 1
            continue
        if not isinstance(record, DecisionRecord) or not _counts(
            record, stack, start, end, exclude_run_id
        ):
            ignored += 1
            continue
        event = _event(record, folder, shown)
        previous = events.get(record.run_id)
        if previous is None or previous.decided_at <= event.decided_at:
            events[record.run_id] = event
    ordered = sorted(events.values(), key=lambda e: (e.decided_at, e.run_id))
    spend = Decimal(0)
    for event in ordered:
        if event.event_cost is None:
            unknown += 1
        else:
            spend += event.event_cost
    return Ledger(
        month=month,
        events=ordered,
        dr_spend=money(spend),
        unknown_cost_events=unknown,
        problems=problems,
        ignored=ignored,
    )


def _mtime_in_month(path: Path, start: datetime) -> bool:
    try:
        return path.stat().st_mtime >= start.timestamp()
    except OSError:
        return True  # cannot tell: report it rather than hide it


def _counts(
    record: DecisionRecord, stack: str, start: datetime, end: datetime, exclude: str | None
) -> bool:
    decided = (
        record.decided_at if record.decided_at.tzinfo else record.decided_at.replace(tzinfo=UTC)
    )
    return (
        record.run_id != exclude
        and record.stack == stack
        and record.decision == "allow"
        and not record.drill
        and record.scenario in EVENT_SCENARIOS
        and start <= decided < end
    )


def _event(record: DecisionRecord, folder: Path, shown: str) -> LedgerEvent:
    cost = record.figures.event_cost
    hours = record.figures.event_hours
    source: str | None = "record" if cost is not None else None
    if cost is None and record.estimate is not None and record.estimate.artefact_run_id:
        cost, hours = _cost_from_artefact(folder, record.estimate.artefact_run_id, hours)
        source = "artefact" if cost is not None else None
    decided = (
        record.decided_at if record.decided_at.tzinfo else record.decided_at.replace(tzinfo=UTC)
    )
    return LedgerEvent(
        run_id=record.run_id,
        scenario=record.scenario,
        decided_at=decided,
        event_cost=cost,
        event_hours=hours,
        cost_source=source,
        record_path=shown,
        overridden=record.override is not None,
    )


def _cost_from_artefact(
    folder: Path, artefact_run_id: str, hours: Decimal | None
) -> tuple[Decimal | None, Decimal | None]:
    try:
        artefact = load_artefact(folder / f"cost-run-{artefact_run_id}.json")
    except (ArtefactError, ValueError):
        return None, hours
    dr = artefact.usage.dr
    hours = hours if hours is not None else (dr.expected_hours_per_event if dr else None)
    if hours is None:
        return None, None
    one_off = dr.one_off_total if dr else Decimal(0)
    return money(max(artefact.totals.diff_hourly, Decimal(0)) * hours + one_off), hours
