"""Stand-in CLI scenarios for the cloud-dr stack (recorded events chosen by config and state)."""

from __future__ import annotations

from typing import Any

from tests.support.pulumi_standin import StackState, load_events


def dr_outputs(config: dict[str, Any]) -> dict[str, Any]:
    """What the program exports after an up, from the stack config it ran with."""
    return {
        "site": "cloud",
        "drMode": str(config.get("hybridops:drMode", "standby")),
        "trafficTarget": str(config.get("hybridops:trafficTarget", "onprem")),
    }


def cutover_scenario(
    op: str, config: dict[str, Any], state: StackState
) -> tuple[list[dict[str, Any]], int, str]:
    """Replays the recorded cutover events when config asks for active and the stack is standby."""
    wants_active = config.get("hybridops:drMode") == "active"
    is_active = state.outputs.get("drMode") == "active"
    if op == "preview":
        return (
            load_events(
                "preview-cutover.jsonl" if wants_active and not is_active else "preview-noop.jsonl"
            ),
            0,
            "",
        )
    if op == "up":
        return (
            load_events(
                "up-cutover.jsonl" if wants_active and not is_active else "preview-noop.jsonl"
            ),
            0,
            "",
        )
    return load_events("preview-noop.jsonl"), 0, ""
