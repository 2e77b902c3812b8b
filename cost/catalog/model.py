"""What a price catalog holds and the one interface the estimator needs (:class:`PriceCatalog`).

A *price key* is a short, stable string naming one price, e.g. ``vm/eastus/Standard_D4s_v5`` or
``traffic-manager/Global/dns-queries``. Mappers declare keys; catalogs answer them. How a key is
derived from a raw Azure Retail Prices item lives in :mod:`cost.catalog.azure`; the on-prem model
answers ``onprem/...`` keys. A price always carries its provenance (where it was read, when, how
sure we are), because a number nobody can trace is not a price.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict

Period = Literal["hour", "month"]
"""How a capacity price is quoted: per hour held or per month held. ``None`` = per unit consumed."""


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a price came from (fields of the Retail Prices item or of the on-prem model)."""

    source: str
    source_date: str | None = None
    evidence: str | None = None
    confidence: str | None = None
    meter_id: str | None = None
    effective_start_date: str | None = None
    derived: bool = False
    region: str | None = None
    """The item's own region, when it differs from the key's (a shared zone meter, see azure.py)."""
    note: str | None = None


@dataclass(frozen=True, slots=True)
class PriceTier:
    start: Decimal
    """Cumulative quantity (in the catalog's units) from which this price applies."""
    unit_price: Decimal
    provenance: Provenance


@dataclass(frozen=True, slots=True)
class Conflict:
    """Another source for the same key and tier that was *not* used (recorded, never hidden)."""

    unit_price: Decimal
    tier_start: Decimal
    provenance: Provenance


@dataclass(frozen=True, slots=True)
class PriceEntry:
    key: str
    currency: str
    unit_of_measure: str
    """The source's unit, verbatim (``1 Hour``, ``1/Month``, ``10K``, ``month (730 hours)``...)."""
    period: Period | None
    unit_size: Decimal
    """How many of the mapper's units one catalog unit is (10000 for ``10K``, 10**6 for ``1M``)."""
    tiers: tuple[PriceTier, ...]
    conflicts: tuple[Conflict, ...] = ()
    labels: dict[str, str | None] = field(default_factory=dict)
    """serviceName, productName, skuName, meterName, armRegionName of the chosen item."""

    @property
    def unit_price(self) -> Decimal:
        return self.tiers[0].unit_price

    @property
    def provenance(self) -> Provenance:
        return self.tiers[0].provenance

    @property
    def tiered(self) -> bool:
        return len(self.tiers) > 1


class CatalogInfo(BaseModel):
    """Identity of a catalog, copied into every report and artefact."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    name: str
    """Catalog name, e.g. ``azure-retail-prices`` or ``onprem-cost-model``."""
    version: str
    """Catalog version: the snapshot's collection date or the refresh timestamp."""
    currency: str
    collected: str | None = None
    """When the prices were collected (ISO date)."""
    source: str
    """Where the catalog was built from (snapshot file, API URL, model file)."""
    sha256: str | None = None
    """SHA-256 of the catalog file as read, so a report names the exact prices it used."""
    items: int = 0
    """Items in the file."""
    indexed: int = 0
    """Items answering a price key."""


class PriceCatalog(Protocol):
    """The only thing the estimator asks of a catalog."""

    @property
    def info(self) -> CatalogInfo: ...

    def lookup(self, key: str) -> PriceEntry | None:
        """The price for ``key``, or ``None`` (reported as ``price-not-found``, never zero)."""
        ...

    def entries(self) -> Iterable[PriceEntry]: ...


class ChainCatalog:
    """Several catalogs as one: the first that knows a key answers it (Azure, then on-prem)."""

    def __init__(self, *catalogs: PriceCatalog) -> None:
        if not catalogs:
            raise ValueError("ChainCatalog needs at least one catalog")
        self.catalogs = catalogs
        self._cache: dict[str, PriceEntry | None] = {}

    @property
    def info(self) -> CatalogInfo:
        return self.catalogs[0].info

    @property
    def infos(self) -> list[CatalogInfo]:
        return [c.info for c in self.catalogs]

    def lookup(self, key: str) -> PriceEntry | None:
        try:
            return self._cache[key]
        except KeyError:
            pass
        found: PriceEntry | None = None
        for catalog in self.catalogs:
            found = catalog.lookup(key)
            if found is not None:
                break
        self._cache[key] = found
        return found

    def entries(self) -> Iterator[PriceEntry]:
        for catalog in self.catalogs:
            yield from catalog.entries()
