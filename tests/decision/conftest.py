"""Fixtures of the decision tests: reference reports (estimated once per session), scratch roots."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REPO


@pytest.fixture(scope="session")
def catalog():
    from cost.sources import load_catalogs

    return load_catalogs(REPO)


@pytest.fixture(scope="session")
def report(offline_plan, catalog):
    """``report("cutover")`` -> the CostReport of the reference what-if (cached)."""
    from cost.estimator import estimate
    from cost.usage import load_stack_usage
    from tests.decision.helpers import NOW

    cache = {}
    whatifs = {
        "cutover": ("cloud-dr", {"drMode": "active", "trafficTarget": "cloud"}),
        "standby": ("cloud-dr", {}),
        "onprem": ("onprem-prod", {}),
    }

    def _report(name: str):
        if name not in cache:
            stack, overrides = whatifs[name]
            plan = offline_plan(stack, **overrides)
            cache[name] = estimate(
                plan,
                catalog,
                usage=load_stack_usage(REPO, stack),
                catalogs=catalog.infos,
                generated_at=NOW,
            )
        return cache[name]

    return _report


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """An empty artefacts root (``output/artifacts/cost`` of a scratch run)."""
    path = tmp_path / "artifacts" / "cost"
    path.mkdir(parents=True)
    return path


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    """No policy or notification settings leak in from the environment running the tests."""
    for name in ("HYBRIDOPS_BUDGET_POLICY", "HYBRIDOPS_NOTIFY_CONFIG", "HYBRIDOPS_NOTIFY_WEBHOOK_URL",
                 "HYBRIDOPS_NOTIFY_WEBHOOK_URL_FILE", "HYBRIDOPS_SMTP_HOST", "HYBRIDOPS_PRICE_CATALOG",
                 "SOURCE_DATE_EPOCH"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
