"""Fixtures of the cost engine tests: the shipped catalogs, recorded reference plans, goldens.

Goldens (``tests/cost/golden/``) and the recorded plans they are made from
(``tests/cost/fixtures/plans/``) are regenerated with::

    HYBRIDOPS_UPDATE_GOLDENS=1 pytest tests/cost/test_golden.py

Review the diff before committing: a golden change is a change in what users are told things cost.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cost.catalog import ChainCatalog, LocalCatalog
from cost.onprem import OnPremCatalog
from cost.plan import Plan
from cost.usage import load_usage

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
PLANS = HERE / "fixtures" / "plans"
GOLDEN = HERE / "golden"
UPDATE_GOLDENS = os.environ.get("HYBRIDOPS_UPDATE_GOLDENS") == "1"
REGENERATE = "HYBRIDOPS_UPDATE_GOLDENS=1 pytest tests/cost/test_golden.py"
FIXED_NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)

REFERENCE = {
    # recorded plan name -> (stack, what-if overrides)
    "cloud-dr-standby": ("cloud-dr", {}),
    "cloud-dr-active": ("cloud-dr", {"drMode": "active", "trafficTarget": "cloud"}),
    "onprem-prod": ("onprem-prod", {}),
}


@pytest.fixture(scope="session")
def azure_catalog() -> LocalCatalog:
    return LocalCatalog.load()


@pytest.fixture(scope="session")
def onprem_catalog() -> OnPremCatalog:
    return OnPremCatalog.load(
        REPO / "stacks/onprem-cost-model.yaml", display="stacks/onprem-cost-model.yaml"
    )


@pytest.fixture(scope="session")
def catalogs(azure_catalog: LocalCatalog, onprem_catalog: OnPremCatalog) -> ChainCatalog:
    return ChainCatalog(azure_catalog, onprem_catalog)


@pytest.fixture(scope="session")
def stack_usage():
    def _usage(stack: str):
        return load_usage(
            REPO / "stacks/usage" / f"{stack}.yaml", display=f"stacks/usage/{stack}.yaml"
        )

    return _usage


@pytest.fixture(scope="session")
def recorded_plan():
    """``recorded_plan("cloud-dr-active")`` -> the Plan recorded in tests/cost/fixtures/plans."""

    def _plan(name: str) -> Plan:
        return Plan.model_validate_json((PLANS / f"{name}.json").read_text(encoding="utf-8"))

    return _plan
