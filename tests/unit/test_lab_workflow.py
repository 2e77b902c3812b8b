"""The lab runner's pure pieces: GitHub event files, expressions, and what it runs of dr.yml."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from dr.errors import ConfigError
from dr.lab.actions import Execution
from dr.lab.expressions import ExpressionError, condition, evaluate, parse_command_file, render
from dr.lab.workflow import (
    DOCUMENTED_SCRIPT,
    LAB_STEPS,
    LAB_VARS,
    Repo,
    concurrency_group,
    documented_workflow,
    event_type,
    github_context,
    inputs_context,
    load_workflow,
    parse_workflow,
    repository_dispatch_event,
    requested_action,
    workflow_dispatch_event,
)
from dr.trigger import load_event

PROJECT = Path(__file__).resolve().parents[2]
REPO = Repo("hybridops", "dr")
PAYLOAD = {
    "alertname": "jenkins_critical_down",
    "status": "firing",
    "severity": "critical",
    "site": "onprem",
    "fingerprint": "cbc3eeb453601d6d",
    "startsAt": "2026-11-27T06:09:53.586Z",
    "summary": "Jenkins controller on onprem does not serve its login page",
    "runbook_url": "docs/runbooks/jenkins-controller-outage.md",
    "drill": False,
    "groupKey": '{}/{dr_action="cutover"}:{alertname="jenkins_critical_down"}',
}


def _contexts(event: dict[str, Any], doc: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "github": github_context(
            event,
            repo=REPO,
            run_id=4242,
            run_attempt=1,
            workspace=Path("/w"),
            event_path=Path("/w/event.json"),
        ),
        "inputs": inputs_context(doc or {}, event),
        "vars": {},
    }


# --- event files ------------------------------------------------------------------------------


def test_repository_dispatch_event_has_githubs_shape_and_the_driver_reads_it(
    tmp_path: Path,
) -> None:
    """`action` is the event type, the payload is under client_payload; dr.trigger parses it."""
    event = repository_dispatch_event(
        "dr-cutover", PAYLOAD, repo=REPO, sender="hybridops-relay[bot]"
    )
    assert event["action"] == "dr-cutover"
    assert event["client_payload"] == PAYLOAD
    assert event["repository"]["full_name"] == "hybridops/dr"
    assert event["sender"] == {"login": "hybridops-relay[bot]", "type": "Bot"}
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    trigger, actor = load_event(path)
    assert (trigger.event_type, actor) == ("dr-cutover", "hybridops-relay[bot]")
    assert trigger.fault_at is not None and trigger.fault_at.isoformat().startswith(
        "2026-11-27T06:09:53"
    )
    assert trigger.alert is not None and trigger.alert["fingerprint"] == "cbc3eeb453601d6d"


def test_workflow_dispatch_event_keeps_inputs_as_strings_and_the_context_types_them(
    tmp_path: Path,
) -> None:
    """GitHub's event file has string inputs; the `inputs` context has declared types/defaults."""
    event = workflow_dispatch_event(
        {"action": "failback", "reason": "INC-1"}, repo=REPO, sender="alice"
    )
    assert event["inputs"] == {"action": "failback", "reason": "INC-1"}
    assert event["ref"] == "refs/heads/main" and event["workflow"] == ".github/workflows/dr.yml"
    doc = {
        "on": {
            "workflow_dispatch": {
                "inputs": {
                    "action": {"type": "choice", "default": "drill"},
                    "stack": {"type": "string", "default": "cloud-dr"},
                    "simulate": {"type": "boolean", "default": False},
                }
            }
        }
    }
    assert inputs_context(doc, event) == {
        "action": "failback",
        "stack": "cloud-dr",
        "simulate": False,
        "reason": "INC-1",
    }
    assert event_type(event) == "workflow_dispatch" and requested_action(event) == "failback"
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    trigger, actor = load_event(path)
    assert (trigger.event_type, trigger.reason, actor) == ("workflow_dispatch", "INC-1", "alice")


def test_requested_action_maps_dispatch_types_and_recovered_runs_nothing() -> None:
    """dr-cutover/failback/drill run an operation; dr-recovered only records."""
    for kind, action in (
        ("dr-cutover", "cutover"),
        ("dr-failback", "failback"),
        ("dr-drill", "drill"),
    ):
        assert (
            requested_action(repository_dispatch_event(kind, {}, repo=REPO, sender="x")) == action
        )
    assert (
        requested_action(repository_dispatch_event("dr-recovered", {}, repo=REPO, sender="x"))
        is None
    )


