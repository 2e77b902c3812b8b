"""Everything a step needs, passed explicitly: no globals, easy to fake in tests."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from dr.records import RunRecord
from dr.recovery.model import Step


@dataclass
class RunContext:
    run_id: str
    stack: str
    operation: str
    simulate: bool
    force: bool
    record: RunRecord
    services: Any
    """The driver's adapters (engine, cost gate, database, health, notifier): see dr.driver.Services."""
    approved_by: str | None = None
    approval_reason: str | None = None
    state: dict[str, Any] = field(default_factory=dict)
    """Data handed from step to step (journaled, so a resumed run gets it back)."""
    _deadline: float = 0.0

    def begin_step(self, step: Step) -> None:
        self._deadline = time.monotonic() + step.timeout_s

    def remaining(self, minimum: float = 0.5) -> float:
        """Seconds left before the current step's timeout (never below ``minimum``)."""
        return max(minimum, self._deadline - time.monotonic())

    def restore(self, data: dict[str, Any]) -> None:
        """Take back what a step journaled in an earlier attempt of this run."""
        from dr.records import CostFigures, DecisionRef

        self.state.update(data)
        if isinstance(data.get("decision_ref"), dict):
            self.record.decision = DecisionRef.model_validate(data["decision_ref"])
        if isinstance(data.get("cost_figures"), dict):
            self.record.cost = CostFigures.model_validate(data["cost_figures"])

    def warn(self, message: str) -> None:
        if message not in self.record.warnings:
            self.record.warnings.append(message)
