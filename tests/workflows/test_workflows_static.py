"""The workflow files: valid, lint-clean, least privilege, injection-safe, and wired the way the
DR loop needs (issue 8). Behaviour with the real CLI is in test_workflow_runs.py."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.workflows import actionlint
from tests.workflows.actions_runner import condition
from tests.workflows.cli_commands import (
    REPO,
    WORKFLOW_FILES,
    WORKFLOWS,
    check,
    commands_in_script,
    load_workflow,
    run_steps,
)

STACK_EXPR = "inputs.stack || vars.HYBRIDOPS_DR_STACK || 'cloud-dr'"


@pytest.fixture(scope="module")
def dr() -> dict:
    return load_workflow("dr.yml")


def _steps(workflow: dict, job: str) -> list[dict]:
    return workflow["jobs"][job]["steps"]


def _step(workflow: dict, job: str, name: str) -> dict:
    for step in _steps(workflow, job):
        if step.get("name") == name:
            return step
    raise AssertionError(f"{job}: no step {name!r}")


def _uses(workflow: dict, prefix: str) -> list[tuple[str, dict]]:
    return [
        (job_id, step)
        for job_id, job in workflow["jobs"].items()
        for step in job.get("steps") or []
        if str(step.get("uses", "")).startswith(prefix)
    ]


# --- validity and lint ---------------------------------------------------------------------------


def test_the_four_workflows_exist_and_nothing_else():
    """The workflows of issue 8 are the only workflow files."""
    assert sorted(p.name for p in WORKFLOWS.iterdir() if p.suffix in (".yml", ".yaml")) == sorted(
        WORKFLOW_FILES
    )


def test_workflows_validate_against_the_github_workflow_schema():
    """check-jsonschema's vendored GitHub workflow schema accepts every workflow."""
    exe = Path(sys.executable).with_name("check-jsonschema")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "check_jsonschema"]
    proc = subprocess.run(
        [
            *cmd,
            "--builtin-schema",
            "vendor.github-workflows",
            *(str(WORKFLOWS / f) for f in WORKFLOW_FILES),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


_SELFTEST = (
    "on: pull_request\n"
    "jobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n"
    "      - uses: actions/checkout@v4\n        with:\n          fetch-dept: 1\n"
    "      - run: echo ${{ github.event.pull_request.title }} ${{ vars.X }}\n"
)


@pytest.fixture(scope="module")
def actionlint_findings(tmp_path_factory) -> tuple[list[dict], list[dict]]:
    """One actionlint run (node start-up is the cost) over the workflows and a known-bad file."""
    selftest = tmp_path_factory.mktemp("actionlint") / "selftest.yml"
    selftest.write_text(_SELFTEST, encoding="utf-8")
    try:
        findings = actionlint.lint([*(WORKFLOWS / f for f in WORKFLOW_FILES), selftest])
    except actionlint.ActionlintUnavailable as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"actionlint cannot run here: {exc}")
    ours = [f for f in findings if f["file"] != str(selftest)]
    return ours, [f for f in findings if f["file"] == str(selftest)]


def test_workflows_pass_actionlint(actionlint_findings):
    """actionlint v1.7.7 (WebAssembly build from npm, cached outside the repo) reports nothing."""
    findings, _ = actionlint_findings
    assert findings == [], "\n".join(
        f"{f['file']}:{f['line']}:{f['column']}: {f['message']} [{f['kind']}]" for f in findings
    )


def test_actionlint_reports_what_it_should(actionlint_findings):
    """The linter in use really lints: an untrusted value in a script and an unknown action input
    are reported (it does not list client_payload as untrusted: our own test above does)."""
    _, selftest = actionlint_findings
    assert sorted(f["kind"] for f in selftest) == ["action", "expression"]


def test_run_scripts_are_valid_bash():
    """Every `run:` script parses with `bash -n` (actionlint's WebAssembly build has no shellcheck)."""
    bash = shutil.which("bash")
    assert bash
    problems = []
    for name in WORKFLOW_FILES:
        for job_id, step in run_steps(load_workflow(name)):
            proc = subprocess.run(
                [bash, "-n"], input=step["run"], capture_output=True, text=True, check=False
            )
            if proc.returncode != 0:
                problems.append(f"{name}:{job_id}:{step.get('name')}: {proc.stderr.strip()}")
    assert problems == []


# --- injection ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", WORKFLOW_FILES)
def test_no_expression_is_interpolated_into_a_script(name):
    """client_payload and inputs reach scripts only through env: and the event file; in fact no
    `${{ }}` at all appears inside a `run:` script."""
    for job_id, step in run_steps(load_workflow(name)):
        script = step["run"]
        for forbidden in (
            "${{ github.event.client_payload",
            "${{ inputs.",
            "${{ github.event.inputs",
        ):
            assert forbidden not in script, (
                f"{name}:{job_id}:{step.get('name')} interpolates {forbidden}"
            )
        assert "${{" not in script, (
            f"{name}:{job_id}:{step.get('name')}: pass the value through env:"
        )


def test_dr_commands_read_the_event_from_the_event_file(dr):
    """Every `hybridops dr` command gets `--event-file "$GITHUB_EVENT_PATH"`."""
    commands = [
        c
        for _, step in run_steps(dr)
        for c in commands_in_script(step["run"], "dr.yml")
        if c.argv[0] == "dr"
    ]
    assert len(commands) == 2
    for c in commands:
        i = c.argv.index("--event-file")
        assert c.argv[i + 1] == "$GITHUB_EVENT_PATH"


# --- permissions and credentials -----------------------------------------------------------------


def test_permissions_are_least_privilege():
    """Workflow-level permissions, and the only job-level widenings/narrowings, exactly."""
    expected = {
        "dr.yml": {"contents": "read", "id-token": "write"},
        "cost-check.yml": {"contents": "read", "pull-requests": "write", "id-token": "write"},
        "baseline.yml": {"contents": "read", "id-token": "write"},
        "ci.yml": {"contents": "read"},
    }
    job_level = {
        ("dr.yml", "approve"): {"actions": "read"},  # who approved the dr-approval deployment
        ("dr.yml", "recovered"): {"contents": "read"},
    }
    for name, perms in expected.items():
        wf = load_workflow(name)
        assert wf["permissions"] == perms, name
        for job_id, job in wf["jobs"].items():
            assert job.get("permissions") == job_level.get((name, job_id)), f"{name}:{job_id}"


def test_azure_login_is_oidc_without_a_client_secret():
    """azure/login gets client-id, tenant-id and subscription-id from vars and nothing else."""
    seen = 0
    for name in WORKFLOW_FILES:
        wf = load_workflow(name)
        for job_id, step in _uses(wf, "azure/login@"):
            seen += 1
            assert step["uses"] == "azure/login@v2"
            assert step["with"] == {
                "client-id": "${{ vars.AZURE_CLIENT_ID }}",
                "tenant-id": "${{ vars.AZURE_TENANT_ID }}",
                "subscription-id": "${{ vars.AZURE_SUBSCRIPTION_ID }}",
            }, f"{name}:{job_id}"
            assert wf["permissions"].get("id-token") == "write"
            job_env = wf["jobs"][job_id].get("env") or {}
            assert not any("SECRET" in k for k in job_env if k.startswith(("ARM_", "AZURE_")))
            assert job_env.get("ARM_USE_OIDC") == "true", (
                f"{name}:{job_id}: the Azure provider must use OIDC too"
            )
    assert seen == 4


def test_pulumi_cli_comes_from_the_official_action_install_only():
    """pulumi/actions installs the CLI (no `command`: we run pulumi and hybridops ourselves)."""
    seen = 0
    for name in WORKFLOW_FILES:
        for job_id, step in _uses(load_workflow(name), "pulumi/"):
            seen += 1
            assert step["uses"] == "pulumi/actions@v6", f"{name}:{job_id}"
            assert set(step["with"]) == {"pulumi-version"}
    assert seen == 4


def test_actions_are_pinned_to_a_major_version():
    for name in WORKFLOW_FILES:
        for job_id, job in load_workflow(name)["jobs"].items():
            for step in job.get("steps") or []:
                if "uses" in step:
                    assert re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+", step["uses"]), (
                        f"{name}:{job_id}: {step['uses']}"
                    )


