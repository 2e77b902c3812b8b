"""The cutover and failback recovery plans, as data.

Cutover: confirm trigger -> plan + cost decision -> fence the on-prem primary -> promote the
cloud replica -> scale cloud capacity -> verify health -> switch traffic -> record.
Failback: verify on-prem healthy -> resync db-01 as a standby of the cloud primary -> planned
switchover (zero data loss) -> traffic back -> scale cloud to standby -> cost re-check -> record.

Every step is idempotent: its precondition reads the current state and turns work already done
into a ``noop`` that says so. Config transitions go through preview -> cost gate -> up -> verify.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from dr.errors import HybridOpsError
from dr.profile import DrProfile, Transition
from dr.recovery.model import RecoveryPlan, Step, StepResult, StepStop
from dr.recovery.runner import EXIT_BLOCK, EXIT_WARN

if TYPE_CHECKING:
    from dr.recovery.context import RunContext


class TriggerRefusedError(HybridOpsError):
    pass


# --- shared pieces ----------------------------------------------------------------------------


def _config_changes(transition: Transition, *, scale: bool, traffic: bool) -> dict[str, str]:
    changes: dict[str, str] = {}
    if scale:
        changes["hybridops:drMode"] = transition.dr_mode
    if traffic:
        changes["hybridops:trafficTarget"] = transition.traffic_target
    return changes


def _state_matches(ctx: RunContext, changes: dict[str, str]) -> str | None:
    state = ctx.services.engine.dr_state(ctx.stack)
    current = {"hybridops:drMode": state.dr_mode, "hybridops:trafficTarget": state.traffic_target}
    if all(current[k] == v for k, v in changes.items()):
        desc = ", ".join(f"{k.split(':')[1]}={v}" for k, v in changes.items())
        return f"{ctx.stack} already has {desc} ({state.source}): nothing to change"
    return None


def _cost_gate(ctx: RunContext, changes: dict[str, str], scenario: str) -> StepResult:
    """Preview the change, price it and ask the decision service; stop on warn (unless approved) or block."""
    plan = ctx.services.engine.plan(ctx.stack, changes)
    outcome = ctx.services.cost_gate.evaluate(
        plan,
        scenario=scenario,
        run_id=ctx.run_id,
        # A drill or a simulation spends nothing: its decision must not count in the DR ledger.
        drill=ctx.operation == "drill" or ctx.simulate,
        approved_by=ctx.approved_by,
        override_reason=ctx.approval_reason,
    )
    ctx.record.decision = outcome.decision_ref()
    ctx.record.cost = outcome.figures
    counts = plan.counts()
    data: dict[str, Any] = {
        "decision": outcome.decision,
        "plan_steps": counts,
        "decision_record": outcome.record_path,
        # journaled, so a resumed run keeps the decision instead of deciding again
        "decision_ref": ctx.record.decision.model_dump(mode="json"),
        "cost_figures": outcome.figures.model_dump(mode="json"),
    }
    detail = f"{outcome.decision}: {outcome.reason}"
    if outcome.decision == "block":
        ctx.state["blocked"] = True
        raise StepStop(f"cost decision is block: {outcome.reason}", EXIT_BLOCK, data)
    if outcome.decision == "warn":
        if not ctx.approved_by:
            raise StepStop(
                f"cost decision is warn: {outcome.reason}; re-run with --approved-by WHO --reason TEXT to proceed",
                EXIT_WARN,
                data,
            )
        detail += f" (approved by {ctx.approved_by}: {ctx.approval_reason})"
        ctx.record.decision = outcome.decision_ref(
            approved_by=ctx.approved_by, override_reason=ctx.approval_reason
        )
        data["decision_ref"] = ctx.record.decision.model_dump(mode="json")
    return StepResult("succeeded", detail, data)


def _check_against_decision(ctx: RunContext, changes: dict[str, str]) -> str:
    """Preview this transition and make sure it costs no more than what the decision approved:
    the engine's view may have drifted since the up-front gate (someone else changed the stack)."""
    from decimal import Decimal

    plan = ctx.services.engine.plan(ctx.stack, changes)
    approved = ctx.record.cost
    monthly = ctx.services.cost_gate.planned_monthly(plan)
    if approved is not None and monthly > Decimal(approved.planned_monthly) * Decimal("1.01"):
        raise StepStop(
            f"the preview of this step costs {monthly} {approved.currency}/month, more than the "
            f"{approved.planned_monthly} the cost decision approved; re-run to decide again",
            EXIT_BLOCK,
            {"planned_monthly": str(monthly)},
        )
    return f"preview {plan.counts()} within the approved {approved.planned_monthly if approved else '?'}/month"


