"""Errors of the decision service, in the cost engine's family (the CLI maps ``exit_code``).

Unreadable *cost data* is never an error here: it becomes a ``warn`` with the reason. What raises is
what a human must fix before any decision is meaningful: the policy file, the command line.
"""

from __future__ import annotations

from cost.errors import CostError, CostUsageError


class DecisionError(CostError):
    """The decision service cannot run (exit code 1); the message names the file or key."""


class PolicyError(DecisionError):
    """The budget policy file is missing or invalid; the message names the file and the key."""


class DecisionUsageError(CostUsageError):
    """The request is malformed: bad scenario, run id, component, approval without a reason (exit 2)."""