# --- dr.yml ------------------------------------------------------------------------------------------


def test_dr_triggers_match_the_relay(dr):
    """repository_dispatch types are the relay's event types plus dr-failback; the manual trigger
    has action, stack, reason and simulate."""
    from dr.relay.mapping import EventType

    types = dr["on"]["repository_dispatch"]["types"]
    assert set(types) == {e.value for e in EventType} | {"dr-failback"}
    assert types == ["dr-cutover", "dr-failback", "dr-drill", "dr-recovered"]
    inputs = dr["on"]["workflow_dispatch"]["inputs"]
    assert set(inputs) == {"action", "stack", "reason", "simulate"}
    assert inputs["action"]["type"] == "choice" and set(inputs["action"]["options"]) == {
        "cutover",
        "failback",
        "drill",
    }
    assert inputs["simulate"]["type"] == "boolean" and inputs["simulate"]["default"] is False
    assert inputs["reason"]["required"] is True


def test_dr_concurrency_is_per_stack_and_never_cancels(dr):
    """One group per stack (the same expression that names the stack for every job), queued, not
    cancelled; drills and notices in their own groups so they never cancel a pending failover."""
    group = dr["concurrency"]["group"]
    assert dr["concurrency"]["cancel-in-progress"] is False
    assert group.startswith("hybridops-dr-${{ " + STACK_EXPR + " }}")
    assert dr["env"]["HYBRIDOPS_STACK"] == "${{ " + STACK_EXPR + " }}"
    assert "'-notices'" in group and "'-drills'" in group


