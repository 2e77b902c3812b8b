"""What the lab's dispatch runner runs: the DR steps of dr.yml, and GitHub's event files.

The runner stands in for GitHub Actions, so it runs the workflow file itself: the jobs of
``.github/workflows/dr.yml`` in ``needs`` order, with their ``if:``, ``env:``, ``outputs:`` and
``concurrency:`` evaluated like GitHub does (:mod:`dr.lab.expressions`), and of their steps only
the ``run:`` steps that make the DR decision and run it (:data:`LAB_STEPS`). Checkout, Python and
dependency installs, Azure login, the Pulumi CLI and the blob-store ledger are the hosted
runner's business: the lab has the checkout and the virtualenv, and plays the engine with the
offline one (``HYBRIDOPS_OFFLINE=1``, lab-only env). If dr.yml changes a step the lab runs, the
lab runs the new version; if a step it needs disappears, it fails and says which.

When the checkout has no dr.yml the lab falls back to the documented execute command
(:data:`DOCUMENTED_SCRIPT`) and says so in every run record.

Event files follow what GitHub writes to ``$GITHUB_EVENT_PATH``:
https://docs.github.com/en/webhooks/webhook-events-and-payloads#repository_dispatch and
#workflow_dispatch. Everything here is pure except reading the workflow file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dr.errors import ConfigError
from dr.lab.expressions import render_text

WORKFLOW_PATH = Path(".github/workflows/dr.yml")

LAB_STEPS: dict[str, tuple[str, ...]] = {
    "decide": ("request", "decision", "End red on block or error"),
    "approve": (),
    "execute": ("run",),
    "recovered": ("Record and notify",),
}
"""Per job, the steps (by ``id`` or ``name``) the lab runs. ``approve`` runs none: it waits for a
reviewer of the ``dr-approval`` environment, which the lab never gives (a warn stops there)."""

LAB_VARS: dict[str, str] = {"AZURE_CLIENT_ID": "hybridops-lab-offline-engine"}
"""Repository variables the lab plays. dr.yml refuses a real cutover/failback without Azure
credentials (the offline engine cannot apply); the lab is the one place where the offline engine
plus a real database is the point, so it plays a configured repository and substitutes the
engine with ``HYBRIDOPS_OFFLINE=1`` (lab-only env, which wins over the workflow's)."""

DOCUMENTED_SCRIPT = (
    'hybridops dr "$ACTION" --stack "$STACK" --event-file "$GITHUB_EVENT_PATH" --run-id "$RUN_ID"'
)
"""dr.yml's execute command as issue #8 documents it (the fallback without a dr.yml)."""

DISPATCH_ACTIONS = {"dr-cutover": "cutover", "dr-failback": "failback", "dr-drill": "drill"}


@dataclass(frozen=True)
class Repo:
    owner: str = "hybridops"
    name: str = "dr"

    @classmethod
    def parse(cls, full_name: str) -> Repo:
        owner, _, name = full_name.partition("/")
        return cls(owner, name)

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    def event_object(self) -> dict[str, Any]:
        """The ``repository`` object of a webhook payload (the fields workflows read)."""
        return {
            "id": 1,
            "name": self.name,
            "full_name": self.full_name,
            "private": True,
            "owner": {"login": self.owner, "type": "Organization"},
            "html_url": f"https://github.com/{self.full_name}",
            "default_branch": "main",
        }


def repository_dispatch_event(
    event_type: str, client_payload: Mapping[str, Any], *, repo: Repo, sender: str
) -> dict[str, Any]:
    """The event file of a ``repository_dispatch``: ``action`` is the dispatch's event_type."""
    return {
        "action": event_type,
        "branch": "main",
        "client_payload": dict(client_payload),
        "repository": repo.event_object(),
        "sender": {"login": sender, "type": "Bot" if sender.endswith("[bot]") else "User"},
    }


def workflow_dispatch_event(
    inputs: Mapping[str, str], *, repo: Repo, sender: str, ref: str = "refs/heads/main"
) -> dict[str, Any]:
    """The event file of a ``workflow_dispatch``; input values are strings in the event file (the
    ``inputs`` context types them, see :func:`inputs_context`)."""
    return {
        "inputs": {k: str(v) for k, v in inputs.items()},
        "ref": ref,
        "repository": repo.event_object(),
        "sender": {"login": sender, "type": "User"},
        "workflow": str(WORKFLOW_PATH),
    }


def event_name(event: Mapping[str, Any]) -> str:
    return "workflow_dispatch" if "inputs" in event else "repository_dispatch"


def event_type(event: Mapping[str, Any]) -> str:
    return (
        str(event.get("action"))
        if event_name(event) == "repository_dispatch"
        else "workflow_dispatch"
    )


def requested_action(event: Mapping[str, Any]) -> str | None:
    """The DR operation an event asks for (None: nothing to run, e.g. ``dr-recovered``)."""
    if "inputs" in event:
        action = str((event.get("inputs") or {}).get("action") or "")
        return action if action in ("cutover", "failback", "drill") else None
    return DISPATCH_ACTIONS.get(str(event.get("action") or ""))


@dataclass(frozen=True)
class LabWorkflow:
    """A parsed workflow and the steps the lab runs of it."""

    doc: dict[str, Any]
    source: str
    from_workflow: bool
    steps: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(LAB_STEPS))

    def jobs_in_order(self) -> list[str]:
        """Job ids in ``needs`` order (a job after everything it needs)."""
        jobs = self.doc.get("jobs") or {}
        done: list[str] = []

        def visit(name: str, path: tuple[str, ...]) -> None:
            if name in done:
                return
            if name in path:
                raise ConfigError(f"{self.source}: jobs need each other in a cycle: {path}")
            for need in needs_of(jobs[name]):
                if need not in jobs:
                    raise ConfigError(f"{self.source}: job {name} needs unknown job {need}")
                visit(need, (*path, name))
            done.append(name)

        for name in jobs:
            visit(name, ())
        return done

    def selected(self, job: str, step: Mapping[str, Any]) -> bool:
        wanted = self.steps.get(job, ())
        return "run" in step and (step.get("id") in wanted or step.get("name") in wanted)

    def check(self) -> None:
        """Every step the lab means to run exists and is a bash ``run:`` step."""
        jobs = self.doc.get("jobs") or {}
        for job, wanted in self.steps.items():
            if job not in jobs:
                raise ConfigError(
                    f"{self.source}: no job {job!r}; the lab runs {list(wanted)} of it"
                )
            steps = jobs[job].get("steps") or []
            for label in wanted:
                found = [s for s in steps if label in (s.get("id"), s.get("name"))]
                if not found or "run" not in found[0]:
                    raise ConfigError(
                        f"{self.source}: job {job!r} has no run step {label!r} (the lab runs it; "
                        "update dr/lab/workflow.py LAB_STEPS if the workflow changed)"
                    )
                shell = found[0].get("shell") or _default_shell(self.doc, jobs[job])
                if shell != "bash":
                    raise ConfigError(
                        f"{self.source}: {job}/{label} uses shell {shell!r}; the lab runs bash"
                    )


