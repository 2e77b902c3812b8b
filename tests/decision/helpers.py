"""Builders for decision tests: facts, policies, ledgers and contexts with the reference figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from cost.decision.model import DecisionContext, EstimateFacts, Ledger
from cost.decision.policy import BudgetPolicy

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)

# The reference cutover of cloud-dr (offline estimate, shipped catalog): standby -> active.
STANDBY_HOURLY = Decimal("0.870973")
ACTIVE_HOURLY = Decimal("1.528466")
STANDBY_MONTHLY = Decimal("635.810000")
ACTIVE_MONTHLY = Decimal("1115.780000")
ONE_OFF = Decimal("4.350000")
EVENT_COST = Decimal("35.909664")  # (1.528466 - 0.870973) x 48 + 4.35


def facts(**over: Any) -> EstimateFacts:
    """Facts of the reference cutover estimate; override any field."""
    data: dict[str, Any] = {
        "source": "plan",
        "origin": "estimated from the plan",
        "artefact_path": "output/artifacts/cost/cloud-dr/cost-run-r1.json",
        "artefact_run_id": "r1",
        "purpose": "dr-cutover",
        "stack": "cloud-dr",
        "currency": "USD",
        "created_at": NOW,
        "offline": True,
        "past_hourly": STANDBY_HOURLY,
        "planned_hourly": ACTIVE_HOURLY,
        "diff_hourly": ACTIVE_HOURLY - STANDBY_HOURLY,
        "past_monthly": STANDBY_MONTHLY,
        "planned_monthly": ACTIVE_MONTHLY,
        "diff_monthly": ACTIVE_MONTHLY - STANDBY_MONTHLY,
        "resources": 24,
        "unsupported": 0,
        "price_not_found": 0,
        "usage_path": "stacks/usage/cloud-dr.yaml",
        "expected_hours": Decimal(48),
        "one_off_total": ONE_OFF,
    }
    data.update(over)
    return EstimateFacts(**data)


def failback_facts(**over: Any) -> EstimateFacts:
    """The reference failback: active -> standby."""
    base = {
        "purpose": "dr-failback",
        "past_hourly": ACTIVE_HOURLY,
        "planned_hourly": STANDBY_HOURLY,
        "diff_hourly": STANDBY_HOURLY - ACTIVE_HOURLY,
        "past_monthly": ACTIVE_MONTHLY,
        "planned_monthly": STANDBY_MONTHLY,
        "diff_monthly": STANDBY_MONTHLY - ACTIVE_MONTHLY,
    }
    base.update(over)
    return facts(**base)


def entry(**over: Any) -> dict[str, Any]:
    """A budget entry as YAML would give it (the shipped cloud-dr limits)."""
    data: dict[str, Any] = {
        "monthly_budget": 1000,
        "warn_ratio": 0.8,
        "max_artefact_age_hours": 24,
        "change": {"max_monthly_increase": 150, "max_monthly_increase_pct": 25},
        "dr": {"max_event_cost": 150, "monthly_dr_budget": 300, "expected_event_hours": None},
        "break_glass": {
            "allowed": True,
            "scenarios": ["cutover", "failback", "burst"],
            "severities": [],
        },
    }
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return data


def policy(budgets: dict[str, Any] | None = None, **over: Any) -> BudgetPolicy:
    """A policy with one entry for cloud-dr (``over`` changes that entry)."""
    doc = {
        "version": 1,
        "currency": "USD",
        "budgets": budgets if budgets is not None else {"cloud-dr": entry(**over)},
    }
    return BudgetPolicy.model_validate(doc)


def ledger(spend: str | Decimal = "0", **over: Any) -> Ledger:
    return Ledger(month="2026-11", dr_spend=Decimal(spend), **over)


def ctx(scenario: str = "cutover", **over: Any) -> DecisionContext:
    data: dict[str, Any] = {
        "stack": "cloud-dr",
        "component": "cloud-dr",
        "scenario": scenario,
        "now": NOW,
    }
    data.update(over)
    return DecisionContext(**data)


def hours(h: float) -> timedelta:
    return timedelta(hours=h)
