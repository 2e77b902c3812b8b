"""Money arithmetic in one place: ``Decimal`` only, one hours-per-month constant, one rounding rule.

Azure and Infracost both use 730 hours per month (365 days x 24 h / 12); see
https://learn.microsoft.com/azure/cost-management-billing/understand/understand-usage ("hours in a
month"). Every conversion between hourly and monthly cost goes through the two functions below.

Rounding: each cost component's hourly and monthly cost is rounded half-even to
:data:`MONEY_QUANTUM` once; every total is the exact sum of rounded components. Totals, diffs and
sums therefore add up to the last digit in every rendering (diff == sum of per-resource diffs).
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

HOURS_PER_MONTH = Decimal(730)
"""Hours in a billing month, as in the Azure pricing calculator and Infracost."""

MONEY_QUANTUM = Decimal("0.000001")
"""Money is kept to 6 decimal places (sub-cent hourly rates such as $0.000205/h stay visible)."""

ZERO = Decimal("0.000000")


def money(value: Decimal) -> Decimal:
    """Round to :data:`MONEY_QUANTUM` (half-even); never returns negative zero."""
    out = value.quantize(MONEY_QUANTUM, rounding=ROUND_HALF_EVEN)
    return out if out else ZERO


def monthly_from_hourly(hourly: Decimal) -> Decimal:
    return hourly * HOURS_PER_MONTH


def hourly_from_monthly(monthly: Decimal) -> Decimal:
    return monthly / HOURS_PER_MONTH


def to_decimal(value: object) -> Decimal:
    """A JSON/YAML number or numeric string as an exact Decimal (floats via their shortest repr)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise TypeError("a boolean is not a number")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str):
        return Decimal(value.strip())
    raise TypeError(f"not a number: {value!r}")


def format_money(value: Decimal, currency: str, places: int = 2) -> str:
    """Human rendering, e.g. ``$1,234.57`` or ``-EUR 3.10``; for tables and PR comments only."""
    q = Decimal(1).scaleb(-places)
    rounded = value.quantize(q, rounding=ROUND_HALF_EVEN)
    sign = "-" if rounded < 0 else ""
    body = f"{abs(rounded):,.{places}f}"
    symbol = {"USD": "$", "EUR": "€", "GBP": "£"}.get(currency)
    return f"{sign}{symbol}{body}" if symbol else f"{sign}{currency} {body}"


def format_diff(value: Decimal, currency: str, places: int = 2) -> str:
    q = Decimal(1).scaleb(-places)
    if value.quantize(q, rounding=ROUND_HALF_EVEN) == 0:
        return format_money(Decimal(0), currency, places)
    text = format_money(value, currency, places)
    return text if text.startswith("-") else "+" + text