def needs_of(job: Mapping[str, Any]) -> list[str]:
    needs = job.get("needs") or []
    return [needs] if isinstance(needs, str) else [str(n) for n in needs]


def _default_shell(doc: Mapping[str, Any], job: Mapping[str, Any]) -> str:
    for scope in (job, doc):
        shell = ((scope.get("defaults") or {}).get("run") or {}).get("shell")
        if shell:
            return str(shell)
    return "bash"


def documented_workflow() -> LabWorkflow:
    """The fallback without dr.yml: one job running the documented command, its env derived the
    way the workflow documents it (ACTION from the event type or the ``action`` input, STACK from
    the payload/inputs, RUN_ID from the run id and attempt)."""
    doc: dict[str, Any] = {
        "on": {"repository_dispatch": {}, "workflow_dispatch": {"inputs": {}}},
        "jobs": {
            "execute": {
                "if": "github.event.action != 'dr-recovered'",
                "steps": [
                    {
                        "id": "run",
                        "name": "Run the recovery plan (documented command)",
                        "env": {
                            "ACTION": "${{ inputs.action || "
                            "(github.event.action == 'dr-cutover' && 'cutover') || "
                            "(github.event.action == 'dr-failback' && 'failback') || 'drill' }}",
                            "STACK": "${{ inputs.stack || github.event.client_payload.stack "
                            "|| 'cloud-dr' }}",
                            "RUN_ID": "gh-${{ github.run_id }}-${{ github.run_attempt }}",
                        },
                        "run": DOCUMENTED_SCRIPT,
                    }
                ],
            }
        },
    }
    return LabWorkflow(
        doc=doc,
        source=f"documented command (no {WORKFLOW_PATH} in the checkout)",
        from_workflow=False,
        steps={"execute": ("run",)},
    )


