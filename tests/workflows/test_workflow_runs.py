"""The workflows' glue executed for real: each job's `run:` steps run under bash like on a hosted
runner (tests/workflows/actions_runner.py), with the real `hybridops` CLI, offline engine and
decision service, a loopback webhook for notifications and a fake `gh`. `uses:` steps are
stand-ins; Azure login and the Pulumi CLI must never be reached without credentials."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from dr.notify import WebhookReceiver
from tests.workflows.actions_runner import JobResult, JobRun, StepCall, run_job
from tests.workflows.cli_commands import REPO, load_workflow

VENV_BIN = Path(sys.executable).parent  # the virtualenv running the tests has `hybridops`

FAKE_GH = r"""#!/usr/bin/env bash
# fake gh: `gh api [-X METHOD] [--paginate] [--jq FILTER] [--input -] PATH`, answered from $FAKE_GH_DIR
set -euo pipefail
[ "$1" = api ] || { echo "fake gh: only 'gh api'" >&2; exit 2; }
shift
method=GET jq_filter="" path=""
while [ $# -gt 0 ]; do
  case "$1" in
    -X | --method) method=$2; shift 2 ;;
    --jq | -q) jq_filter=$2; shift 2 ;;
    --input) shift 2 ;;
    --paginate) shift ;;
    *) path=$1; shift ;;
  esac
done
echo "$method $path" >> "$FAKE_GH_DIR/requests.log"
if [ "$method" != GET ]; then
  cat > "$FAKE_GH_DIR/body-$(wc -l < "$FAKE_GH_DIR/requests.log").json"
  echo '{}'
  exit 0
