"""The lab's drills: inject a fault, let the real loop run, measure it.

``jenkins-outage``  SIGKILL the fake Jenkins -> leaf probe fails -> central alert (lab ``for:``)
                    -> Alertmanager -> relay -> repository_dispatch ``dr-cutover`` -> dr.yml
                    (decide: allow; execute: cutover) -> db-01 fenced, cloud-db promoted.
``cost-block``      the same outage under a tightened budget policy: dr.yml's decide job blocks,
                    nothing is fenced or promoted, the blocked record is written and the block
                    notification reaches the lab receiver.
``db-primary-loss`` a writer inserts rows; db-01 is killed with SIGKILL; an operator dispatches
                    dr.yml (``workflow_dispatch`` action=cutover), as the db-01 runbook says:
                    the production rules have no db-01 alert that cuts over, on purpose (a dead
                    server and a partition look alike from outside; a person confirms). Unplanned
                    promotion; RPO = acknowledged rows the new primary lacks.
``failback``        after a cutover (done by the drill through the same workflow), a writer runs
                    against the cloud primary while an operator dispatches ``failback``: db-01 is
                    resynced, planned switchover, zero acknowledged rows may be lost.

Every drill: brings the lab up if needed, resets it to the baseline, arms the runner with its own
artefacts root (``<lab>/drills/<drill_id>/artifacts``: the evidence of one incident, and a
ledger of its own, so drills do not spend each other's DR budget), and writes
``lab-timings.json`` into the drill directory and the DR run's evidence directory. Unless
``keep``, it resets the lab again at the end so drills can run back to back.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import yaml

from dr.lab.lab import Lab
from dr.lab.procs import LabError, wait_until
from dr.lab.receiver import read_posts
from dr.lab.runner import WorkflowRun
from dr.lab.timings import LabTimings, epoch, rows_lost, wal_bytes_lost
from dr.lab.writer import RowWriter, present_seqs
from dr.records import RunRecord


class Progress(Protocol):
    def phase(self, text: str) -> None:
        """A new phase started (shown with a spinner on a terminal)."""

    def update(self, text: str) -> None:
        """Live detail of the current phase."""

    def done(self, text: str) -> None:
        """A line that stays."""

    def close(self) -> None: ...


class PlainProgress:
    def __init__(self, echo: Callable[[str], None] = print) -> None:
        self.echo = echo
        self.t0 = time.monotonic()

    def _stamp(self) -> str:
        return f"[{time.monotonic() - self.t0:6.1f}s]"

    def phase(self, text: str) -> None:
        self.echo(f"{self._stamp()} {text} ...")

    def update(self, text: str) -> None:
        pass

    def done(self, text: str) -> None:
        self.echo(f"{self._stamp()} {text}")

    def close(self) -> None:
        pass


@dataclass(frozen=True)
class Scenario:
    name: str
    summary: str
    profile: str
    """Lab DR profile: ``alert`` (the trigger's on-prem probe is the fake Jenkins) or ``operator``."""
    tight_budget: bool = False


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "jenkins-outage",
            "kill Jenkins -> alert -> relay -> dr.yml -> cost gate allows -> cloud-db promoted",
            "alert",
        ),
        Scenario(
            "cost-block",
            "kill Jenkins under a tight budget -> dr.yml blocks -> nothing promoted, notified",
            "alert",
            tight_budget=True,
        ),
        Scenario(
            "db-primary-loss",
            "SIGKILL db-01 under writes -> operator dispatch -> unplanned promotion, RPO counted",
            "operator",
        ),
        Scenario(
            "failback",
            "after a cutover: planned switchover back to db-01 under writes, zero rows lost",
            "operator",
        ),
    )
}

DISPATCH_TIMEOUT_PAD_S = 30.0
RUN_TIMEOUT_S = 180.0


class DrillCancelled(LabError):
    exit_code = 130


def tight_policy(project_dir: Path, out: Path) -> Path:
    """The committed budget policy with cloud-dr's per-event DR limit below the reference cutover
    (~$36): derived, not copied, so it follows the policy's schema."""
    doc = yaml.safe_load(
        (project_dir / "stacks" / "budget-policy.yaml").read_text(encoding="utf-8")
    )
    doc["description"] = "hybridops lab cost-block drill: the production policy, max_event_cost 20"
    doc["budgets"]["cloud-dr"]["dr"]["max_event_cost"] = 20
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        "# written by dr/lab/drills.py for the cost-block drill\n"
        + yaml.safe_dump(doc, sort_keys=False),
        encoding="utf-8",
    )
    return out


