"""The canonical cost report: one versioned model; every renderer and the artefact are functions of it.

Money fields are ``Decimal`` serialised as decimal strings (``"420.480000"``); a cost that cannot be
known (an unsupported type, a price missing from the catalog) is ``null``, never ``0``, and is
counted in :class:`Summary`. Totals are exact sums of the per-component figures (see
:mod:`cost.money` for the one rounding rule), so ``diff_total_monthly_cost`` equals the sum of the
per-resource ``diff_monthly_cost`` to the last digit.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

from cost.catalog.model import CatalogInfo

REPORT_SCHEMA_VERSION = 1

_DECIMAL_SCHEMA = {"type": "string", "pattern": r"^-?\d+(\.\d+)?$"}

Money = Annotated[
    Decimal,
    PlainSerializer(str, return_type=str, when_used="json"),
    WithJsonSchema({**_DECIMAL_SCHEMA, "description": "Decimal amount in the report currency"}),
]
"""An amount of money in the report's currency (decimal string in JSON)."""

Quantity = Annotated[
    Decimal,
    PlainSerializer(lambda d: format(d.normalize(), "f"), return_type=str, when_used="json"),
    WithJsonSchema({**_DECIMAL_SCHEMA, "description": "Decimal quantity"}),
]

ComponentStatus = Literal["priced", "free", "price-not-found"]
ResourceStatus = Literal["priced", "free", "unsupported", "price-not-found"]
Op = Literal["create", "update", "same", "delete", "replace"]

_FROZEN = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class CostComponent(BaseModel):
    """One priced line of a resource, e.g. ``Compute (system pool, Standard_D2s_v5, Linux)``."""

    model_config = _FROZEN

    name: str
    """Stable name; variable parts in brackets."""
    unit: str
    """What ``quantity`` counts: ``nodes``, ``disks``, ``GB``, ``operations``, ``queries``..."""
    quantity: Quantity
    """For ``capacity``: how many are held all month; for ``usage``: consumed per month."""
    kind: Literal["capacity", "usage"]
    status: ComponentStatus
    price_key: str | None = None
    """Catalog key the price was read from (see ``prices`` in the report)."""
    unit_price: Money | None = None
    """Catalog price per ``price_unit``."""
    price_unit: str | None = None
    """The catalog's unit of measure (``1 Hour``, ``1/Month``, ``10K``, ``1M``...)."""
    hourly_cost: Money | None = None
    """``null`` when the price is unknown (status ``price-not-found``)."""
    monthly_cost: Money | None = None
    usage_key: str | None = None
    """The usage-file key that set ``quantity``, if any."""
    note: str | None = None
    """Why this component is free, which assumption it rests on, or why its price is missing."""


class ResourceCost(BaseModel):
    """One resource of the plan: its components before and after, and the difference."""

    model_config = _FROZEN

    urn: str
    name: str
    type: str
    op: Op
    status: ResourceStatus
    """``price-not-found`` if any component's price is missing (its costs are then a lower bound)."""
    reason: str | None = None
    """For ``free`` and ``unsupported``: why."""
    past_components: list[CostComponent] | None = None
    """Components of the deployed resource (``null`` for a create or an unsupported type)."""
    components: list[CostComponent] | None = None
    """Components after the deploy (``null`` for a delete or an unsupported type)."""
    past_hourly_cost: Money | None = None
    hourly_cost: Money | None = None
    diff_hourly_cost: Money | None = None
    past_monthly_cost: Money | None = None
    """Monthly cost before the change; ``0`` for a create, ``null`` if unsupported."""
    monthly_cost: Money | None = None
    """Monthly cost after the change; ``0`` for a delete, ``null`` if unsupported."""
    diff_monthly_cost: Money | None = None


class MissingPrice(BaseModel):
    model_config = _FROZEN

    price_key: str
    resources: list[str]
    """Logical names of the resources whose components needed this key."""
    reason: str


