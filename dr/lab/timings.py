"""``lab-timings.json``: what a drill measured, and the pure arithmetic behind each figure.

- detection latency: fault injected -> dispatch received by the (loopback) GitHub API;
- decision latency: dispatch received -> the cost decision record written;
- RTO: fault -> the new primary took writes (the driver's ``writable_at``);
- RPO: rows the application had acknowledged on the old primary that the new primary does not
  have (counted, not estimated), plus the WAL bytes the record or the drill measured;
- the physical floor of detection for the lab's settings (see ``LabSettings.floor_s``).

All times are epoch seconds (``time.time()`` of this machine; every process shares the clock).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from cost.atomic import write_json_atomic
from dr.lab.state import LabSettings

TIMINGS_FILE = "lab-timings.json"
TIMINGS_SCHEMA_VERSION = 1

DrillResult = Literal["passed", "failed", "cancelled"]


def seconds_between(start: float | None, end: float | None) -> float | None:
    """``end - start`` rounded to milliseconds; None when either end is unknown."""
    if start is None or end is None:
        return None
    return round(end - start, 3)


def epoch(value: Any) -> float | None:
    """An ISO-8601 timestamp (as the driver records them) as epoch seconds."""
    if isinstance(value, int | float):
        return float(value)
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def rows_lost(acknowledged: Iterable[int], present: Iterable[int]) -> int:
    """Rows acknowledged to the application that the new primary does not have."""
    return len(set(acknowledged) - set(present))


def parse_lsn(lsn: str) -> int:
    high, _, low = lsn.partition("/")
    return (int(high, 16) << 32) + int(low, 16)


def wal_bytes_lost(last_acked_lsn: str | None, received_lsn: str | None) -> int | None:
    """WAL the old primary had written for acknowledged rows beyond what the standby received."""
    if not last_acked_lsn or not received_lsn:
        return None
    return max(0, parse_lsn(last_acked_lsn) - parse_lsn(received_lsn))


def within(value: float | None, limit: float) -> bool:
    return value is not None and value <= limit


class Check(BaseModel):
    """One property the scenario promises, as measured."""

    model_config = ConfigDict(extra="forbid")

    name: str
    ok: bool
    detail: str = ""


class Writer(BaseModel):
    """The drill's application: a writer inserting rows and counting acknowledgements."""

    model_config = ConfigDict(extra="forbid")

    acknowledged: int = 0
    acknowledged_on: dict[str, int] = Field(default_factory=dict)
    failed_attempts: int = 0
    longest_gap_s: float | None = None
    """Longest time without an acknowledged write while the writer ran (the write outage)."""
    first_ack_on_new_primary_at: float | None = None


class LabTimings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: int = TIMINGS_SCHEMA_VERSION
    drill_id: str
    scenario: str
    result: DrillResult | None = None
    started_at: float
    finished_at: float | None = None
    settings: LabSettings
    floor_s: float
    floor_formula: str
    fault: str = ""
    fault_at: float | None = None
    trigger: str = ""
    """How the dispatch came: ``alert`` (Prometheus -> Alertmanager -> relay) or ``operator``."""
    dispatch_received_at: float | None = None
    dispatches: int = 0
    """DR dispatches (dr-cutover / workflow_dispatch) the runner received for this drill."""
    workflow_run_id: int | None = None
    workflow_conclusion: str | None = None
    workflow_jobs: dict[str, str] = Field(default_factory=dict)
    decision: str | None = None
    decision_record: str | None = None
    decision_recorded_at: float | None = None
    dr_run_id: str | None = None
    record: str | None = None
    record_result: str | None = None
    record_rto_s: float | None = None
    record_rto_basis: str | None = None
    writable_at: float | None = None
    detection_latency_s: float | None = None
    detection_basis: str = ""
    decision_latency_s: float | None = None
    rto_s: float | None = None
    rto_basis: str = ""
    rpo_rows: int | None = None
    rpo_bytes: int | None = None
    rpo_basis: str = ""
    rpo_bytes_basis: str = ""
    promoted: bool | None = None
    """Whether the cloud database is the primary at the end (cutover: expected; block: not)."""
    roles_after: dict[str, str] = Field(default_factory=dict)
    notifications: list[str] = Field(default_factory=list)
    """Titles of the notifications the lab receiver got during the drill."""
    writer: Writer = Writer()
    processes: list[dict[str, int]] = Field(default_factory=list)
    """Every step process the drill's workflow runs started ({pid, start_ticks})."""
    checks: list[Check] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)

    def check(self, name: str, ok: bool, detail: str = "") -> bool:
        self.checks.append(Check(name=name, ok=ok, detail=detail))
        return ok

    @property
    def passed(self) -> bool:
        return all(c.ok for c in self.checks)

    def compute(self) -> None:
        """Derive the latencies from the recorded instants."""
        self.detection_latency_s = seconds_between(self.fault_at, self.dispatch_received_at)
        self.decision_latency_s = seconds_between(
            self.dispatch_received_at, self.decision_recorded_at
        )
        start = self.fault_at if self.fault_at is not None else self.dispatch_received_at
        self.rto_s = seconds_between(start, self.writable_at)

    def write(self, *directories: Path) -> list[Path]:
        text = self.model_dump_json(indent=2) + "\n"
        paths = []
        for directory in directories:
            path = directory / TIMINGS_FILE
            write_json_atomic(path, text)
            paths.append(path)
        return paths
