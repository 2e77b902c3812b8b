"""On-prem cost model (``stacks/onprem-cost-model.yaml``) as a price catalog for ``onprem/...`` keys.

In the spirit of OpenCost's custom pricing (https://www.opencost.io/docs/configuration/on-prem):
flat rates per allocated vCPU-hour, GiB-of-RAM-hour and GB-of-disk-month, plus two optional parts
that turn a site's real spend into rates:

* ``power``: watts drawn per allocated vCPU x electricity price -> per vCPU-hour
  (``watts / 1000 x price_per_kwh``);
* ``amortisation``: hardware cost spread over its life and the allocatable vCPUs -> per vCPU-hour
  (``hardware_cost / (months x HOURS_PER_MONTH x allocatable_vcpus)``).

Keys answered: ``onprem/vcpu-hour``, ``onprem/ram-gib-hour``, ``onprem/disk-gb-month`` and
``onprem/disk-gb-month/<datastore>`` (a per-datastore rate, else the default), and, only when
configured, ``onprem/power-vcpu-hour`` and ``onprem/amortisation-vcpu-hour``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cost.catalog.model import CatalogInfo, PriceEntry, PriceTier, Provenance
from cost.errors import OnPremModelError
from cost.money import HOURS_PER_MONTH
from cost.usage import first_error

ONPREM_MODEL_FILE = Path("stacks/onprem-cost-model.yaml")

_Rate = Decimal


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Rates(_Strict):
    vcpu_hour: _Rate = Field(ge=0)
    """Per allocated vCPU (cores x sockets) per hour."""
    ram_gib_hour: _Rate = Field(ge=0)
    """Per GiB of allocated memory per hour."""
    disk_gb_month: _Rate = Field(ge=0)
    """Per GB of provisioned disk per month (default datastore rate)."""
    disk_gb_month_by_datastore: dict[str, _Rate] = Field(default_factory=dict)
    """Per-datastore overrides of ``disk_gb_month`` (e.g. NVMe ZFS mirror vs. Ceph)."""


class Power(_Strict):
    watts_per_vcpu: Decimal = Field(ge=0)
    price_per_kwh: Decimal = Field(ge=0)


class Amortisation(_Strict):
    hardware_cost: Decimal = Field(ge=0)
    months: int = Field(gt=0)
    allocatable_vcpus: int = Field(gt=0)


class OnPremModel(_Strict):
    version: Literal[1]
    name: str
    currency: str
    reviewed: str | None = None
    """When the rates were last reviewed (ISO date)."""
    source: str
    """Where the rates come from (a TCO review, OpenCost defaults...)."""
    rates: Rates
    power: Power | None = None
    amortisation: Amortisation | None = None


class OnPremCatalog:
    """A :class:`~cost.catalog.model.PriceCatalog` answering ``onprem/...`` keys from the model."""

    def __init__(self, model: OnPremModel, *, origin: str, sha256: str | None = None) -> None:
        self.model = model
        self.origin = origin
        self._entries: dict[str, PriceEntry] = {}
        rates = model.rates
        self._add("onprem/vcpu-hour", rates.vcpu_hour, "hour", "1 Hour", "rates.vcpu_hour")
        self._add("onprem/ram-gib-hour", rates.ram_gib_hour, "hour", "1 Hour", "rates.ram_gib_hour")
        self._add(
            "onprem/disk-gb-month",
            rates.disk_gb_month,
            "month",
            "1 GB/Month",
            "rates.disk_gb_month",
        )
        for store, rate in sorted(rates.disk_gb_month_by_datastore.items()):
            self._add(
                f"onprem/disk-gb-month/{store}",
                rate,
                "month",
                "1 GB/Month",
                f"rates.disk_gb_month_by_datastore.{store}",
            )
        if model.power is not None:
            rate = model.power.watts_per_vcpu / Decimal(1000) * model.power.price_per_kwh
            self._add(
                "onprem/power-vcpu-hour",
                rate,
                "hour",
                "1 Hour",
                "power: watts_per_vcpu / 1000 x price_per_kwh",
            )
        if model.amortisation is not None:
            a = model.amortisation
            rate = a.hardware_cost / (
                Decimal(a.months) * HOURS_PER_MONTH * Decimal(a.allocatable_vcpus)
            )
            self._add(
                "onprem/amortisation-vcpu-hour",
                rate,
                "hour",
                "1 Hour",
                "amortisation: hardware_cost / (months x 730 x allocatable_vcpus)",
            )
        self._info = CatalogInfo(
            name=f"onprem-cost-model:{model.name}",
            version=model.reviewed or "unreviewed",
            currency=model.currency,
            collected=model.reviewed,
            source=f"{origin} ({model.source})",
            sha256=sha256,
            items=len(self._entries),
            indexed=len(self._entries),
        )

    def _add(
        self, key: str, rate: Decimal, period: Literal["hour", "month"], uom: str, field: str
    ) -> None:
        provenance = Provenance(
            source=f"{self.origin}: {field}",
            source_date=self.model.reviewed,
            evidence="onprem-cost-model",
            confidence="model",
            derived=field.startswith(("power", "amortisation")),
        )
        self._entries[key] = PriceEntry(
            key=key,
            currency=self.model.currency,
            unit_of_measure=uom,
            period=period,
            unit_size=Decimal(1),
            tiers=(PriceTier(start=Decimal(0), unit_price=rate, provenance=provenance),),
        )

    @classmethod
    def load(cls, path: Path, *, display: str | None = None) -> OnPremCatalog:
        shown = display or str(path)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise OnPremModelError(
                f"{shown}: cannot read on-prem cost model: {exc.strerror or exc}"
            ) from None
        try:
            doc = yaml.safe_load(raw) or {}
        except yaml.YAMLError as exc:
            raise OnPremModelError(
                f"{shown}: not valid YAML: {' '.join(str(exc).split())}"
            ) from None
        if not isinstance(doc, dict):
            raise OnPremModelError(f"{shown}: expected a mapping at the top level")
        try:
            model = OnPremModel.model_validate(doc)
        except ValidationError as exc:
            raise OnPremModelError(f"{shown}: {first_error(exc)}") from None
        return cls(model, origin=shown, sha256=hashlib.sha256(raw).hexdigest())

    @property
    def info(self) -> CatalogInfo:
        return self._info

    def lookup(self, key: str) -> PriceEntry | None:
        found = self._entries.get(key)
        if found is None and key.startswith("onprem/disk-gb-month/"):
            return self._entries["onprem/disk-gb-month"]  # no datastore rate: the default rate
        return found

    def entries(self) -> Iterator[PriceEntry]:
        return iter(sorted(self._entries.values(), key=lambda e: e.key))