@pytest.mark.parametrize(
    ("decide", "decision", "approve", "runs"),
    [
        ("success", "allow", "skipped", True),
        ("success", "warn", "success", True),
        ("success", "warn", "failure", False),  # rejected
        ("success", "warn", "skipped", False),
        ("failure", "block", "skipped", False),
        ("failure", "error", "skipped", False),
        ("success", "", "skipped", False),
    ],
)
def test_execute_runs_only_on_allow_or_after_approval(dr, decide, decision, approve, runs):
    """execute's `if:` evaluated the way GitHub does, for each decision and approval outcome."""
    needs = {
        "decide": {"result": decide, "outputs": {"decision": decision}},
        "approve": {"result": approve, "outputs": {}},
    }
    status = "success" if decide == approve == "success" else "failure"
    assert condition(dr["jobs"]["execute"]["if"], {"needs": needs}, status) is runs


def test_approval_job_is_gated_on_warn(dr):
    approve = dr["jobs"]["approve"]
    assert approve["needs"] == "decide"
    assert approve["environment"] == "dr-approval"
    for decision, runs in (("warn", True), ("allow", False), ("block", False)):
        ctx = {"needs": {"decide": {"result": "success", "outputs": {"decision": decision}}}}
        assert condition(approve["if"], ctx, "success") is runs
    assert dr["jobs"]["decide"]["outputs"]["decision"] == "${{ steps.decision.outputs.decision }}"


def test_approved_by_is_passed_only_after_the_approval_job(dr):
    """`--approved-by` appears once, in execute, fed by the approve job's output."""
    flagged = [
        (job, step.get("name")) for job, step in run_steps(dr) if "--approved-by" in step["run"]
    ]
    assert flagged == [("execute", "Run the recovery plan")]
    step = _step(dr, "execute", "Run the recovery plan")
    assert step["env"]["APPROVED_BY"] == "${{ needs.approve.outputs.approved_by }}"
    assert 'if [ -n "$APPROVED_BY" ]; then' in step["run"]


def test_recovered_notices_never_start_a_failback(dr):
    """dr-recovered skips decide/execute; its own job runs no `hybridops dr` command."""
    event = {"github": {"event": {"action": "dr-recovered"}, "event_name": "repository_dispatch"}}
    assert condition(dr["jobs"]["decide"]["if"], event, "success") is False
    assert condition(dr["jobs"]["recovered"]["if"], event, "success") is True
    for job, step in run_steps(dr):
        if job == "recovered":
            assert not [c for c in commands_in_script(step["run"], "") if c.argv[:1] == ("dr",)]
    for action in ("dr-cutover", "dr-drill", "dr-failback"):
        event["github"]["event"]["action"] = action
        assert condition(dr["jobs"]["recovered"]["if"], event, "success") is False


