"""The driver's cost gate, backed by the Cost Decision Service (cost/decision)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from cost.plan import Plan
from dr.driver import GateOutcome
from dr.records import CostFigures


class DecisionServiceGate:
    """Estimate the plan, write the cost artefact, decide against the budget policy, write the
    decision record (and the blocked record) — all through ``cost.decision.service.evaluate``."""

    def __init__(
        self,
        project_dir: Path,
        *,
        artefacts_root: Path,
        stack: str,
        component: str,
        policy_path: Path | None = None,
    ) -> None:
        self.project_dir = project_dir
        self.artefacts_root = artefacts_root
        self.stack = stack
        self.component = component
        self.policy_path = policy_path

    def evaluate(
        self,
        plan: Plan,
        *,
        scenario: str,
        run_id: str,
        drill: bool,
        approved_by: str | None,
        override_reason: str | None,
    ) -> GateOutcome:
        from cost.decision.service import evaluate

        outcome = evaluate(
            plan,
            stack=self.stack,
            scenario=scenario,
            project_dir=self.project_dir,
            run_id=run_id,
            component=self.component,
            artefacts_root=self.artefacts_root,
            policy_path=self.policy_path,
            drill=drill,
            approved_by=approved_by,
            override_reason=override_reason,
        )
        figures = outcome.cost_figures()
        ref = outcome.decision_ref()
        return GateOutcome(
            decision=outcome.decision,
            reason=outcome.reason,
            figures=CostFigures(**figures)
            if figures is not None
            else CostFigures(currency="?", past_monthly="0", planned_monthly="0", diff_monthly="0"),
            record_path=ref["record_path"],
            blocked_path=outcome.display(outcome.blocked_path),
            checks=tuple(c.model_dump(mode="json") for c in outcome.checks),
            approved_by=ref["approved_by"],
            override_reason=ref["override_reason"],
        )

    def planned_monthly(self, plan: Plan) -> Decimal:
        from cost.decision.service import estimate_plan

        return estimate_plan(plan, project_dir=self.project_dir).total_monthly_cost
