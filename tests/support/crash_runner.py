"""Runs one cutover in its own process so a test can SIGKILL it between steps.

python -m tests.support.crash_runner PROJECT ARTEFACTS RUN_ID STATE_FILE CLOUD_URL ONPREM_URL
"""

from __future__ import annotations

import sys
from pathlib import Path

from dr.driver import HttpHealth, RunRequest, Services, run_operation
from dr.engines.automation import AutomationEngine
from dr.profile import DrProfile
from dr.trigger import cli_trigger
from tests.support.fakes import FixedGate
from tests.support.pulumi_standin import StackState, StandInPulumi
from tests.support.scenarios import cutover_scenario, dr_outputs


def main() -> int:
    project, artefacts, run_id, state_file, cloud_url, onprem_url = sys.argv[1:7]
    cli = StandInPulumi(
        Path(project),
        cutover_scenario,
        stacks={
            "cloud-dr": StackState(
                outputs={"site": "cloud", "drMode": "standby", "trafficTarget": "onprem"}
            )
        },
        outputs_from_config=dr_outputs,
        state_file=Path(state_file),
    )
    profile = DrProfile.model_validate(
        {
            "stack": "cloud-dr",
            "component": "cloud-dr",
            "health": {"urls": [cloud_url], "timeout_s": 60, "interval_s": 0.2},
            "trigger": {"onprem_probe_urls": [onprem_url]},
        }
    )
    services = Services(
        engine=AutomationEngine(Path(project), command=cli),
        cost_gate=FixedGate("allow"),
        profile=profile,
        health=HttpHealth(),
    )
    request = RunRequest(
        operation="cutover",
        stack="cloud-dr",
        run_id=run_id,
        trigger=cli_trigger("crash test"),
        actor="tester",
        simulate=False,
    )
    record = run_operation(
        request,
        services,
        artefacts_root=Path(artefacts),
        locks_dir=Path(artefacts).parent / "locks",
    )
    print(record.result)
    return record.exit_code or 0


if __name__ == "__main__":
    raise SystemExit(main())
