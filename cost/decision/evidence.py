"""Turning an estimate (a report, an artefact, a file, or the latest artefact of a component) into
:class:`EstimateFacts`, or into :class:`EstimateUnavailable` with the reason.

Nothing here raises for bad data: any byte string as an estimate file, any junk in the artefacts
directory, ends as a reason the decision shows (a ``warn``), never a crash and never an allow.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from pydantic import ValidationError

from cost.artefact import CostArtefact, check_component, parse_artefact
from cost.decision.model import EstimateFacts, EstimateUnavailable, Evidence
from cost.decision.policy import Scenario
from cost.errors import ArtefactError, ArtefactVersionError
from cost.report import CostReport

PURPOSES_FOR: dict[str, tuple[str, ...]] = {
    "cutover": ("dr-cutover",),
    "failback": ("dr-failback",),
    "burst": ("burst",),
    "change": ("pr-check", "baseline"),
}
"""Artefact purposes that can stand for a scenario when the latest artefact is used."""


def purpose_for(scenario: Scenario, drill: bool) -> str:
    """The purpose of the artefact the service writes for a scenario."""
    if drill:
        return "drill"
    return PURPOSES_FOR[scenario][0]


def accepted_purposes(scenario: Scenario, drill: bool) -> tuple[str, ...]:
    return PURPOSES_FOR[scenario] + (("drill",) if drill and scenario != "change" else ())


def from_report(
    report: CostReport,
    *,
    source: str,
    origin: str,
    artefact_path: str | None = None,
    artefact_run_id: str | None = None,
    purpose: str | None = None,
    shadowed_by: Iterable[str] = (),
) -> EstimateFacts:
    summary = report.summary
    dr = report.usage.dr
    return EstimateFacts(
        source=source,
        origin=origin,
        artefact_path=artefact_path,
        artefact_run_id=artefact_run_id,
        purpose=purpose,
        stack=report.stack,
        currency=report.currency,
        created_at=_aware(report.generated_at),
        offline=report.offline,
        past_hourly=report.past_total_hourly_cost,
        planned_hourly=report.total_hourly_cost,
        diff_hourly=report.diff_total_hourly_cost,
        past_monthly=report.past_total_monthly_cost,
        planned_monthly=report.total_monthly_cost,
        diff_monthly=report.diff_total_monthly_cost,
        resources=summary.resources,
        unsupported=summary.unsupported,
        price_not_found=summary.price_not_found,
        unsupported_types=dict(summary.unsupported_types),
        missing_price_keys=[m.price_key for m in summary.missing_prices],
        usage_path=report.usage.path,
        expected_hours=dr.expected_hours_per_event if dr else None,
        one_off_total=dr.one_off_total if dr else Decimal(0),
        one_off_price_not_found=dr.one_off_price_not_found if dr else 0,
        shadowed_by=list(shadowed_by),
    )


def from_artefact(
    artefact: CostArtefact, *, path: str, shadowed_by: Iterable[str] = ()
) -> EstimateFacts:
    return from_report(
        artefact.report(),
        source="artefact",
        origin=f"cost artefact {path}",
        artefact_path=path,
        artefact_run_id=artefact.run_id,
        purpose=artefact.purpose,
        shadowed_by=shadowed_by,
    )


def _aware(value: datetime) -> datetime:
    # Artefacts are written in UTC; a naive timestamp (hand-made file) is read as UTC too.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def parse_estimate(raw: bytes, origin: str) -> CostArtefact | CostReport | EstimateUnavailable:
    """A cost artefact, or a CostReport (``cost estimate --format json``); never raises."""
    try:
        return parse_artefact(raw, origin)
    except ArtefactVersionError as exc:
        return EstimateUnavailable(problem="newer-schema", reason=str(exc), origin=origin)
    except ArtefactError as exc:
        first = exc
    except Exception as exc:  # never a crash on a file's contents, whatever the parser does
        return EstimateUnavailable(
            problem="unreadable",
            reason=f"{origin}: unreadable ({type(exc).__name__})",
            origin=origin,
        )
    report = _as_report(raw)
    if report is not None:
        return report
    return EstimateUnavailable(problem="unreadable", reason=str(first), origin=origin)


def _as_report(raw: bytes) -> CostReport | None:
    """The JSON of ``cost estimate --format json`` (no ``kind``), or ``None``."""
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    if not isinstance(doc, dict) or "kind" in doc or "total_monthly_cost" not in doc:
        return None
    try:
        version = doc.get("schema_version")
        if isinstance(version, int) and version > 1:
            return None
        return CostReport.model_validate(doc)
    except (ValidationError, ValueError, TypeError, RecursionError):
        return None


def load_estimate_file(
    path: Path, display: str | None = None
) -> CostArtefact | CostReport | EstimateUnavailable:
    """``--estimate FILE``: read and parse; a missing file is ``missing``, never an exception."""
    shown = display or str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return EstimateUnavailable(
            problem="missing", reason=f"{shown}: no such estimate file", origin=shown
        )
    except OSError as exc:
        return EstimateUnavailable(
            problem="unreadable",
            reason=f"{shown}: cannot read: {exc.strerror or exc}",
            origin=shown,
        )
    return parse_estimate(raw, shown)


def latest_evidence(
    root: Path,
    component: str,
    *,
    stack: str,
    scenario: Scenario,
    drill: bool,
    display_root: str | None = None,
) -> Evidence:
    """The newest readable artefact of ``component`` for this stack and scenario, by ``created_at``.

    Unreadable files (corrupt, foreign, newer schema) whose modification time is at or after that
    artefact's ``created_at`` may be the real latest estimate: they make ``artefact.readable``
    fail. If nothing readable matches, the newest unreadable file is the reason.
    """
    folder = root / check_component(component)
    shown_root = display_root or str(root)
    purposes = accepted_purposes(scenario, drill)
    want = " or ".join(purposes)
    if not folder.is_dir():
        return EstimateUnavailable(
            problem="missing",
            reason=f"no cost artefacts under {shown_root}/{component} (estimate first, e.g. "
            f"`hybridops cost estimate --stack {stack} --write --purpose {purposes[0]}`, or use --offline)",
        )
    good: list[tuple[CostArtefact, str]] = []
    bad: list[tuple[float, str, EstimateUnavailable]] = []
    other = 0
    for path in sorted(folder.glob("cost-run-*.json")):
        shown = f"{shown_root}/{component}/{path.name}"
        try:
            raw = path.read_bytes()
            mtime = path.stat().st_mtime
        except OSError as exc:
            bad.append(
                (
                    0.0,
                    shown,
                    EstimateUnavailable(
                        problem="unreadable",
                        reason=f"{shown}: cannot read: {exc.strerror}",
                        origin=shown,
                    ),
                )
            )
            continue
        parsed = parse_estimate(raw, shown)
        if isinstance(parsed, EstimateUnavailable):
            bad.append((mtime, shown, parsed))
        elif isinstance(parsed, CostReport):
            bad.append(
                (
                    mtime,
                    shown,
                    EstimateUnavailable(
                        problem="unreadable",
                        reason=f"{shown}: a cost report, not a cost artefact",
                        origin=shown,
                    ),
                )
            )
        elif parsed.stack == stack and parsed.purpose in purposes:
            good.append((parsed, shown))
        else:
            other += 1
    if good:
        good.sort(key=lambda item: (_aware(item[0].created_at), item[0].run_id))
        artefact, shown = good[-1]
        cutoff = _aware(artefact.created_at).timestamp()
        shadows = [u.reason for mtime, _, u in sorted(bad, key=lambda b: b[0]) if mtime >= cutoff]
        return from_artefact(artefact, path=shown, shadowed_by=shadows)
    if bad:
        newest = max(bad, key=lambda b: (b[0], b[1]))[2]
        return newest
    extra = f" ({other} of other stacks or purposes)" if other else ""
    return EstimateUnavailable(
        problem="missing",
        reason=f"no cost artefact of purpose {want} for stack {stack!r} under {shown_root}/{component}{extra}",
    )


def facts_or_problem(
    item: CostArtefact | CostReport | EstimateUnavailable, *, origin: str
) -> Evidence:
    """A parsed estimate file as evidence (a report file has no artefact run id)."""
    if isinstance(item, EstimateUnavailable):
        return item
    if isinstance(item, CostArtefact):
        return from_artefact(item, path=origin)
    return from_report(item, source="report", origin=f"cost report {origin}")


__all__ = [
    "accepted_purposes",
    "facts_or_problem",
    "from_artefact",
    "from_report",
    "latest_evidence",
    "load_estimate_file",
    "parse_estimate",
    "purpose_for",
]