fi
response="$FAKE_GH_DIR/responses/${path//\//_}.json"
[ -f "$response" ] || { echo "fake gh: no response for $path" >&2; exit 1; }
if [ -n "$jq_filter" ]; then jq -r "$jq_filter" "$response"; else cat "$response"; fi
"""


class Machine:
    """A runner machine: a project checkout, a temp dir, stand-ins, a fake gh, a webhook."""

    def __init__(self, tmp: Path, project: Path) -> None:
        self.tmp = tmp
        self.project = project
        self.gh_dir = tmp / "gh"
        (self.gh_dir / "responses").mkdir(parents=True)
        (self.gh_dir / "requests.log").touch()
        bin_dir = tmp / "bin"
        bin_dir.mkdir()
        (bin_dir / "gh").write_text(FAKE_GH, encoding="utf-8")
        (bin_dir / "gh").chmod(0o755)
        self.env = {
            "PATH": os.pathsep.join([str(bin_dir), "/usr/local/bin", "/usr/bin", "/bin"]),
            "HOME": str(tmp / "home"),
            "LANG": "C.UTF-8",
            "FAKE_GH_DIR": str(self.gh_dir),
        }
        self.uses: list[tuple[str, dict]] = []

    def gh_response(self, path: str, data: object) -> None:
        (self.gh_dir / "responses" / (path.replace("/", "_") + ".json")).write_text(
            json.dumps(data), encoding="utf-8"
        )

    def gh_requests(self) -> list[str]:
        return (self.gh_dir / "requests.log").read_text(encoding="utf-8").splitlines()

    def gh_body(self, index: int) -> dict:
        return json.loads((self.gh_dir / f"body-{index}.json").read_text(encoding="utf-8"))

    def _record(self, call: StepCall) -> int:
        self.uses.append((call.uses, call.with_))
        return 0

    @staticmethod
    def _no_credentials(call: StepCall) -> int:
        raise AssertionError(
            f"{call.job_id}: {call.uses} must be skipped without Azure credentials"
        )

    @staticmethod
    def _install(call: StepCall) -> int:
        # `pip install -e .` stand-in: the repository's own virtualenv goes on PATH.
        with open(call.env["GITHUB_PATH"], "a", encoding="utf-8") as f:
            f.write(f"{VENV_BIN}\n")
        return 0

    def run(self, workflow: str, jobs: list[str], **kwargs) -> dict[str, JobResult]:
        """Run ``jobs`` in order; ``needs=`` gives results of jobs that are not run here."""
        results: dict[str, JobResult] = dict(kwargs.pop("needs", {}))
        run = JobRun(
            workflow=load_workflow(workflow),
            cwd=self.project,
            temp=self.tmp / "runner",
            machine_env={**self.env, **kwargs.pop("machine_env", {})},
            stand_ins={
                "actions/checkout@": self._record,
                "actions/setup-python@": self._record,
                "actions/upload-artifact@": self._record,
                "actions/download-artifact@": self._record,
                "azure/login@": self._no_credentials,
                "pulumi/actions@": self._no_credentials,
            },
            run_scripts={"Install hybridops": self._install},
            **kwargs,
        )
        run.temp.mkdir(exist_ok=True)
        for job in jobs:
            run.needs = results
            results[job] = run_job(run, job)
        return results


def _lighter_cloud_stack(stacks: Path) -> None:
    """Drop the optional Kubernetes layer from the copy of cloud-dr: it prices at zero (the node
    pools are in the Azure layer), so every figure stays the same, and each offline evaluation
    takes a third less time. The glue under test does not depend on it."""
    path = stacks / "Pulumi.cloud-dr.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["config"].pop("hybridops:kubernetes", None)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def _machine(tmp_path: Path) -> Machine:
    project = tmp_path / "checkout"
    project.mkdir()
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(REPO / name, project / name)
    shutil.copytree(REPO / "stacks", project / "stacks")
    _lighter_cloud_stack(project / "stacks")
    return Machine(tmp_path, project)


def _policy(tmp: Path, **cloud_dr: object) -> str:
    """The committed budget policy with some cloud-dr limits changed."""
    policy = yaml.safe_load((REPO / "stacks" / "budget-policy.yaml").read_text(encoding="utf-8"))
    entry = policy["budgets"]["cloud-dr"]
    for key, value in cloud_dr.items():
        section, _, name = key.rpartition("__")
        (entry[section] if section else entry)[name] = value
    path = tmp / "policy.yaml"
    path.write_text(yaml.safe_dump(policy), encoding="utf-8")
    return str(path)


def _dispatch(event_type: str, status: str = "firing") -> dict:
    """A repository_dispatch event as GitHub writes it, with the relay's client_payload."""
    return {
        "action": event_type,
        "branch": "main",
        "client_payload": {
            "alertname": "jenkins_critical_down",
            "status": status,
            "severity": "critical",
            "site": "onprem",
            "fingerprint": "3f1c2a9b7d5e4f60",
            "startsAt": (datetime.now(UTC) - timedelta(minutes=6)).isoformat(),
            "summary": "Jenkins controller login page down for 5m",
            "runbook_url": "docs/runbooks/jenkins-controller-outage.md",
            "drill": event_type == "dr-drill",
            "groupKey": '{}/{dr_action="cutover"}:{alertname="jenkins_critical_down"}',
        },
        "repository": {"full_name": "example/hybridops-dr"},
        "sender": {"login": "hybridops-relay[bot]"},
    }


def _manual(action: str, simulate: bool) -> tuple[dict, dict]:
    inputs = {
        "action": action,
        "stack": "cloud-dr",
        "reason": "INC-4711 quarterly drill",
        "simulate": simulate,
    }
    event = {
        "inputs": {k: str(v).lower() if isinstance(v, bool) else v for k, v in inputs.items()},
        "ref": "refs/heads/main",
        "sender": {"login": "alice"},
    }
    return event, inputs


def _record(machine: Machine, run_id: str) -> dict:
    return json.loads(
        (machine.project / "output" / "artifacts" / "dr" / run_id / "record.json").read_text(
            encoding="utf-8"
        )
    )


