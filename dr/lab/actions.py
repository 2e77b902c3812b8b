"""Run a workflow's selected steps the way a hosted GitHub runner does.

Jobs in ``needs`` order; a job's ``if:`` (default ``success()`` of its needs) and each step's
``if:`` (default ``success()`` of the job so far); ``env:`` at workflow, job and step level;
``$GITHUB_OUTPUT``/``$GITHUB_ENV``/``$GITHUB_PATH``/``$GITHUB_STEP_SUMMARY``; ``continue-on-error``;
job ``outputs:``. Each ``run:`` step the lab selects runs as ``bash --noprofile --norc -eo pipefail
<script>`` (GitHub's ``shell: bash``) in the job's workspace: a directory of symlinks to the
checkout, so what a step writes (``output/decision.json``) stays with the run as evidence.

A job that needs an environment's reviewers (``approve``) is reported as ``waiting``: the lab
never approves, so a cost decision of ``warn`` stops there, as it would until someone approves.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dr.lab.expressions import as_text, condition, parse_command_file, render
from dr.lab.workflow import LabWorkflow, Repo, github_context, github_env, inputs_context, needs_of

_NOT_IN_WORKSPACE = {".git", ".lab", "output"}


@dataclass
class StepRun:
    job: str
    name: str
    outcome: str
    """success, failure, cancelled, skipped (its ``if:``), or not-run (the lab does not run it)."""
    exit_code: int | None = None
    started_at: float | None = None
    finished_at: float | None = None
    outputs: dict[str, str] = field(default_factory=dict)


@dataclass
class JobRun:
    job: str
    result: str
    """success, failure, cancelled, skipped, or waiting (for an environment's reviewers)."""
    outputs: dict[str, Any] = field(default_factory=dict)
    steps: list[StepRun] = field(default_factory=list)


Launch = Callable[[list[str], dict[str, str], Path, Path], "subprocess.Popen[bytes] | None"]
"""(argv, env, cwd, log) -> the started step process (None: cancelled before it started)."""


@dataclass
class Execution:
    """One workflow run: the event, the contexts the lab provides, and where it writes."""

    workflow: LabWorkflow
    event: dict[str, Any]
    repo: Repo
    run_id: int
    run_attempt: int
    run_dir: Path
    """<lab>/runner/runs/<run_id>: event.json, per job: workspace/, files/, output.log."""
    project_dir: Path
    machine_env: dict[str, str]
    """The runner machine's environment (PATH with the virtualenv, HOME, LANG)."""
    lab_env: dict[str, str]
    """Lab-only settings (HYBRIDOPS_OFFLINE, DSNs, artefacts root, ...): win over the workflow's."""
    vars: dict[str, str]
    secrets: dict[str, str]
    launch: Launch
    cancelled: Callable[[], bool]
    on_step: Callable[[StepRun], None] = lambda _s: None
    jobs: dict[str, JobRun] = field(default_factory=dict)

    @property
    def event_path(self) -> Path:
        return self.run_dir / "event.json"

    def run(self) -> dict[str, JobRun]:
        for name in self.workflow.jobs_in_order():
            self.jobs[name] = self._job(name)
        return self.jobs

    def conclusion(self) -> str:
        results = [j.result for j in self.jobs.values()]
        if "cancelled" in results or self.cancelled():
            return "cancelled"
        if "failure" in results:
            return "failure"
        if "waiting" in results:
            return "waiting"
        return "success"

    # -- one job -------------------------------------------------------------------------------
    def _contexts(self, job: str, workspace: Path) -> dict[str, Any]:
        doc = self.workflow.doc
        needs = {
            n: {"result": self.jobs[n].result, "outputs": self.jobs[n].outputs}
            if n in self.jobs
            else {"result": "skipped", "outputs": {}}
            for n in needs_of(doc["jobs"][job])
        }
        return {
            "github": github_context(
                self.event,
                repo=self.repo,
                run_id=self.run_id,
                run_attempt=self.run_attempt,
                workspace=workspace,
                event_path=self.event_path,
                job=job,
            ),
            "inputs": inputs_context(doc, self.event),
            "vars": dict(self.vars),
            "secrets": dict(self.secrets),
            "needs": needs,
            "runner": {"os": "Linux", "arch": "X64", "name": "hybridops-lab"},
            "matrix": {},
            "strategy": {},
        }

    def _job(self, name: str) -> JobRun:
        doc = self.workflow.doc
        job = doc["jobs"][name]
        job_dir = self.run_dir / name
        workspace = job_dir / "workspace"
        base = self._contexts(name, workspace)
        needs_status = (
            "cancelled"
            if self.cancelled()
            else "success"
            if all(n["result"] == "success" for n in base["needs"].values())
            else "failure"
        )
        wf_env = _env(doc.get("env"), base, {})
        if not condition(job.get("if"), {**base, "env": wf_env}, needs_status):
            return JobRun(name, "skipped")
        if job.get("environment") and not self.workflow.steps.get(name):
            # required reviewers: the lab never approves (a warn waits, as on GitHub)
            return JobRun(name, "waiting")
        if name not in self.workflow.steps:
            return JobRun(name, "skipped")
        _make_workspace(workspace, self.project_dir)
        files_dir = job_dir / "files"
        files_dir.mkdir(parents=True, exist_ok=True)
        summary = files_dir / "step-summary.md"
        summary.touch()
        job_env = _env(job.get("env"), base, wf_env)
        added_env: dict[str, str] = {}
        extra_path: list[str] = []
        steps_ctx: dict[str, Any] = {}
        runs: list[StepRun] = []
        status = "success"
        for index, step in enumerate(job.get("steps") or []):
            label = str(step.get("name") or step.get("id") or step.get("uses") or f"step {index}")
            env_now = {**job_env, **added_env}
            ctx = {**base, "env": env_now, "steps": steps_ctx, "job": {"status": status}}
            if self.cancelled():
                status = "cancelled"
            selected = self.workflow.selected(name, step)
            run_it = selected and condition(step.get("if"), ctx, status)
            if not run_it:
                outcome = "skipped" if selected else "not-run"
                runs.append(StepRun(name, label, outcome))
                if step.get("id"):
                    steps_ctx[step["id"]] = {
                        "outputs": {},
                        "outcome": "skipped",
                        "conclusion": "skipped",
                    }
                continue
            files = {k: files_dir / f"{k}-{index}" for k in ("output", "env", "path")}
            for f in files.values():
                f.write_text("", encoding="utf-8")
            step_env = _env(step.get("env"), ctx, env_now)
            github = ctx["github"]
            proc_env = {
                **self.machine_env,
                **github_env(github, files={**files, "summary": summary}, temp=job_dir / "tmp"),
                **step_env,
                **self.lab_env,
            }
            if extra_path:
                proc_env["PATH"] = os.pathsep.join([*reversed(extra_path), proc_env["PATH"]])
            (job_dir / "tmp").mkdir(exist_ok=True)
            script = job_dir / f"step-{index}.sh"
            script.write_text(as_text(render(step["run"], ctx)) + "\n", encoding="utf-8")
            record = StepRun(name, label, "in_progress", started_at=time.time())
            self.on_step(record)
            popen = self.launch(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                proc_env,
                workspace / str(step.get("working-directory") or "."),
                job_dir / "output.log",
            )
            code = popen.wait() if popen is not None else None
            record.finished_at = time.time()
            record.exit_code = code
            record.outputs = parse_command_file(files["output"])
            added_env.update(parse_command_file(files["env"]))
            extra_path += [
                p for p in files["path"].read_text(encoding="utf-8").splitlines() if p.strip()
            ]
            if popen is None or self.cancelled():
                record.outcome, status = "cancelled", "cancelled"
            else:
                record.outcome = "success" if code == 0 else "failure"
                if code != 0 and step.get("continue-on-error") is not True:
                    status = "failure"
            runs.append(record)
            self.on_step(record)
            if step.get("id"):
                tolerated = record.outcome == "failure" and step.get("continue-on-error") is True
                conclusion = "success" if tolerated else record.outcome
                steps_ctx[step["id"]] = {
                    "outputs": record.outputs,
                    "outcome": record.outcome,
                    "conclusion": conclusion,
                }
        ctx = {**base, "env": job_env, "steps": steps_ctx}
        outputs = {k: as_text(render(v, ctx)) for k, v in (job.get("outputs") or {}).items()}
        return JobRun(name, status, outputs, runs)


def _env(spec: Any, contexts: Mapping[str, Any], inherited: Mapping[str, str]) -> dict[str, str]:
    """``inherited`` plus ``spec`` rendered in order (an entry sees the ones before it)."""
    env = dict(inherited)
    for key, value in (spec or {}).items():
        env[str(key)] = as_text(render(value, {**contexts, "env": env}))
    return env


def _make_workspace(workspace: Path, project_dir: Path) -> None:
    """A checkout stand-in: symlinks to the project's entries, its own ``output/``."""
    workspace.mkdir(parents=True, exist_ok=True)
    for entry in project_dir.iterdir():
        if entry.name in _NOT_IN_WORKSPACE or entry.resolve() == workspace.resolve():
            continue
        link = workspace / entry.name
        if not link.exists() and not link.is_symlink():
            link.symlink_to(entry)
