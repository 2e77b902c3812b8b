"""Evidence of a DR run or drill: ``output/artifacts/dr/<run_id>/``.

- ``record.json``: :class:`RunRecord` (versioned): what ran, why, who, each step with timings and
  outcome, the cost decision, measured RTO and RPO, and the result.
- ``summary.md``: a human summary with a Mermaid gantt of the steps (for ``$GITHUB_STEP_SUMMARY``).
- ``inputs.json``: the redacted inputs (command line, trigger event, effective stack config).
- ``journal.jsonl``: the step journal (see :mod:`dr.recovery.journal`).

Everything written here goes through :mod:`dr.redact` first.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cost.atomic import write_json_atomic
from cost.versioning import migrate
from dr.errors import HybridOpsError
from dr.redact import redact_data, redact_text

RECORD_SCHEMA_VERSION = 1

RunResult = Literal["SUCCESS", "WARNINGS", "ERRORS", "CANCELLED"]


class RecordError(HybridOpsError):
    pass


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Trigger(_Model):
    source: Literal["cli", "event-file"]
    """How the run was started: by hand, or from a ``repository_dispatch`` event file."""
    event_type: str | None = None
    """``dr-cutover``, ``dr-failback``, ``dr-drill``..."""
    alert: dict[str, Any] | None = None
    """The alert that caused it (labels, annotations, startsAt...), redacted."""
    fault_at: datetime | None = None
    """When the fault began (the alert's ``startsAt``), the start of the RTO clock."""
    reason: str | None = None


class StepRecord(_Model):
    id: str
    name: str
    kind: str
    outcome: str
    detail: str
    started_at: datetime
    finished_at: datetime
    duration_s: float
    data: dict[str, Any] = Field(default_factory=dict)
    resumed: bool = False
    """True when the step was completed by an earlier attempt of the same run (journal)."""


class DecisionRef(_Model):
    decision: Literal["allow", "warn", "block"]
    reason: str
    record_path: str | None = None
    approved_by: str | None = None
    override_reason: str | None = None


class CostFigures(_Model):
    currency: str
    past_monthly: str
    planned_monthly: str
    diff_monthly: str
    event_cost: str | None = None
    artefact_path: str | None = None


class Rpo(_Model):
    lag_bytes: int | None = None
    lag_seconds: float | None = None
    rows_lost: int | None = None
    basis: str
    """How it was measured (replication lag before promotion, rows written before the fault...)."""


class RunRecord(_Model):
    schema_version: int = RECORD_SCHEMA_VERSION
    run_id: str
    plan: Literal["cutover", "failback"]
    operation: Literal["cutover", "failback", "drill"]
    stack: str
    simulate: bool
    engine: Literal["offline", "automation"]
    actor: str
    trigger: Trigger
    started_at: datetime
    finished_at: datetime | None = None
    duration_s: float | None = None
    result: RunResult | None = None
    exit_code: int | None = None
    summary: str = ""
    steps: list[StepRecord] = Field(default_factory=list)
    decision: DecisionRef | None = None
    cost: CostFigures | None = None
    rto_seconds: float | None = None
    rto_basis: str | None = None
    rpo: Rpo | None = None
    warnings: list[str] = Field(default_factory=list)
    """Things that went differently than planned without failing (result WARNINGS)."""
    notes: list[str] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _version(cls, data: Any) -> Any:
        return migrate(data, current=RECORD_SCHEMA_VERSION, migrations={}, what="DR run record")


class RunDir:
    """The evidence directory of one run."""

    def __init__(self, root: Path, run_id: str) -> None:
        self.path = root / run_id
        self.run_id = run_id

    @property
    def record_path(self) -> Path:
        return self.path / "record.json"

    @property
    def journal_path(self) -> Path:
        return self.path / "journal.jsonl"

    def write_inputs(self, inputs: dict[str, Any]) -> None:
        write_json_atomic(
            self.path / "inputs.json", json.dumps(redact_data(inputs), indent=2, default=str) + "\n"
        )

    def write_record(self, record: RunRecord) -> None:
        data = redact_data(record.model_dump(mode="json"))
        write_json_atomic(self.record_path, json.dumps(data, indent=2) + "\n")
        write_json_atomic(self.path / "summary.md", redact_text(render_summary(record)))

    def read_record(self) -> RunRecord:
        try:
            return RunRecord.model_validate_json(self.record_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise RecordError(f"{self.record_path}: no record for run {self.run_id}") from None
        except ValueError as exc:
            raise RecordError(f"{self.record_path}: unreadable record: {exc}") from None


def _money(value: str, *, sign: bool = False) -> str:
    """Decimal strings from the cost engine, shown to the cent."""
    from decimal import Decimal, InvalidOperation

    try:
        amount = Decimal(value).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return value
    return f"{amount:+}" if sign else f"{amount}"


def _ts(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def render_summary(record: RunRecord) -> str:
    """Markdown for ``$GITHUB_STEP_SUMMARY``: result, decision, RTO/RPO, steps and a gantt."""
    icon = {"SUCCESS": "✅", "WARNINGS": "⚠️", "ERRORS": "❌", "CANCELLED": "⏹️"}.get(
        record.result or "", "•"
    )
    mode = " (simulated: nothing changed)" if record.simulate else ""
    lines = [
        f"## {icon} DR {record.operation} of `{record.stack}`: {record.result or 'RUNNING'}{mode}",
        "",
        f"- run: `{record.run_id}` by {record.actor}, engine `{record.engine}`, trigger {record.trigger.source}"
        + (f" `{record.trigger.event_type}`" if record.trigger.event_type else ""),
        f"- started {_ts(record.started_at)}Z"
        + (f", took {record.duration_s:.1f} s" if record.duration_s is not None else ""),
    ]
    if record.summary:
        lines.append(f"- {record.summary}")
    if record.decision:
        d = record.decision
        lines.append(
            f"- cost decision: **{d.decision}**: {d.reason}"
            + (f" (record `{d.record_path}`)" if d.record_path else "")
        )
        if d.approved_by:
            lines.append(f"- approved by {d.approved_by}: {d.override_reason or ''}")
    if record.cost:
        c = record.cost
        lines.append(
            f"- cost: {_money(c.past_monthly)} -> {_money(c.planned_monthly)} {c.currency}/month "
            f"(diff {_money(c.diff_monthly, sign=True)})"
            + (f"; this event ~{_money(c.event_cost)} {c.currency}" if c.event_cost else "")
        )
    if record.rto_seconds is not None:
        lines.append(f"- RTO: {record.rto_seconds:.1f} s ({record.rto_basis})")
    if record.rpo is not None:
        r = record.rpo
        parts = [
            f"{r.lag_bytes} bytes" if r.lag_bytes is not None else None,
            f"{r.lag_seconds:.3f} s" if r.lag_seconds is not None else None,
            f"{r.rows_lost} rows" if r.rows_lost is not None else None,
        ]
        lines.append(f"- RPO: {', '.join(p for p in parts if p) or 'unknown'} ({r.basis})")
    for warning in record.warnings:
        lines.append(f"- ⚠️ {warning}")
    for note in record.notes:
        lines.append(f"- note: {note}")
    lines += ["", "| # | step | kind | outcome | duration | detail |", "|---|---|---|---|---|---|"]
    for i, s in enumerate(record.steps, 1):
        detail = s.detail.replace("|", "\\|").replace("\n", " ")
        lines.append(
            f"| {i} | {s.name} | {s.kind} | {s.outcome}{' (resumed)' if s.resumed else ''} | {s.duration_s:.2f} s | {detail} |"
        )
    if record.steps:
        lines += [
            "",
            "```mermaid",
            "gantt",
            f"    title DR {record.operation} {record.run_id}",
            "    dateFormat YYYY-MM-DDTHH:mm:ss.SSS",
            "    axisFormat %H:%M:%S",
        ]
        for s in record.steps:
            tag = {
                "failed": "crit, ",
                "stopped": "crit, ",
                "cancelled": "crit, ",
                "succeeded": "done, ",
            }.get(s.outcome, "")
            start = s.started_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
            # Mermaid needs a non-zero duration to draw a bar.
            ms = max(1, round(s.duration_s * 1000))
            label = s.name.replace(":", " ")
            lines.append(f"    {label} ({s.outcome}) :{tag}{s.id}, {start}, {ms}ms")
        lines.append("```")
    return "\n".join(lines) + "\n"
