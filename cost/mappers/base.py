"""What a cost mapper is: a function from one resource's planned inputs to cost components.

A mapper declares *what* is billed (name, unit, quantity, price key); it never holds a price. It
knows nothing of Pulumi: inputs are plain dicts with the provider's camelCase keys, exactly as in
:class:`cost.plan.PlannedResource`. Usage-based quantities come from the usage file through the
mapper's ``usage_model`` (pydantic, ``extra="forbid"``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict

from cost.plan import COMPUTED_MARKER, SECRET_MARKER

Kind = Literal["capacity", "usage"]


class Component(NamedTuple):
    """One cost component a mapper declares (a tuple: hashed and compared in C, it keys the
    estimator's per-run cache of priced components)."""

    name: str
    """Stable name, variable parts in brackets: ``Compute (system pool, Standard_D2s_v5, Linux)``."""
    unit: str
    quantity: Decimal
    price_key: str | None
    """``None`` for a component that is free by rule (``free_reason`` says why)."""
    kind: Kind = "capacity"
    """``capacity``: held all month (nodes, disks, GB provisioned); ``usage``: consumed per month."""
    usage_key: str | None = None
    note: str | None = None
    free_reason: str | None = None
    optional: bool = False
    """Drop the component when the catalog has no such key. Only for optional parts of a cost
    model (on-prem power/amortisation); an Azure meter is never optional."""


class ResourceContext(NamedTuple):
    """What a mapper sees of one resource."""

    type: str
    name: str
    urn: str
    inputs: Mapping[str, Any]
    region: str
    """The resource's Azure region: its ``location`` input, else the stack's default location."""
    usage: BaseModel | None


class UnknownInputError(Exception):
    """An input the price depends on is unknown at preview ([computed]/[secret]) or malformed."""

    def __init__(self, path: str, why: str) -> None:
        super().__init__(f"input {path} {why}")
        self.path = path
        self.why = why


class Usage(BaseModel):
    """Base of every mapper's usage model: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Mapper:
    """Base class: subclasses set ``type_token`` (and ``usage_model``) and implement ``components``."""

    type_token: ClassVar[str]
    usage_model: ClassVar[type[Usage] | None] = None

    def components(self, r: ResourceContext) -> list[Component]:
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class FreeRule:
    """A type (or a type-token prefix) that costs nothing by itself, and why."""

    reason: str


REQUIRED: Any = object()
"""Default meaning 'no default': a missing input raises :class:`UnknownInputError`."""


def lookup(inputs: Mapping[str, Any], path: str, default: Any = REQUIRED) -> Any:
    """``inputs`` at a dotted path (``sku.name``, ``agentPoolProfiles.0.vmSize``).

    A missing value returns ``default`` (or raises :class:`UnknownInputError` without one); a
    ``[computed]`` or ``[secret]`` value always raises: the price cannot be known before apply.
    """
    node: Any = inputs
    for part in path.split(".") if "." in path else (path,):
        # plain dicts first: the ABC check of Mapping is the slow path of the estimator
        if (type(node) is dict or isinstance(node, Mapping)) and part in node:
            node = node[part]
        elif type(node) is list and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            node = REQUIRED
            break
    if isinstance(node, str) and node in (COMPUTED_MARKER, SECRET_MARKER):
        raise UnknownInputError(path, f"is {node} until the deploy")
    if node is REQUIRED or node is None:
        if default is REQUIRED:
            raise UnknownInputError(path, "is missing")
        return default
    return node


def first_of(inputs: Mapping[str, Any], *paths: str, default: Any = REQUIRED) -> Any:
    """The first of several spellings that is present (``diskSizeGB`` / ``diskSizeGb``)."""
    for path in paths:
        value = lookup(inputs, path, None)
        if value is not None:
            return value
    if default is REQUIRED:
        raise UnknownInputError(" or ".join(paths), "is missing")
    return default


def integer(value: Any, path: str) -> int:
    if isinstance(value, bool):
        raise UnknownInputError(path, f"is not a number ({value!r})")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise UnknownInputError(path, f"is not a whole number ({value!r})")


def number(value: Any, path: str) -> Decimal:
    if isinstance(value, bool):
        raise UnknownInputError(path, f"is not a number ({value!r})")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str):
        try:
            return Decimal(value.strip())
        except ArithmeticError:
            pass
    raise UnknownInputError(path, f"is not a number ({value!r})")


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?\s*$", re.IGNORECASE)
_SIZE_FACTOR = {
    "": Decimal(1),
    "K": Decimal(1) / Decimal(1024 * 1024),
    "M": Decimal(1) / Decimal(1024),
    "G": Decimal(1),
    "T": Decimal(1024),
}


def size_gb(value: Any, path: str) -> Decimal:
    """A Proxmox size (``200G``, ``1T``, ``512M`` or a bare number of GB) in GB."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return number(value, path)
    if isinstance(value, str) and (m := _SIZE.match(value)):
        return Decimal(m[1]) * _SIZE_FACTOR[m[2].upper()]
    raise UnknownInputError(path, f"is not a size ({value!r})")


def normalise_region(location: str) -> str:
    """ARM accepts ``East US`` and ``eastus``; price keys use the armRegionName form."""
    return location.replace(" ", "").lower()