DR_JOBS = ["decide", "approve", "execute", "recovered"]


# --- scenarios: run once, concurrently (each `hybridops` run evaluates the program for seconds) ----


@dataclass
class Outcome:
    machine: Machine
    jobs: dict[str, JobResult]
    posts: list = field(default_factory=list)


def _warn(tmp: Path) -> Outcome:
    """dr-drill from the relay, a budget that warns, a reviewer who approves; the second attempt."""
    machine = _machine(tmp)
    machine.gh_response(
        "repos/example/hybridops-dr/actions/runs/4242/approvals",
        [
            {
                "state": "rejected",
                "comment": "",
                "environments": [{"name": "dr-approval"}],
                "user": {"login": "mallory"},
            },
            {
                "state": "approved",
                "comment": "INC-4711: ok, budget owner informed",
                "environments": [{"name": "dr-approval"}],
                "user": {"login": "bob"},
            },
        ],
    )
    jobs = machine.run(
        "dr.yml",
        DR_JOBS,
        event_name="repository_dispatch",
        event=_dispatch("dr-drill"),
        run_attempt="2",
        machine_env={"HYBRIDOPS_BUDGET_POLICY": _policy(tmp, monthly_budget=800)},
    )
    return Outcome(machine, jobs)


def _block(tmp: Path) -> Outcome:
    machine = _machine(tmp)
    with WebhookReceiver() as hook:
        jobs = machine.run(
            "dr.yml",
            DR_JOBS,
            event_name="repository_dispatch",
            event=_dispatch("dr-drill"),
            secrets={"HYBRIDOPS_NOTIFY_WEBHOOK_URL": hook.url},
            machine_env={"HYBRIDOPS_BUDGET_POLICY": _policy(tmp, dr__max_event_cost=10)},
        )
        posts = hook.wait_for(1)
    return Outcome(machine, jobs, [*posts, hook.url])


def _failback(tmp: Path) -> Outcome:
    """A person asks for a simulated failback; the decision allows it."""
    machine = _machine(tmp)
    event, inputs = _manual("failback", simulate=True)
    return Outcome(
        machine,
        machine.run("dr.yml", DR_JOBS, event_name="workflow_dispatch", event=event, inputs=inputs),
    )


def _git(cwd: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.net",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.net",
    }
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


def _pull_request(tmp: Path) -> Outcome:
    """A PR adding two warm DR nodes, on a repository whose bot already left a cost comment."""
    from cost.render.markdown import MARKER

    repo = tmp / "checkout"
    repo.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("Pulumi.yaml", "__main__.py", "pyproject.toml", "README.md"):
        shutil.copy(REPO / name, repo / name)
    for name in ("components", "cost", "dr", "stacks", "monitoring"):  # what the program reads
        shutil.copytree(REPO / name, repo / name, ignore=ignore)
    _lighter_cloud_stack(repo / "stacks")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "base")
    stack_file = repo / "stacks" / "Pulumi.cloud-dr.yaml"
    text = stack_file.read_text(encoding="utf-8")
    assert text.count("standbyCount: 0") == 1
    stack_file.write_text(text.replace("standbyCount: 0", "standbyCount: 2"), encoding="utf-8")
    _git(repo, "commit", "-qam", "two warm DR nodes")
    head = _git(repo, "rev-parse", "HEAD")
    machine = Machine(tmp, repo)
    marker = f"{MARKER} stack=cloud-dr -->"
    machine.gh_response(
        "repos/example/hybridops-dr/issues/7/comments",
        [
            {"id": 5, "user": {"login": "someone"}, "body": marker + "\nnot ours"},
            {
                "id": 99,
                "user": {"login": "github-actions[bot]"},
                "body": marker + "\nan older estimate",
            },
        ],
    )
    event = {
        "action": "synchronize",
        "number": 7,
        "pull_request": {
            "number": 7,
            "head": {"sha": head, "repo": {"full_name": "example/hybridops-dr"}},
        },
    }
    return Outcome(
        machine,
        machine.run("cost-check.yml", ["cost"], event_name="pull_request", event=event),
        [head, marker],
    )


