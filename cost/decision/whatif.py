"""The DR what-if of a scenario: which stack config a transition sets, and how to price a transition
whose *source* state is not the committed stack file.

The offline engine diffs ``stack file + overrides`` against the stack file. That prices a cutover
when the file says standby (the usual case), but a failback priced that way is "standby -> standby"
(nothing). When the file is already in the scenario's target state, the transition is planned the
other way round (``target -> source``) and reversed here: old and new inputs swap, creates become
deletes. Pure: plans in, plans out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cost.decision.policy import Scenario
from cost.plan import Op, Plan, PlannedResource

TARGET: dict[str, dict[str, str]] = {
    "cutover": {"hybridops:drMode": "active", "hybridops:trafficTarget": "cloud"},
    "failback": {"hybridops:drMode": "standby", "hybridops:trafficTarget": "onprem"},
    "burst": {"hybridops:drMode": "active"},
}
"""Stack config a scenario moves to (full keys, as ``--set`` qualifies them)."""

SOURCE: dict[str, dict[str, str]] = {
    "cutover": {"hybridops:drMode": "standby", "hybridops:trafficTarget": "onprem"},
    "failback": {"hybridops:drMode": "active", "hybridops:trafficTarget": "cloud"},
    "burst": {"hybridops:drMode": "standby"},
}
"""Stack config a scenario starts from."""

_REVERSED_OP: dict[str, Op] = {
    "create": "delete",
    "delete": "create",
    "update": "update",
    "replace": "replace",
    "same": "same",
}


def in_state(config: Mapping[str, Any], state: Mapping[str, str]) -> bool:
    """True when ``config`` (full keys, ``hybridops:drMode``) already has every value of ``state``."""
    return all(str(config.get(key)) == value for key, value in state.items())


def reverse_plan(plan: Plan, *, overrides: Mapping[str, Any], note: str) -> Plan:
    """The same transition the other way round (``plan`` went from B to A; the result goes A -> B)."""
    resources = [
        PlannedResource(
            urn=r.urn,
            type=r.type,
            name=r.name,
            op=_REVERSED_OP[r.op],
            old_inputs=r.new_inputs,
            new_inputs=r.old_inputs,
            provider=r.provider,
            parent=r.parent,
        )
        for r in plan.resources
    ]
    return plan.model_copy(
        update={"resources": resources, "overrides": dict(overrides), "notes": [*plan.notes, note]}
    )


def scenario_overrides(scenario: Scenario) -> dict[str, str]:
    return dict(TARGET.get(scenario, {}))