def _apply(ctx: RunContext, changes: dict[str, str], scenario: str, what: str) -> StepResult:
    engine = ctx.services.engine
    if not getattr(engine, "can_apply", False):
        ctx.warn(
            f"{what}: the {engine.name} engine cannot apply changes; the transition was planned and priced, not applied"
        )
        return StepResult(
            "skipped",
            f"not applied: {engine.name} engine (no pulumi CLI/backend)",
            {"changes": changes},
        )
    # preview -> cost gate (the run's decision, or a first one) -> up -> verify (verification hook)
    gate = (
        _cost_gate(ctx, changes, scenario).detail
        if ctx.record.decision is None
        else _check_against_decision(ctx, changes)
    )
    message = f"hybridops dr {ctx.operation} {ctx.run_id}: {what}"
    result = engine.apply(ctx.stack, changes, message=message)
    return StepResult(
        "succeeded",
        f"{what}: {result.resource_changes} in {result.duration_seconds:.1f} s",
        {"changes": changes, "resource_changes": result.resource_changes, "gate": gate},
    )


def _verify_state(changes: dict[str, str]) -> Any:
    def verify(ctx: RunContext, result: StepResult) -> str | None:
        if result.outcome != "succeeded":
            return None
        state = ctx.services.engine.dr_state(ctx.stack)
        current = {
            "hybridops:drMode": state.dr_mode,
            "hybridops:trafficTarget": state.traffic_target,
        }
        wrong = {k: current[k] for k, v in changes.items() if current[k] != v}
        return f"stack reports {wrong} after up" if wrong else None

    return verify


def _config_step(
    step_id: str, name: str, transition: Transition, *, scale: bool, traffic: bool, scenario: str
) -> Step:
    changes = _config_changes(transition, scale=scale, traffic=traffic)
    desc = ", ".join(f"{k.split(':')[1]}={v}" for k, v in changes.items())
    return Step(
        id=step_id,
        name=name,
        kind="config-transition",
        describe=f"set {desc} (preview -> cost gate -> up -> verify)",
        timeout_s=1800,
        precondition=lambda ctx: _state_matches(ctx, changes),
        action=lambda ctx: _apply(ctx, changes, scenario, name),
        verification=_verify_state(changes),
    )


def _record_step() -> Step:
    def action(ctx: RunContext) -> StepResult:
        notifier = ctx.services.notifier
        if notifier is None:
            return StepResult("skipped", "no notifier configured; the record is the evidence")
        sent = ctx.services.notify_progress(
            ctx, f"DR {ctx.operation} of {ctx.stack}: all steps done"
        )
        return StepResult("succeeded", sent)

    return Step(
        id="record",
        name="record and notify",
        kind="notify",
        describe="notify the human channels",
        timeout_s=60,
        mutating=False,
        action=action,
    )