SCENARIOS = {"warn": _warn, "block": _block, "failback": _failback, "pull_request": _pull_request}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory) -> dict[str, Outcome | BaseException]:
    def attempt(name: str) -> Outcome | BaseException:
        try:
            return SCENARIOS[name](tmp_path_factory.mktemp(name))
        except BaseException as exc:  # reported by the test that needs it
            return exc

    with ThreadPoolExecutor(max_workers=max(2, min(len(SCENARIOS), os.cpu_count() or 2))) as pool:
        return dict(zip(SCENARIOS, pool.map(attempt, SCENARIOS), strict=True))


def _outcome(outcomes, name: str) -> Outcome:
    result = outcomes[name]
    if isinstance(result, BaseException):
        raise result
    return result


def test_dispatched_drill_warns_waits_for_approval_and_records_the_approver(outcomes):
    """dr-drill from the relay, cost decision warn -> the approve job reads who approved the
    dr-approval deployment -> execute passes --approved-by/--reason, leaves the evidence and the
    job summary; on a second attempt it first restores the earlier attempt's evidence (resume)."""
    o = _outcome(outcomes, "warn")
    decide, approve, execute, recovered = (o.jobs[j] for j in DR_JOBS)
    assert decide.result == "success", decide.log
    reason = decide.outputs.pop("reason")
    assert decide.outputs == {
        "action": "drill",
        "simulate": "true",
        "offline": "true",
        "run_id": "gh-4242-drill",  # the same on every attempt
        "decision": "warn",
    }
    assert reason.startswith("drill: warn: budget.warn_ratio: ")
    assert "Cost decision for the drill of `cloud-dr`: **warn**" in decide.summary
    assert decide.step("Azure login (OIDC, no client secret)").outcome == "skipped"
    assert approve.result == "success", approve.log
    assert approve.outputs == {
        "approved_by": "bob",
        "reason": "approved in environment dr-approval (run https://github.com/example/hybridops-dr/actions/runs/4242): "
        f"INC-4711: ok, budget owner informed; cost decision was warn: {reason}",
    }
    assert execute.result == "success", execute.log
    assert recovered.result == "skipped"
    assert (
        "actions/download-artifact@v4",
        {"name": "dr-evidence-4242", "path": "output/artifacts"},
    ) in o.machine.uses
    record = _record(o.machine, "gh-4242-drill")
    assert (record["operation"], record["result"], record["simulate"]) == ("drill", "SUCCESS", True)
    assert record["trigger"]["event_type"] == "dr-drill"
    assert record["trigger"]["alert"]["alertname"] == "jenkins_critical_down"
    assert record["actor"] == "hybridops-relay[bot]"
    # The approval turns the warn into an allow, recorded with who and why.
    assert (record["decision"]["decision"], record["decision"]["approved_by"]) == ("allow", "bob")
    assert record["decision"]["override_reason"] == approve.outputs["reason"]
    decision = json.loads(
        (o.machine.project / record["decision"]["record_path"]).read_text(encoding="utf-8")
    )
    assert (decision["original_decision"], decision["override"]["approved_by"]) == ("warn", "bob")
    assert "DR drill of `cloud-dr`: SUCCESS" in execute.summary
    uploads = [w["name"] for u, w in o.machine.uses if u.startswith("actions/upload-artifact@")]
    assert uploads == ["dr-decision-4242-2", "dr-evidence-4242"]


