"""Plan -> CostReport: the pricing layer between the mappers (what is billed) and the catalog (at what
price). Pure: no files, no clock unless ``generated_at`` is omitted, no printing.

Per resource: find its mapper (or free rule) in the registry; price its components from the new
inputs (planned) and from the old inputs (past, reusing the planned figures when the inputs are the
same); diff = planned - past. Unknown types are ``unsupported`` and an absent price is
``price-not-found``: both are counted in the summary and carry ``null`` costs, never a silent zero.

Hot path: mapper output is priced through a per-run cache keyed by the (hashable) component
declaration, catalog lookups are cached, and the report models are built without re-validating
data this module constructed itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ValidationError

from cost._trusted import template, trusted
from cost.catalog.model import CatalogInfo, PriceCatalog, PriceEntry
from cost.errors import UsageFileError
from cost.mappers import (
    DEFAULT_REGISTRY,
    Component,
    FreeRule,
    Mapper,
    Registry,
    ResourceContext,
    UnknownInputError,
)
from cost.money import HOURS_PER_MONTH, ZERO, money
from cost.plan import COMPUTED_MARKER, SECRET_MARKER, Plan, PlannedResource
from cost.report import (
    CostComponent,
    CostReport,
    DrAssumptions,
    MissingPrice,
    OneOffCost,
    PriceConflictInfo,
    PriceInfo,
    PriceTierInfo,
    ResourceCost,
    ResourceStatus,
    Summary,
    UsageInfo,
)
from cost.usage import EMPTY_USAGE, LoadedUsage, first_error

UNKNOWN_REGION = "unknown-region"

_MAPPER_NOTES: dict[str, str] = {
    "azure-native:containerservice:ManagedCluster": (
        "AKS creates node OS disks, an outbound Standard Load Balancer and its public IP outside the plan; "
        "they are priced as components of the cluster and its pools (see each component's note)"
    ),
    "azure-native:containerservice:AgentPool": (
        "AKS node pools have no location input: priced in the stack's default region"
    ),
}


def default_region(config: Mapping[str, Any]) -> str | None:
    """The stack's Azure region: ``azure-native:location``, else ``hybridops:cloud.location``."""
    location = config.get("azure-native:location")
    if (
        not isinstance(location, str)
        or not location
        or location in (COMPUTED_MARKER, SECRET_MARKER)
    ):
        cloud = config.get("hybridops:cloud")
        location = cloud.get("location") if isinstance(cloud, Mapping) else None
    if isinstance(location, str) and location and location not in (COMPUTED_MARKER, SECRET_MARKER):
        return location.replace(" ", "").lower()
    return None


class _Side:
    """Priced components of one side (past or planned) of one resource."""

    __slots__ = ("components", "hourly", "missing", "monthly")

    def __init__(self, components: list[CostComponent], missing: list[str]) -> None:
        self.components = components
        self.missing = missing
        hourly = monthly = ZERO
        for c in components:
            if c.hourly_cost is not None:
                hourly += c.hourly_cost
            if c.monthly_cost is not None:
                monthly += c.monthly_cost
        self.hourly = hourly
        self.monthly = monthly


_COMPONENT = template(CostComponent)
_RESOURCE = template(ResourceCost)


def _component(**fields: Any) -> CostComponent:
    # Every value is built here from typed inputs: skip re-validation on the hot path.
    return trusted(CostComponent, {**_COMPONENT, **fields}, in_order=True)


def _resource(**fields: Any) -> ResourceCost:
    return trusted(ResourceCost, {**_RESOURCE, **fields}, in_order=True)


_NO_OLD = "the plan has no old inputs for this step: the cost before the change is unknown"
_NO_NEW = "the plan has no new inputs for this step: the cost after the change is unknown"