def _health_step(step_id: str, name: str, *, onprem: bool) -> Step:
    def action(ctx: RunContext) -> StepResult:
        profile: DrProfile = ctx.services.profile
        health = profile.onprem_health if onprem else profile.health
        results = []
        checks = 0
        if (
            not onprem
            and ctx.services.database is not None
            and profile.database.mode == "postgres-streaming"
        ):
            probe = ctx.services.database.probe_cloud_writable()
            checks += 1
            results.append(
                {
                    "target": "cloud database",
                    "healthy": bool(probe.writable),
                    "detail": probe.reason,
                }
            )
        if (
            onprem
            and ctx.services.database is not None
            and profile.database.mode in ("postgres-streaming", "cnpg")
        ):
            reachable = ctx.services.database.onprem_reachable()
            checks += 1
            results.append(
                {
                    "target": "db-01",
                    "healthy": reachable,
                    "detail": "reachable" if reachable else "unreachable",
                }
            )
        for url in health.urls:
            checks += 1
            r = ctx.services.health.wait_healthy(
                url, timeout_s=min(health.timeout_s, ctx.remaining()), interval_s=health.interval_s
            )
            results.append(
                {
                    "target": url,
                    "healthy": r.healthy,
                    "detail": f"{r.detail} after {r.attempts} attempt(s)",
                }
            )
        if checks == 0:
            ctx.warn(f"{name}: no health checks configured in the DR profile")
            return StepResult("skipped", "no health checks configured", {"health": results})
        bad = [r for r in results if not r["healthy"]]
        if bad:
            return StepResult(
                "failed",
                "unhealthy: " + "; ".join(f"{r['target']} ({r['detail']})" for r in bad),
                {"health": results},
            )
        return StepResult("succeeded", f"{len(results)} check(s) healthy", {"health": results})

    return Step(
        id=step_id,
        name=name,
        kind="health-check",
        describe="probe the health endpoints and the database",
        timeout_s=900,
        mutating=False,
        live=True,
        action=action,
    )


# --- cutover --------------------------------------------------------------------------------------


def _confirm_trigger(ctx: RunContext) -> StepResult:
    trigger = ctx.record.trigger
    profile: DrProfile = ctx.services.profile
    expected = {
        "cutover": {"dr-cutover", "workflow_dispatch"},
        "drill": {"dr-drill", "dr-cutover", "workflow_dispatch"},
    }
    data: dict[str, Any] = {}
    if trigger.source == "event-file":
        allowed = expected.get(ctx.operation, set())
        if trigger.event_type not in allowed:
            raise TriggerRefusedError(
                f"event {trigger.event_type!r} does not ask for a {ctx.operation} (expected one of {sorted(allowed)})"
            )
        if trigger.alert is not None:
            if trigger.alert.get("status") == "resolved":
                raise TriggerRefusedError(
                    "the alert in the event is resolved: nothing to fail over from"
                )
            if trigger.fault_at is not None:
                age = (datetime.now(UTC) - trigger.fault_at).total_seconds()
                data["alert_age_s"] = round(age, 1)
                if age > profile.trigger.max_dispatch_age_s and not ctx.force:
                    raise TriggerRefusedError(
                        f"stale trigger: the alert started {age:.0f} s ago (> {profile.trigger.max_dispatch_age_s:.0f} s); use --force to act on it"
                    )
    healthy = []
    for url in [] if ctx.simulate else profile.trigger.onprem_probe_urls:
        ok, _status, detail = ctx.services.health.probe_once(url)
        if ok:
            healthy.append(f"{url} ({detail})")
    data["onprem_healthy"] = healthy
    if healthy and not ctx.force:
        raise TriggerRefusedError(
            f"on-prem looks healthy ({', '.join(healthy)}); use --force to cut over anyway"
        )
    if healthy:
        ctx.warn(f"cut over with --force although on-prem answered healthy: {', '.join(healthy)}")
    fault_at = trigger.fault_at or ctx.record.started_at
    data["fault_at"] = fault_at.isoformat()
    what = (
        f"{trigger.event_type} from {trigger.source}"
        if trigger.event_type
        else f"manual ({trigger.reason or 'no reason given'})"
    )
    return StepResult("succeeded", f"trigger confirmed: {what}", data)


def _fence(ctx: RunContext) -> StepResult:
    db = ctx.services.database
    if db is None:
        return StepResult("skipped", "no database steps in this DR profile")
    status: dict[str, Any] = {}
    if db.cloud_dsn is not None:
        status = db.replication_status()
        ctx.state["rpo"] = {
            "lag_bytes": status.get("unreceived_bytes", status.get("lag_bytes")),
            "lag_seconds": status.get("lag_seconds"),
        }
    fence = db.fence_onprem(ctx.remaining())
    data = {"replication": status, "fence": fence}
    if not fence["fenced"]:
        ctx.warn(
            f"db-01 could not be fenced ({fence['outcome']}); promotion will refuse unless --force"
        )
    lag = f"; lag before fencing {ctx.state['rpo']}" if "rpo" in ctx.state else ""
    return StepResult("succeeded", f"db-01 {fence['outcome']}{lag}", data)


