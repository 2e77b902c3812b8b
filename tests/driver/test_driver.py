"""The DR driver end to end through the AutomationEngine (stand-in CLI) with small fakes of the
cost gate; real files, real journal, real lock."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from dr.driver import HttpHealth, RunRequest, Services, run_operation
from dr.engines.automation import AutomationEngine
from dr.profile import DrProfile
from dr.recovery.lock import RunLockedError, StackRunLock
from dr.trigger import cli_trigger
from tests.support.fakes import FixedGate, HealthServer
from tests.support.pulumi_standin import StandInPulumi


@pytest.fixture
def health():
    cloud, onprem = HealthServer(200), HealthServer(503)
    yield cloud, onprem
    cloud.close()
    onprem.close()


def _profile(cloud: HealthServer, onprem: HealthServer) -> DrProfile:
    return DrProfile.model_validate(
        {
            "stack": "cloud-dr",
            "component": "cloud-dr",
            "health": {"urls": [cloud.url], "timeout_s": 5, "interval_s": 0.2},
            "onprem_health": {"urls": [onprem.url], "timeout_s": 1, "interval_s": 0.2},
            "trigger": {"onprem_probe_urls": [onprem.url]},
        }
    )


def _services(project: Path, cli: StandInPulumi, gate: FixedGate, profile: DrProfile) -> Services:
    return Services(
        engine=AutomationEngine(project, command=cli),
        cost_gate=gate,
        profile=profile,
        health=HttpHealth(),
    )


def _request(run_id: str, **kw) -> RunRequest:
    return RunRequest(
        operation=kw.pop("operation", "cutover"),
        stack="cloud-dr",
        run_id=run_id,
        trigger=cli_trigger("test"),
        actor="tester",
        simulate=kw.pop("simulate", False),
        **kw,
    )


def test_cutover_runs_the_plan_in_order_and_records_it(scratch_project, standin, health, tmp_path):
    cloud, onprem = health
    gate = FixedGate("allow")
    services = _services(scratch_project, standin, gate, _profile(cloud, onprem))
    record = run_operation(
        _request("r1"), services, artefacts_root=tmp_path / "art", locks_dir=tmp_path / "locks"
    )
    assert record.result == "SUCCESS" and record.exit_code == 0
    assert [(s.id, s.outcome) for s in record.steps] == [
        ("confirm-trigger", "succeeded"),
        ("cost-gate", "succeeded"),
        ("scale-cloud", "succeeded"),
        ("verify-health", "succeeded"),
        ("switch-traffic", "succeeded"),
        ("record", "skipped"),
    ]
    ups = [c for c in standin.calls if c[0] == "up"]
    assert len(ups) == 2
    assert standin.stacks["cloud-dr"].outputs["drMode"] == "active"
    assert standin.stacks["cloud-dr"].outputs["trafficTarget"] == "cloud"
    assert gate.calls[0]["scenario"] == "cutover" and len(gate.calls) == 1
    run_dir = tmp_path / "art" / "dr" / "r1"
    on_disk = json.loads((run_dir / "record.json").read_text())
    assert on_disk["result"] == "SUCCESS" and on_disk["decision"]["decision"] == "allow"
    assert on_disk["rto_seconds"] is not None and "traffic switched" in on_disk["rto_basis"]
    summary = (run_dir / "summary.md").read_text()
    assert "```mermaid\ngantt" in summary and "switch traffic to cloud" in summary
    events = [
        json.loads(line)["event"] for line in (run_dir / "journal.jsonl").read_text().splitlines()
    ]
    assert events[0] == "run-started" and events[-1] == "run-finished"
    assert events.count("step-started") == 6


def test_cutover_twice_is_a_noop_the_second_time(scratch_project, standin, health, tmp_path):
    """Idempotency: the stand-in's stack reports drMode active after the first run."""
    cloud, onprem = health
    services = _services(scratch_project, standin, FixedGate("allow"), _profile(cloud, onprem))
    first = run_operation(
        _request("a"), services, artefacts_root=tmp_path / "art", locks_dir=tmp_path / "locks"
    )
    assert first.result == "SUCCESS"
    ups_before = sum(1 for c in standin.calls if c[0] == "up")
    said: list[str] = []
    second = run_operation(
        _request("b"),
        services,
        artefacts_root=tmp_path / "art",
        locks_dir=tmp_path / "locks",
        on_noop=said.append,
    )
    assert second.result == "SUCCESS" and second.steps == []
    assert second.summary == said[0]
    assert (
        "cloud-dr is already active with traffic on cloud (stack cloud-dr outputs)"
        in second.summary
    )
    assert "no-op" in second.summary
    assert sum(1 for c in standin.calls if c[0] == "up") == ups_before


def test_warn_without_approval_stops_with_exit_10_and_changes_nothing(
    scratch_project, standin, health, tmp_path
):
    cloud, onprem = health
    services = _services(
        scratch_project,
        standin,
        FixedGate("warn", "cost artefact is stale"),
        _profile(cloud, onprem),
    )
    record = run_operation(
        _request("w"), services, artefacts_root=tmp_path / "art", locks_dir=tmp_path / "locks"
    )
    assert record.exit_code == 10 and record.result == "CANCELLED"
    assert record.steps[-1].id == "cost-gate" and record.steps[-1].outcome == "stopped"
    assert "--approved-by" in record.steps[-1].detail
    assert not any(c[0] == "up" for c in standin.calls)


