"""The DR driver: wires engine, cost gate, database, health probes and notifier into a run.

``run_operation`` is what ``hybridops dr cutover|failback|drill`` calls: read the state, build
the recovery plan, take the stack lock, run the plan with a journal, and write the evidence.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, Protocol

from cost.plan import Plan
from dr import health as health_mod
from dr.errors import ConfigError, HybridOpsError
from dr.profile import DrProfile
from dr.records import CostFigures, DecisionRef, Rpo, RunDir, RunRecord, Trigger
from dr.recovery.context import RunContext
from dr.recovery.lock import StackRunLock
from dr.recovery.model import RecoveryPlan
from dr.recovery.plans import cutover_plan, failback_plan
from dr.recovery.runner import Reporter, Runner
from dr.redact import redact_text, redactor

Operation = Literal["cutover", "failback", "drill"]


# --- the cost gate interface ---------------------------------------------------------------------


@dataclass(frozen=True)
class GateOutcome:
    decision: Literal["allow", "warn", "block"]
    reason: str
    figures: CostFigures
    record_path: str | None = None
    blocked_path: str | None = None
    checks: tuple[dict[str, Any], ...] = ()
    approved_by: str | None = None
    override_reason: str | None = None

    def decision_ref(
        self, *, approved_by: str | None = None, override_reason: str | None = None
    ) -> DecisionRef:
        return DecisionRef(
            decision=self.decision,
            reason=self.reason,
            record_path=self.record_path,
            approved_by=approved_by or self.approved_by,
            override_reason=override_reason or self.override_reason,
        )


class CostGate(Protocol):
    def evaluate(
        self,
        plan: Plan,
        *,
        scenario: str,
        run_id: str,
        drill: bool,
        approved_by: str | None,
        override_reason: str | None,
    ) -> GateOutcome: ...

    def planned_monthly(self, plan: Plan) -> Decimal: ...


class Notifier(Protocol):
    def notify(self, message: Any) -> Any: ...


# --- the database pair ---------------------------------------------------------------------------


class DatabasePair:
    """db-01 (on-prem) and its cloud copy, for plain PostgreSQL streaming replication.

    SQL-only steps (status, fence read-only, promote, probes) work against any DSN; rebuild and
    switchover need host access (pg_ctl, pg_rewind), available here for the local lab cluster.
    """

    def __init__(self, profile: DrProfile, env: dict[str, str] | None = None) -> None:
        db = profile.database
        env = dict(os.environ) if env is None else env
        self.profile = db
        self.onprem_dsn = self._dsn(env, db.onprem_dsn_env)
        # With CNPG the cloud side is run by the operator: only db-01 is reached over SQL.
        self.cloud_dsn: str | None = (
            self._dsn(env, db.cloud_dsn_env)
            if db.mode == "postgres-streaming" or env.get(db.cloud_dsn_env)
            else None
        )

    @staticmethod
    def _dsn(env: dict[str, str], name: str) -> str:
        from dr.database import dsn_secrets

        value = env.get(name)
        if not value:
            raise ConfigError(
                f"${name} is not set: the DR profile's database steps need it (database.*_dsn_env)"
            )
        for secret in dsn_secrets(value):
            redactor.add(secret)
        return value

    def _host(self, node: str) -> Any:
        from dr.lab.postgres import LocalPostgresCluster

        if self.profile.lab_cluster_dir is None:
            raise ConfigError(
                "this step needs host access to the database servers (pg_ctl/pg_rewind); the DR profile has "
                "no database.lab_cluster_dir: follow docs/runbooks/db-01-failover.md to resync db-01 by hand"
            )
        return LocalPostgresCluster.open(self.profile.lab_cluster_dir).node(node)

    def _cloud(self) -> str:
        if self.cloud_dsn is None:
            raise ConfigError(
                f"${self.profile.cloud_dsn_env} is not set: this step needs the cloud database"
            )
        return self.cloud_dsn

    def replication_status(self) -> dict[str, Any]:
        from dr.database import replication_status

        return replication_status(self.onprem_dsn, self._cloud()).model_dump(mode="json")

    def fence_onprem(self, timeout: float) -> dict[str, Any]:
        from dr.database import fence_primary

        host = self._host(self.profile.onprem_node) if self.profile.fence_mode == "stop" else None
        result = fence_primary(
            self.onprem_dsn,
            self.profile.fence_mode,
            min(timeout, self.profile.fence_timeout_s),
            host=host,
        )
        return result.model_dump(mode="json")

    def _role(self, dsn: str) -> str:
        from dr.database import server_state

        return str(server_state(dsn).role)

    def cloud_is_primary(self) -> bool:
        return self._role(self._cloud()) == "primary"

    def onprem_is_primary(self) -> bool:
        return self._role(self.onprem_dsn) == "primary" and self._role(self._cloud()) == "standby"

    def onprem_state(self) -> dict[str, Any]:
        from dr.database import server_state

        return server_state(self.onprem_dsn).model_dump(mode="json")

    def onprem_reachable(self) -> bool:
        return self._role(self.onprem_dsn) != "unreachable"

    def promote_cloud(self, *, force: bool, timeout: float) -> dict[str, Any]:
        from dr.database import promote

        result = promote(
            self._cloud(),
            old_primary_dsn=self.onprem_dsn,
            force=force,
            wait_seconds=int(min(timeout, self.profile.promote_timeout_s)),
            timeout=min(timeout, self.profile.promote_timeout_s + 30),
        )
        return result.model_dump(mode="json")

    def probe_cloud_writable(self) -> Any:
        from dr.database import probe_write

        return probe_write(self._cloud())

    def resync_onprem(self, *, timeout: float) -> dict[str, Any]:
        from dr.database import rebuild_as_standby
        from dr.lab.postgres import slot_name_for

        onprem = self._host(self.profile.onprem_node)
        cloud = self._host(self.profile.cloud_node)
        result = rebuild_as_standby(
            onprem,
            source_dsn=self._cloud(),
            primary_conninfo=cloud.replication_conninfo(application_name=onprem.name),
            slot_name=slot_name_for(onprem.name),
            timeout=timeout,
        )
        return result.model_dump(mode="json")

    def switchover_to_onprem(self, *, timeout: float) -> dict[str, Any]:
        from dr.database import planned_switchover
        from dr.lab.postgres import slot_name_for

        onprem = self._host(self.profile.onprem_node)
        cloud = self._host(self.profile.cloud_node)
        result = planned_switchover(
            cloud,
            new_primary_dsn=self.onprem_dsn,
            primary_conninfo=onprem.replication_conninfo(application_name=cloud.name),
            slot_name=slot_name_for(cloud.name),
            catchup_timeout=min(60.0, timeout),
            rebuild_timeout=max(30.0, timeout - 60.0),
        )
        return result.model_dump(mode="json")


# --- services ------------------------------------------------------------------------------------


class HttpHealth:
    probe_once = staticmethod(health_mod.probe_once)
    wait_healthy = staticmethod(health_mod.wait_healthy)


@dataclass
class Services:
    engine: Any
    cost_gate: CostGate
    profile: DrProfile
    health: Any
    database: DatabasePair | None = None
    notifier: Notifier | None = None

    def notify_progress(self, ctx: RunContext, text: str) -> str:
        if self.notifier is None:
            return "no notifier configured"
        from dr.notify import Notification, NotifyError

        try:
            self.notifier.notify(
                Notification(
                    title=f"HybridOps DR {ctx.operation} {ctx.stack}",
                    text=text,
                    severity="info",
                    fields={"run_id": ctx.run_id, "stack": ctx.stack},
                )
            )
        except NotifyError as exc:
            ctx.warn(f"notification failed: {exc}")
            return f"notification failed: {exc}"
        return "notified"


def new_run_id(operation: str) -> str:
    return f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}-{operation}-{secrets.token_hex(3)}"


def recovery_plan(operation: Operation, profile: DrProfile) -> RecoveryPlan:
    return failback_plan(profile) if operation == "failback" else cutover_plan(profile)


@dataclass
class RunRequest:
    operation: Operation
    stack: str
    run_id: str
    trigger: Trigger
    actor: str
    simulate: bool
    force: bool = False
    approved_by: str | None = None
    approval_reason: str | None = None
    inputs: dict[str, Any] | None = None


def _noop_state(services: Services, req: RunRequest) -> str | None:
    """Already in the target state (and the database agrees)? Then the whole run is a no-op."""
    profile = services.profile
    target = profile.failback if req.operation == "failback" else profile.cutover
    state = services.engine.dr_state(req.stack)
    if (state.dr_mode, state.traffic_target) != (target.dr_mode, target.traffic_target):
        return None
    db = services.database
    if db is not None and db.cloud_dsn is not None:
        done = db.onprem_is_primary() if req.operation == "failback" else db.cloud_is_primary()
        if not done:
            return None
    return (
        f"{req.stack} is already {state.dr_mode} with traffic on {state.traffic_target} ({state.source})"
        + (
            "; the database roles already match"
            if db is not None and db.cloud_dsn is not None
            else ""
        )
        + f": {req.operation} is a no-op"
    )


def run_operation(
    req: RunRequest,
    services: Services,
    *,
    artefacts_root: Path,
    locks_dir: Path,
    reporter: Reporter | None = None,
    on_noop: Callable[[str], None] | None = None,
) -> RunRecord:
    """Run (or resume) one DR operation and return its record (also written to disk)."""
    run_dir = RunDir(artefacts_root / "dr", req.run_id)
    plan = recovery_plan(req.operation, services.profile)
    with StackRunLock(locks_dir, req.stack, run_id=req.run_id, operation=req.operation):
        record = _existing_or_new_record(run_dir, req, services, plan)
        ctx = RunContext(
            run_id=req.run_id,
            stack=req.stack,
            operation=req.operation,
            simulate=req.simulate,
            force=req.force,
            record=record,
            services=services,
            approved_by=req.approved_by,
            approval_reason=req.approval_reason,
        )
        if not run_dir.journal_path.exists() and not req.simulate:
            why = _noop_state(services, req)
            if why is not None:
                record.summary = why
                record.result, record.exit_code = "SUCCESS", 0
                record.finished_at = datetime.now(UTC)
                record.duration_s = round(
                    (record.finished_at - record.started_at).total_seconds(), 3
                )
                run_dir.write_record(record)
                if on_noop:
                    on_noop(why)
                return record
        runner = Runner(plan, ctx, run_dir, reporter=reporter, finalize=_finalize)
        return runner.run()


def _existing_or_new_record(
    run_dir: RunDir, req: RunRequest, services: Services, plan: RecoveryPlan
) -> RunRecord:
    if run_dir.record_path.exists() and run_dir.journal_path.exists():
        previous = run_dir.read_record()
        if previous.operation != req.operation or previous.stack != req.stack:
            raise HybridOpsError(
                f"run id {req.run_id} belongs to a {previous.operation} of {previous.stack}; pick another --run-id"
            )
        previous.steps = []
        previous.result = None
        previous.finished_at = None
        return previous
    record = RunRecord(
        run_id=req.run_id,
        plan=plan.name,
        operation=req.operation,
        stack=req.stack,
        simulate=req.simulate,
        engine="offline" if services.engine.name == "offline" else "automation",
        actor=req.actor,
        trigger=req.trigger,
        started_at=datetime.now(UTC),
    )
    if req.inputs is not None:
        run_dir.write_inputs(req.inputs)
    run_dir.write_record(record)  # a crash from here on still leaves evidence
    return record


def _finalize(ctx: RunContext, record: RunRecord) -> None:
    """Measured figures: RTO (fault -> new primary writable / traffic switched) and RPO."""
    fault_at = _when(ctx.state.get("fault_at")) or record.trigger.fault_at or record.started_at
    writable_at = _when(ctx.state.get("writable_at"))
    switched = next(
        (
            s
            for s in record.steps
            if s.id in ("switch-traffic", "traffic-back") and s.outcome == "succeeded"
        ),
        None,
    )
    if writable_at is not None:
        record.rto_seconds = round((writable_at - fault_at).total_seconds(), 3)
        record.rto_basis = (
            "alert fired (startsAt; the fault began up to the rule's for: earlier), else run start "
            "-> new primary writable"
        )
    elif switched is not None:
        record.rto_seconds = round((switched.finished_at - fault_at).total_seconds(), 3)
        record.rto_basis = (
            "alert fired (startsAt; the fault began up to the rule's for: earlier), else run start "
            "-> traffic switched"
        )
    rpo = ctx.state.get("rpo")
    if isinstance(rpo, dict):
        basis = (
            "planned switchover: promotion waited for the final WAL position"
            if record.operation == "failback"
            else "WAL not yet received by the cloud replica when db-01 was fenced"
        )
        record.rpo = Rpo(
            lag_bytes=rpo.get("lag_bytes"), lag_seconds=rpo.get("lag_seconds"), basis=basis
        )
    if record.summary == "":
        done = [
            s for s in record.steps if s.outcome in ("succeeded", "noop", "simulated", "skipped")
        ]
        record.summary = f"{len(done)}/{len(record.steps)} steps done" + (
            f"; stopped at {record.steps[-1].name}: {record.steps[-1].detail}"
            if record.steps and record.steps[-1].outcome in ("failed", "stopped", "cancelled")
            else ""
        )
    if (
        ctx.state.get("blocked")
        and ctx.services.notifier is not None
        and record.decision is not None
    ):
        from dr.notify import NotifyError

        try:
            _notify_block(ctx, record)
        except NotifyError as exc:
            record.warnings.append(f"block notification failed: {exc}")


def _notify_block(ctx: RunContext, record: RunRecord) -> None:
    from dr.notify import Notification

    assert record.decision is not None and ctx.services.notifier is not None
    ctx.services.notifier.notify(
        Notification(
            title=f"HybridOps DR {record.operation} of {record.stack} BLOCKED by the cost gate",
            text=redact_text(record.decision.reason),
            severity="critical",
            fields={
                "run_id": record.run_id,
                "decision_record": record.decision.record_path or "",
                "planned_monthly": record.cost.planned_monthly if record.cost else "",
                "event_cost": (record.cost.event_cost or "") if record.cost else "",
            },
        )
    )


def _when(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None
