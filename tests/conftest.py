"""Shared fixtures: the repository as the Pulumi project, cached offline plans."""

from __future__ import annotations

import shutil
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


@pytest.fixture
def scratch_project(tmp_path: Path) -> Path:
    """The Pulumi project (manifest + stacks) in a temp dir, so `config set` cannot touch the repo."""
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(REPO / "Pulumi.yaml", project / "Pulumi.yaml")
    shutil.copy(REPO / "__main__.py", project / "__main__.py")
    shutil.copytree(REPO / "stacks", project / "stacks")
    return project


@pytest.fixture
def standin(scratch_project: Path):
    """A stand-in pulumi CLI whose cloud-dr stack is deployed in standby."""
    from tests.support.pulumi_standin import StackState, StandInPulumi
    from tests.support.scenarios import cutover_scenario, dr_outputs

    return StandInPulumi(
        scratch_project,
        cutover_scenario,
        stacks={
            "cloud-dr": StackState(
                outputs={"site": "cloud", "drMode": "standby", "trafficTarget": "onprem"}
            )
        },
        outputs_from_config=dr_outputs,
    )