class Summary(BaseModel):
    """Counts a reader (or the decision service) must see before trusting the totals."""

    model_config = _FROZEN

    resources: int
    priced: int
    free: int
    unsupported: int
    """Resources of a type no mapper knows: not in the totals."""
    price_not_found: int
    """Resources with at least one component whose price is missing: totals are a lower bound."""
    changed: int
    """Resources whose monthly cost changes."""
    ops: dict[str, int] = Field(default_factory=dict)
    unsupported_types: dict[str, int] = Field(default_factory=dict)
    missing_prices: list[MissingPrice] = Field(default_factory=list)

    @property
    def complete(self) -> bool:
        """True when every resource was priced or known free."""
        return self.unsupported == 0 and self.price_not_found == 0


class PriceTierInfo(BaseModel):
    model_config = _FROZEN

    start: Quantity
    unit_price: Money
    source: str
    source_date: str | None = None
    evidence: str | None = None
    confidence: str | None = None
    meter_id: str | None = None
    derived: bool = False
    region: str | None = None
    """The region the price was read in, when it is not the key's (a shared zone meter)."""


class PriceConflictInfo(BaseModel):
    model_config = _FROZEN

    unit_price: Money
    tier_start: Quantity
    source: str
    evidence: str | None = None
    confidence: str | None = None


class PriceInfo(BaseModel):
    """Provenance of one price the report used."""

    model_config = _FROZEN

    price_key: str
    catalog: str
    unit_of_measure: str
    tiers: list[PriceTierInfo]
    conflicts: list[PriceConflictInfo] = Field(default_factory=list)
    """Other sources for the same price that were not used (see the catalog's ranking rule)."""


class OneOffCost(BaseModel):
    """A one-off cost of a DR event (from the usage file), priced."""

    model_config = _FROZEN

    name: str
    amount: Money | None
    """``null`` when ``price_key`` is not in the catalog."""
    price_key: str | None = None
    quantity: Quantity | None = None
    unit_price: Money | None = None
    note: str | None = None


class DrAssumptions(BaseModel):
    """What a DR event is expected to cost beyond the hourly run rate (from the usage file).

    Event cost of a scenario = (active hourly - standby hourly) x ``expected_hours_per_event``
    + ``one_off_total``.
    """

    model_config = _FROZEN

    expected_hours_per_event: Quantity
    events_per_year: Quantity | None = None
    one_off_costs: list[OneOffCost] = Field(default_factory=list)
    one_off_total: Money
    """Sum of the priced one-off costs."""
    one_off_price_not_found: int = 0
    """One-off costs whose price key is missing (not in ``one_off_total``)."""


class UsageInfo(BaseModel):
    """The usage assumptions the estimate rests on."""

    model_config = _FROZEN

    path: str | None
    """Usage file (relative to the project), or ``null`` when the stack has none."""
    sha256: str | None = None
    resource_type_default_usage: dict[str, dict[str, Any]] = Field(default_factory=dict)
    resource_usage: dict[str, dict[str, Any]] = Field(default_factory=dict)
    dr: DrAssumptions | None = None


class CostReport(BaseModel):
    """A cost estimate of one plan (``hybridops cost estimate``)."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    schema_version: int = REPORT_SCHEMA_VERSION
    project: str
    stack: str
    source: Literal["offline-plan", "pulumi-preview"]
    offline: bool
    generated_at: datetime
    currency: str
    region: str | None
    """Default Azure region of the stack (resources without a location input are priced here)."""
    hours_per_month: int
    total_hourly_cost: Money
    past_total_hourly_cost: Money
    diff_total_hourly_cost: Money
    total_monthly_cost: Money
    """Planned monthly cost of every priced and free resource (unsupported and unknown excluded)."""
    past_total_monthly_cost: Money
    diff_total_monthly_cost: Money
    summary: Summary
    resources: list[ResourceCost]
    prices: dict[str, PriceInfo] = Field(default_factory=dict)
    catalogs: list[CatalogInfo]
    usage: UsageInfo
    baseline: str
    """What ``past`` means: ``plan`` (the plan's old inputs) or ``artefact <run_id>`` (--compare-to)."""
    overrides: dict[str, Any] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)
    """Caveats a reader must see (offline plan, price conflicts, assumptions of the mappers)."""
