"""Usage assumptions per stack (``stacks/usage/<stack>.yaml``), like Infracost's usage file
(https://www.infracost.io/docs/features/usage_based_resources/).

Prices of usage-based meters (GB stored, GB sent, DNS queries, Key Vault operations) need a
quantity the plan cannot know. The usage file gives it, per resource type
(``resource_type_default_usage``) and per resource (``resource_usage``, by logical name or URN; the
resource entry wins key by key). Each mapper declares its usage keys as a pydantic model with
``extra="forbid"``, so a typo fails with the file and the key. The ``dr`` section holds what the
decision service needs beyond run rates: expected hours per DR event and one-off costs.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from cost.errors import UsageFileError

USAGE_DIR = Path("stacks/usage")


class OneOffCostSpec(BaseModel):
    """A cost paid once per DR event: a known ``amount``, or ``quantity`` of a catalog ``price_key``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    amount: Decimal | None = Field(default=None, ge=0)
    price_key: str | None = None
    quantity: Decimal | None = Field(default=None, ge=0)
    note: str | None = None

    @model_validator(mode="after")
    def _one_way(self) -> OneOffCostSpec:
        by_amount = self.amount is not None
        by_price = self.price_key is not None or self.quantity is not None
        if by_amount == by_price:
            raise ValueError("give either 'amount' or both 'price_key' and 'quantity'")
        if by_price and (self.price_key is None or self.quantity is None):
            raise ValueError("'price_key' and 'quantity' go together")
        return self


class DrUsage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    expected_hours_per_event: Decimal = Field(ge=0)
    """How long the cloud runs in active mode per DR event (cutover to failback), in hours."""
    events_per_year: Decimal | None = Field(default=None, ge=0)
    """Expected DR events (real and drills) per year, for budgeting."""
    one_off_costs: list[OneOffCostSpec] = Field(default_factory=list)
    """Paid once per event on top of the hourly difference (resync egress, ...)."""


class UsageFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1]
    description: str | None = None
    resource_type_default_usage: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Type token -> usage keys for every resource of that type."""
    resource_usage: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Logical resource name (or URN) -> usage keys; wins over the type default."""
    dr: DrUsage | None = None

    def for_resource(
        self, type_token: str, name: str, urn: str
    ) -> tuple[dict[str, Any], str | None]:
        """Merged usage for one resource and the file location it came from (for error messages)."""
        base = self.resource_type_default_usage.get(type_token)
        own = self.resource_usage.get(urn)
        where = f"resource_usage.{urn}"
        if own is None:
            own = self.resource_usage.get(name)
            where = f"resource_usage.{name}"
        if own is None and base is None:
            return {}, None
        if own is None:
            return dict(base or {}), f"resource_type_default_usage.{type_token}"
        return {**(base or {}), **own}, where


class LoadedUsage(BaseModel):
    model_config = ConfigDict(frozen=True)

    path: str | None
    """Display path (relative to the project directory)."""
    sha256: str | None = None
    data: UsageFile


EMPTY_USAGE = LoadedUsage(path=None, data=UsageFile(version=1))


def usage_path(project_dir: Path, stack: str) -> Path:
    return project_dir / USAGE_DIR / f"{stack}.yaml"


def load_usage(path: Path, *, display: str | None = None) -> LoadedUsage:
    """Read and validate a usage file; every error names the file and the key."""
    shown = display or str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UsageFileError(f"{shown}: cannot read usage file: {exc.strerror or exc}") from None
    try:
        doc = yaml.safe_load(raw) or {}
    except yaml.YAMLError as exc:
        raise UsageFileError(f"{shown}: not valid YAML: {' '.join(str(exc).split())}") from None
    if not isinstance(doc, dict):
        raise UsageFileError(f"{shown}: expected a mapping at the top level")
    try:
        data = UsageFile.model_validate(doc)
    except ValidationError as exc:
        raise UsageFileError(f"{shown}: {first_error(exc)}") from None
    return LoadedUsage(path=shown, sha256=hashlib.sha256(raw).hexdigest(), data=data)


def load_stack_usage(project_dir: Path, stack: str, explicit: Path | None = None) -> LoadedUsage:
    """``--usage FILE``, else ``stacks/usage/<stack>.yaml`` if present, else no usage (noted)."""
    path = explicit or usage_path(project_dir, stack)
    if explicit is None and not path.is_file():
        return EMPTY_USAGE
    try:
        display = str(path.resolve().relative_to(project_dir.resolve()))
    except ValueError:
        display = str(path)
    return load_usage(path, display=display)


def first_error(exc: ValidationError, prefix: str = "") -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in (*([prefix] if prefix else []), *err["loc"]))
    msg = err["msg"]
    return f"{loc}: {msg}" if loc else msg
