"""Shared fixtures: the repository as the Pulumi project, cached offline plans."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def project_dir() -> Path:
    return REPO


@lru_cache(maxsize=32)
def _cached_plan(stack: str, overrides: tuple[tuple[str, str], ...], baseline: str):
    from dr.engines.offline import OfflineEngine
    from dr.stack_config import parse_overrides

    engine = OfflineEngine(REPO)
    return engine.plan(
        stack, parse_overrides([f"{k}={v}" for k, v in overrides]), baseline=baseline
    )  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def offline_plan():
    """``offline_plan("cloud-dr", drMode="active")`` -> Plan (cached per arguments)."""

    def _plan(stack: str, baseline: str = "stack", **overrides: str):
        return _cached_plan(stack, tuple(sorted(overrides.items())), baseline)

    return _plan