def parse_workflow(text: str, source: str = str(WORKFLOW_PATH)) -> LabWorkflow:
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("jobs"), dict):
        raise ConfigError(f"{source}: not a workflow (no jobs)")
    # YAML 1.1 reads the key `on` as True
    if True in doc and "on" not in doc:
        doc["on"] = doc.pop(True)
    workflow = LabWorkflow(doc=doc, source=source, from_workflow=True)
    workflow.check()
    return workflow


def load_workflow(project_dir: Path) -> LabWorkflow:
    """dr.yml from the checkout, or the documented fallback when the file does not exist."""
    path = project_dir / WORKFLOW_PATH
    if not path.is_file():
        return documented_workflow()
    return parse_workflow(path.read_text(encoding="utf-8"))


def inputs_context(doc: Mapping[str, Any], event: Mapping[str, Any]) -> dict[str, Any]:
    """The ``inputs`` context: declared defaults, the event's values, booleans as booleans."""
    if event_name(event) != "workflow_dispatch":
        return {}
    declared = ((doc.get("on") or {}).get("workflow_dispatch") or {}).get("inputs") or {}
    given = dict(event.get("inputs") or {})
    out: dict[str, Any] = {}
    for name, spec in declared.items():
        spec = spec or {}
        value: Any = given.get(name, spec.get("default"))
        if spec.get("type") == "boolean":
            value = str(value).lower() == "true" if value is not None else False
        out[name] = value
    for name, value in given.items():
        out.setdefault(name, value)
    return out


def github_context(
    event: Mapping[str, Any],
    *,
    repo: Repo,
    run_id: int,
    run_attempt: int,
    workspace: Path,
    event_path: Path,
    job: str = "",
) -> dict[str, Any]:
    sender = (event.get("sender") or {}).get("login", "")
    return {
        "event": dict(event),
        "event_name": event_name(event),
        "event_path": str(event_path),
        "run_id": str(run_id),
        "run_attempt": str(run_attempt),
        "run_number": str(run_id % 100000),
        "actor": sender,
        "triggering_actor": sender,
        "repository": repo.full_name,
        "repository_owner": repo.owner,
        "ref": event.get("ref") or "refs/heads/main",
        "ref_name": "main",
        "sha": "0" * 40,
        "workflow": "dr",
        "job": job,
        "server_url": "https://github.com",
        "api_url": "https://api.github.com",
        "workspace": str(workspace),
        "token": "",
    }


def github_env(
    github: Mapping[str, Any], *, files: Mapping[str, Path], temp: Path
) -> dict[str, str]:
    """The default variables GitHub sets for every step.
    https://docs.github.com/en/actions/reference/workflows-and-actions/variables"""
    return {
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": github["event_name"],
        "GITHUB_EVENT_PATH": github["event_path"],
        "GITHUB_RUN_ID": github["run_id"],
        "GITHUB_RUN_ATTEMPT": github["run_attempt"],
        "GITHUB_RUN_NUMBER": github["run_number"],
        "GITHUB_ACTOR": github["actor"],
        "GITHUB_TRIGGERING_ACTOR": github["triggering_actor"],
        "GITHUB_REPOSITORY": github["repository"],
        "GITHUB_REPOSITORY_OWNER": github["repository_owner"],
        "GITHUB_REF": github["ref"],
        "GITHUB_REF_NAME": github["ref_name"],
        "GITHUB_SHA": github["sha"],
        "GITHUB_WORKFLOW": github["workflow"],
        "GITHUB_JOB": github["job"],
        "GITHUB_WORKSPACE": github["workspace"],
        "GITHUB_SERVER_URL": github["server_url"],
        "GITHUB_API_URL": github["api_url"],
        "GITHUB_OUTPUT": str(files["output"]),
        "GITHUB_ENV": str(files["env"]),
        "GITHUB_PATH": str(files["path"]),
        "GITHUB_STEP_SUMMARY": str(files["summary"]),
        "RUNNER_TEMP": str(temp),
        "RUNNER_OS": "Linux",
        "RUNNER_ARCH": "X64",
    }


def concurrency_group(workflow: LabWorkflow, contexts: Mapping[str, Any]) -> str:
    """The run's concurrency group (workflow level), or one group for all runs when unset."""
    conc = workflow.doc.get("concurrency")
    if conc is None:
        return "default"
    group = conc.get("group") if isinstance(conc, dict) else conc
    return render_text(group, {**contexts, "env": {}})