# --- expressions ------------------------------------------------------------------------------


def test_expressions_follow_githubs_operators_and_loose_equality() -> None:
    """|| and && return operands, strings compare case-insensitively, missing is null."""
    ctx = {"inputs": {"stack": ""}, "vars": {}, "github": {"event": {"action": "DR-Cutover"}}}
    assert evaluate("inputs.stack || vars.X || 'cloud-dr'", ctx) == "cloud-dr"
    assert evaluate("github.event.action == 'dr-cutover' && 'cutover' || 'drill'", ctx) == "cutover"
    assert evaluate("github.event.nothing.deeper", ctx) is None
    assert evaluate("github.event['action']", ctx) == "DR-Cutover"
    assert evaluate("!inputs.stack", ctx) is True
    assert evaluate("1 == '1'", ctx) is True
    assert evaluate("format('gh-{0}-{1}', 42, 'x')", ctx) == "gh-42-x"
    assert evaluate("contains(fromJSON('[\"a\",\"b\"]'), 'B')", ctx) is True
    assert render("a-${{ inputs.stack || 'z' }}-${{ 1 == 1 }}", ctx) == "a-z-true"
    with pytest.raises(ExpressionError, match="hashFiles"):
        evaluate("hashFiles('x')", ctx)
    with pytest.raises(ExpressionError, match="context 'steps'"):
        evaluate("steps.x.outputs.y", ctx)


def test_if_conditions_imply_success_unless_a_status_function_is_used() -> None:
    """`if: x` means `success() && x`; always() runs after a failure."""
    assert condition(None, {}, "success") is True
    assert condition(None, {}, "failure") is False
    assert condition("true", {}, "failure") is False
    assert condition("always() && true", {}, "failure") is True
    assert condition("${{ failure() }}", {}, "failure") is True


def test_command_files_parse_plain_and_heredoc_lines(tmp_path: Path) -> None:
    """$GITHUB_OUTPUT: name=value and name<<DELIM blocks."""
    path = tmp_path / "out"
    path.write_text(
        "action=cutover\nreason<<EOF-1\nline one\nline=two\nEOF-1\nrun_id=gh-1-cutover\n"
    )
    assert parse_command_file(path) == {
        "action": "cutover",
        "reason": "line one\nline=two",
        "run_id": "gh-1-cutover",
    }
    assert parse_command_file(tmp_path / "missing") == {}


# --- what the runner runs of dr.yml ----------------------------------------------------------


def test_the_committed_dr_yml_has_every_step_the_lab_runs() -> None:
    """The lab follows the checkout's dr.yml (no fallback) and finds its steps."""
    workflow = load_workflow(PROJECT)
    assert workflow.from_workflow, workflow.source
    jobs = workflow.doc["jobs"]
    execute = next(s for s in jobs["execute"]["steps"] if s.get("id") == "run")
    assert 'hybridops dr "$ACTION"' in execute["run"]
    assert '--event-file "$GITHUB_EVENT_PATH"' in execute["run"]
    assert workflow.jobs_in_order().index("decide") < workflow.jobs_in_order().index("execute")
    for job, labels in LAB_STEPS.items():
        steps = jobs[job].get("steps") or []
        for label in labels:
            assert any(label in (s.get("id"), s.get("name")) for s in steps), (job, label)


def test_concurrency_groups_of_dr_yml_keep_notices_and_drills_apart() -> None:
    """One group per stack for real operations; dr-recovered and drills in their own groups."""
    workflow = load_workflow(PROJECT)
    doc = workflow.doc

    def group(event: dict[str, Any]) -> str:
        return concurrency_group(workflow, _contexts(event, doc))

    cutover = repository_dispatch_event("dr-cutover", PAYLOAD, repo=REPO, sender="b[bot]")
    recovered = repository_dispatch_event("dr-recovered", PAYLOAD, repo=REPO, sender="b[bot]")
    manual = workflow_dispatch_event(
        {"action": "failback", "stack": "cloud-dr"}, repo=REPO, sender="a"
    )
    rehearsal = workflow_dispatch_event({"action": "drill"}, repo=REPO, sender="a")
    assert group(cutover) == group(manual) == "hybridops-dr-cloud-dr"
    assert group(recovered) == "hybridops-dr-cloud-dr-notices"
    assert group(rehearsal) == "hybridops-dr-cloud-dr-drills"


