"""The local price catalog: one JSON file of verbatim Retail Prices items plus a header.

File format (``format: hybridops.price-catalog``, ``format_version: 1``)::

    {"format": "hybridops.price-catalog", "format_version": 1,
     "name": "azure-retail-prices", "version": "snapshot-2026-11-27", "currency": "USD",
     "collected": "2026-11-27", "source": "...", "regions": ["eastus", ...],
     "items": [ <Retail Prices API items, verbatim, with provenance fields> ]}

The shipped catalog (``cost/data/azure-retail-prices.json``) is built from the provenance-tagged
snapshot by ``python -m cost.catalog.build``; ``hybridops cost catalog refresh`` writes the same
format from the live API. Items are indexed by price key (:func:`cost.catalog.azure.price_key`) when
the file is loaded, so both sources go through one normaliser.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cost.catalog import azure
from cost.catalog.model import CatalogInfo, Conflict, PriceEntry, PriceTier, Provenance
from cost.errors import CatalogError

CATALOG_FORMAT = "hybridops.price-catalog"
CATALOG_FORMAT_VERSION = 1
SHIPPED_CATALOG = "azure-retail-prices.json"


class CatalogFile(BaseModel):
    """Header and items of a catalog file (items stay plain dicts: they are verbatim API rows)."""

    model_config = ConfigDict(extra="forbid")

    format: str
    format_version: int
    name: str
    version: str
    currency: str
    collected: str | None = None
    source: str
    regions: list[str] = Field(default_factory=list)
    hours_per_month: int = 730
    notes: list[str] = Field(default_factory=list)
    items: list[dict[str, Any]]


def shipped_catalog_path() -> Path:
    return Path(str(resources.files("cost") / "data" / SHIPPED_CATALOG))


class Skipped(BaseModel):
    model_config = ConfigDict(frozen=True)

    index: int
    reason: str
    label: str


class LocalCatalog:
    """A :class:`~cost.catalog.model.PriceCatalog` over a catalog file."""

    def __init__(
        self, data: CatalogFile, *, sha256: str | None = None, origin: str = "<memory>"
    ) -> None:
        self.data = data
        self.origin = origin
        self.skipped: list[Skipped] = []
        self._entries = _index(data, self.skipped, origin)
        self._info = CatalogInfo(
            name=data.name,
            version=data.version,
            currency=data.currency,
            collected=data.collected,
            source=data.source,
            sha256=sha256,
            items=len(data.items),
            indexed=len(data.items) - len(self.skipped),
        )

    @classmethod
    def load(cls, path: Path | None = None) -> LocalCatalog:
        """Read and index a catalog file (default: the shipped one); errors name the file."""
        path = path or shipped_catalog_path()
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise CatalogError(
                f"{path}: cannot read price catalog: {exc.strerror or exc}"
            ) from None
        return cls.from_bytes(raw, origin=str(path))

    @classmethod
    def from_bytes(cls, raw: bytes, *, origin: str) -> LocalCatalog:
        try:
            doc = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise CatalogError(f"{origin}: price catalog is not valid JSON ({exc})") from None
        if not isinstance(doc, dict) or doc.get("format") != CATALOG_FORMAT:
            raise CatalogError(
                f"{origin}: not a hybridops price catalog (expected format {CATALOG_FORMAT!r})"
            )
        version = doc.get("format_version")
        if version != CATALOG_FORMAT_VERSION:
            raise CatalogError(
                f"{origin}: price catalog format_version {version!r} is not supported "
                f"(this hybridops reads {CATALOG_FORMAT_VERSION})"
            )
        try:
            data = CatalogFile.model_validate(doc)
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(p) for p in first["loc"])
            raise CatalogError(
                f"{origin}: invalid price catalog at {loc}: {first['msg']}"
            ) from None
        return cls(data, sha256=hashlib.sha256(raw).hexdigest(), origin=origin)

    @property
    def info(self) -> CatalogInfo:
        return self._info

    def lookup(self, key: str) -> PriceEntry | None:
        return self._entries.get(key)

    def entries(self) -> Iterator[PriceEntry]:
        return iter(sorted(self._entries.values(), key=lambda e: e.key))


def _provenance(item: dict[str, Any], key_region: str) -> Provenance:
    region = item.get("armRegionName")
    return Provenance(
        source=str(item.get("source") or "unknown (no source field)"),
        source_date=_opt(item.get("sourceDate")),
        evidence=_opt(item.get("evidence")),
        confidence=_opt(item.get("confidence")),
        meter_id=_opt(item.get("meterId")),
        effective_start_date=_opt(item.get("effectiveStartDate")),
        derived=bool(item.get("derived", False)),
        region=None if region == key_region else _opt(region),
        note=_opt(item.get("note")),
    )


def _opt(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _label(item: dict[str, Any]) -> str:
    parts = [
        item.get(k) for k in ("serviceName", "armRegionName", "armSkuName", "skuName", "meterName")
    ]
    return " | ".join(str(p) for p in parts if p)


def _index(data: CatalogFile, skipped: list[Skipped], origin: str) -> dict[str, PriceEntry]:
    # key -> tier start -> [(rank, item)]
    candidates: dict[str, dict[Decimal, list[tuple[tuple[Any, ...], int, dict[str, Any]]]]] = {}
    units: dict[str, str] = {}
    for position, item in enumerate(data.items):
        if not isinstance(item, dict):
            raise CatalogError(f"{origin}: items[{position}] is not an object")
        key = azure.price_key(item)
        if key is None:
            skipped.append(
                Skipped(index=position, reason="no mapper uses this meter", label=_label(item))
            )
            continue
        uom = str(item.get("unitOfMeasure") or "")
        if azure.parse_unit(uom) is None:
            skipped.append(
                Skipped(index=position, reason=f"unit {uom!r} not understood", label=_label(item))
            )
            continue
        currency = item.get("currencyCode") or data.currency
        if currency != data.currency:
            skipped.append(
                Skipped(
                    index=position,
                    reason=f"currency {currency} != catalog {data.currency}",
                    label=_label(item),
                )
            )
            continue
        try:
            _price(item)
            start = _decimal(item.get("tierMinimumUnits"), default=Decimal(0))
        except (InvalidOperation, TypeError, ValueError):
            raise CatalogError(
                f"{origin}: items[{position}] has a non-numeric retailPrice/tierMinimumUnits"
            ) from None
        if key in units and azure.parse_unit(units[key]) != azure.parse_unit(uom):
            skipped.append(
                Skipped(
                    index=position,
                    reason=f"unit {uom!r} differs from {units[key]!r} for {key}",
                    label=_label(item),
                )
            )
            continue
        units.setdefault(key, uom)
        candidates.setdefault(key, {}).setdefault(start, []).append(
            (azure.rank(item, position), position, item)
        )

    # Zone meters: complete a region's ladder from the same meterId read in another region.
    by_meter: dict[str, dict[Decimal, list[tuple[tuple[Any, ...], int, dict[str, Any]]]]] = {}
    for key, tiers in candidates.items():
        if not azure.shares_meter(key):
            continue
        for start, rows in tiers.items():
            for row in rows:
                meter = row[2].get("meterId")
                if meter:
                    by_meter.setdefault(str(meter), {}).setdefault(start, []).append(row)
    for key, tiers in candidates.items():
        if not azure.shares_meter(key):
            continue
        meters = {
            str(r[2]["meterId"]) for rows in tiers.values() for r in rows if r[2].get("meterId")
        }
        if len(meters) != 1:
            continue
        for start, rows in by_meter[meters.pop()].items():
            if start not in tiers:
                tiers[start] = sorted(rows)

    entries: dict[str, PriceEntry] = {}
    for key, tiers in candidates.items():
        key_region = key.split("/")[1]
        period, size = azure.parse_unit(units[key])  # type: ignore[misc]
        chosen: list[PriceTier] = []
        conflicts: list[Conflict] = []
        first_item: dict[str, Any] | None = None
        for start in sorted(tiers):
            rows = sorted(tiers[start], key=lambda r: (r[0], r[1]))
            best = rows[0][2]
            first_item = first_item or best
            price = _price(best)
            chosen.append(
                PriceTier(start=start, unit_price=price, provenance=_provenance(best, key_region))
            )
            seen = {price}
            for _, _, other in rows[1:]:
                other_price = _price(other)
                if other_price not in seen:
                    seen.add(other_price)
                    conflicts.append(Conflict(other_price, start, _provenance(other, key_region)))
        assert first_item is not None
        entries[key] = PriceEntry(
            key=key,
            currency=data.currency,
            unit_of_measure=units[key],
            period=period,
            unit_size=size,
            tiers=tuple(chosen),
            conflicts=tuple(conflicts),
            labels={
                k: _opt(first_item.get(k))
                for k in (
                    "serviceName",
                    "productName",
                    "skuName",
                    "armSkuName",
                    "meterName",
                    "armRegionName",
                )
            },
        )
    return entries


def _price(item: dict[str, Any]) -> Decimal:
    value = item.get("retailPrice")
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise TypeError("retailPrice")
    out = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))
    if not out.is_finite() or out < 0:
        raise ValueError("retailPrice")
    return out


def _decimal(value: Any, *, default: Decimal) -> Decimal:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise TypeError("number")
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))
