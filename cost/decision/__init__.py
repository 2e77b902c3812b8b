"""The cost decision service: budget policy, ledger, the pure ``decide()``, records, the service call.

The driver and ``hybridops cost decide`` call :func:`evaluate`; everything else is for tests and tools.
"""

from __future__ import annotations

from cost.decision.decide import CHECK_IDS, decide
from cost.decision.model import (
    Check,
    Decision,
    DecisionContext,
    EstimateFacts,
    EstimateUnavailable,
    Figures,
    Ledger,
    Override,
    Verdict,
)
from cost.decision.policy import SCENARIOS, BudgetPolicy, Scenario, load_policy
from cost.decision.service import DecisionOutcome, estimate_plan, evaluate

__all__ = [
    "CHECK_IDS",
    "SCENARIOS",
    "BudgetPolicy",
    "Check",
    "Decision",
    "DecisionContext",
    "DecisionOutcome",
    "EstimateFacts",
    "EstimateUnavailable",
    "Figures",
    "Ledger",
    "Override",
    "Scenario",
    "Verdict",
    "decide",
    "estimate_plan",
    "evaluate",
    "load_policy",
]
