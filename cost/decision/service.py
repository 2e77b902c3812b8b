"""The cost gate as one call, shared by the DR driver and ``hybridops cost decide``.

:func:`evaluate` estimates a plan (or takes a report, an artefact, a file, or the latest artefact of
the component), writes the cost artefact, loads the budget policy and the month's ledger, calls the
pure :func:`~cost.decision.decide.decide`, writes ``decision-<run_id>.json`` (and
``blocked-<run_id>.json`` on a block) atomically, and returns a :class:`DecisionOutcome`.

No printing, no exit codes, no notifications: the caller does those (pure core, thin edges).
Bad cost data is a ``warn`` in the outcome; what raises (``CostError`` subclasses, with exit codes)
is what a human must fix first: the policy file, the price catalog, a usage file, a bad run id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from cost.artefact import (
    ARTEFACTS_DIR,
    CostArtefact,
    artefact_path,
    check_component,
    check_run_id,
    from_report,
    write_artefact,
)
from cost.catalog.model import PriceCatalog
from cost.decision import evidence as ev
from cost.decision.decide import break_glass_permitted, decide
from cost.decision.errors import DecisionError, DecisionUsageError
from cost.decision.ledger import read_ledger
from cost.decision.model import (
    Check,
    Decision,
    DecisionContext,
    EstimateFacts,
    EstimateUnavailable,
    Evidence,
    Figures,
    Ledger,
    Override,
    Verdict,
)
from cost.decision.policy import SCENARIOS, LoadedPolicy, Scenario, load_policy
from cost.decision.record import (
    BlockedRecord,
    BreakGlassHint,
    DecisionRecord,
    PolicyRef,
    PreviousAttempt,
    RecordError,
    blocked_path,
    decision_path,
    load_record,
    write_record,
)
from cost.plan import Plan
from cost.report import CostReport

EstimateInput = Plan | CostReport | CostArtefact | Path | None
"""What the caller has: a plan (estimated here), a report, an artefact, a file, or nothing (the
latest artefact of the component under the artefacts root is used)."""


@dataclass(frozen=True)
class DecisionOutcome:
    """Everything a caller needs after the cost gate."""

    decision: Verdict
    """Final decision: ``allow``, ``warn`` (approval needed) or ``block``."""
    original_decision: Verdict
    """What the checks alone decided (differs after an approval or break-glass)."""
    reason: str
    checks: list[Check]
    figures: Figures
    override: Override | None
    record: DecisionRecord
    record_path: Path
    blocked: BlockedRecord | None
    blocked_path: Path | None
    artefact_path: Path | None
    """The cost artefact written now, or the one read (``None``: no usable artefact)."""
    estimate: EstimateFacts | None
    ledger: Ledger
    policy_path: str
    project_dir: Path
    """Paths in ``decision_ref()``, ``cost_figures()`` and ``to_json()`` are shown relative to it."""

    @property
    def failed_checks(self) -> list[Check]:
        return [c for c in self.checks if c.status == "failed"]

    def display(self, path: Path | None) -> str | None:
        return None if path is None else _display(path, self.project_dir)

    def decision_ref(self) -> dict[str, Any]:
        """Fields of ``dr.records.DecisionRef``: ``DecisionRef(**outcome.decision_ref())``."""
        return {
            "decision": self.decision,
            "reason": self.reason,
            "record_path": self.display(self.record_path),
            "approved_by": self.override.approved_by
            if self.override and self.decision == "allow"
            else None,
            "override_reason": self.override.reason
            if self.override and self.decision == "allow"
            else None,
        }

    def cost_figures(self) -> dict[str, Any] | None:
        """Fields of ``dr.records.CostFigures`` (decimal strings), or ``None`` without figures."""
        f = self.figures
        if (
            f.currency is None
            or f.past_monthly is None
            or f.planned_monthly is None
            or f.diff_monthly is None
        ):
            return None
        return {
            "currency": f.currency,
            "past_monthly": str(f.past_monthly),
            "planned_monthly": str(f.planned_monthly),
            "diff_monthly": str(f.diff_monthly),
            "event_cost": None if f.event_cost is None else str(f.event_cost),
            "artefact_path": self.display(self.artefact_path),
        }

    def to_json(self) -> dict[str, Any]:
        """The outcome as JSON data (the record, plus where it and its companions were written)."""
        return {
            "decision": self.decision,
            "original_decision": self.original_decision,
            "reason": self.reason,
            "record_path": self.display(self.record_path),
            "blocked_path": self.display(self.blocked_path),
            "artefact_path": self.display(self.artefact_path),
            "record": self.record.model_dump(mode="json"),
        }


def _display(path: Path, project_dir: Path) -> str:
    try:
        return str(path.resolve().relative_to(project_dir.resolve()))
    except ValueError:
        return str(path)


def evaluate(
    estimate: EstimateInput,
    *,
    stack: str,
    scenario: str,
    project_dir: Path,
    run_id: str,
    component: str | None = None,
    artefacts_root: Path | None = None,
    policy_path: Path | None = None,
    severity: str | None = None,
    drill: bool = False,
    approved_by: str | None = None,
    override_reason: str | None = None,
    now: datetime | None = None,
    catalog: PriceCatalog | None = None,
    usage_path: Path | None = None,
    git_commit: str | None = None,
) -> DecisionOutcome:
    """Run the cost gate once (see the module docstring). ``now`` defaults to the current UTC time."""
    if scenario not in SCENARIOS:
        raise DecisionUsageError(f"--scenario {scenario!r}: expected one of {', '.join(SCENARIOS)}")
    scenario_: Scenario = scenario
    component = check_component(component or stack)
    check_run_id(run_id)
    now = now or datetime.now(UTC)
    try:
        ctx = DecisionContext(
            stack=stack,
            component=component,
            scenario=scenario_,
            now=now,
            severity=severity,
            drill=drill,
            approved_by=(approved_by or "").strip() or None,
            override_reason=(override_reason or "").strip() or None,
        )
    except ValidationError as exc:
        raise DecisionUsageError(
            str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
        ) from None

    policy = load_policy(project_dir, policy_path)
    root = artefacts_root if artefacts_root is not None else project_dir / ARTEFACTS_DIR
    shown_root = _display(root, project_dir)
    notes: list[str] = []

    evidence, artefact_file = _evidence(
        estimate, ctx=ctx, project_dir=project_dir, root=root, shown_root=shown_root, run_id=run_id,
        catalog=catalog, usage_path=usage_path, git_commit=git_commit, notes=notes,
    )  # fmt: skip
    ledger = read_ledger(
        root, component, stack=stack, now=now, exclude_run_id=run_id, display_root=shown_root
    )
    decision = decide(evidence, policy.policy, ledger, ctx)
    return _record(
        decision, ctx, evidence, ledger, policy, root, project_dir, run_id, artefact_file, notes
    )


def estimate_plan(
    plan: Plan,
    *,
    project_dir: Path,
    catalog: PriceCatalog | None = None,
    usage_path: Path | None = None,
    now: datetime | None = None,
) -> CostReport:
    """Price a plan with the same catalogs and usage file as ``hybridops cost estimate``.

    For callers that need a figure without a decision (the driver's re-check of a step's preview
    against the approved ``planned_monthly``).
    """
    from cost.estimator import estimate
    from cost.sources import load_catalogs
    from cost.usage import load_stack_usage

    chain = catalog if catalog is not None else load_catalogs(project_dir)
    infos = list(getattr(chain, "infos", [chain.info]))
    usage = load_stack_usage(project_dir, plan.stack, usage_path)
    return estimate(plan, chain, usage=usage, catalogs=infos, generated_at=now)


def _evidence(
    estimate: EstimateInput,
    *,
    ctx: DecisionContext,
    project_dir: Path,
    root: Path,
    shown_root: str,
    run_id: str,
    catalog: PriceCatalog | None,
    usage_path: Path | None,
    git_commit: str | None,
    notes: list[str],
) -> tuple[Evidence, Path | None]:
    if estimate is None:
        found = ev.latest_evidence(
            root,
            ctx.component,
            stack=ctx.stack,
            scenario=ctx.scenario,
            drill=ctx.drill,
            display_root=shown_root,
        )
        path = None
        if isinstance(found, EstimateFacts) and found.artefact_run_id:
            path = artefact_path(root, ctx.component, found.artefact_run_id)
        return found, path
    if isinstance(estimate, Path):
        shown = _display(estimate, project_dir)
        loaded = ev.load_estimate_file(estimate, shown)
        if isinstance(loaded, CostArtefact):
            return ev.from_artefact(loaded, path=shown), estimate
        if isinstance(loaded, EstimateUnavailable):
            return loaded, None
        notes.append(f"estimate read from the cost report {shown}")
        return _write(loaded, "report", ctx, project_dir, root, run_id, git_commit, None)
    if isinstance(estimate, CostArtefact):
        return ev.from_artefact(estimate, path=f"artefact {estimate.run_id} (in memory)"), None
    if isinstance(estimate, CostReport):
        return _write(estimate, "report", ctx, project_dir, root, run_id, git_commit, None)
    report = estimate_plan(
        estimate, project_dir=project_dir, catalog=catalog, usage_path=usage_path, now=ctx.now
    )
    env = estimate.config.get("hybridops:env")
    return _write(
        report,
        "plan",
        ctx,
        project_dir,
        root,
        run_id,
        git_commit,
        env if isinstance(env, str) else None,
    )


def _write(
    report: CostReport,
    source: str,
    ctx: DecisionContext,
    project_dir: Path,
    root: Path,
    run_id: str,
    git_commit: str | None,
    env: str | None,
) -> tuple[Evidence, Path]:
    """Write the estimate as this run's cost artefact (``<run_id>``, or ``<run_id>-2``... on a re-run)."""
    artefact_run_id = run_id
    n = 1
    while artefact_path(root, ctx.component, artefact_run_id).exists():
        n += 1
        artefact_run_id = f"{run_id}-{n}"
    artefact = from_report(
        report,
        run_id=artefact_run_id,
        purpose=ev.purpose_for(ctx.scenario, ctx.drill),  # type: ignore[arg-type]
        component=ctx.component,
        git_commit=git_commit,
        env=env,
    )
    try:
        path = write_artefact(artefact, root)
    except OSError as exc:
        raise DecisionError(
            f"{root}: cannot write the cost artefact: {exc.strerror or exc}"
        ) from None
    shown = _display(path, project_dir)
    origin = (
        f"estimated from {'the plan' if source == 'plan' else 'a cost report'}, written to {shown}"
    )
    facts = ev.from_report(
        report,
        source=source,
        origin=origin,
        artefact_path=shown,
        artefact_run_id=artefact_run_id,
        purpose=artefact.purpose,
    )
    return facts, path


