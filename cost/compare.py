"""``--compare-to ARTEFACT``: re-base a report's *past* on an earlier cost artefact.

Past, per resource (by URN), becomes what the artefact estimated for it (its planned side). A
resource only in the artefact appears as a ``delete`` (it existed then, not now); a resource not in
the artefact has a past of zero. Totals and the summary are recomputed, so the diff is still the
exact sum of the per-resource diffs. Pure: no files.
"""

from __future__ import annotations

from decimal import Decimal

from cost.artefact import CostArtefact
from cost.errors import CostError
from cost.money import ZERO
from cost.report import CostReport, MissingPrice, ResourceCost, Summary


def compare_to(report: CostReport, artefact: CostArtefact) -> CostReport:
    if artefact.currency != report.currency:
        raise CostError(
            f"--compare-to: artefact {artefact.run_id} is in {artefact.currency}, the estimate in {report.currency}"
        )
    before = {r.urn: r for r in artefact.breakdown}
    rows: list[ResourceCost] = []
    for r in report.resources:
        old = before.pop(r.urn, None)
        rows.append(_rebase(r, old))
    for old in before.values():
        rows.append(
            old.model_copy(
                update={
                    "op": "delete",
                    "past_components": old.components,
                    "components": None,
                    "past_hourly_cost": old.hourly_cost,
                    "past_monthly_cost": old.monthly_cost,
                    "hourly_cost": ZERO if old.hourly_cost is not None else None,
                    "monthly_cost": ZERO if old.monthly_cost is not None else None,
                    "diff_hourly_cost": -old.hourly_cost if old.hourly_cost is not None else None,
                    "diff_monthly_cost": -old.monthly_cost
                    if old.monthly_cost is not None
                    else None,
                }
            )
        )
    total_h = past_h = total_m = past_m = ZERO
    for row in rows:
        if row.monthly_cost is not None:
            total_h += row.hourly_cost or ZERO
            total_m += row.monthly_cost
        if row.past_monthly_cost is not None:
            past_h += row.past_hourly_cost or ZERO
            past_m += row.past_monthly_cost
    missing = {m.price_key: m for m in artefact.summary.missing_prices}
    missing.update({m.price_key: m for m in report.summary.missing_prices})
    return report.model_copy(
        update={
            "resources": rows,
            "total_hourly_cost": total_h,
            "past_total_hourly_cost": past_h,
            "diff_total_hourly_cost": total_h - past_h,
            "total_monthly_cost": total_m,
            "past_total_monthly_cost": past_m,
            "diff_total_monthly_cost": total_m - past_m,
            "summary": summarize(rows, list(missing.values())),
            "prices": {**artefact.prices, **report.prices},
            "baseline": f"artefact {artefact.run_id}",
            "notes": [
                *report.notes,
                f"past costs are those of cost artefact {artefact.run_id} "
                f"({artefact.purpose}, {artefact.created_at.isoformat()}, stack {artefact.stack})",
            ],
        }
    )


def _rebase(r: ResourceCost, old: ResourceCost | None) -> ResourceCost:
    if old is None:
        past_h: Decimal | None = ZERO
        past_m: Decimal | None = ZERO
        past_components = None
    else:
        past_h, past_m, past_components = old.hourly_cost, old.monthly_cost, old.components
    diff_h = r.hourly_cost - past_h if r.hourly_cost is not None and past_h is not None else None
    diff_m = r.monthly_cost - past_m if r.monthly_cost is not None and past_m is not None else None
    return r.model_copy(
        update={
            "past_components": past_components,
            "past_hourly_cost": past_h,
            "past_monthly_cost": past_m,
            "diff_hourly_cost": diff_h,
            "diff_monthly_cost": diff_m,
        }
    )


def summarize(rows: list[ResourceCost], missing: list[MissingPrice]) -> Summary:
    counts = {"priced": 0, "free": 0, "unsupported": 0, "price-not-found": 0}
    ops: dict[str, int] = {}
    unsupported: dict[str, int] = {}
    changed = 0
    for r in rows:
        counts[r.status] += 1
        ops[r.op] = ops.get(r.op, 0) + 1
        if r.status == "unsupported":
            unsupported[r.type] = unsupported.get(r.type, 0) + 1
        if r.diff_monthly_cost:
            changed += 1
    return Summary(
        resources=len(rows),
        priced=counts["priced"],
        free=counts["free"],
        unsupported=counts["unsupported"],
        price_not_found=counts["price-not-found"],
        changed=changed,
        ops=dict(sorted(ops.items())),
        unsupported_types=dict(sorted(unsupported.items())),
        missing_prices=sorted(missing, key=lambda m: m.price_key),
    )
