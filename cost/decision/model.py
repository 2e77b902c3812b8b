"""What :func:`cost.decision.decide.decide` takes and returns: plain, frozen, serialisable models.

The inputs are already *facts* (numbers from an estimate, or why there is none; the month's ledger;
the request), so ``decide()`` needs no files and no clock. The outputs are what the decision
record stores and what the CLI and the driver show.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cost.decision.policy import Scenario
from cost.report import Money, Quantity

Verdict = Literal["allow", "warn", "block"]
VERDICTS: tuple[Verdict, ...] = ("allow", "warn", "block")
STRICTNESS: dict[str, int] = {"allow": 0, "warn": 1, "block": 2}
CheckStatus = Literal["passed", "failed", "skipped"]
Effect = Literal["warn", "block"]

_FROZEN = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class EstimateFacts(BaseModel):
    """The figures of one cost estimate (a report made now, or a cost artefact), and where from."""

    model_config = _FROZEN

    source: Literal["plan", "report", "artefact"]
    """``plan``: estimated now from a plan; ``report``: a CostReport handed in; ``artefact``: a file."""
    origin: str
    """Human description of where the estimate came from (a path, or ``estimated from plan``)."""
    artefact_path: str | None = None
    """The cost artefact the decision rests on (written now, or read)."""
    artefact_run_id: str | None = None
    purpose: str | None = None
    stack: str
    currency: str
    created_at: datetime
    offline: bool
    past_hourly: Money
    planned_hourly: Money
    diff_hourly: Money
    past_monthly: Money
    planned_monthly: Money
    diff_monthly: Money
    resources: int
    unsupported: int
    price_not_found: int
    unsupported_types: dict[str, int] = Field(default_factory=dict)
    missing_price_keys: list[str] = Field(default_factory=list)
    usage_path: str | None = None
    expected_hours: Quantity | None = None
    """``dr.expected_hours_per_event`` of the usage file the estimate was made with."""
    one_off_total: Money
    one_off_price_not_found: int = 0
    shadowed_by: list[str] = Field(default_factory=list)
    """Unreadable artefact files newer than this one: the real latest estimate may be among them."""


class EstimateUnavailable(BaseModel):
    """Why there is no usable estimate (always a ``warn``, never an allow)."""

    model_config = _FROZEN

    problem: Literal["missing", "unreadable", "newer-schema"]
    reason: str
    origin: str | None = None


Evidence = EstimateFacts | EstimateUnavailable


class LedgerEvent(BaseModel):
    """One allowed DR event or burst of the month (from an earlier decision record)."""

    model_config = _FROZEN

    run_id: str
    scenario: Scenario
    decided_at: datetime
    event_cost: Money | None
    """Projected cost of the event; ``null`` when neither the record nor its artefact says."""
    event_hours: Quantity | None = None
    cost_source: Literal["record", "artefact"] | None = None
    record_path: str
    overridden: bool = False
    """Allowed by approval or break-glass rather than by the checks."""


class Ledger(BaseModel):
    """DR and burst spend of one stack/component in one calendar month (UTC)."""

    model_config = _FROZEN

    month: str
    """``YYYY-MM``."""
    events: list[LedgerEvent] = Field(default_factory=list)
    dr_spend: Money = Decimal(0)
    """Sum of the known event costs."""
    unknown_cost_events: int = 0
    problems: list[str] = Field(default_factory=list)
    """Records of this month that could not be read (their spend is unknown)."""
    ignored: int = 0
    """Readable records that are not allowed DR events of this month (blocks, drills, other months)."""


class DecisionContext(BaseModel):
    """The request: what is being decided, for whom, when."""

    model_config = _FROZEN

    stack: str
    component: str
    scenario: Scenario
    now: datetime
    severity: str | None = None
    """Severity of the alert that triggered the run (``critical``, ``warning``...), if any."""
    drill: bool = False
    """A rehearsal: judged exactly like the real scenario, recorded as a drill, never counted as spend."""
    approved_by: str | None = None
    override_reason: str | None = None

    @model_validator(mode="after")
    def _approval(self) -> DecisionContext:
        who = (self.approved_by or "").strip()
        why = (self.override_reason or "").strip()
        if bool(who) != bool(why):
            raise ValueError("--approved-by and --reason go together (who approved, and why)")
        if self.now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        return self


class Check(BaseModel):
    """One check of a decision. ``id`` is stable: workflows and dashboards key on it."""

    model_config = _FROZEN

    id: str
    status: CheckStatus
    effect: Effect
    """What a failure of this check does to the decision."""
    reason: str
    value: Money | None = None
    """The figure that was checked (when it is an amount)."""
    limit: Money | None = None
    """The limit it was checked against."""


class Figures(BaseModel):
    """The amounts behind the decision, in ``currency`` (``null``: unknown)."""

    model_config = _FROZEN

    currency: str | None = None
    past_hourly: Money | None = None
    planned_hourly: Money | None = None
    diff_hourly: Money | None = None
    past_monthly: Money | None = None
    planned_monthly: Money | None = None
    diff_monthly: Money | None = None
    event_hours: Quantity | None = None
    event_hours_source: Literal["policy", "usage"] | None = None
    one_off_total: Money | None = None
    event_cost: Money | None = None
    """(active - standby hourly) x event hours + one-off costs (DR scenarios and bursts)."""
    dr_spend_to_date: Money | None = None
    """Allowed DR/burst events of this month before this one (the ledger)."""
    dr_spend_after: Money | None = None
    monthly_dr_budget: Money | None = None
    projected_monthly: Money | None = None
    """What ``budget.monthly`` compares: this month's run rate plus DR spend (see the docs)."""
    monthly_budget: Money | None = None
    warn_threshold: Money | None = None


class Override(BaseModel):
    """A human approval (of a warn) or break-glass (of a block)."""

    model_config = _FROZEN

    kind: Literal["approval", "break-glass"]
    approved_by: str
    reason: str
    original_decision: Verdict
    permitted: bool
    detail: str


class Decision(BaseModel):
    """The result of ``decide()``."""

    model_config = _FROZEN

    decision: Verdict
    """Final: after an approval or a permitted break-glass."""
    original_decision: Verdict
    """What the checks alone decided."""
    reason: str
    checks: list[Check]
    figures: Figures
    override: Override | None = None
    policy_entry: str | None = None
    """Key of the budget entry that applied (``cloud-dr``, ``cloud-dr/burst``, ``*``)."""

    def check(self, check_id: str) -> Check:
        for c in self.checks:
            if c.id == check_id:
                return c
        raise KeyError(check_id)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.status == "failed"]