def _promote_precondition(ctx: RunContext) -> str | None:
    db = ctx.services.database
    if db is None or db.cloud_dsn is None:
        return None
    if db.cloud_is_primary():
        return "the cloud replica is already the primary: nothing to promote"
    return None


def _promote(ctx: RunContext) -> StepResult:
    db = ctx.services.database
    if db is None:
        return StepResult("skipped", "no database steps in this DR profile")
    result = db.promote_cloud(force=ctx.force, timeout=ctx.remaining())
    if result.get("forced"):
        ctx.warn(
            "promotion was forced (--force) although db-01 could not be shown to refuse writes"
        )
    ctx.state["writable_at"] = datetime.now(UTC).isoformat()
    return StepResult(
        "succeeded",
        f"{result['outcome']} in {result.get('writable_after_s')} s",
        {"promote": result, "writable_at": ctx.state["writable_at"]},
    )


def cutover_plan(profile: DrProfile) -> RecoveryPlan:
    t = profile.cutover
    mode = profile.database.mode
    steps: list[Step] = [
        Step(
            id="confirm-trigger",
            name="confirm trigger",
            kind="health-check",
            describe="check the trigger is current and on-prem is really down",
            timeout_s=60,
            mutating=False,
            action=_confirm_trigger,
        ),
        Step(
            id="cost-gate",
            name="plan and cost decision",
            kind="approval",
            describe="preview the whole cutover, price it and decide allow/warn/block",
            timeout_s=900,
            mutating=False,
            precondition=lambda ctx: _state_matches(
                ctx, _config_changes(t, scale=True, traffic=True)
            ),
            action=lambda ctx: _cost_gate(
                ctx, _config_changes(t, scale=True, traffic=True), "cutover"
            ),
        ),
    ]
    if mode in ("postgres-streaming", "cnpg"):
        steps.append(
            Step(
                id="fence-onprem-primary",
                name="fence on-prem primary",
                kind="database",
                describe="make db-01 read-only and end its sessions (bounded, best effort)",
                timeout_s=profile.database.fence_timeout_s + 15,
                action=_fence,
                precondition=_promote_precondition,
            )
        )
    if mode == "postgres-streaming":
        # With CNPG the promotion *is* the drMode transition (spec.replica.primary): a pg_promote
        # behind the operator's back would be reverted as drift (docs/adr/0004).
        steps += [
            Step(
                id="promote-cloud-replica",
                name="promote cloud replica",
                kind="database",
                describe="pg_promote the cloud replica, refusing while db-01 takes writes",
                timeout_s=profile.database.promote_timeout_s + 15,
                precondition=_promote_precondition,
                action=_promote,
            ),
        ]
    steps += [
        _config_step(
            "scale-cloud", "scale cloud capacity", t, scale=True, traffic=False, scenario="cutover"
        ),
        _health_step("verify-health", "verify cloud health", onprem=False),
        _config_step(
            "switch-traffic",
            "switch traffic to cloud",
            t,
            scale=False,
            traffic=True,
            scenario="cutover",
        ),
        _record_step(),
    ]
    return RecoveryPlan(name="cutover", steps=tuple(steps))


# --- failback -------------------------------------------------------------------------------------


def _resync(ctx: RunContext) -> StepResult:
    db = ctx.services.database
    if db is None:
        return StepResult("skipped", "no database steps in this DR profile")
    result = db.resync_onprem(timeout=ctx.remaining())
    return StepResult(
        "succeeded", f"db-01 {result['outcome']} ({result['method']})", {"rebuild": result}
    )


def _switchover(ctx: RunContext) -> StepResult:
    db = ctx.services.database
    if db is None:
        return StepResult("skipped", "no database steps in this DR profile")
    result = db.switchover_to_onprem(timeout=ctx.remaining())
    ctx.state["rpo"] = {
        "lag_bytes": result.get("data_loss_bytes"),
        "lag_seconds": 0.0 if result.get("data_loss_bytes") == 0 else None,
    }
    ctx.state["writable_at"] = datetime.now(UTC).isoformat()
    return StepResult(
        "succeeded",
        f"{result['outcome']}: data loss {result.get('data_loss_bytes')} bytes, write outage {result.get('write_outage_s')} s",
        {"switchover": result, "writable_at": ctx.state["writable_at"]},
    )


