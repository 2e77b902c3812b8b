"""Helpers shared by the human renderers (ordering, short type names, percentages)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_EVEN, Decimal

from cost.money import format_diff, format_money
from cost.report import CostReport, ResourceCost


def short_type(type_token: str) -> str:
    """``azure-native:containerservice:AgentPool`` -> ``containerservice:AgentPool``."""
    provider, _, rest = type_token.partition(":")
    if provider == "proxmoxve":
        return "proxmox:" + rest.split(":")[-1]
    return rest or type_token


def ordered(report: CostReport) -> list[ResourceCost]:
    """Resources worth a row, changed ones first (largest change first), then by cost; free ones
    are summarised, not listed."""
    rows = [r for r in report.resources if r.status != "free"]

    def key(r: ResourceCost) -> tuple[int, Decimal, Decimal, str]:
        diff = abs(r.diff_monthly_cost) if r.diff_monthly_cost is not None else Decimal(0)
        monthly = r.monthly_cost if r.monthly_cost is not None else Decimal(0)
        return (0 if diff else 1, -diff, -monthly, r.name)

    return sorted(rows, key=key)


def percent(diff: Decimal, past: Decimal) -> str | None:
    if not past:
        return None
    pct = (diff / past * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_EVEN)
    return f"{'+' if pct > 0 else ''}{pct}%"


def money_text(currency: str) -> Callable[[Decimal | None], str]:
    """``$1,234.57``, or ``n/a`` for an unknown (``null``) amount."""

    def render(value: Decimal | None) -> str:
        return format_money(value, currency) if value is not None else "n/a"

    return render


def diff_text(currency: str) -> Callable[[Decimal | None], str]:
    """``+$12.00`` / ``-$3.10``, or ``n/a``."""

    def render(value: Decimal | None) -> str:
        return format_diff(value, currency) if value is not None else "n/a"

    return render
