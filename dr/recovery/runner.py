"""Execute a recovery plan: ordered, journaled, resumable, bounded, and always leaving a record."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from types import FrameType
from typing import Any, Protocol

from dr.errors import HybridOpsError
from dr.records import RunDir, RunRecord, StepRecord
from dr.recovery.context import RunContext
from dr.recovery.journal import Journal
from dr.recovery.model import RecoveryPlan, Step, StepResult, StepStop
from dr.redact import redact_data, redact_text

EXIT_OK, EXIT_ERROR, EXIT_WARN, EXIT_BLOCK = 0, 1, 10, 20


class Reporter(Protocol):
    def step_started(self, step: Step, index: int, total: int) -> None: ...

    def step_finished(self, step: Step, record: StepRecord) -> None: ...


class SilentReporter:
    def step_started(self, step: Step, index: int, total: int) -> None:
        pass

    def step_finished(self, step: Step, record: StepRecord) -> None:
        pass


class Cancelled(BaseException):
    """SIGTERM (e.g. a cancelled CI job) or Ctrl-C."""


@contextmanager
def _cancel_on_sigterm() -> Iterator[None]:
    def handler(signum: int, frame: FrameType | None) -> None:
        raise Cancelled(f"signal {signum}")

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class Runner:
    def __init__(
        self,
        plan: RecoveryPlan,
        ctx: RunContext,
        run_dir: RunDir,
        *,
        reporter: Reporter | None = None,
        finalize: Callable[[RunContext, RunRecord], None] | None = None,
    ) -> None:
        self.plan = plan
        self.ctx = ctx
        self.run_dir = run_dir
        self.journal = Journal(run_dir.journal_path)
        self.reporter = reporter or SilentReporter()
        self.finalize = finalize

    def run(self) -> RunRecord:
        ctx, record = self.ctx, self.ctx.record
        finished = self.journal.finished_steps()
        if self.journal.run_started() is None:
            self.journal.append(
                "run-started", run_id=ctx.run_id, plan=self.plan.name, stack=ctx.stack
            )
        else:
            record.notes.append(
                f"resumed: {len(finished)} step(s) completed by an earlier attempt were not repeated"
            )
            self.journal.append("run-resumed", run_id=ctx.run_id, completed=sorted(finished))
        exit_code = EXIT_OK
        cancelled = False
        with _cancel_on_sigterm():
            try:
                total = len(self.plan.steps)
                for index, step in enumerate(self.plan.steps, 1):
                    if step.id in finished:
                        entry = finished[step.id]
                        ctx.restore(entry.get("data") or {})
                        record.steps.append(_resumed(step, entry))
                        continue
                    self.reporter.step_started(step, index, total)
                    step_record, code, cancelled = self._run_step(step)
                    record.steps.append(step_record)
                    self.reporter.step_finished(step, step_record)
                    if step_record.outcome in ("failed", "stopped", "cancelled"):
                        exit_code = code
                        break
            except (KeyboardInterrupt, Cancelled) as exc:
                # Between two steps (reporting, journal): nothing is half-done, but the run ends here.
                cancelled, exit_code = True, 130
                record.notes.append(f"interrupted between steps ({exc or 'Ctrl-C'})")
        self._finish(exit_code, cancelled)
        return record

    def _run_step(self, step: Step) -> tuple[StepRecord, int, bool]:
        ctx = self.ctx
        started = datetime.now(UTC)
        t0 = time.monotonic()
        ctx.begin_step(step)
        self.journal.append("step-started", step=step.id, kind=step.kind)
        code, cancelled = EXIT_OK, False
        try:
            result = self._execute(step)
            if result.outcome == "succeeded" and time.monotonic() - t0 > step.timeout_s:
                result = StepResult(
                    "failed",
                    f"exceeded its timeout of {step.timeout_s:.0f} s ({result.detail})",
                    result.data,
                )
        except StepStop as stop:
            result, code = StepResult("stopped", stop.reason, stop.data), stop.exit_code
        except (KeyboardInterrupt, Cancelled) as exc:
            result, code, cancelled = (
                StepResult("cancelled", f"interrupted ({exc or 'Ctrl-C'})"),
                130,
                True,
            )
        except HybridOpsError as exc:
            result, code = StepResult("failed", str(exc)), exc.exit_code
        except (
            Exception
        ) as exc:  # a bug or an unexpected library error: record it, never lose the run
            result, code = StepResult("failed", f"{type(exc).__name__}: {exc}"), EXIT_ERROR
        if result.outcome == "failed" and code == EXIT_OK:
            code = EXIT_ERROR
        finished = datetime.now(UTC)
        data = redact_data(result.data)
        detail = redact_text(result.detail)
        ctx.state.update(result.data)
        self.journal.append(
            "step-finished", step=step.id, outcome=result.outcome, detail=detail, data=data
        )
        return (
            StepRecord(
                id=step.id,
                name=step.name,
                kind=step.kind,
                outcome=result.outcome,
                detail=detail,
                started_at=started,
                finished_at=finished,
                duration_s=round(time.monotonic() - t0, 3),
                data=data,
            ),
            code,
            cancelled,
        )

    def _execute(self, step: Step) -> StepResult:
        ctx = self.ctx
        if ctx.simulate and (step.mutating or step.live):
            return StepResult(
                "simulated", f"would {step.describe}" if step.describe else "simulated"
            )
        if step.precondition is not None:
            done = step.precondition(ctx)
            if done:
                return StepResult("noop", done)
        result = step.action(ctx)
        if result.outcome == "succeeded" and step.verification is not None:
            failure = step.verification(ctx, result)
            if failure:
                return StepResult("failed", f"verification failed: {failure}", result.data)
        return result

    def _finish(self, exit_code: int, cancelled: bool) -> None:
        ctx, record = self.ctx, self.ctx.record
        outcomes = [s.outcome for s in record.steps]
        if cancelled:
            record.result = "CANCELLED"
        elif "stopped" in outcomes:
            record.result = (
                "CANCELLED"  # a gate stopped it on purpose; exit code says why (10 warn / 20 block)
            )
        elif "failed" in outcomes:
            record.result = "ERRORS"
        elif record.warnings:
            record.result = "WARNINGS"
        else:
            record.result = "SUCCESS"
        record.exit_code = exit_code
        record.finished_at = datetime.now(UTC)
        record.duration_s = round((record.finished_at - record.started_at).total_seconds(), 3)
        if self.finalize is not None:
            try:
                self.finalize(ctx, record)
            except Exception as exc:  # the record must still be written
                record.notes.append(
                    f"finalizing failed: {type(exc).__name__}: {redact_text(str(exc))}"
                )
        self.run_dir.write_record(record)
        self.journal.append("run-finished", result=record.result, exit_code=exit_code)


def _resumed(step: Step, entry: dict[str, Any]) -> StepRecord:
    ts = datetime.fromisoformat(entry["ts"])
    return StepRecord(
        id=step.id,
        name=step.name,
        kind=step.kind,
        outcome=entry["outcome"],
        detail=entry.get("detail", ""),
        started_at=ts,
        finished_at=ts,
        duration_s=0.0,
        data=entry.get("data") or {},
        resumed=True,
    )