def _onprem_is_primary(ctx: RunContext) -> str | None:
    db = ctx.services.database
    if db is not None and db.onprem_is_primary():
        return "db-01 is already the primary: nothing to switch over"
    return None


def _cost_recheck(ctx: RunContext) -> StepResult:
    plan = ctx.services.engine.plan(ctx.stack, {})
    outcome = ctx.services.cost_gate.evaluate(
        plan,
        scenario="change",
        run_id=f"{ctx.run_id}-recheck",
        drill=ctx.operation == "drill" or ctx.simulate,
        approved_by=None,
        override_reason=None,
    )
    figures = outcome.figures
    detail = f"back at {figures.planned_monthly} {figures.currency}/month ({outcome.decision}: {outcome.reason})"
    if outcome.decision != "allow":
        ctx.warn(f"cost re-check after failback: {outcome.decision}: {outcome.reason}")
    return StepResult(
        "succeeded", detail, {"decision": outcome.decision, "decision_record": outcome.record_path}
    )


def _check_resynced(ctx: RunContext) -> StepResult:
    """With CNPG the cloud primary's demotion is the drMode=standby transition (with a demotion
    token), but db-01 is a plain LXC that must already stream from the CNPG primary (rebuilt by
    the runbook): check it, over SQL, before anything moves back."""
    db = ctx.services.database
    if db is None:
        raise TriggerRefusedError(
            "no database access configured: cannot check db-01 before a failback"
        )
    state = db.onprem_state()
    streaming = state.get("role") == "standby" and state.get("wal_receiver_status") == "streaming"
    if not streaming:
        return StepResult(
            "failed",
            f"db-01 is {state.get('role')} (WAL receiver {state.get('wal_receiver_status')}): rebuild it as a "
            "standby of the cloud primary first (docs/runbooks/db-01-failover.md), then re-run",
            {"db01": state},
        )
    return StepResult(
        "succeeded",
        f"db-01 streams from the cloud primary (replayed {state.get('replay_lsn')})",
        {"db01": state},
    )


def failback_plan(profile: DrProfile) -> RecoveryPlan:
    t = profile.failback
    mode = profile.database.mode
    steps: list[Step] = [_health_step("verify-onprem", "verify on-prem healthy", onprem=True)]
    if mode == "cnpg":
        steps.append(
            Step(
                id="check-db01-resynced",
                name="check db-01 streams from the cloud primary",
                kind="health-check",
                describe="check over SQL that db-01 is a streaming standby of the CNPG primary",
                timeout_s=60,
                mutating=False,
                live=True,
                action=_check_resynced,
            )
        )
    if mode == "postgres-streaming":
        steps += [
            Step(
                id="resync-db01",
                name="resync db-01 as standby",
                kind="database",
                describe="rebuild db-01 as a streaming standby of the cloud primary (pg_rewind/pg_basebackup)",
                timeout_s=profile.database.switchover_timeout_s,
                precondition=_onprem_is_primary,
                action=_resync,
            ),
            Step(
                id="planned-switchover",
                name="planned switchover to db-01",
                kind="database",
                describe="fence the cloud primary, wait for db-01 to replay its last WAL, promote db-01",
                timeout_s=profile.database.switchover_timeout_s,
                precondition=_onprem_is_primary,
                action=_switchover,
            ),
        ]
    steps += [
        _config_step(
            "traffic-back",
            "switch traffic back on-prem",
            t,
            scale=False,
            traffic=True,
            scenario="failback",
        ),
        _config_step(
            "scale-to-standby",
            "scale cloud to standby",
            t,
            scale=True,
            traffic=False,
            scenario="failback",
        ),
        Step(
            id="cost-recheck",
            name="cost re-check",
            kind="health-check",
            describe="price the stack again and confirm it is back at standby cost",
            timeout_s=600,
            mutating=False,
            action=_cost_recheck,
        ),
        _record_step(),
    ]
    return RecoveryPlan(name="failback", steps=tuple(steps))
