"""The budget policy (``stacks/budget-policy.yaml``): what the decision service holds a plan to.

One entry per stack (or ``<stack>/<component>``): a monthly budget with a warn ratio, limits on the
monthly increase of ordinary changes, and for DR events and bursts a maximum cost per event, a
monthly DR budget and the expected event duration; plus the maximum age of cost artefacts and
whether break-glass may turn a block into an allow. Every model is ``extra="forbid"``, so a typo
fails with the file and the key. Amounts are in ``currency`` and parsed exactly (``Decimal``; a
YAML float goes through its shortest repr, so ``0.8`` is exactly ``0.8``).
"""

from __future__ import annotations

import hashlib
import os
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from cost.decision.errors import PolicyError
from cost.money import to_decimal

POLICY_FILE = Path("stacks/budget-policy.yaml")
ENV_POLICY = "HYBRIDOPS_BUDGET_POLICY"
POLICY_VERSION = 1

Scenario = Literal["cutover", "failback", "burst", "change"]
SCENARIOS: tuple[Scenario, ...] = ("cutover", "failback", "burst", "change")
DEFAULT_ENTRY = "*"
"""Key of the entry used for a stack that has none of its own (not shipped: a stack without a
budget is a ``warn``, never a silent allow under somebody else's limits)."""


def _exact(value: Any) -> Any:
    # YAML hands us floats; Decimal(0.8) would be 0.8000000000000000444..., repr(0.8) is "0.8".
    if value is None or isinstance(value, Decimal):
        return value
    try:
        return to_decimal(value)
    except (TypeError, ArithmeticError, ValueError):
        return value  # let pydantic report it with the key


Amount = Annotated[Decimal, BeforeValidator(_exact), Field(ge=0, allow_inf_nan=False)]
Hours = Annotated[Decimal, BeforeValidator(_exact), Field(gt=0, allow_inf_nan=False)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class ChangeLimits(_Strict):
    """Limits for ordinary changes (scenario ``change``: pull requests, baseline updates)."""

    max_monthly_increase: Amount | None = None
    """Largest allowed increase of the planned monthly cost, in ``currency`` (``null``: not checked)."""
    max_monthly_increase_pct: Amount | None = None
    """Largest allowed increase in percent of the past monthly cost (``null``: not checked)."""


class DrLimits(_Strict):
    """Limits for DR events (``cutover``, ``failback``) and cloud bursts (``burst``)."""

    max_event_cost: Amount
    """Largest allowed cost of one event: (active - standby hourly) x hours + one-off costs."""
    monthly_dr_budget: Amount
    """DR and burst spend allowed per calendar month (UTC), this event included."""
    expected_event_hours: Hours | None = None
    """Expected duration of an event. When set it wins over the usage file's
    ``dr.expected_hours_per_event`` (the budget owner's assumption is what the money was approved
    for); ``null`` takes the usage file's figure."""


_BREAK_GLASS_SCENARIOS: tuple[Scenario, ...] = ("cutover", "failback", "burst")


class BreakGlass(_Strict):
    """Whether ``--approved-by WHO --reason TEXT`` may turn a ``block`` into an ``allow``."""

    allowed: bool = False
    scenarios: list[Scenario] = Field(default_factory=lambda: list(_BREAK_GLASS_SCENARIOS))
    """Scenarios in which break-glass is permitted."""
    severities: list[str] = Field(default_factory=list)
    """Alert severities in which break-glass is permitted; empty: any (or none given)."""


class BudgetEntry(_Strict):
    """The budget of one stack (or component)."""

    monthly_budget: Amount
    """Spend allowed per calendar month: run rate plus DR events. Above it: ``block``."""
    warn_ratio: Annotated[Decimal, BeforeValidator(_exact), Field(gt=0, le=1, allow_inf_nan=False)]
    """Reaching ``warn_ratio x monthly_budget`` warns (approval needed)."""
    max_artefact_age_hours: Hours
    """A cost estimate older than this is stale: ``warn``."""
    change: ChangeLimits = Field(default_factory=ChangeLimits)
    dr: DrLimits | None = None
    """``null``: the stack has no DR budget; a DR scenario then warns (cannot be judged)."""
    break_glass: BreakGlass = Field(default_factory=BreakGlass)


class BudgetPolicy(_Strict):
    """The whole policy file."""

    version: Literal[1]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    """ISO 4217 code; an estimate in another currency cannot be judged (``warn``)."""
    description: str | None = None
    budgets: dict[str, BudgetEntry]
    """``<stack>``, ``<stack>/<component>`` or ``*`` -> budget entry."""

    @model_validator(mode="after")
    def _keys(self) -> BudgetPolicy:
        for key in self.budgets:
            if not key or key != key.strip() or key.count("/") > 1:
                raise ValueError(f"budget key {key!r}: expected '<stack>' or '<stack>/<component>'")
        return self

    def entry_for(self, stack: str, component: str) -> tuple[str, BudgetEntry] | None:
        """The entry that applies: ``<stack>/<component>``, then ``<stack>``, then ``*``."""
        keys = [f"{stack}/{component}"] if component != stack else []
        keys += [stack, DEFAULT_ENTRY]
        for key in keys:
            if key in self.budgets:
                return key, self.budgets[key]
        return None


class LoadedPolicy(BaseModel):
    model_config = ConfigDict(frozen=True)

    path: str
    """Display path of the file."""
    sha256: str
    policy: BudgetPolicy


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:3]:
        loc = ".".join(str(p) for p in err["loc"] if p not in ("function-after", "function-before"))
        parts.append(f"{loc}: {err['msg']}" if loc else err["msg"])
    more = exc.error_count() - len(parts)
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def parse_policy(raw: bytes, display: str) -> LoadedPolicy:
    """Validate policy bytes; every failure is a :class:`PolicyError` naming the file and the key."""
    try:
        doc = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise PolicyError(f"{display}: not valid YAML: {' '.join(str(exc).split())}") from None
    if not isinstance(doc, dict):
        raise PolicyError(f"{display}: expected a mapping with 'version', 'currency' and 'budgets'")
    try:
        policy = BudgetPolicy.model_validate(doc)
    except ValidationError as exc:
        raise PolicyError(f"{display}: {_describe(exc)}") from None
    return LoadedPolicy(path=display, sha256=hashlib.sha256(raw).hexdigest(), policy=policy)


def load_policy(project_dir: Path, explicit: Path | None = None) -> LoadedPolicy:
    """``explicit`` (``--policy``), else ``$HYBRIDOPS_BUDGET_POLICY``, else
    ``<project>/stacks/budget-policy.yaml``.

    The variable lets a runner that executes a fixed command line (the lab's dispatch runner, a
    workflow) point every decision at another policy, e.g. the lab's tight ``cost-block`` budget.
    """
    env = os.environ.get(ENV_POLICY)
    path = explicit if explicit is not None else Path(env) if env else project_dir / POLICY_FILE
    try:
        display = str(path.resolve().relative_to(project_dir.resolve()))
    except ValueError:
        display = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PolicyError(
            f"{display}: cannot read the budget policy: {exc.strerror or exc}"
        ) from None
    return parse_policy(raw, display)
