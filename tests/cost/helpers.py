"""Small builders for cost tests: one-resource plans and their estimates."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from cost.estimator import estimate
from cost.plan import Plan, PlannedResource
from cost.report import CostReport, ResourceCost
from cost.usage import LoadedUsage, UsageFile
from tests.cost.conftest import FIXED_NOW

EASTUS = {"azure-native:location": "eastus"}


def resource(
    type_: str,
    name: str,
    inputs: dict[str, Any] | None,
    *,
    op: str = "create",
    old: dict[str, Any] | None = None,
) -> PlannedResource:
    return PlannedResource(
        urn=f"urn:pulumi:test::hybridops-dr::{type_}::{name}",
        type=type_,
        name=name,
        op=op,  # type: ignore[arg-type]
        old_inputs=old if op != "create" else None,
        new_inputs=inputs if op != "delete" else None,
        provider=type_.split(":", 1)[0],
    )


def usage(resource_usage: dict[str, Any] | None = None, **extra: Any) -> LoadedUsage:
    return LoadedUsage(
        path="test-usage.yaml",
        data=UsageFile(version=1, resource_usage=resource_usage or {}, **extra),
    )


def plan_of(*resources: PlannedResource, config: dict[str, Any] | None = None) -> Plan:
    return Plan(
        stack="test",
        source="offline-plan",
        offline=True,
        config=EASTUS if config is None else config,
        resources=list(resources),
    )


def report(
    catalogs, *resources: PlannedResource, usage_: LoadedUsage | None = None, config=None
) -> CostReport:
    kwargs = {"usage": usage_} if usage_ is not None else {}
    return estimate(plan_of(*resources, config=config), catalogs, generated_at=FIXED_NOW, **kwargs)


def one(
    catalogs,
    type_: str,
    inputs: dict[str, Any],
    *,
    usage_: dict[str, Any] | None = None,
    config=None,
) -> ResourceCost:
    r = resource(type_, "r1", inputs)
    rep = report(catalogs, r, usage_=usage({"r1": usage_}) if usage_ else None, config=config)
    return rep.resources[0]


def comp(rc: ResourceCost, name: str):
    found = [c for c in rc.components or [] if c.name == name]
    assert found, f"no component {name!r} in {[c.name for c in rc.components or []]}"
    return found[0]


def D(text: str) -> Decimal:
    return Decimal(text)
