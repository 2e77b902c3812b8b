"""The estimator's no-revalidation constructor gives exactly what pydantic validation gives."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import BaseModel, Field

from cost._trusted import check_trustable, trusted
from cost.report import CostComponent, ResourceCost


def test_trusted_equals_validated_models():
    values = {
        "note": "n",
        "name": "Compute (x)",
        "unit": "nodes",
        "quantity": Decimal(2),
        "kind": "capacity",
        "status": "priced",
        "price_key": "vm/eastus/x",
        "unit_price": Decimal("0.1"),
        "price_unit": "1 Hour",
        "hourly_cost": Decimal("0.200000"),
        "monthly_cost": Decimal("146.000000"),
        "usage_key": None,
    }
    fast = trusted(CostComponent, dict(values))
    slow = CostComponent(**values)
    assert fast == slow
    assert fast.model_dump_json() == slow.model_dump_json()  # field order follows the model
    assert fast.model_fields_set == slow.model_fields_set | {"usage_key"}
    rc = {name: None for name in ResourceCost.model_fields}
    rc.update(urn="u", name="n", type="t", op="same", status="unsupported", components=[fast])
    assert trusted(ResourceCost, rc) == ResourceCost(**rc)


def test_models_the_shortcut_cannot_build_are_refused():
    class Aliased(BaseModel):
        x: int = Field(alias="y")

    with pytest.raises(TypeError, match="aliased"):
        check_trustable(Aliased)
    with pytest.raises(KeyError):
        trusted(CostComponent, {"name": "missing the rest"})
