"""AutomationEngine through the real pulumi.automation SDK, against a stand-in CLI replaying
recorded engine events (tests/fixtures/engine_events, in the engine's documented JSON format)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dr.engines.automation import AutomationEngine
from dr.errors import (
    EngineError,
    EngineUnavailableError,
    ProviderError,
    StackLockedError,
    StackNotFoundError,
)
from tests.support.pulumi_standin import StackState, StandInPulumi, load_events


@pytest.mark.parametrize(
    "cli_version", ["3.200.0", "3.210.0"], ids=["event-log-file", "event-log-grpc"]
)
def test_preview_becomes_a_plan(scratch_project: Path, cli_version: str):
    """Both event transports (file <= 3.205, gRPC after) yield the same Plan."""
    cli = StandInPulumi(
        scratch_project,
        lambda op, cfg, st: (load_events("preview-cutover.jsonl"), 0, ""),
        stacks={"cloud-dr": StackState()},
        version=cli_version,
    )
    plan = AutomationEngine(scratch_project, command=cli).plan("cloud-dr")
    assert plan.source == "pulumi-preview" and plan.offline is False
    assert [(r.name, r.op) for r in plan.resources] == [
        ("cloud-pool-dr", "update"),
        ("cloud-rg", "same"),
        ("traffic-tm", "update"),
    ]
    pool = plan.get("cloud-pool-dr")
    assert (pool.old_inputs["count"], pool.new_inputs["count"]) == (0, 3)
    assert pool.provider == "azure-native"
    assert pool.parent == "urn:pulumi:cloud-dr::hybridops-dr::hybridops:cloud:CloudDrSite::cloud"
    prio = {e["name"]: e["priority"] for e in plan.get("traffic-tm").new_inputs["endpoints"]}
    assert prio == {"onprem": 2, "cloud": 1}


def test_mixed_steps_map_to_plan_ops(scratch_project: Path):
    """create / replace (three engine steps, one Plan step) / delete / same; unknowns and secrets."""
    cli = StandInPulumi(
        scratch_project,
        lambda op, cfg, st: (load_events("preview-mixed.jsonl"), 0, ""),
        stacks={"cloud-dr": StackState()},
    )
    plan = AutomationEngine(scratch_project, command=cli).plan("cloud-dr")
    ops = {r.name: r.op for r in plan.resources}
    assert ops == {
        "cloud-cn-onprem": "same",
        "cloud-disk-scratch": "create",
        "cloud-pip-ingress": "replace",
        "cloud-ra-legacy": "delete",
    }
    pip = plan.get("cloud-pip-ingress")
    assert pip.old_inputs["sku"]["tier"] == "Regional" and pip.new_inputs["sku"]["tier"] == "Global"
    disk = plan.get("cloud-disk-scratch")
    assert disk.old_inputs is None and disk.new_inputs["resourceGroupName"] == "[computed]"
    ra = plan.get("cloud-ra-legacy")
    assert ra.new_inputs is None and ra.inputs["principalType"] == "ServicePrincipal"
    assert plan.get("cloud-cn-onprem").inputs["sharedKey"] == "[secret]"


def test_what_if_overrides_do_not_touch_the_stack_file(
    scratch_project: Path, standin: StandInPulumi
):
    stack_file = scratch_project / "stacks" / "Pulumi.cloud-dr.yaml"
    before = stack_file.read_text()
    plan = AutomationEngine(scratch_project, command=standin).plan(
        "cloud-dr", {"hybridops:drMode": "active"}
    )
    assert stack_file.read_text() == before
    preview = next(c for c in standin.calls if c[0] == "preview")
    assert "--config-file" in preview
    assert plan.overrides == {"hybridops:drMode": "active"}
    assert plan.get("cloud-pool-dr").op == "update"


def test_apply_persists_config_and_runs_up(scratch_project: Path, standin: StandInPulumi):
    engine = AutomationEngine(scratch_project, command=standin)
    result = engine.apply("cloud-dr", {"hybridops:drMode": "active"}, message="cutover test")
    assert result.resource_changes == {"same": 22, "update": 2}
    assert result.outputs["drMode"] == "active"
    assert (
        "hybridops:drMode: active"
        in (scratch_project / "stacks" / "Pulumi.cloud-dr.yaml").read_text()
    )
    assert engine.outputs("cloud-dr")["drMode"] == "active"
    up = next(c for c in standin.calls if c[0] == "up")
    assert up[up.index("--message") + 1] == "cutover test"


def test_lock_conflict_is_stack_locked(scratch_project: Path):
    cli = StandInPulumi(
        scratch_project,
        lambda op, cfg, st: (load_events("up-cutover.jsonl"), 0, ""),
        stacks={"cloud-dr": StackState(locked_by_other_update=True)},
    )
    with pytest.raises(
        StackLockedError, match=r"stack 'cloud-dr' is locked: another update is in progress"
    ):
        AutomationEngine(scratch_project, command=cli).apply(
            "cloud-dr", {"hybridops:drMode": "active"}, message="m"
        )


def test_failed_resource_names_the_resource_and_reason(scratch_project: Path):
    cli = StandInPulumi(
        scratch_project,
        lambda op, cfg, st: (
            load_events("up-failed-resource.jsonl"),
            255,
            "error: update failed\n",
        ),
        stacks={"cloud-dr": StackState(outputs={"drMode": "standby"})},
    )
    with pytest.raises(EngineError) as err:
        AutomationEngine(scratch_project, command=cli).apply(
            "cloud-dr", {"hybridops:drMode": "active"}, message="m"
        )
    text = str(err.value)
    assert "update of cloud-pool-dr (azure-native:containerservice:AgentPool) failed" in text
    assert "QuotaExceeded" in text
    assert not isinstance(err.value, ProviderError)


def test_missing_stack_is_stack_not_found(scratch_project: Path):
    cli = StandInPulumi(scratch_project, lambda op, cfg, st: ([], 0, ""), stacks={})
    with pytest.raises(StackNotFoundError, match=r"stack 'cloud-dr' does not exist in the backend"):
        AutomationEngine(scratch_project, command=cli).outputs("cloud-dr")


def test_credentials_error_is_a_provider_error(scratch_project: Path):
    cli = StandInPulumi(
        scratch_project,
        lambda op, cfg, st: (
            [],
            255,
            "error: azure-native:containerservice:AgentPool: failed to get token: DefaultAzureCredential: "
            "failed to acquire a token. password=hunter2-hunter2\n",
        ),
        stacks={"cloud-dr": StackState()},
    )
    with pytest.raises(ProviderError) as err:
        AutomationEngine(scratch_project, command=cli).plan("cloud-dr")
    assert "provider or credential error" in str(err.value)
    assert "hunter2" not in str(err.value)


def test_missing_cli_says_install_or_offline(
    scratch_project: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("PATH", str(scratch_project))  # no pulumi here
    with pytest.raises(EngineUnavailableError, match=r"pulumi CLI is not installed.*--offline"):
        AutomationEngine(scratch_project).plan("cloud-dr")


def test_deployed_dr_state_is_pinned_over_the_checkout(
    scratch_project: Path, standin: StandInPulumi
):
    """A fresh checkout says standby; the stack is active: a traffic switch must not scale it down."""
    standin.stacks["cloud-dr"].outputs = {
        "site": "cloud",
        "drMode": "active",
        "trafficTarget": "onprem",
    }
    engine = AutomationEngine(scratch_project, command=standin)
    plan = engine.plan("cloud-dr", {"hybridops:trafficTarget": "cloud"})
    assert plan.notes == [
        "deployed DR state pinned from the stack outputs: {'hybridops:drMode': 'active'}"
    ]
    assert plan.overrides == {"hybridops:trafficTarget": "cloud"}
    preview = next(c for c in standin.calls if c[0] == "preview")
    pinned_file = Path(preview[preview.index("--config-file") + 1])
    assert not pinned_file.exists()  # temporary, gone after the preview
    engine.apply("cloud-dr", {"hybridops:trafficTarget": "cloud"}, message="switch traffic")
    text = (scratch_project / "stacks" / "Pulumi.cloud-dr.yaml").read_text()
    assert "hybridops:drMode: active" in text and "hybridops:trafficTarget: cloud" in text
    assert standin.stacks["cloud-dr"].outputs["drMode"] == "active"