def test_block_ends_red_notifies_and_executes_nothing(outcomes):
    """block -> the decide job fails with the reason, the CLI notifies the webhook, approve and
    execute never run, the evidence is still uploaded."""
    o = _outcome(outcomes, "block")
    *posts, url = o.posts
    decide = o.jobs["decide"]
    assert decide.result == "failure"
    assert decide.outputs["decision"] == "block"
    end = decide.step("End red on block or error")
    assert end.outcome == "failure"
    assert end.stdout.startswith(
        "::error title=DR drill of cloud-dr: block::drill: block: dr.event_cost:"
    )
    assert decide.step("Upload the decision evidence").outcome == "success"
    assert o.jobs["approve"].result == "skipped" and o.jobs["execute"].result == "skipped"
    assert len(posts) == 1
    assert "BLOCKED" in posts[0].body["hybridops"]["title"]
    assert url not in decide.log


def test_allowed_failback_runs_without_approval(outcomes):
    """A manual (simulated) failback: `dr failback --simulate` decides nothing, so decide asks
    `cost decide --scenario failback`; allow -> no approval job -> execute runs the failback plan
    without approval flags and appends its summary."""
    o = _outcome(outcomes, "failback")
    decide, approve, execute = o.jobs["decide"], o.jobs["approve"], o.jobs["execute"]
    assert (decide.outputs["decision"], decide.outputs["run_id"]) == (
        "allow",
        "gh-4242-failback",
    ), decide.log
    decision = json.loads(
        (o.machine.project / "output" / "decision.json").read_text(encoding="utf-8")
    )
    assert (decision["record"]["scenario"], decision["record"]["run_id"]) == (
        "failback",
        "gh-4242-1-decide",
    )
    assert approve.result == "skipped"
    assert execute.result == "success", execute.log
    record = _record(o.machine, "gh-4242-failback")
    assert (record["operation"], record["simulate"], record["result"]) == (
        "failback",
        True,
        "SUCCESS",
    )
    assert (record["actor"], record["trigger"]["reason"]) == ("alice", "INC-4711 quarterly drill")
    inputs = json.loads(
        (o.machine.project / "output/artifacts/dr/gh-4242-failback/inputs.json").read_text(
            encoding="utf-8"
        )
    )
    assert "--approved-by" not in inputs["argv"] and "--simulate" in inputs["argv"]
    assert "DR failback of `cloud-dr`" in execute.summary


def test_a_real_cutover_without_credentials_is_refused(tmp_path):
    """No Azure credentials: only the offline engine, which cannot apply; a real cutover stops
    before anything runs."""
    machine = _machine(tmp_path)
    event, inputs = _manual("cutover", simulate=False)
    jobs = machine.run(
        "dr.yml",
        ["decide", "approve", "execute"],
        event_name="workflow_dispatch",
        event=event,
        inputs=inputs,
    )
    decide = jobs["decide"]
    assert decide.result == "failure"
    step = decide.step("Resolve the request")
    assert step.exit_code == 1
    assert "a real cutover needs the automation engine: set vars.AZURE_CLIENT_ID" in step.stdout
    assert decide.step("Plan and cost decision").outcome == "skipped"
    assert jobs["execute"].result == "skipped"


def _approve_only(tmp_path: Path, approvals: object | None) -> JobResult:
    machine = _machine(tmp_path)
    if approvals is not None:
        machine.gh_response("repos/example/hybridops-dr/actions/runs/4242/approvals", approvals)
    run = machine.run(
        "dr.yml",
        ["approve"],
        event_name="repository_dispatch",
        event=_dispatch("dr-cutover"),
        needs={
            "decide": JobResult(
                "decide",
                "success",
                {"decision": "warn", "reason": "warn: budget.warn_ratio"},
                [],
                "",
            )
        },
    )
    return run["approve"]


def test_a_warn_without_a_reviewer_is_not_approved(tmp_path):
    """An environment without required reviewers lets the approve job start with no review: that
    is not an approval, the job fails and execute never runs."""
    approve = _approve_only(tmp_path, [])
    assert approve.result == "failure"
    assert (
        "::error::no approval for environment dr-approval"
        in approve.step("Record the approver").stdout
    )


