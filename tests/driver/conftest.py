"""Fixtures for the driver: a scratch copy of the project and a stand-in pulumi CLI."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.support.pulumi_standin import StackState, StandInPulumi, load_events


@pytest.fixture
def scratch_project(tmp_path: Path) -> Path:
    """The Pulumi project (manifest + stacks) in a temp dir, so `config set` cannot touch the repo."""
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(REPO / "Pulumi.yaml", project / "Pulumi.yaml")
    shutil.copy(REPO / "__main__.py", project / "__main__.py")
    shutil.copytree(REPO / "stacks", project / "stacks")
    return project


def dr_outputs(config: dict[str, Any]) -> dict[str, Any]:
    """What the program exports after an up, from the stack config it ran with."""
    return {
        "site": "cloud",
        "drMode": str(config.get("hybridops:drMode", "standby")),
        "trafficTarget": str(config.get("hybridops:trafficTarget", "onprem")),
    }


def cutover_scenario(op: str, config: dict[str, Any], state: StackState) -> tuple[list[dict[str, Any]], int, str]:
    """Replays the recorded cutover events when config asks for active and the stack is standby."""
    wants_active = config.get("hybridops:drMode") == "active"
    is_active = state.outputs.get("drMode") == "active"
    if op == "preview":
        return load_events("preview-cutover.jsonl" if wants_active and not is_active else "preview-noop.jsonl"), 0, ""
    if op == "up":
        return load_events("up-cutover.jsonl" if wants_active and not is_active else "preview-noop.jsonl"), 0, ""
    return load_events("preview-noop.jsonl"), 0, ""


@pytest.fixture
def standin(scratch_project: Path) -> StandInPulumi:
    return StandInPulumi(
        scratch_project,
        cutover_scenario,
        stacks={"cloud-dr": StackState(outputs={"site": "cloud", "drMode": "standby", "trafficTarget": "onprem"})},
        outputs_from_config=dr_outputs,
    )