def test_evidence_is_uploaded_and_summarised(dr):
    """decide and execute upload output/artifacts/** whatever happened; execute appends the
    record's summary.md to the job summary."""
    for job in ("decide", "execute", "recovered"):
        uploads = [
            s
            for s in _steps(dr, job)
            if str(s.get("uses", "")).startswith("actions/upload-artifact@")
        ]
        assert len(uploads) == 1, job
        assert uploads[0]["if"] == "always()"
        assert uploads[0]["with"]["path"] == "output/artifacts/**"
    summary = _step(dr, "execute", "Job summary")
    assert summary["if"] == "always()"
    assert 'summary="output/artifacts/dr/$RUN_ID/summary.md"' in summary["run"]
    assert '>> "$GITHUB_STEP_SUMMARY"' in summary["run"]


def test_a_rerun_resumes_the_same_run_id(dr):
    """The execute run id is stable across attempts and the earlier attempt's evidence comes back."""
    resolve = _step(dr, "decide", "Resolve the request")["run"]
    assert 'echo "run_id=gh-$GITHUB_RUN_ID-$action"' in resolve
    restore = _step(dr, "execute", "Restore an earlier attempt's evidence")
    assert restore["uses"] == "actions/download-artifact@v4"
    assert restore["if"] == "github.run_attempt != '1'"
    upload = next(
        s
        for s in _steps(dr, "execute")
        if str(s.get("uses", "")).startswith("actions/upload-artifact@")
    )
    assert restore["with"]["name"] == upload["with"]["name"] and upload["with"]["overwrite"] is True


def _index(steps: list[dict], predicate) -> int:
    return next(i for i, s in enumerate(steps) if predicate(s))


def test_dr_state_is_pinned_before_anything_plans_or_applies():
    """Every job with the pulumi CLI pins drMode/trafficTarget from the stack outputs before its
    first `hybridops`/`pulumi up` (an ephemeral checkout has git's DR state, not the deployed one)."""
    checked = 0
    for name in ("dr.yml", "baseline.yml"):
        wf = load_workflow(name)
        for job_id, job in wf["jobs"].items():
            steps = job.get("steps") or []
            if not any(str(s.get("uses", "")).startswith("pulumi/actions@") for s in steps):
                continue
            checked += 1
            pin = _index(
                steps,
                lambda s: (
                    "pulumi stack output --json" in s.get("run", "")
                    and "pulumi config set" in s.get("run", "")
                ),
            )
            first = _index(
                steps,
                lambda s: (
                    re.search(r"\bhybridops (dr|cost)\b|\bpulumi up\b", s.get("run", ""))
                    is not None
                ),
            )
            assert pin < first, f"{name}:{job_id}"
            assert "drMode trafficTarget" in steps[pin]["run"]
    assert checked == 3
    preview = _step(load_workflow("cost-check.yml"), "cost", "Real previews (cloud stacks)")["run"]
    assert preview.index("pulumi config set") < preview.index("hybridops cost estimate")


def test_block_ends_red_and_notifies(dr):
    """On block the decide job fails with the reason; notification channels are configured for the
    CLI (which sends the block itself)."""
    end = _step(dr, "decide", "End red on block or error")
    assert "block" in end["if"] and "exit 1" in end["run"] and "::error" in end["run"]
    for job in ("decide", "execute", "recovered"):
        env = dr["jobs"][job]["env"]
        assert env["HYBRIDOPS_NOTIFY_WEBHOOK_URL"] == "${{ secrets.HYBRIDOPS_NOTIFY_WEBHOOK_URL }}"
        assert env["HYBRIDOPS_SMTP_PASSWORD"] == "${{ secrets.HYBRIDOPS_SMTP_PASSWORD }}"