class Drill:
    def __init__(
        self, lab: Lab, scenario: Scenario, progress: Progress, *, keep: bool = False
    ) -> None:
        self.lab = lab
        self.scenario = scenario
        self.progress = progress
        self.keep = keep
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        self.drill_id = f"{stamp}-{scenario.name}-{secrets.token_hex(2)}"
        self.dir = lab.drills_dir / self.drill_id
        self.artefacts = self.dir / "artifacts"
        self.writer: RowWriter | None = None
        self.t: LabTimings | None = None

    # -- the skeleton --------------------------------------------------------------------------
    def run(self) -> LabTimings:
        lab, p = self.lab, self.progress
        try:
            if not lab.is_up():
                p.phase("starting the lab")
                lab.say = p.done
                lab.up()
            p.phase("resetting the lab to the baseline")
            for what in lab.reset():
                p.done(f"reset: {what}")
        except KeyboardInterrupt:
            raise DrillCancelled(
                "interrupted while preparing the lab; nothing was injected"
            ) from None
        settings = lab.state().settings
        t = self.t = LabTimings(
            drill_id=self.drill_id,
            scenario=self.scenario.name,
            started_at=time.time(),
            settings=settings,
            floor_s=settings.floor_s,
            floor_formula=settings.floor_formula(),
        )
        self.dir.mkdir(parents=True, exist_ok=True)
        policy = (
            tight_policy(lab.project_dir, self.dir / "budget-policy.yaml")
            if self.scenario.tight_budget
            else None
        )
        env = lab.run_env(
            artefacts=self.artefacts, profile=self.scenario.profile, budget_policy=policy
        )
        p.done(f"drill {self.drill_id}: {self.scenario.summary}")
        try:
            with lab.armed(self.drill_id, env):
                getattr(self, "_" + self.scenario.name.replace("-", "_"))(t)
            t.result = "passed" if t.passed else "failed"
        except KeyboardInterrupt:
            t.result = "cancelled"
            t.notes.append("interrupted (Ctrl-C): the workflow run was cancelled")
            self._cancel_runs()
            raise DrillCancelled(f"drill {self.drill_id} cancelled") from None
        except BaseException as exc:
            t.result = "failed"
            t.notes.append(f"drill error: {type(exc).__name__}: {exc}")
            self._cancel_runs()
            raise
        finally:
            if self.writer is not None:
                self.writer.stop()
            self._finish(t)
        if not self.keep:
            p.phase("resetting the lab for the next drill")
            try:
                for what in lab.reset():
                    p.done(f"reset: {what}")
            except KeyboardInterrupt:
                raise DrillCancelled(
                    f"drill {self.drill_id} {t.result}; interrupted while resetting the lab "
                    "(the next drill resets it)"
                ) from None
        return t

    def _finish(self, t: LabTimings) -> None:
        t.finished_at = time.time()
        with contextlib.suppress(Exception):
            runs = self._runs()
            t.processes = [ref.model_dump() for r in runs for ref in r.processes]
            dr_runs = [r for r in runs if r.action is not None]
            if t.record is None and dr_runs:  # interrupted or failed before collecting
                self._collect(t, dr_runs[-1])
        t.compute()
        targets = [self.dir]
        if t.record:
            targets.append(Path(t.record).parent)
        t.write(*targets)

    # -- helpers -------------------------------------------------------------------------------
    def _runs(self) -> list[WorkflowRun]:
        return [r for r in self.lab.runs() if r.drill_id == self.drill_id]

    def _dr_runs(self) -> list[WorkflowRun]:
        return [r for r in self._runs() if r.action is not None]

    def _cancel_runs(self) -> None:
        """Cancel this drill's workflow runs the way GitHub cancels, and wait until they stop."""
        with contextlib.suppress(Exception):
            for run in self._runs():
                if run.status != "completed":
                    self.progress.done(f"cancelling workflow run {run.run_id}")
                    self.lab.cancel_run(run.run_id)
            wait_until(
                lambda: all(r.status == "completed" for r in self._runs()),
                20,
                "the cancelled workflow runs to stop",
                0.1,
            )

    def _start_writer(self, prefer: str, *, interval_s: float = 0.02, rows: int = 50) -> RowWriter:
        self.progress.phase(f"starting the application writer against {prefer}")
        self.writer = RowWriter(
            self.lab.dsns(), self.drill_id, prefer=prefer, interval_s=interval_s
        ).__enter__()
        if not self.writer.wait_for(rows, timeout=15):
            raise LabError("the writer could not write to the primary")
        self.progress.done(
            f"application writer running against {prefer} ({len(self.writer.acked())} rows so far)"
        )
        return self.writer

    def _wait_dispatch(self, t: LabTimings, timeout: float) -> WorkflowRun:
        p = self.progress
        start = time.monotonic()
        while True:
            runs = self._dr_runs()
            if runs:
                run = runs[0]
                t.dispatch_received_at = run.received_at
                t.workflow_run_id = run.run_id
                took = run.received_at - (t.fault_at or run.received_at)
                p.done(
                    f"dispatch {run.event_type} received {took:.1f} s after the fault (run {run.run_id})"
                )
                return run
            if time.monotonic() - start > timeout:
                raise LabError(f"no dispatch within {timeout:.0f} s of the fault")
            if t.trigger == "alert":
                with contextlib.suppress(Exception):
                    state = self.lab.alert_state() or "not yet"
                    p.update(
                        f"jenkins_critical_down {state}, "
                        f"{time.time() - (t.fault_at or time.time()):.1f} s after the fault "
                        f"(floor {t.floor_s:g} s)"
                    )
            time.sleep(0.05)

    def _wait_run(self, run_id: int) -> WorkflowRun:
        p = self.progress
        p.phase(f"workflow run {run_id} (dr.yml)")
        start = time.monotonic()
        seen: set[tuple[str, str]] = set()
        while True:
            run = next(r for r in self._runs() if r.run_id == run_id)
            for s in run.steps:
                key = (f"{s.job}/{s.name}", s.outcome)
                if key not in seen:
                    seen.add(key)
                    if s.outcome == "in_progress":
                        p.update(f"{s.job}: {s.name}")
                    else:
                        took = (s.finished_at or 0) - (s.started_at or 0)
                        p.done(f"dr.yml {s.job}: {s.name}: {s.outcome} ({took:.1f} s)")
            if run.status == "completed":
                p.done(f"workflow run {run.run_id}: {run.conclusion} ({run.note})")
                return run
            if time.monotonic() - start > RUN_TIMEOUT_S:
                raise LabError(f"workflow run {run_id} did not finish within {RUN_TIMEOUT_S:.0f} s")
            time.sleep(0.1)

    def _collect(self, t: LabTimings, run: WorkflowRun) -> RunRecord | None:
        """Decision and record figures of the workflow run (decide job, then execute job)."""
        t.workflow_conclusion = run.conclusion
        t.workflow_jobs = dict(run.jobs)
        decide = run.job_outputs.get("decide", {})
        t.decision = decide.get("decision") or None
        request = next(
            (s for s in run.steps if s.job == "decide" and s.outputs.get("decide_run_id")), None
        )
        decide_run_id = request.outputs["decide_run_id"] if request else None
        if decide_run_id:
            for root in (
                self.artefacts,
                Path(run.directory) / "decide" / "workspace" / "output" / "artifacts",
            ):
                candidate = root / "cost" / "cloud-dr" / f"decision-{decide_run_id}.json"
                if candidate.exists():
                    t.decision_record = str(candidate)
                    t.decision_recorded_at = candidate.stat().st_mtime
                    break
        # the execute job's record when it ran (even cancelled), else the decide job's simulate run
        candidates = [
            decide.get("run_id") or (request.outputs.get("run_id") if request else None),
            decide_run_id,
        ]
        path = next(
            (
                self.artefacts / "dr" / str(c) / "record.json"
                for c in candidates
                if c and (self.artefacts / "dr" / str(c) / "record.json").exists()
            ),
            None,
        )
        if path is None:
            return None
        record = RunRecord.model_validate_json(path.read_text(encoding="utf-8"))
        t.dr_run_id = record.run_id
        t.record = str(path)
        t.record_result = record.result
        t.record_rto_s = record.rto_seconds
        t.record_rto_basis = record.rto_basis
        for step in record.steps:
            if step.id in ("promote-cloud-replica", "planned-switchover") and step.data.get(
                "writable_at"
            ):
                t.writable_at = epoch(step.data["writable_at"])
        return record

    def _roles(self, t: LabTimings) -> dict[str, str]:
        roles = {"db-01": self.lab.pg_role("onprem"), "cloud-db": self.lab.pg_role("cloud")}
        t.roles_after = roles
        return roles

    def _notifications(self, t: LabTimings) -> list[dict[str, Any]]:
        posts = [
            p
            for p in read_posts(self.lab.notifications_file, since=t.started_at)
            if str(p.get("path", "")).startswith("/hooks/")
        ]
        t.notifications = [_title(p.get("body")) for p in posts]
        return posts

    def _kill_jenkins(self, t: LabTimings) -> None:
        t.fault = "SIGKILL of the fake Jenkins controller (on-prem)"
        t.trigger = "alert"
        t.detection_basis = (
            "fault -> repository_dispatch dr-cutover received (Prometheus -> Alertmanager -> relay)"
        )
        self.progress.phase("killing Jenkins (SIGKILL)")
        t.fault_at = self.lab.kill_component("jenkins")
        self.progress.done("Jenkins killed")
        self.progress.phase("waiting for the alert")

    def _rpo(
        self, t: LabTimings, writer: RowWriter, old: str, new: str, before: float | None
    ) -> None:
        """Rows acknowledged on the old primary (before ``before``) missing on the new one."""
        acks = [a for a in writer.acked() if a.node == old and (before is None or a.at < before)]
        dsns = self.lab.dsns()
        present = present_seqs(dsns[new], self.drill_id)
        t.rpo_rows = rows_lost([a.seq for a in acks], present)
        t.writer = writer.summary(new_primary=new, after=t.fault_at)
        t.notes.append(
            f"{len(acks)} rows acknowledged on the old primary; {t.rpo_rows} missing on the new one"
        )

    # -- scenarios -----------------------------------------------------------------------------
    def _jenkins_outage(self, t: LabTimings) -> None:
        writer = self._start_writer("onprem")
        self._kill_jenkins(t)
        run = self._wait_dispatch(t, t.floor_s + DISPATCH_TIMEOUT_PAD_S)
        run = self._wait_run(run.run_id)
        record = self._collect(t, run)
        self._settle_writer(writer, "cloud")
        writer.stop()
        roles = self._roles(t)
        t.promoted = roles["cloud-db"] == "primary"
        self._rpo(t, writer, "onprem", "cloud", None)
        t.rto_basis = "fault (Jenkins killed) -> cloud-db writable (promote step)"
        t.rpo_basis = "rows acknowledged by db-01 missing on cloud-db after promotion"
        t.rpo_bytes_basis = (
            "the record's RPO: WAL cloud-db had not received when db-01 was fenced (at risk; "
            "the fenced primary still streams it before the promotion)"
        )
        if record is not None and record.rpo is not None:
            t.rpo_bytes = record.rpo.lag_bytes
        self._notifications(t)
        dispatches = [r for r in self._dr_runs() if r.event_type == "dr-cutover"]
        t.dispatches = len(dispatches)
        t.check(
            "exactly one dr-cutover dispatch", len(dispatches) == 1, f"{len(dispatches)} received"
        )
        t.check("cost decision allow", t.decision == "allow", f"decision {t.decision}")
        t.check(
            "workflow run succeeded", run.conclusion == "success", f"{run.conclusion}: {run.note}"
        )
        t.check("cloud-db promoted", t.promoted is True, f"roles after: {roles}")
        t.check("db-01 fenced", roles["db-01"] in ("fenced", "standby", "down"), roles["db-01"])
        t.check(
            "record written",
            t.record_result in ("SUCCESS", "WARNINGS"),
            _record_detail(t.record_result),
        )
        t.check("RPO rows measured", t.rpo_rows is not None, f"{t.rpo_rows} rows")

    def _cost_block(self, t: LabTimings) -> None:
        writer = self._start_writer("onprem")
        self._kill_jenkins(t)
        run = self._wait_dispatch(t, t.floor_s + DISPATCH_TIMEOUT_PAD_S)
        run = self._wait_run(run.run_id)
        self._collect(t, run)
        time.sleep(0.5)  # a little more writing: nothing may have moved
        writer.stop()
        roles = self._roles(t)
        t.promoted = roles["cloud-db"] == "primary"
        t.writer = writer.summary()
        blocked = sorted((self.artefacts / "cost" / "cloud-dr").glob("blocked-*.json"))
        self._notifications(t)
        with contextlib.suppress(LabError):  # a missing notification fails the check below
            wait_until(lambda: bool(self._notifications(t)), 10, "the block notification", 0.1)
        posts = self._notifications(t)
        t.dispatches = len([r for r in self._dr_runs() if r.event_type == "dr-cutover"])
        t.rpo_basis = "nothing failed over: the application kept writing to db-01"
        t.check("exactly one dr-cutover dispatch", t.dispatches == 1, f"{t.dispatches} received")
        t.check("cost decision block", t.decision == "block", f"decision {t.decision}")
        t.check(
            "execute job did not run",
            run.jobs.get("execute") == "skipped",
            f"jobs: {run.jobs}",
        )
        t.check(
            "nothing promoted",
            roles == {"db-01": "primary", "cloud-db": "standby"},
            f"roles after: {roles}",
        )
        t.check(
            "blocked record written", bool(blocked), ", ".join(p.name for p in blocked) or "none"
        )
        titles = [s for s in t.notifications if "BLOCKED" in s.upper()]
        t.check(
            "block notification delivered",
            bool(titles),
            f"{len(posts)} notification(s): {t.notifications}",
        )
        t.check(
            "application kept writing to db-01",
            t.writer.acknowledged_on.get("cloud", 0) == 0 and t.writer.failed_attempts == 0,
            f"{t.writer.acknowledged_on}, {t.writer.failed_attempts} failed attempts",
        )

    def _db_primary_loss(self, t: LabTimings) -> None:
        # full speed before the kill: commits in flight when the primary dies are the RPO
        writer = self._start_writer("onprem", interval_s=0.001, rows=500)
        p = self.progress
        p.phase("killing db-01 (SIGKILL of the postmaster and its backends)")
        t.fault = "SIGKILL of db-01's postmaster process group while the writer runs"
        t.trigger = "operator"
        t.detection_basis = (
            "fault -> workflow_dispatch received: an operator (the drill) confirms db-01 refuses "
            "connections and runs dr.yml, as the db-01 runbook says; no alert path (by design)"
        )
        t.fault_at = time.time()
        self.lab.kill_db01()
        p.done("db-01 killed")
        wait_until(
            lambda: self.lab.pg_role("onprem") == "down", 10, "db-01 to refuse connections", 0.05
        )
        self.lab.workflow_dispatch(
            {
                "action": "cutover",
                "stack": "cloud-dr",
                "reason": f"db-01 lost (lab drill {self.drill_id})",
                "simulate": "false",
            }
        )
        run = self._wait_dispatch(t, 30)
        run = self._wait_run(run.run_id)
        record = self._collect(t, run)
        self._settle_writer(writer, "cloud")
        writer.stop()
        roles = self._roles(t)
        t.promoted = roles["cloud-db"] == "primary"
        self._rpo(t, writer, "onprem", "cloud", t.fault_at)
        t.rto_basis = "fault (db-01 killed) -> cloud-db writable (promote step)"
        t.rpo_basis = "rows acknowledged by db-01 before the kill missing on cloud-db"
        t.rpo_bytes_basis = (
            "WAL position of the last acknowledged row minus what cloud-db had received at "
            "promotion (approximate: the row's position is read before its commit record)"
        )
        if record is not None:
            promote = next((s for s in record.steps if s.id == "promote-cloud-replica"), None)
            received = (
                (promote.data.get("promote") or {}).get("receive_lsn_before") if promote else None
            )
            acks = [a for a in writer.acked() if a.node == "onprem" and a.at < (t.fault_at or 0)]
            t.rpo_bytes = wal_bytes_lost(acks[-1].lsn if acks else None, received)
        t.dispatches = len(self._dr_runs())
        t.check("one operator dispatch", t.dispatches == 1, f"{t.dispatches} received")
        t.check("cost decision allow", t.decision == "allow", f"decision {t.decision}")
        t.check(
            "workflow run succeeded", run.conclusion == "success", f"{run.conclusion}: {run.note}"
        )
        t.check("cloud-db promoted (unplanned)", t.promoted is True, f"roles after: {roles}")
        t.check("RPO rows measured", t.rpo_rows is not None, f"{t.rpo_rows} rows lost")
        t.check(
            "application writes again on cloud-db",
            t.writer.first_ack_on_new_primary_at is not None,
            f"first write on cloud-db {t.writer.first_ack_on_new_primary_at}",
        )

    def _failback(self, t: LabTimings) -> None:
        p = self.progress
        p.phase("setting up: cutover to the cloud through dr.yml (operator dispatch)")
        self.lab.workflow_dispatch(
            {
                "action": "cutover",
                "stack": "cloud-dr",
                "reason": f"failback drill setup ({self.drill_id})",
                "simulate": "false",
            }
        )
        wait_until(lambda: bool(self._dr_runs()), 10, "the setup dispatch", 0.05)
        setup = self._wait_run(self._dr_runs()[0].run_id)
        if setup.conclusion != "success" or self.lab.pg_role("cloud") != "primary":
            raise LabError(
                f"setup cutover failed: {setup.conclusion} ({setup.note}); see {setup.directory}"
            )
        t.notes.append(f"setup cutover: workflow run {setup.run_id}")
        writer = self._start_writer("cloud")
        t.fault = "none: a planned failback (db-01 healthy again, cloud-db primary)"
        t.trigger = "operator"
        t.detection_basis = "no fault: the clock starts at the operator's failback dispatch"
        p.phase("operator dispatches the failback")
        sent = self.lab.workflow_dispatch(
            {
                "action": "failback",
                "stack": "cloud-dr",
                "reason": f"lab drill {self.drill_id}",
                "simulate": "false",
            }
        )
        wait_until(lambda: len(self._dr_runs()) >= 2, 10, "the failback dispatch", 0.05)
        run = self._dr_runs()[-1]
        t.dispatch_received_at = run.received_at
        t.workflow_run_id = run.run_id
        p.done(
            f"failback dispatch received {run.received_at - sent:.3f} s after it was sent (run {run.run_id})"
        )
        run = self._wait_run(run.run_id)
        record = self._collect(t, run)
        self._settle_writer(writer, "onprem")
        writer.stop()
        roles = self._roles(t)
        t.promoted = roles["cloud-db"] == "primary"
        self._rpo(t, writer, "cloud", "onprem", None)
        t.writer = writer.summary(new_primary="onprem", after=t.dispatch_received_at)
        t.rto_basis = "failback dispatch -> db-01 writable (planned switchover)"
        t.rpo_basis = "rows acknowledged by cloud-db missing on db-01 after the switchover"
        t.rpo_bytes_basis = "the record's RPO: WAL db-01 had not replayed when it was promoted"
        if record is not None and record.rpo is not None:
            t.rpo_bytes = record.rpo.lag_bytes
        streaming = self.lab.pg_baseline()
        t.check("cost decision allow", t.decision == "allow", f"decision {t.decision}")
        t.check(
            "workflow run succeeded", run.conclusion == "success", f"{run.conclusion}: {run.note}"
        )
        t.check(
            "db-01 primary again, cloud-db streaming from it",
            streaming is None,
            streaming or "baseline",
        )
        t.check(
            "zero rows lost",
            t.rpo_rows == 0,
            f"{t.rpo_rows} of {t.writer.acknowledged_on.get('cloud', 0)} rows",
        )
        t.check("zero WAL bytes lost", t.rpo_bytes == 0, f"{t.rpo_bytes} bytes")
        t.check(
            "record written",
            t.record_result in ("SUCCESS", "WARNINGS"),
            _record_detail(t.record_result),
        )

    def _settle_writer(self, writer: RowWriter, new: str, timeout: float = 10) -> None:
        """Let the application reach the new primary (a few writes there) before counting."""
        with contextlib.suppress(LabError):
            wait_until(
                lambda: (
                    sum(
                        1
                        for a in writer.acked()
                        if a.node == new and a.at > (self.t.fault_at or 0 if self.t else 0)
                    )
                    >= 20
                ),
                timeout,
                f"the application to write on {new}",
                0.05,
            )


def run_drill(lab: Lab, name: str, progress: Progress, *, keep: bool = False) -> LabTimings:
    try:
        scenario = SCENARIOS[name]
    except KeyError:
        raise LabError(f"unknown scenario {name!r}: choose one of {', '.join(SCENARIOS)}") from None
    return Drill(lab, scenario, progress, keep=keep).run()


def _record_detail(result: str | None) -> str:
    if result == "WARNINGS":
        return "WARNINGS: the offline engine planned and priced the config transitions, it cannot apply them"
    return str(result)


def _title(body: Any) -> str:
    """The title of a dr.notify webhook message (its ``hybridops`` object, else Slack's ``title``)."""
    if not isinstance(body, dict):
        return str(body)[:200]
    own = body.get("hybridops")
    title = own.get("title") if isinstance(own, dict) else None
    return str(title or body.get("title") or body.get("text") or "")[:200]