def test_a_workflow_without_a_step_the_lab_needs_fails_loudly() -> None:
    """A renamed step breaks the lab with the step's name, instead of running something else."""
    text = (PROJECT / ".github/workflows/dr.yml").read_text()
    assert "id: decision" in text
    with pytest.raises(ConfigError, match="no run step 'decision'"):
        parse_workflow(text.replace("id: decision", "id: decided"))


def test_documented_fallback_runs_the_documented_command() -> None:
    """Without dr.yml: the documented command, ACTION/STACK/RUN_ID from the event."""
    workflow = documented_workflow()
    step = workflow.doc["jobs"]["execute"]["steps"][0]
    assert step["run"] == DOCUMENTED_SCRIPT
    event = repository_dispatch_event("dr-cutover", PAYLOAD, repo=REPO, sender="b[bot]")
    ctx = _contexts(event)
    assert render(step["env"]["ACTION"], {**ctx, "env": {}}) == "cutover"
    assert render(step["env"]["STACK"], {**ctx, "env": {}}) == "cloud-dr"
    assert render(step["env"]["RUN_ID"], {**ctx, "env": {}}) == "gh-4242-1"


def test_execution_runs_dr_yml_decide_and_execute_with_a_stand_in_hybridops(tmp_path: Path) -> None:
    """The lab runs dr.yml's request, decision and execute steps for a dr-cutover dispatch:
    the execute step calls `hybridops dr cutover ... --event-file $GITHUB_EVENT_PATH --run-id
    gh-<run_id>-cutover`, lab env wins over the workflow's (HYBRIDOPS_OFFLINE=1)."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    calls = tmp_path / "calls.jsonl"
    # A stand-in `hybridops` on PATH: records argv and env, prints what the decide step parses.
    (bindir / "hybridops").write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        f"open({str(calls)!r}, 'a').write(json.dumps({{'argv': sys.argv[1:], "
        "'offline': os.environ.get('HYBRIDOPS_OFFLINE'), 'event': os.environ.get('GITHUB_EVENT_PATH'), "
        "'dsn': os.environ.get('HYBRIDOPS_DB_ONPREM_DSN')}) + '\\n')\n"
        "print(json.dumps({'exit_code': 0, 'decision': {'reason': 'allow: 14 checks passed'}}))\n"
    )
    (bindir / "hybridops").chmod(0o755)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    event = repository_dispatch_event(
        "dr-cutover", PAYLOAD, repo=REPO, sender="hybridops-relay[bot]"
    )
    (run_dir / "event.json").write_text(json.dumps(event))
    lab_env = {"HYBRIDOPS_OFFLINE": "1", "HYBRIDOPS_DB_ONPREM_DSN": "host=127.0.0.1 port=1"}

    def launch(argv: list[str], env: dict[str, str], cwd: Path, log: Path) -> Any:
        import subprocess

        with open(log, "ab") as out:
            return subprocess.Popen(argv, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)

    execution = Execution(
        workflow=load_workflow(PROJECT),
        event=event,
        repo=REPO,
        run_id=4242,
        run_attempt=1,
        run_dir=run_dir,
        project_dir=PROJECT,
        machine_env={"PATH": f"{bindir}:{os.environ['PATH']}", "HOME": str(tmp_path)},
        lab_env=lab_env,
        vars=dict(LAB_VARS),
        secrets=lab_env,
        launch=launch,
        cancelled=lambda: False,
    )
    jobs = execution.run()
    assert {k: v.result for k, v in jobs.items()} == {
        "decide": "success",
        "approve": "skipped",
        "execute": "success",
        "recovered": "skipped",
    }, (run_dir / "decide" / "output.log").read_text()
    assert jobs["decide"].outputs["decision"] == "allow"
    assert jobs["decide"].outputs["run_id"] == "gh-4242-cutover"
    invoked = [json.loads(line) for line in calls.read_text().splitlines()]
    assert (
        invoked[0]["argv"][:3] == ["dr", "cutover", "--stack"]
        and "--simulate" in invoked[0]["argv"]
    )
    assert invoked[1]["argv"] == [
        "dr",
        "cutover",
        "--stack",
        "cloud-dr",
        "--run-id",
        "gh-4242-cutover",
        "--event-file",
        str(run_dir / "event.json"),
    ]
    assert {c["offline"] for c in invoked} == {"1"}
    assert {c["dsn"] for c in invoked} == {"host=127.0.0.1 port=1"}
    # what the steps wrote relative to the checkout stays in the run's workspace
    assert (run_dir / "decide" / "workspace" / "output" / "decision.json").is_file()