def _unpriceable(note: str, key: str) -> _Side:
    """A side that cannot be priced: one ``price-not-found`` component saying why (never a zero)."""
    component = _component(
        name="Unpriceable resource",
        unit="resources",
        quantity=Decimal(1),
        kind="capacity",
        status="price-not-found",
        note=note,
    )
    return _Side([component], [key])


def _plain_number(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


def _compact(value: Decimal, unit: str) -> str:
    for size, suffix in ((Decimal(10**9), "B"), (Decimal(10**6), "M"), (Decimal(10**3), "K")):
        if unit != "GB" and value >= size and value % size == 0:
            return f"{_plain_number(value / size)}{suffix}"
    return _plain_number(value) + (" GB" if unit == "GB" else "")


class _Pricer:
    """Prices component declarations against one catalog, with caches for the hot path."""

    def __init__(self, catalog: PriceCatalog) -> None:
        self.catalog = catalog
        self.used: dict[str, PriceEntry] = {}
        self._entries: dict[str, PriceEntry | None] = {}
        self._priced: dict[Component, tuple[list[CostComponent], str | None]] = {}
        self._amounts: dict[
            tuple[str, Decimal, str], list[tuple[str | None, Decimal, Decimal, Decimal, Decimal]]
        ] = {}

    def entry(self, key: str) -> PriceEntry | None:
        try:
            return self._entries[key]
        except KeyError:
            found = self._entries[key] = self.catalog.lookup(key)
            return found

    def price(self, spec: Component) -> tuple[list[CostComponent], str | None]:
        """The priced component(s) (tiered prices give one per band touched) and a missing key."""
        try:
            return self._priced[spec]
        except KeyError:
            pass
        out = self._priced[spec] = self._price(spec)
        return out

    def amounts(
        self, entry: PriceEntry, quantity: Decimal, unit: str
    ) -> list[tuple[str | None, Decimal, Decimal, Decimal, Decimal]]:
        """``(band label, quantity, unit price, hourly, monthly)`` per tier band, cached per run."""
        key = (entry.key, quantity, unit)
        try:
            return self._amounts[key]
        except KeyError:
            pass
        size = entry.unit_size
        units = quantity / size if size != 1 else quantity
        out = []
        for label, band_units, unit_price in _bands(entry, units, unit):
            amount = unit_price * band_units
            if entry.period == "hour":
                hourly, monthly = money(amount), money(amount * HOURS_PER_MONTH)
            else:
                hourly, monthly = money(amount / HOURS_PER_MONTH), money(amount)
            out.append(
                (label, band_units * size if size != 1 else band_units, unit_price, hourly, monthly)
            )
        self._amounts[key] = out
        return out

    def _price(self, spec: Component) -> tuple[list[CostComponent], str | None]:
        base: dict[str, Any] = {
            "name": spec.name,
            "unit": spec.unit,
            "quantity": spec.quantity,
            "kind": spec.kind,
            "usage_key": spec.usage_key,
        }
        if spec.price_key is None:
            return [
                _component(
                    **base,
                    status="free",
                    hourly_cost=ZERO,
                    monthly_cost=ZERO,
                    note=spec.free_reason,
                )
            ], None
        entry = self.entry(spec.price_key)
        if entry is None:
            if spec.optional:
                return [], None
            return [
                _component(
                    **base,
                    status="price-not-found",
                    price_key=spec.price_key,
                    note=_join(spec.note, "price not in the catalog"),
                )
            ], spec.price_key
        if (spec.kind == "usage") != (entry.period is None):
            return [
                _component(
                    **base,
                    status="price-not-found",
                    price_key=spec.price_key,
                    price_unit=entry.unit_of_measure,
                    note=_join(
                        spec.note,
                        f"catalog unit {entry.unit_of_measure!r} does not fit a {spec.kind} quantity",
                    ),
                )
            ], spec.price_key
        self.used[spec.price_key] = entry
        out: list[CostComponent] = []
        for label, quantity, unit_price, hourly, monthly in self.amounts(
            entry, spec.quantity, spec.unit
        ):
            out.append(
                _component(
                    **{
                        **base,
                        "name": f"{spec.name} ({label})" if label else spec.name,
                        "quantity": quantity,
                    },
                    status="priced",
                    price_key=spec.price_key,
                    unit_price=unit_price,
                    price_unit=entry.unit_of_measure,
                    hourly_cost=hourly,
                    monthly_cost=monthly,
                    note=spec.note,
                )
            )
        return out, None


def _bands(
    entry: PriceEntry, units: Decimal, unit: str
) -> Iterable[tuple[str | None, Decimal, Decimal]]:
    """Split ``units`` over the entry's tiers: ``(label, units in band, price)``."""
    tiers = entry.tiers
    if len(tiers) == 1:
        yield None, units, tiers[0].unit_price
        return
    size = entry.unit_size
    for i, tier in enumerate(tiers):
        upper = tiers[i + 1].start if i + 1 < len(tiers) else None
        if units <= tier.start and i > 0:
            break
        band = (min(units, upper) if upper is not None else units) - tier.start
        band = max(band, Decimal(0))
        lo, hi = tier.start * size, (upper * size if upper is not None else None)
        if hi is None:
            label = f"over {_compact(lo, unit)}"
        elif lo == 0:
            label = f"first {_compact(hi, unit)}"
        else:
            label = f"{_compact(lo, unit)} to {_compact(hi, unit)}"
        yield label, band, tier.unit_price


def _join(*parts: str | None) -> str | None:
    text = "; ".join(p for p in parts if p)
    return text or None


class _UsageResolver:
    def __init__(self, usage: LoadedUsage) -> None:
        self.usage = usage
        self._cache: dict[tuple[str, str, str], BaseModel | None] = {}

    def for_resource(self, mapper: Mapper, r: PlannedResource) -> BaseModel | None:
        model = mapper.usage_model
        if model is None:
            return None
        key = (r.type, r.name, r.urn)
        try:
            return self._cache[key]
        except KeyError:
            pass
        values, where = self.usage.data.for_resource(r.type, r.name, r.urn)
        try:
            parsed: BaseModel | None = model.model_validate(values) if values else None
        except ValidationError as exc:
            raise UsageFileError(
                f"{self.usage.path}: {first_error(exc, prefix=where or '')}"
            ) from None
        self._cache[key] = parsed
        return parsed


def _region(inputs: Mapping[str, Any] | None, fallback: str) -> str:
    location = inputs.get("location") if inputs else None
    if isinstance(location, str) and location and location not in (COMPUTED_MARKER, SECRET_MARKER):
        return "Global" if location.lower() == "global" else location.replace(" ", "").lower()
    return fallback


def estimate(
    plan: Plan,
    catalog: PriceCatalog,
    *,
    usage: LoadedUsage = EMPTY_USAGE,
    registry: Registry = DEFAULT_REGISTRY,
    catalogs: list[CatalogInfo] | None = None,
    generated_at: datetime | None = None,
) -> CostReport:
    """Price every resource of ``plan`` (see the module docstring)."""
    pricer = _Pricer(catalog)
    usages = _UsageResolver(usage)
    region = default_region(plan.config)
    fallback_region = region or UNKNOWN_REGION
    resources: list[ResourceCost] = []
    unsupported_types: dict[str, int] = {}
    missing: dict[str, list[str]] = {}
    mapper_types: set[str] = set()
    unknown_region: set[str] = set()
    counts = {"priced": 0, "free": 0, "unsupported": 0, "price-not-found": 0}
    ops: dict[str, int] = {}
    changed = 0

    def side(mapper: Mapper, r: PlannedResource, inputs: Mapping[str, Any]) -> _Side:
        where = _region(inputs, fallback_region)
        if where == UNKNOWN_REGION:
            unknown_region.add(r.type)
        ctx = ResourceContext(
            type=r.type,
            name=r.name,
            urn=r.urn,
            inputs=inputs,
            region=where,
            usage=usages.for_resource(mapper, r),
        )
        try:
            specs = mapper.components(ctx)
        except UnknownInputError as exc:
            return _unpriceable(str(exc), f"input:{exc.path}")
        components: list[CostComponent] = []
        lost: list[str] = []
        for spec in specs:
            priced, missing_key = pricer.price(spec)
            components += priced
            if missing_key is not None:
                lost.append(missing_key)
        return _Side(components, lost)

    for r in plan.resources:
        ops[r.op] = ops.get(r.op, 0) + 1
        rule = registry.resolve(r.type)
        if rule is None:
            counts["unsupported"] += 1
            unsupported_types[r.type] = unsupported_types.get(r.type, 0) + 1
            resources.append(
                _resource(
                    urn=r.urn,
                    name=r.name,
                    type=r.type,
                    op=r.op,
                    status="unsupported",
                    reason="no cost mapper for this type: not in the totals",
                    past_components=None,
                    components=None,
                    past_hourly_cost=None,
                    hourly_cost=None,
                    diff_hourly_cost=None,
                    past_monthly_cost=None,
                    monthly_cost=None,
                    diff_monthly_cost=None,
                )
            )
            continue
        if isinstance(rule, FreeRule):
            counts["free"] += 1
            resources.append(
                _resource(
                    urn=r.urn,
                    name=r.name,
                    type=r.type,
                    op=r.op,
                    status="free",
                    reason=rule.reason,
                    past_components=None if r.op == "create" else [],
                    components=None if r.op == "delete" else [],
                    past_hourly_cost=ZERO,
                    hourly_cost=ZERO,
                    diff_hourly_cost=ZERO,
                    past_monthly_cost=ZERO,
                    monthly_cost=ZERO,
                    diff_monthly_cost=ZERO,
                )
            )
            continue
        mapper_types.add(r.type)
        new = r.new_inputs
        old = r.old_inputs
        planned: _Side | None = None
        if r.op != "delete":
            planned = (
                side(rule, r, new) if new is not None else _unpriceable(_NO_NEW, "input:new_inputs")
            )
        past: _Side | None = None
        if r.op == "create":
            pass
        elif planned is not None and (old is new or old == new or (old is None and r.op == "same")):
            past = planned
        elif old is None:
            past = _unpriceable(_NO_OLD, "input:old_inputs")
        else:
            past = side(rule, r, old)
        lost = (planned.missing if planned else []) + (
            past.missing if past is not None and past is not planned else []
        )
        for key in lost:
            names = missing.setdefault(key, [])
            if r.name not in names:
                names.append(r.name)
        comps = (planned.components if planned else []) + (past.components if past else [])
        status: ResourceStatus
        if lost:
            status = "price-not-found"
        elif comps and all(c.status == "free" for c in comps):
            status = "free"
        else:
            status = "priced"
        counts[status] += 1
        p_hourly, p_monthly = (planned.hourly, planned.monthly) if planned else (ZERO, ZERO)
        b_hourly, b_monthly = (past.hourly, past.monthly) if past else (ZERO, ZERO)
        diff_monthly = p_monthly - b_monthly
        if diff_monthly:
            changed += 1
        resources.append(
            _resource(
                urn=r.urn,
                name=r.name,
                type=r.type,
                op=r.op,
                status=status,
                reason=None,
                past_components=past.components if past else None,
                components=planned.components if planned else None,
                past_hourly_cost=b_hourly,
                hourly_cost=p_hourly,
                diff_hourly_cost=p_hourly - b_hourly,
                past_monthly_cost=b_monthly,
                monthly_cost=p_monthly,
                diff_monthly_cost=diff_monthly,
            )
        )

    return _assemble(
        plan=plan,
        catalog=catalog,
        catalogs=catalogs,
        pricer=pricer,
        usage=usage,
        region=region,
        resources=resources,
        counts=counts,
        ops=ops,
        changed=changed,
        unsupported_types=unsupported_types,
        missing=missing,
        mapper_types=mapper_types,
        unknown_region=unknown_region,
        generated_at=generated_at,
    )


def _assemble(
    *,
    plan: Plan,
    catalog: PriceCatalog,
    catalogs: list[CatalogInfo] | None,
    pricer: _Pricer,
    usage: LoadedUsage,
    region: str | None,
    resources: list[ResourceCost],
    counts: dict[str, int],
    ops: dict[str, int],
    changed: int,
    unsupported_types: dict[str, int],
    missing: dict[str, list[str]],
    mapper_types: set[str],
    unknown_region: set[str],
    generated_at: datetime | None,
) -> CostReport:
    total_h = past_h = total_m = past_m = ZERO
    for rc in resources:
        if rc.monthly_cost is not None:
            total_h += rc.hourly_cost or ZERO
            total_m += rc.monthly_cost
        if rc.past_monthly_cost is not None:
            past_h += rc.past_hourly_cost or ZERO
            past_m += rc.past_monthly_cost
    summary = Summary(
        resources=len(resources),
        priced=counts["priced"],
        free=counts["free"],
        unsupported=counts["unsupported"],
        price_not_found=counts["price-not-found"],
        changed=changed,
        ops=dict(sorted(ops.items())),
        unsupported_types=dict(sorted(unsupported_types.items())),
        missing_prices=[
            MissingPrice(
                price_key=key,
                resources=sorted(names),
                reason="an input the price depends on is unknown or malformed (see the component note)"
                if key.startswith("input:")
                else "no such price in the catalog",
            )
            for key, names in sorted(missing.items())
        ],
    )
    infos = catalogs if catalogs is not None else [catalog.info]
    notes = _notes(plan, pricer, usage, unknown_region, mapper_types)
    return CostReport(
        project=plan.project,
        stack=plan.stack,
        source=plan.source,
        offline=plan.offline,
        generated_at=generated_at or datetime.now(UTC),
        currency=infos[0].currency,
        region=region,
        hours_per_month=int(HOURS_PER_MONTH),
        total_hourly_cost=total_h,
        past_total_hourly_cost=past_h,
        diff_total_hourly_cost=total_h - past_h,
        total_monthly_cost=total_m,
        past_total_monthly_cost=past_m,
        diff_total_monthly_cost=total_m - past_m,
        summary=summary,
        resources=resources,
        prices={key: price_info(key, entry, infos) for key, entry in sorted(pricer.used.items())},
        catalogs=infos,
        usage=usage_info(usage, pricer),
        baseline="plan",
        overrides=dict(plan.overrides),
        notes=notes,
    )


def price_info(key: str, entry: PriceEntry, infos: list[CatalogInfo]) -> PriceInfo:
    catalog = infos[0].name
    if key.startswith("onprem/") and len(infos) > 1:
        catalog = infos[-1].name
    return PriceInfo(
        price_key=key,
        catalog=catalog,
        unit_of_measure=entry.unit_of_measure,
        tiers=[
            PriceTierInfo(
                start=t.start,
                unit_price=t.unit_price,
                source=t.provenance.source,
                source_date=t.provenance.source_date,
                evidence=t.provenance.evidence,
                confidence=t.provenance.confidence,
                meter_id=t.provenance.meter_id,
                derived=t.provenance.derived,
                region=t.provenance.region,
            )
            for t in entry.tiers
        ],
        conflicts=[
            PriceConflictInfo(
                unit_price=c.unit_price,
                tier_start=c.tier_start,
                source=c.provenance.source,
                evidence=c.provenance.evidence,
                confidence=c.provenance.confidence,
            )
            for c in entry.conflicts
        ],
    )


def usage_info(usage: LoadedUsage, pricer: _Pricer) -> UsageInfo:
    data = usage.data
    dr: DrAssumptions | None = None
    if data.dr is not None:
        items: list[OneOffCost] = []
        total = ZERO
        not_found = 0
        for spec in data.dr.one_off_costs:
            if spec.amount is not None:
                amount: Decimal | None = money(spec.amount)
                items.append(OneOffCost(name=spec.name, amount=amount, note=spec.note))
            else:
                assert spec.price_key is not None and spec.quantity is not None
                entry = pricer.entry(spec.price_key)
                if entry is None:
                    not_found += 1
                    items.append(
                        OneOffCost(
                            name=spec.name,
                            amount=None,
                            price_key=spec.price_key,
                            quantity=spec.quantity,
                            note=_join(spec.note, "price not in the catalog"),
                        )
                    )
                    continue
                pricer.used[spec.price_key] = entry
                units = spec.quantity / entry.unit_size
                amount = money(sum((p * u for _, u, p in _bands(entry, units, "")), ZERO))
                items.append(
                    OneOffCost(
                        name=spec.name,
                        amount=amount,
                        price_key=spec.price_key,
                        quantity=spec.quantity,
                        unit_price=entry.unit_price if not entry.tiered else None,
                        note=_join(
                            spec.note,
                            "tiered price applied from the first band" if entry.tiered else None,
                        ),
                    )
                )
            total += amount or ZERO
        dr = DrAssumptions(
            expected_hours_per_event=data.dr.expected_hours_per_event,
            events_per_year=data.dr.events_per_year,
            one_off_costs=items,
            one_off_total=total,
            one_off_price_not_found=not_found,
        )
    return UsageInfo(
        path=usage.path,
        sha256=usage.sha256,
        resource_type_default_usage=_jsonable(data.resource_type_default_usage),
        resource_usage=_jsonable(data.resource_usage),
        dr=dr,
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, float):
        return str(Decimal(repr(value)))
    return value


def _notes(
    plan: Plan,
    pricer: _Pricer,
    usage: LoadedUsage,
    unknown_region: set[str],
    mapper_types: set[str],
) -> list[str]:
    notes: list[str] = []
    if plan.offline:
        notes.append("offline plan: evaluated with the Pulumi SDK's mocks, not read from state")
    notes += [f"plan: {n}" for n in plan.notes]
    azure_unplaced = sorted(t for t in unknown_region if t.startswith("azure-native:"))
    if azure_unplaced:
        notes.append(
            "no Azure region for "
            + ", ".join(azure_unplaced)
            + " (no location input and no azure-native:location in the stack config): their prices are not found"
        )
    for type_token in sorted(mapper_types):
        if type_token in _MAPPER_NOTES:
            notes.append(_MAPPER_NOTES[type_token])
    if usage.path is None:
        notes.append(
            f"no usage file for stack {plan.stack!r} (stacks/usage/{plan.stack}.yaml): usage-based components assume 0"
        )
    else:
        known = {r.name for r in plan.resources} | {r.urn for r in plan.resources}
        for name in sorted(set(usage.data.resource_usage) - known):
            notes.append(
                f"usage file {usage.path}: resource_usage.{name} matches no resource in the plan (ignored)"
            )
    for key, entry in sorted(pricer.used.items()):
        for conflict in entry.conflicts:
            notes.append(
                f"price conflict for {key}: using {entry.unit_price} per {entry.unit_of_measure} "
                f"({entry.provenance.evidence}, {entry.provenance.source_date}); another source gives "
                f"{conflict.unit_price} ({conflict.provenance.evidence}): the better evidence wins"
            )
        if any(t.provenance.confidence == "low" for t in entry.tiers):
            notes.append(
                f"low-confidence price used for {key}: verify against the Retail Prices API"
            )
        borrowed = sorted({t.provenance.region for t in entry.tiers if t.provenance.region})
        if borrowed and key.split("/")[1] != "Global":
            notes.append(
                f"{key}: some tiers were read in {', '.join(borrowed)} for the same meterId "
                "(one zone meter serves these regions)"
            )
    return notes
