"""`hybridops plan` as a user runs it."""

from __future__ import annotations

import json

import pytest

from dr.cli import main


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_:
        main(list(argv))
    out = capsys.readouterr()
    return exit_.value.code, out.out, out.err


def test_plan_json_is_an_offline_neutral_plan(capsys):
    code, out, _ = _run(capsys, "plan", "--stack", "cloud-dr", "--offline", "--json")
    assert code == 0
    data = json.loads(out)
    assert (
        data["stack"] == "cloud-dr" and data["offline"] is True and data["source"] == "offline-plan"
    )
    assert {"urn", "type", "name", "op", "inputs"} <= set(data["resources"][0])
    types = {r["type"] for r in data["resources"]}
    assert "azure-native:containerservice:AgentPool" in types
    assert all(
        r["urn"].startswith("urn:pulumi:cloud-dr::hybridops-dr::") for r in data["resources"]
    )


def test_plan_what_if_grows_the_pool_and_flips_priorities(capsys):
    code, out, _ = _run(
        capsys,
        "plan",
        "--stack",
        "cloud-dr",
        "--offline",
        "--json",
        "--set",
        "drMode=active",
        "--set",
        "trafficTarget=cloud",
    )
    assert code == 0
    data = json.loads(out)
    by_name = {r["name"]: r for r in data["resources"]}
    assert (
        by_name["cloud-pool-dr"]["new_inputs"]["count"]
        > by_name["cloud-pool-dr"]["old_inputs"]["count"]
    )
    prio = {e["name"]: e["priority"] for e in by_name["traffic-tm"]["inputs"]["endpoints"]}
    assert prio == {"onprem": 2, "cloud": 1}
    assert data["overrides"] == {"hybridops:drMode": "active", "hybridops:trafficTarget": "cloud"}


def test_plan_onprem_lists_legacy_proxmox_types(capsys):
    code, out, _ = _run(
        capsys, "plan", "--stack", "onprem-prod", "--offline", "--json", "--baseline", "empty"
    )
    data = json.loads(out)
    assert code == 0
    types = [r["type"] for r in data["resources"]]
    assert types.count("proxmoxve:index/vmLegacy:VmLegacy") == 6
    assert types.count("proxmoxve:index/containerLegacy:ContainerLegacy") == 2
    assert {r["op"] for r in data["resources"]} == {"create"}


def test_plan_table_says_it_is_offline(capsys):
    code, out, _ = _run(capsys, "plan", "--stack", "cloud-dr", "--offline")
    assert code == 0
    assert "OFFLINE PLAN" in out and "nothing was applied" in out


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["plan", "--stack", "nope", "--offline"], 1, "error: unknown stack 'nope'"),
        (
            ["plan", "--stack", "cloud-dr", "--offline", "--set", "drMode"],
            2,
            "error: --set 'drMode': expected KEY=VALUE",
        ),
        (
            ["plan", "--stack", "cloud-dr", "--offline", "--set", "drMode=sideways"],
            1,
            "error: stacks/Pulumi.cloud-dr.yaml: hybridops:drMode",
        ),
        (
            ["plan", "--stack", "cloud-dr", "--offline", "--baseline", "later"],
            2,
            "error: --baseline 'later'",
        ),
    ],
)
def test_plan_errors_are_one_line_with_exit_codes(capsys, argv, code, message):
    got, out, err = _run(capsys, *argv)
    assert got == code
    assert err.startswith(message)
    assert err.count("\n") == 1
    assert out == ""


def test_plan_without_offline_needs_the_cli(capsys, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    code, _, err = _run(capsys, "plan", "--stack", "cloud-dr")
    assert code == 1
    assert "the pulumi CLI is not installed" in err and "--offline" in err