def test_database_dsns_only_reach_the_execute_job(dr):
    """The DR profile's DSN env vars (stacks/dr/cloud-dr.yaml) are set where the plan runs for real."""
    import yaml

    profile = yaml.safe_load((REPO / "stacks" / "dr" / "cloud-dr.yaml").read_text(encoding="utf-8"))
    for var in (profile["database"]["onprem_dsn_env"], profile["database"]["cloud_dsn_env"]):
        assert dr["jobs"]["execute"]["env"][var] == "${{ secrets." + var + " }}"
        assert var not in (dr["jobs"]["decide"].get("env") or {})


# --- the other workflows ---------------------------------------------------------------------------


def test_ci_runs_exactly_the_readme_test_command():
    wf = load_workflow("ci.yml")
    scripts = [step["run"].strip() for _, step in run_steps(wf)]
    assert scripts == ["./dev.sh test"]
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "./dev.sh test" in readme


def test_cost_check_is_preview_only_and_sticky():
    """pull_request only; never `pulumi up`; comments found by the Markdown renderer's marker;
    pr-check artefacts uploaded; a block fails the check."""
    from cost.render.markdown import MARKER

    wf = load_workflow("cost-check.yml")
    assert set(wf["on"]) == {"pull_request"}
    text = (WORKFLOWS / "cost-check.yml").read_text(encoding="utf-8")
    assert "pulumi up" not in re.sub(r"#.*", "", text)
    comment = _step(wf, "cost", "Sticky comment per stack")["run"]
    assert f'"{MARKER} "*)' in comment and "startswith($m)" in comment and "PATCH" in comment
    upload = _step(wf, "cost", "Upload the pr-check artefacts")
    assert upload["with"]["name"].startswith("pr-check-") and upload["if"].startswith("always()")
    assert "exit 1" in _step(wf, "cost", "Fail on block")["run"]
    offline = _step(wf, "cost", "Offline estimates and decisions")["run"]
    assert "--purpose pr-check" in offline and "--offline" in offline


def test_baseline_keeps_dr_state_and_runs_onprem_on_a_self_hosted_runner():
    wf = load_workflow("baseline.yml")
    assert wf["on"]["push"]["branches"] == ["main"]
    job = wf["jobs"]["up"]
    rows = {row["stack"]: row["runs-on"] for row in job["strategy"]["matrix"]["include"]}
    assert rows["cloud-dr"] == ["ubuntu-24.04"]
    assert rows["onprem-prod"][:1] == ["self-hosted"] and "hybridops-proxmox" in rows["onprem-prod"]
    assert job["concurrency"] == {
        "group": "hybridops-baseline-${{ matrix.stack }}",
        "cancel-in-progress": False,
    }
    up = _step(wf, "up", "pulumi up")["run"]
    assert "$PINNED" in up and up.index('"$now" != "$PINNED"') < up.index("pulumi up --yes")
    estimate = _step(wf, "up", "Baseline cost artefact and decision")["run"]
    assert "--write --purpose baseline" in estimate


# --- the CLI -----------------------------------------------------------------------------------------


def test_every_hybridops_command_in_the_workflows_parses():
    """Each `hybridops ...` a workflow runs exists in the CLI and its options parse (click)."""
    commands = []
    for name in WORKFLOW_FILES:
        for job_id, step in run_steps(load_workflow(name)):
            commands += commands_in_script(step["run"], f"{name}:{job_id}:{step.get('name')}")
    assert len(commands) == 10
    problems = [f"{c.where}: {p}" for c in commands for p in check(c.argv)]
    assert problems == []


def test_the_command_check_catches_mistakes():
    """The checker is not a rubber stamp."""
    assert check(("dr", "cutover", "--stack", "x", "--evnt-file", "e.json"))
    assert check(("dr", "rollback", "--stack", "x"))
    assert check(("dr", "$ACTION", "--scenario", "cutover"))  # not an option of dr commands
    assert check(("cost", "decide", "--stack", "x"))  # --scenario is required
    assert check(("dr", "cutover", "--stack", "x", "--run-id", "$RUN_ID")) == []
    assert check(("dr", "cutover", "--simulate"), complete=False) == []  # a mention in prose
    assert check(("dr", "cutover", "--simulat"), complete=False)
