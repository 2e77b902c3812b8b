"""``decide()``: a pure function of (estimate, budget policy, ledger, context) -> allow | warn | block.

No files, no clock, no printing: ``now`` comes in with the context. Every check in :data:`CHECK_IDS`
is listed in every decision, in that order, as ``passed``, ``failed`` or ``skipped`` with a human
reason, so workflows and dashboards can key on the ids. The decision is the strictest effect among
the failed checks (``block`` > ``warn``), else ``allow``.

Rules that are easy to get wrong, decided here once (and documented in docs/ci/decision-records.md):

* Amounts are compared exactly as ``Decimal`` after rounding to the money quantum (6 places), the
  figures the record shows. Equal to a limit passes; reaching the warn threshold warns.
* No usable estimate (missing, unreadable, newer schema, other stack, other currency) is a
  ``warn`` with the reason, never an allow. Unpriced or unsupported resources also warn: the
  totals are then a lower bound (still checked: a lower bound above a limit still blocks).
* Event cost (cutover, burst) = max(planned - past hourly, 0) x event hours + one-off costs.
  Savings are not credit against the budget.
* A failback ends an event and lowers the run rate: it is never blocked on cost (failures warn),
  and its event figures are shown but not charged again (the cutover was).
* A drill is judged exactly like the real scenario (so the gate is rehearsed, blocks included);
  the ledger never counts drills as spend.
* ``approved_by`` + ``override_reason`` turn a ``warn`` into ``allow`` (an approval); a ``block``
  into ``allow`` only if the entry's ``break_glass`` permits it for the scenario and severity.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from cost.decision.model import (
    STRICTNESS,
    Check,
    CheckStatus,
    Decision,
    DecisionContext,
    Effect,
    EstimateFacts,
    EstimateUnavailable,
    Evidence,
    Figures,
    Ledger,
    Override,
    Verdict,
)
from cost.decision.policy import BudgetEntry, BudgetPolicy
from cost.money import format_money, money

CHECK_IDS: tuple[str, ...] = (
    "policy.entry",
    "artefact.present",
    "artefact.readable",
    "artefact.schema",
    "artefact.fresh",
    "artefact.stack",
    "estimate.currency",
    "estimate.complete",
    "ledger.complete",
    "budget.monthly",
    "budget.warn_ratio",
    "change.max_increase_abs",
    "change.max_increase_pct",
    "dr.event_duration",
    "dr.event_cost",
    "dr.monthly_budget",
    "failback.lowers_cost",
    "override.approval",
    "override.break_glass",
)
"""Every check id, in the order they appear in a decision. Stable: add, never rename."""

DR_SCENARIOS = ("cutover", "failback", "burst")
EVENT_SCENARIOS = ("cutover", "burst")
"""Scenarios that start an event and are charged to the DR budget."""
CLOCK_SKEW = timedelta(minutes=5)
"""An artefact dated further in the future than this is not trusted as fresh (clock skew)."""


class _Checks:
    def __init__(self, scenario: str) -> None:
        self.items: dict[str, Check] = {}
        self._failback = scenario == "failback"

    def add(
        self,
        check_id: str,
        status: CheckStatus,
        effect: Effect,
        reason: str,
        value: Decimal | None = None,
        limit: Decimal | None = None,
    ) -> None:
        assert check_id in CHECK_IDS, check_id
        if self._failback and check_id != "override.break_glass":
            effect = "warn"  # a failback stops spending: never blocked on cost
        self.items[check_id] = Check(
            id=check_id, status=status, effect=effect, reason=reason, value=value, limit=limit
        )

    def skip(self, check_id: str, reason: str, effect: Effect = "warn") -> None:
        self.add(check_id, "skipped", effect, reason)

    def ordered(self) -> list[Check]:
        return [self.items[i] for i in CHECK_IDS]


def _m(value: Decimal, currency: str) -> str:
    return format_money(value, currency)


def _hours(value: Decimal) -> str:
    return format(value.normalize(), "f")


def decide(
    evidence: Evidence, policy: BudgetPolicy, ledger: Ledger, ctx: DecisionContext
) -> Decision:
    """Judge one request; see the module docstring for the rules."""
    checks = _Checks(ctx.scenario)
    found = policy.entry_for(ctx.stack, ctx.component)
    entry_key, entry = found if found else (None, None)
    if entry is not None:
        checks.add("policy.entry", "passed", "warn", f"budget entry {entry_key!r} applies")
    else:
        checks.add(
            "policy.entry",
            "failed",
            "warn",
            f"no budget entry for {ctx.stack!r}"
            + (f" or '{ctx.stack}/{ctx.component}'" if ctx.component != ctx.stack else "")
            + ": the cost cannot be judged",
        )

    facts = _evidence_checks(checks, evidence, policy, entry, ctx)
    _ledger_check(checks, ledger)
    figures = _budget_checks(checks, facts, policy, entry, ledger, ctx)
    return _conclude(checks, figures, entry_key, entry, ctx)


def _evidence_checks(
    checks: _Checks,
    evidence: Evidence,
    policy: BudgetPolicy,
    entry: BudgetEntry | None,
    ctx: DecisionContext,
) -> EstimateFacts | None:
    """The artefact.* and estimate.* checks; returns the facts when the figures can be used."""
    if isinstance(evidence, EstimateUnavailable):
        missing = evidence.problem == "missing"
        checks.add(
            "artefact.present",
            "failed" if missing else "passed",
            "warn",
            evidence.reason if missing else f"found {evidence.origin}",
        )
        if evidence.problem == "unreadable":
            checks.add("artefact.readable", "failed", "warn", evidence.reason)
        else:
            checks.skip(
                "artefact.readable", "no artefact" if missing else "not read: see artefact.schema"
            )
        if evidence.problem == "newer-schema":
            checks.add("artefact.schema", "failed", "warn", evidence.reason)
        else:
            checks.skip("artefact.schema", "no readable artefact")
        for check_id in (
            "artefact.fresh",
            "artefact.stack",
            "estimate.currency",
            "estimate.complete",
        ):
            checks.skip(check_id, "no usable estimate")
        return None

    facts = evidence
    checks.add("artefact.present", "passed", "warn", facts.origin)
    if facts.shadowed_by:
        checks.add(
            "artefact.readable",
            "failed",
            "warn",
            f"newer cost artefact(s) could not be read, so {facts.origin} may not be the latest: "
            + "; ".join(facts.shadowed_by),
        )
    else:
        checks.add("artefact.readable", "passed", "warn", "the estimate was read and validated")
    checks.add(
        "artefact.schema",
        "passed",
        "warn",
        "estimated now" if facts.source != "artefact" else "schema version supported",
    )

    age = ctx.now - facts.created_at
    if entry is None:
        checks.skip("artefact.fresh", "no budget entry: no age limit")
    elif age < -CLOCK_SKEW:
        checks.add(
            "artefact.fresh",
            "failed",
            "warn",
            f"estimate is dated {facts.created_at.isoformat()}, in the future of {ctx.now.isoformat()} "
            "(clock skew?): its age cannot be trusted",
        )
    else:
        # Exact comparison in seconds (Decimal), not float timedelta rounding.
        age_s = Decimal(age.days * 86400 + age.seconds) + Decimal(age.microseconds) / Decimal(10**6)
        limit_s = entry.max_artefact_age_hours * 3600
        age_h = (age_s / 3600).quantize(Decimal("0.01"))
        if age_s <= limit_s:
            checks.add(
                "artefact.fresh",
                "passed",
                "warn",
                f"estimate is {_hours(max(age_h, Decimal(0)))} h old (limit {_hours(entry.max_artefact_age_hours)} h)",
            )
        else:
            checks.add(
                "artefact.fresh",
                "failed",
                "warn",
                f"estimate is stale: {_hours(age_h)} h old, limit {_hours(entry.max_artefact_age_hours)} h "
                f"(created {facts.created_at.isoformat()}); estimate again",
            )

    usable = True
    if facts.stack == ctx.stack:
        checks.add("artefact.stack", "passed", "warn", f"estimate is of stack {facts.stack!r}")
    else:
        usable = False
        checks.add(
            "artefact.stack",
            "failed",
            "warn",
            f"estimate is of stack {facts.stack!r}, not {ctx.stack!r}: it says nothing about this stack",
        )
    if facts.currency == policy.currency:
        checks.add("estimate.currency", "passed", "warn", f"amounts in {facts.currency}")
    else:
        usable = False
        checks.add(
            "estimate.currency",
            "failed",
            "warn",
            f"estimate is in {facts.currency}, the policy in {policy.currency}: not comparable",
        )

    gaps = []
    if facts.unsupported:
        types = ", ".join(sorted(facts.unsupported_types)) or "unknown types"
        gaps.append(f"{facts.unsupported} unsupported resource(s) ({types})")
    if facts.price_not_found:
        keys = ", ".join(facts.missing_price_keys) or "unknown keys"
        gaps.append(f"{facts.price_not_found} resource(s) with a missing price ({keys})")
    if facts.one_off_price_not_found and ctx.scenario in DR_SCENARIOS:
        gaps.append(f"{facts.one_off_price_not_found} one-off cost(s) without a price")
    if gaps:
        checks.add(
            "estimate.complete",
            "failed",
            "warn",
            "; ".join(gaps) + ": totals are a lower bound",
        )
    else:
        checks.add(
            "estimate.complete", "passed", "warn", f"all {facts.resources} resources priced or free"
        )
    return facts if usable else None


def _ledger_check(checks: _Checks, ledger: Ledger) -> None:
    gaps = []
    if ledger.problems:
        gaps.append(
            f"{len(ledger.problems)} unreadable decision record(s): " + "; ".join(ledger.problems)
        )
    if ledger.unknown_cost_events:
        gaps.append(f"{ledger.unknown_cost_events} allowed event(s) of unknown cost")
    if gaps:
        checks.add(
            "ledger.complete",
            "failed",
            "warn",
            f"spend of {ledger.month} may be understated: " + "; ".join(gaps),
        )
    else:
        checks.add(
            "ledger.complete",
            "passed",
            "warn",
            f"{len(ledger.events)} earlier DR/burst event(s) in {ledger.month}",
        )


def _budget_checks(
    checks: _Checks,
    facts: EstimateFacts | None,
    policy: BudgetPolicy,
    entry: BudgetEntry | None,
    ledger: Ledger,
    ctx: DecisionContext,
) -> Figures:
    cur = policy.currency
    scenario = ctx.scenario
    ids = (
        "budget.monthly",
        "budget.warn_ratio",
        "change.max_increase_abs",
        "change.max_increase_pct",
        "dr.event_duration",
        "dr.event_cost",
        "dr.monthly_budget",
        "failback.lowers_cost",
    )
    if facts is None or entry is None:
        why = "no usable estimate" if facts is None else "no budget entry"
        for check_id in ids:
            checks.skip(check_id, why, "block" if check_id in _BLOCKING else "warn")
        return Figures(currency=facts.currency if facts else None, dr_spend_to_date=ledger.dr_spend)

    dr = entry.dr
    is_dr = scenario in DR_SCENARIOS
    # Event duration: the policy's figure wins over the usage file's (see DrLimits).
    hours: Decimal | None = None
    hours_source: str | None = None
    if dr is not None and dr.expected_event_hours is not None:
        hours, hours_source = dr.expected_event_hours, "policy"
    elif facts.expected_hours is not None:
        hours, hours_source = facts.expected_hours, "usage"

    event_cost: Decimal | None = None
    if is_dr and hours is not None:
        # cutover/burst: planned is the active side; failback: past is (the event being closed).
        step = facts.diff_hourly if scenario in EVENT_SCENARIOS else -facts.diff_hourly
        event_cost = money(max(step, Decimal(0)) * hours + facts.one_off_total)

    spend = ledger.dr_spend
    charged = event_cost if scenario in EVENT_SCENARIOS else None
    if scenario in EVENT_SCENARIOS:
        projected = money(facts.past_monthly + spend + (charged or Decimal(0)))
        basis = "run rate before the event + DR spend this month + this event"
    else:
        projected = money(facts.planned_monthly + spend)
        basis = "planned run rate + DR spend this month"
    budget = entry.monthly_budget
    threshold = money(entry.warn_ratio * budget)
    lower = (
        " (lower bound: event cost unknown)"
        if scenario in EVENT_SCENARIOS and charged is None
        else ""
    )

    if projected <= budget:
        checks.add(
            "budget.monthly",
            "passed",
            "block",
            f"projected {_m(projected, cur)} this month ({basis}) within the budget {_m(budget, cur)}{lower}",
            projected,
            budget,
        )
    else:
        checks.add(
            "budget.monthly",
            "failed",
            "block",
            f"projected {_m(projected, cur)} this month ({basis}) exceeds the budget {_m(budget, cur)}{lower}",
            projected,
            budget,
        )
    if projected < threshold:
        checks.add(
            "budget.warn_ratio",
            "passed",
            "warn",
            f"projected {_m(projected, cur)} below {entry.warn_ratio.normalize()} of the budget ({_m(threshold, cur)})",
            projected,
            threshold,
        )
    else:
        checks.add(
            "budget.warn_ratio",
            "failed",
            "warn",
            f"projected {_m(projected, cur)} reaches {entry.warn_ratio.normalize()} of the budget ({_m(threshold, cur)})",
            projected,
            threshold,
        )

    _change_checks(checks, facts, entry, scenario, cur)

    if not is_dr:
        for check_id in ("dr.event_duration", "dr.event_cost", "dr.monthly_budget"):
            checks.skip(
                check_id,
                "applies to DR events and bursts",
                "block" if check_id in _BLOCKING else "warn",
            )
    else:
        if hours is not None:
            where = (
                "the policy"
                if hours_source == "policy"
                else f"the usage file {facts.usage_path or ''}".rstrip()
            )
            checks.add(
                "dr.event_duration", "passed", "warn", f"{_hours(hours)} h per event (from {where})"
            )
        else:
            checks.add(
                "dr.event_duration",
                "failed",
                "warn",
                "no expected event duration: set dr.expected_event_hours in the policy or "
                f"dr.expected_hours_per_event in stacks/usage/{ctx.stack}.yaml; the event cost is unknown",
            )
        _dr_checks(checks, facts, entry, scenario, hours, event_cost, spend, cur)

    if scenario == "failback":
        if facts.planned_monthly <= facts.past_monthly:
            checks.add(
                "failback.lowers_cost",
                "passed",
                "warn",
                f"run rate goes from {_m(facts.past_monthly, cur)} to {_m(facts.planned_monthly, cur)} a month",
                facts.planned_monthly,
                facts.past_monthly,
            )
        else:
            checks.add(
                "failback.lowers_cost",
                "failed",
                "warn",
                f"a failback should lower the run rate, but this plan raises it from {_m(facts.past_monthly, cur)} "
                f"to {_m(facts.planned_monthly, cur)} a month: check the plan",
                facts.planned_monthly,
                facts.past_monthly,
            )
    else:
        checks.skip("failback.lowers_cost", "applies to failbacks")

    return Figures(
        currency=facts.currency,
        past_hourly=facts.past_hourly,
        planned_hourly=facts.planned_hourly,
        diff_hourly=facts.diff_hourly,
        past_monthly=facts.past_monthly,
        planned_monthly=facts.planned_monthly,
        diff_monthly=facts.diff_monthly,
        event_hours=hours if is_dr else None,
        event_hours_source=hours_source if is_dr else None,
        one_off_total=facts.one_off_total if is_dr else None,
        event_cost=event_cost,
        dr_spend_to_date=spend,
        dr_spend_after=money(spend + charged) if charged is not None else None,
        monthly_dr_budget=dr.monthly_dr_budget if dr is not None and is_dr else None,
        projected_monthly=projected,
        monthly_budget=budget,
        warn_threshold=threshold,
    )


_BLOCKING = frozenset(
    {
        "budget.monthly",
        "change.max_increase_abs",
        "change.max_increase_pct",
        "dr.event_cost",
        "dr.monthly_budget",
    }
)


def _change_checks(
    checks: _Checks, facts: EstimateFacts, entry: BudgetEntry, scenario: str, cur: str
) -> None:
    if scenario != "change":
        for check_id in ("change.max_increase_abs", "change.max_increase_pct"):
            checks.skip(check_id, "applies to ordinary changes", "block")
        return
    diff = facts.diff_monthly
    limit = entry.change.max_monthly_increase
    if limit is None:
        checks.skip(
            "change.max_increase_abs", "no change.max_monthly_increase in the policy", "block"
        )
    elif diff <= limit:
        checks.add(
            "change.max_increase_abs",
            "passed",
            "block",
            f"monthly cost changes by {_m(diff, cur)} (limit +{_m(limit, cur)})",
            diff,
            limit,
        )
    else:
        checks.add(
            "change.max_increase_abs",
            "failed",
            "block",
            f"monthly cost rises by {_m(diff, cur)}, above the limit of +{_m(limit, cur)}",
            diff,
            limit,
        )
    pct = entry.change.max_monthly_increase_pct
    past = facts.past_monthly
    if pct is None:
        checks.skip(
            "change.max_increase_pct", "no change.max_monthly_increase_pct in the policy", "block"
        )
    elif past <= 0:
        checks.skip(
            "change.max_increase_pct",
            "no past monthly cost: a percentage is undefined (the absolute limit applies)",
            "block",
        )
    else:
        # diff / past * 100 <= pct, compared without dividing (exact at the boundary).
        shown = (diff * 100 / past).quantize(Decimal("0.01"))
        if diff * 100 <= pct * past:
            checks.add(
                "change.max_increase_pct",
                "passed",
                "block",
                f"monthly cost changes by {shown}% of {_m(past, cur)} (limit {pct.normalize()}%)",
            )
        else:
            checks.add(
                "change.max_increase_pct",
                "failed",
                "block",
                f"monthly cost rises by {shown}% of {_m(past, cur)}, above the limit of {pct.normalize()}%",
            )


def _dr_checks(
    checks: _Checks,
    facts: EstimateFacts,
    entry: BudgetEntry,
    scenario: str,
    hours: Decimal | None,
    event_cost: Decimal | None,
    spend: Decimal,
    cur: str,
) -> None:
    dr = entry.dr
    if scenario == "failback":
        shown = f" ({_m(event_cost, cur)} for the event)" if event_cost is not None else ""
        for check_id in ("dr.event_cost", "dr.monthly_budget"):
            checks.skip(
                check_id,
                f"a failback ends the event: its cost{shown} was judged at cutover",
                "block",
            )
        return
    if dr is None:
        for check_id in ("dr.event_cost", "dr.monthly_budget"):
            checks.add(
                check_id,
                "failed",
                "warn",
                "the budget entry has no 'dr' limits: a DR event or burst cannot be judged",
            )
        return
    if event_cost is None or hours is None:
        for check_id in ("dr.event_cost", "dr.monthly_budget"):
            checks.add(
                check_id, "failed", "warn", "event cost unknown (no expected event duration)"
            )
        return
    running = max(facts.diff_hourly, Decimal(0))
    formula = f"({_m(running, cur)}/h x {_hours(hours)} h + {_m(facts.one_off_total, cur)} one-off)"
    if event_cost <= dr.max_event_cost:
        checks.add(
            "dr.event_cost",
            "passed",
            "block",
            f"event cost {_m(event_cost, cur)} {formula} within the maximum {_m(dr.max_event_cost, cur)} per event",
            event_cost,
            dr.max_event_cost,
        )
    else:
        checks.add(
            "dr.event_cost",
            "failed",
            "block",
            f"event cost {_m(event_cost, cur)} {formula} exceeds the maximum {_m(dr.max_event_cost, cur)} per event",
            event_cost,
            dr.max_event_cost,
        )
    after = money(spend + event_cost)
    if after <= dr.monthly_dr_budget:
        checks.add(
            "dr.monthly_budget",
            "passed",
            "block",
            f"DR spend this month {_m(spend, cur)} + this event = {_m(after, cur)}, within {_m(dr.monthly_dr_budget, cur)}",
            after,
            dr.monthly_dr_budget,
        )
    else:
        checks.add(
            "dr.monthly_budget",
            "failed",
            "block",
            f"DR spend this month {_m(spend, cur)} + this event = {_m(after, cur)}, above the DR budget {_m(dr.monthly_dr_budget, cur)}",
            after,
            dr.monthly_dr_budget,
        )


def break_glass_permitted(entry: BudgetEntry | None, ctx: DecisionContext) -> tuple[bool, str]:
    if entry is None:
        return False, "no budget entry permits break-glass"
    bg = entry.break_glass
    if not bg.allowed:
        return False, "the policy does not permit break-glass for this stack"
    if ctx.scenario not in bg.scenarios:
        return (
            False,
            f"the policy permits break-glass only for {', '.join(bg.scenarios) or 'no scenario'}",
        )
    if bg.severities and ctx.severity not in bg.severities:
        return False, (
            f"the policy permits break-glass only at severity {', '.join(bg.severities)}"
            f" (this request: {ctx.severity or 'none'})"
        )
    return True, "permitted by the policy"


def _conclude(
    checks: _Checks,
    figures: Figures,
    entry_key: str | None,
    entry: BudgetEntry | None,
    ctx: DecisionContext,
) -> Decision:
    failed = [c for c in checks.items.values() if c.status == "failed"]
    original: Verdict = "allow"
    for c in failed:
        if STRICTNESS[c.effect] > STRICTNESS[original]:
            original = c.effect
    final: Verdict = original
    override: Override | None = None
    who, why = ctx.approved_by, ctx.override_reason

    if who and why and original == "warn":
        final = "allow"
        override = Override(
            kind="approval",
            approved_by=who,
            reason=why,
            original_decision="warn",
            permitted=True,
            detail="a warn needs a human approval: given",
        )
        checks.add("override.approval", "passed", "warn", f"warn approved by {who}: {why}")
    elif who and original == "warn":  # pragma: no cover - the context requires both
        checks.skip("override.approval", "no approval")
    else:
        checks.skip("override.approval", "nothing to approve" if who else "no approval given")

    if who and why and original == "block":
        permitted, detail = break_glass_permitted(entry, ctx)
        override = Override(
            kind="break-glass",
            approved_by=who,
            reason=why,
            original_decision="block",
            permitted=permitted,
            detail=detail,
        )
        if permitted:
            final = "allow"
            checks.add(
                "override.break_glass",
                "passed",
                "block",
                f"block overridden by {who}: {why} ({detail})",
            )
        else:
            checks.add(
                "override.break_glass", "failed", "block", f"break-glass by {who} refused: {detail}"
            )
    else:
        checks.skip(
            "override.break_glass",
            "no block to override" if who else "no break-glass requested",
            "block",
        )

    ordered = checks.ordered()
    return Decision(
        decision=final,
        original_decision=original,
        reason=_reason(final, original, ordered, override, ctx),
        checks=ordered,
        figures=figures,
        override=override,
        policy_entry=entry_key,
    )


def _reason(
    final: Verdict,
    original: Verdict,
    checks: list[Check],
    override: Override | None,
    ctx: DecisionContext,
) -> str:
    prefix = "drill: " if ctx.drill else ""
    failed = [c for c in checks if c.status == "failed" and not c.id.startswith("override.")]
    blocking = [c for c in failed if c.effect == "block"]
    warning = [c for c in failed if c.effect == "warn"]
    if original == "allow":
        passed = sum(c.status == "passed" for c in checks)
        return f"{prefix}allow: {passed} checks passed, none failed"
    if original == "block":
        text = "block: " + "; ".join(f"{c.id}: {c.reason}" for c in blocking)
        if warning:
            text += f" (also {len(warning)} warning(s): {', '.join(c.id for c in warning)})"
    else:
        text = "warn: " + "; ".join(f"{c.id}: {c.reason}" for c in warning)
    if override is not None and final == "allow":
        what = "approved" if override.kind == "approval" else "break-glass"
        return f"{prefix}allow ({what} by {override.approved_by}: {override.reason}) over {text}"
    if override is not None and override.kind == "break-glass" and not override.permitted:
        text += f"; break-glass by {override.approved_by} refused: {override.detail}"
    return prefix + text