def test_approver_falls_back_to_the_actor_when_github_cannot_say(tmp_path):
    """The approvals API failing (not an empty answer) must not hold up an approved failover."""
    approve = _approve_only(tmp_path, None)
    assert approve.result == "success", approve.log
    assert approve.outputs["approved_by"] == "octocat"
    assert (
        "::warning::could not read the dr-approval review"
        in approve.step("Record the approver").stdout
    )


def test_recovered_notice_is_recorded_and_notified_only(tmp_path):
    """dr-recovered: no decide/execute (no failback), a notice record, a notification."""
    machine = _machine(tmp_path)
    with WebhookReceiver() as hook:
        jobs = machine.run(
            "dr.yml",
            DR_JOBS,
            event_name="repository_dispatch",
            event=_dispatch("dr-recovered", status="resolved"),
            secrets={"HYBRIDOPS_NOTIFY_WEBHOOK_URL": hook.url},
        )
        posts = hook.wait_for(1)
    assert [jobs[j].result for j in DR_JOBS] == ["skipped", "skipped", "skipped", "success"], jobs[
        "recovered"
    ].log
    notice = json.loads(
        (machine.project / "output/artifacts/dr/gh-4242-recovered/notice.json").read_text(
            encoding="utf-8"
        )
    )
    assert notice["kind"] == "hybridops.dr-recovered"
    assert notice["alert"]["status"] == "resolved"
    assert "docs/runbooks/dr-failback.md" in notice["next"]
    assert "No failback was started" in jobs["recovered"].summary
    assert (
        posts[0].body["hybridops"]["title"]
        == "HybridOps DR: jenkins_critical_down recovered (cloud-dr)"
    )
    assert posts[0].body["hybridops"]["fields"]["fingerprint"] == "3f1c2a9b7d5e4f60"


def test_pull_request_cost_check_comments_once_and_fails_on_block(outcomes):
    """A PR adding two warm DR nodes: the base branch is estimated with its own code, the head
    against it, the decision blocks, the existing sticky comment (by the renderer's marker, the
    bot's own only) is edited, the pr-check artefacts are uploaded and the check fails."""
    o = _outcome(outcomes, "pull_request")
    head, marker = o.posts
    job, machine, repo = o.jobs["cost"], o.machine, o.machine.project
    assert job.step("Stacks this pull request touches").outputs == {
        "stacks": "cloud-dr",
        "preview": "false",
    }
    assert job.step("Offline estimates and decisions").outcome == "success", job.log
    assert job.step("Real previews (cloud stacks)").outcome == "skipped"
    assert machine.gh_requests() == [
        "GET repos/example/hybridops-dr/issues/7/comments",
        "PATCH repos/example/hybridops-dr/issues/comments/99",
    ]
    body = machine.gh_body(2)["body"]
    assert body.startswith(marker + "\n### Cost estimate: `cloud-dr`")
    assert "**$955.55/month** (was $635.81; **+$319.74**" in body
    assert (
        "**Cost decision (change): block** - block: change.max_increase_abs: monthly cost rises by $319.74"
        in body
    )
    assert "Before: the base branch (" in body
    uploads = [w for u, w in machine.uses if u.startswith("actions/upload-artifact@")]
    assert uploads[0]["name"] == "pr-check-7-1"
    rid = f"pr-7-{head[:12]}-cloud-dr"
    assert sorted(p.name for p in (repo / "output/artifacts/cost/cloud-dr").iterdir()) == sorted(
        [
            f"blocked-{rid}.json",
            f"cost-run-{rid}-base.json",
            f"cost-run-{rid}.json",
            f"decision-{rid}.json",
        ]
    )
    fail = job.step("Fail on block")
    assert fail.outcome == "failure" and "::error title=Cost check::cloud-dr: block" in fail.stdout
    assert job.result == "failure"
