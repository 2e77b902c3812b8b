"""The vocabulary of recovery plans."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from dr.recovery.context import RunContext

StepKind = Literal["config-transition", "database", "health-check", "approval", "notify"]

Outcome = Literal[
    "succeeded",  # the action ran and its verification passed
    "noop",  # the precondition found the work already done (idempotency)
    "simulated",  # --simulate: what would have been done, nothing changed
    "skipped",  # not applicable here (e.g. no database configured), with the reason
    "failed",  # the action or its verification failed
    "stopped",  # a gate stopped the run on purpose (warn without approval, block)
    "cancelled",  # interrupted (Ctrl-C / SIGTERM)
]

DONE_OUTCOMES: frozenset[str] = frozenset({"succeeded", "noop", "simulated", "skipped"})
"""Outcomes after which a resumed run does not repeat the step."""


@dataclass
class StepResult:
    outcome: Outcome
    detail: str
    data: dict[str, Any] = field(default_factory=dict)


class StepStop(Exception):
    """Raised by an action to stop the run on purpose (a gate): exit code and reason recorded."""

    def __init__(self, reason: str, exit_code: int, data: dict[str, Any] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.exit_code = exit_code
        self.data = data or {}


Check = Callable[["RunContext"], str | None]
"""Precondition: returns a reason when the step's work is already done (-> noop), else None."""

Action = Callable[["RunContext"], StepResult]
Verify = Callable[["RunContext", StepResult], str | None]
"""Verification: returns a failure reason, or None when the result is what the step promised."""


@dataclass(frozen=True)
class Step:
    id: str
    name: str
    kind: StepKind
    action: Action
    timeout_s: float
    precondition: Check | None = None
    verification: Verify | None = None
    mutating: bool = True
    """Whether the action changes anything (simulate mode never runs mutating actions)."""
    live: bool = False
    """Whether the action contacts live systems (probes): simulate mode does not run it either."""
    describe: str = ""
    """What the step does, for records and --simulate output."""


@dataclass(frozen=True)
class RecoveryPlan:
    name: Literal["cutover", "failback"]
    steps: tuple[Step, ...]

    def ids(self) -> list[str]:
        return [s.id for s in self.steps]
