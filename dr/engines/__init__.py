"""Engines that turn a stack (plus what-if overrides) into a neutral Plan.

``OfflineEngine`` evaluates the program in-process with the SDK's mocks; ``AutomationEngine``
drives the real pulumi CLI through ``pulumi.automation``. Both return :class:`cost.plan.Plan`.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Mapping

    from cost.plan import Plan


@dataclass(frozen=True)
class DrState:
    """The DR state a stack is in, and where that was read."""

    dr_mode: str
    traffic_target: str
    source: str


class Engine(Protocol):
    """What the CLI and the driver need from an engine."""

    name: str
    can_apply: bool

    def plan(self, stack: str, overrides: Mapping[str, Any] | None = None) -> Plan: ...

    def dr_state(self, stack: str) -> DrState: ...


def get_engine(project_dir: Path, *, offline: bool) -> Any:
    """The offline engine, or the automation-API engine when the pulumi CLI is installed."""
    if offline:
        from dr.engines.offline import OfflineEngine

        return OfflineEngine(project_dir)
    from dr.errors import EngineUnavailableError

    if shutil.which("pulumi") is None:
        raise EngineUnavailableError(
            "the pulumi CLI is not installed (https://www.pulumi.com/docs/install/); "
            "install it, or use --offline to plan without it"
        )
    from dr.engines.automation import AutomationEngine

    return AutomationEngine(project_dir)