def test_warn_with_approval_proceeds_and_records_the_approver(
    scratch_project, standin, health, tmp_path
):
    cloud, onprem = health
    services = _services(
        scratch_project,
        standin,
        FixedGate("warn", "cost artefact is stale"),
        _profile(cloud, onprem),
    )
    record = run_operation(
        _request("w2", approved_by="alice", approval_reason="INC-42 outage"),
        services,
        artefacts_root=tmp_path / "art",
        locks_dir=tmp_path / "locks",
    )
    assert record.exit_code == 0 and record.result == "SUCCESS"
    assert (
        record.decision.approved_by == "alice"
        and record.decision.override_reason == "INC-42 outage"
    )


def test_block_stops_with_exit_20(scratch_project, standin, health, tmp_path):
    cloud, onprem = health
    services = _services(
        scratch_project,
        standin,
        FixedGate("block", "event cost 412.00 > 250.00"),
        _profile(cloud, onprem),
    )
    record = run_operation(
        _request("x"), services, artefacts_root=tmp_path / "art", locks_dir=tmp_path / "locks"
    )
    assert record.exit_code == 20
    assert record.decision.decision == "block"
    assert not any(c[0] == "up" for c in standin.calls)


def test_cutover_refuses_while_onprem_is_healthy(scratch_project, standin, health, tmp_path):
    cloud, onprem = health
    onprem.status = 200
    services = _services(scratch_project, standin, FixedGate("allow"), _profile(cloud, onprem))
    record = run_operation(
        _request("h"), services, artefacts_root=tmp_path / "art", locks_dir=tmp_path / "locks"
    )
    assert record.result == "ERRORS" and record.exit_code == 1
    assert "on-prem looks healthy" in record.steps[0].detail and "--force" in record.steps[0].detail
    forced = run_operation(
        _request("h2", force=True),
        services,
        artefacts_root=tmp_path / "art",
        locks_dir=tmp_path / "locks",
    )
    assert forced.result == "WARNINGS"
    assert any("--force" in w for w in forced.warnings)


def test_unhealthy_cloud_stops_before_traffic_moves(scratch_project, standin, health, tmp_path):
    cloud, onprem = health
    cloud.status = 502
    services = _services(scratch_project, standin, FixedGate("allow"), _profile(cloud, onprem))
    record = run_operation(
        _request("u"), services, artefacts_root=tmp_path / "art", locks_dir=tmp_path / "locks"
    )
    assert record.steps[-1].id == "verify-health" and record.steps[-1].outcome == "failed"
    assert standin.stacks["cloud-dr"].outputs["trafficTarget"] == "onprem"


def test_simulate_changes_nothing_and_still_decides(scratch_project, standin, health, tmp_path):
    cloud, onprem = health
    gate = FixedGate("allow")
    services = _services(scratch_project, standin, gate, _profile(cloud, onprem))
    record = run_operation(
        _request("s", simulate=True, operation="drill"),
        services,
        artefacts_root=tmp_path / "art",
        locks_dir=tmp_path / "locks",
    )
    assert record.result == "SUCCESS" and record.simulate
    outcomes = {s.id: s.outcome for s in record.steps}
    assert outcomes["cost-gate"] == "succeeded" and outcomes["scale-cloud"] == "simulated"
    assert outcomes["verify-health"] == "simulated" and outcomes["switch-traffic"] == "simulated"
    assert gate.calls[0]["drill"] is True
    assert not any(c[0] in ("up", "config") and "set" in c for c in standin.calls)
    assert cloud.hits == 0


def test_second_run_on_the_same_stack_is_refused_naming_the_holder(tmp_path):
    with (
        StackRunLock(tmp_path, "cloud-dr", run_id="first", operation="cutover"),
        pytest.raises(
            RunLockedError, match=r"stack 'cloud-dr' is locked by run first \(cutover, pid \d+ on"
        ),
        StackRunLock(tmp_path, "cloud-dr", run_id="second", operation="cutover"),
    ):
        pass
    with StackRunLock(tmp_path, "cloud-dr", run_id="third", operation="failback"):
        pass  # released after the first


def test_profile_errors_name_file_and_key(tmp_path, scratch_project):
    from dr.errors import ConfigError
    from dr.profile import load_profile

    path = scratch_project / "stacks" / "dr" / "cloud-dr.yaml"
    data = yaml.safe_load(path.read_text())
    data["database"]["fence_mode"] = "yank"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(
        ConfigError,
        match=r"cloud-dr.yaml: database.fence_mode: Input should be 'read-only' or 'stop'",
    ):
        load_profile(scratch_project, "cloud-dr")


def test_ctrl_c_between_steps_still_leaves_a_cancelled_record(
    scratch_project, standin, health, tmp_path
):
    cloud, onprem = health

    class InterruptAfterGate:
        def step_started(self, step, index, total):
            pass

        def step_finished(self, step, record):
            if step.id == "cost-gate":
                raise KeyboardInterrupt

    services = _services(scratch_project, standin, FixedGate("allow"), _profile(cloud, onprem))
    record = run_operation(
        _request("int"),
        services,
        artefacts_root=tmp_path / "art",
        locks_dir=tmp_path / "locks",
        reporter=InterruptAfterGate(),
    )
    assert record.result == "CANCELLED" and record.exit_code == 130
    assert [s.id for s in record.steps] == ["confirm-trigger", "cost-gate"]
    on_disk = json.loads((tmp_path / "art" / "dr" / "int" / "record.json").read_text())
    assert on_disk["result"] == "CANCELLED" and any(
        "interrupted between steps" in n for n in on_disk["notes"]
    )
    assert not any(c[0] == "up" for c in standin.calls)