def _record(
    decision: Decision,
    ctx: DecisionContext,
    evidence: Evidence,
    ledger: Ledger,
    policy: LoadedPolicy,
    root: Path,
    project_dir: Path,
    run_id: str,
    artefact_file: Path | None,
    notes: list[str],
) -> DecisionOutcome:
    record_file = decision_path(root, ctx.component, run_id)
    blocked_file = (
        blocked_path(root, ctx.component, run_id) if decision.decision == "block" else None
    )
    entry = policy.policy.budgets.get(decision.policy_entry) if decision.policy_entry else None
    facts = evidence if isinstance(evidence, EstimateFacts) else None
    record = DecisionRecord(
        run_id=run_id,
        decided_at=ctx.now,
        stack=ctx.stack,
        component=ctx.component,
        scenario=ctx.scenario,
        severity=ctx.severity,
        drill=ctx.drill,
        decision=decision.decision,
        original_decision=decision.original_decision,
        reason=decision.reason,
        checks=decision.checks,
        figures=decision.figures,
        override=decision.override,
        estimate=facts,
        estimate_problem=evidence if isinstance(evidence, EstimateUnavailable) else None,
        policy=PolicyRef(
            path=policy.path,
            sha256=policy.sha256,
            currency=policy.policy.currency,
            entry=decision.policy_entry,
            limits=entry,
        ),
        ledger=ledger,
        blocked_record=_display(blocked_file, project_dir) if blocked_file else None,
        previous_attempts=_previous(record_file, ctx.now),
        notes=notes,
    )
    blocked: BlockedRecord | None = None
    try:
        if blocked_file is not None:
            bg = decision.check("override.break_glass")
            blocked = BlockedRecord(
                run_id=run_id,
                blocked_at=ctx.now,
                stack=ctx.stack,
                component=ctx.component,
                scenario=ctx.scenario,
                severity=ctx.severity,
                drill=ctx.drill,
                reason=decision.reason,
                failed_checks=decision.failed,
                figures=decision.figures,
                decision_record=_display(record_file, project_dir),
                estimate_artefact=facts.artefact_path if facts else None,
                break_glass=_hint(decision, policy, ctx, bg),
            )
            write_record(blocked, blocked_file)
        write_record(record, record_file)
    except OSError as exc:
        raise DecisionError(
            f"{root}: cannot write the decision record: {exc.strerror or exc}"
        ) from None
    outcome = DecisionOutcome(
        decision=decision.decision,
        original_decision=decision.original_decision,
        reason=decision.reason,
        checks=decision.checks,
        figures=decision.figures,
        override=decision.override,
        record=record,
        record_path=record_file,
        blocked=blocked,
        blocked_path=blocked_file,
        artefact_path=artefact_file,
        estimate=facts,
        ledger=ledger,
        policy_path=policy.path,
        project_dir=project_dir,
    )
    return outcome


def _hint(
    decision: Decision, policy: LoadedPolicy, ctx: DecisionContext, bg: Check
) -> BreakGlassHint:
    entry = policy.policy.budgets.get(decision.policy_entry) if decision.policy_entry else None
    permitted, detail = break_glass_permitted(entry, ctx)
    if permitted:
        detail = "re-run with --approved-by WHO --reason TEXT to allow (recorded)"
    if bg.status == "failed":
        detail = bg.reason
    return BreakGlassHint(permitted=permitted, detail=detail)


def _previous(record_file: Path, now: datetime) -> list[PreviousAttempt]:
    """Earlier decisions of the same run id (a resumed run re-decides; the audit trail keeps them)."""
    if not record_file.exists():
        return []
    try:
        old = load_record(record_file)
    except RecordError as exc:
        return [
            PreviousAttempt(decided_at=now, decision="warn", reason=f"unreadable: {exc.reason}")
        ]
    if not isinstance(old, DecisionRecord):
        return []
    return [
        *old.previous_attempts,
        PreviousAttempt(
            decided_at=old.decided_at,
            decision=old.decision,
            reason=old.reason,
            artefact_path=old.estimate.artefact_path if old.estimate else None,
        ),
    ]
