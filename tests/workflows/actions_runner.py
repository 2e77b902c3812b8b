"""A small local runner for GitHub Actions jobs, enough to execute our workflows' glue for real.

It evaluates the expression language GitHub documents
(https://docs.github.com/en/actions/reference/workflows-and-actions/expressions: literals, property
access, ``!``, comparisons, ``&&``/``||`` returning operands, status functions), runs each ``run:``
step with ``bash --noprofile --norc -eo pipefail`` like a hosted runner, and honours ``if:``,
``env:`` at every level, ``$GITHUB_OUTPUT``/``$GITHUB_ENV``/``$GITHUB_PATH``/``$GITHUB_STEP_SUMMARY``,
``continue-on-error`` and job ``outputs``. ``uses:`` steps are replaced by stand-ins (the test
says what they do); nothing here talks to GitHub, Azure or Pulumi.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# --- expressions and command files: the lab's implementation (dr/lab/expressions.py) ----------------
from dr.lab.expressions import (
    ExpressionError,
    condition,
    evaluate,
    parse_command_file,
    render,
    truthy,
)
from dr.lab.expressions import as_text as as_env

__all__ = [
    "ExpressionError",
    "as_env",
    "condition",
    "evaluate",
    "parse_command_file",
    "render",
    "truthy",
]


# --- jobs --------------------------------------------------------------------------------------------

StandIn = Callable[["StepCall"], int]
"""Runs a ``uses:`` step; returns an exit code (0 = success)."""


@dataclass
class StepCall:
    job_id: str
    step: dict[str, Any]
    uses: str
    with_: dict[str, Any]
    env: dict[str, str]
    cwd: Path
    run: JobRun


@dataclass
class StepResult:
    name: str
    outcome: str
    """success, failure or skipped (before continue-on-error)."""
    conclusion: str
    exit_code: int | None = None
    stdout: str = ""
    stderr: str = ""
    outputs: dict[str, str] = field(default_factory=dict)


@dataclass
class JobResult:
    job_id: str
    result: str
    """success, failure or skipped."""
    outputs: dict[str, Any]
    steps: list[StepResult]
    summary: str

    def step(self, name: str) -> StepResult:
        for s in self.steps:
            if s.name == name:
                return s
        raise KeyError(
            f"{self.job_id}: no step named {name!r}; steps: {[s.name for s in self.steps]}"
        )

    @property
    def log(self) -> str:
        return "\n".join(
            f"--- {s.name}: {s.outcome} (exit {s.exit_code})\n{s.stdout}\n{s.stderr}"
            for s in self.steps
        )


@dataclass
class JobRun:
    """Everything one job run sees: the event, the contexts and the machine."""

    workflow: dict[str, Any]
    cwd: Path
    temp: Path
    event_name: str
    event: dict[str, Any]
    inputs: dict[str, Any] = field(default_factory=dict)
    vars: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    machine_env: dict[str, str] = field(default_factory=dict)
    """Environment of the runner machine itself (PATH, HOME, anything a test adds)."""
    stand_ins: dict[str, StandIn] = field(default_factory=dict)
    """``uses:`` prefix (e.g. ``actions/checkout``) -> stand-in; a missing one fails the test."""
    run_scripts: dict[str, Callable[[StepCall], int] | None] = field(default_factory=dict)
    """Step name -> replacement for a ``run:`` step (e.g. the dependency install)."""
    run_id: str = "4242"
    run_attempt: str = "1"
    actor: str = "octocat"
    repository: str = "example/hybridops-dr"
    sha: str = "0123456789abcdef0123456789abcdef01234567"
    needs: dict[str, JobResult] = field(default_factory=dict)
    matrix: dict[str, Any] = field(default_factory=dict)

    def github(self) -> dict[str, Any]:
        event_path = self.temp / "event.json"
        event_path.write_text(json.dumps(self.event), encoding="utf-8")
        return {
            "event_name": self.event_name,
            "event": self.event,
            "event_path": str(event_path),
            "run_id": self.run_id,
            "run_attempt": self.run_attempt,
            "actor": self.actor,
            "triggering_actor": self.actor,
            "repository": self.repository,
            "server_url": "https://github.com",
            "sha": self.sha,
            "ref": "refs/heads/main",
            "token": "ghs_test_token_not_real",
            "workspace": str(self.cwd),
        }


def run_job(run: JobRun, job_id: str) -> JobResult:
    wf = run.workflow
    job = wf["jobs"][job_id]
    github = run.github()
    needs_list = job.get("needs") or []
    needs_list = [needs_list] if isinstance(needs_list, str) else list(needs_list)
    needs = {
        n: {"result": run.needs[n].result, "outputs": run.needs[n].outputs}
        if n in run.needs
        else {"result": "skipped", "outputs": {}}
        for n in needs_list
    }
    needs_status = "success" if all(n["result"] == "success" for n in needs.values()) else "failure"
    base: dict[str, Any] = {
        "github": github,
        "inputs": run.inputs,
        "vars": run.vars,
        "secrets": run.secrets,
        "needs": needs,
        "matrix": run.matrix,
        "runner": {"os": "Linux", "temp": str(run.temp)},
    }
    wf_env = {k: as_env(render(v, {**base, "env": {}})) for k, v in (wf.get("env") or {}).items()}
    if not condition(job.get("if"), {**base, "env": wf_env}, needs_status):
        return JobResult(job_id, "skipped", {}, [], "")
    job_env = dict(wf_env)
    for k, v in (job.get("env") or {}).items():
        job_env[k] = as_env(render(v, {**base, "env": job_env}))

    files = run.temp / f"job-{job_id}"
    files.mkdir(parents=True, exist_ok=True)
    summary = files / "step-summary.md"
    summary.touch()
    github_env: dict[str, str] = {}
    extra_path: list[str] = []
    steps_ctx: dict[str, Any] = {}
    results: list[StepResult] = []
    status = "success"
    shell_default = ((job.get("defaults") or wf.get("defaults") or {}).get("run") or {}).get(
        "shell", "bash"
    )
    assert shell_default == "bash", f"{job_id}: the runner only knows bash"

    for index, step in enumerate(job.get("steps") or []):
        name = step.get("name") or step.get("uses") or f"step {index}"
        env_now = {**job_env, **github_env}
        ctx = {**base, "env": env_now, "steps": steps_ctx, "job": {"status": status}}
        if not condition(step.get("if"), ctx, status):
            res = StepResult(name, "skipped", "skipped")
            results.append(res)
            if step.get("id"):
                steps_ctx[step["id"]] = {
                    "outputs": {},
                    "outcome": "skipped",
                    "conclusion": "skipped",
                }
            continue
        step_env = dict(env_now)
        for k, v in (step.get("env") or {}).items():
            step_env[k] = as_env(render(v, {**ctx, "env": step_env}))
        output_file = files / f"output-{index}"
        env_file = files / f"env-{index}"
        path_file = files / f"path-{index}"
        for f in (output_file, env_file, path_file):
            f.write_text("", encoding="utf-8")
        proc_env = {
            **run.machine_env,
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": run.event_name,
            "GITHUB_EVENT_PATH": github["event_path"],
            "GITHUB_RUN_ID": run.run_id,
            "GITHUB_RUN_ATTEMPT": run.run_attempt,
            "GITHUB_ACTOR": run.actor,
            "GITHUB_REPOSITORY": run.repository,
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_SHA": run.sha,
            "GITHUB_WORKSPACE": str(run.cwd),
            "GITHUB_OUTPUT": str(output_file),
            "GITHUB_ENV": str(env_file),
            "GITHUB_PATH": str(path_file),
            "GITHUB_STEP_SUMMARY": str(summary),
            "RUNNER_TEMP": str(run.temp),
            **step_env,
        }
        if extra_path:
            proc_env["PATH"] = os.pathsep.join([*reversed(extra_path), proc_env.get("PATH", "")])
        stdout = stderr = ""
        if "uses" in step:
            uses = step["uses"]
            stand_in = next(
                (fn for prefix, fn in run.stand_ins.items() if uses.startswith(prefix)), None
            )
            if stand_in is None:
                raise AssertionError(f"{job_id}/{name}: no stand-in for {uses}")
            with_ = {k: render(v, ctx) for k, v in (step.get("with") or {}).items()}
            code = stand_in(StepCall(job_id, step, uses, with_, proc_env, run.cwd, run))
        elif name in run.run_scripts:
            replacement = run.run_scripts[name]
            code = (
                0
                if replacement is None
                else replacement(StepCall(job_id, step, "", {}, proc_env, run.cwd, run))
            )
        else:
            script = step["run"]
            script_file = files / f"script-{index}.sh"
            script_file.write_text(render(script, ctx), encoding="utf-8")
            proc = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script_file)],
                cwd=run.cwd / (step.get("working-directory") or "."),
                env=proc_env,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            code, stdout, stderr = proc.returncode, proc.stdout, proc.stderr
        outputs = parse_command_file(output_file)
        github_env.update(parse_command_file(env_file))
        extra_path += [p for p in path_file.read_text(encoding="utf-8").splitlines() if p.strip()]
        outcome = "success" if code == 0 else "failure"
        conclusion = (
            "success"
            if outcome == "success" or step.get("continue-on-error") is True
            else "failure"
        )
        if conclusion == "failure":
            status = "failure"
        results.append(StepResult(name, outcome, conclusion, code, stdout, stderr, outputs))
        if step.get("id"):
            steps_ctx[step["id"]] = {
                "outputs": outputs,
                "outcome": outcome,
                "conclusion": conclusion,
            }

    ctx = {**base, "env": job_env, "steps": steps_ctx}
    outputs = {k: render(v, ctx) for k, v in (job.get("outputs") or {}).items()}
    outputs = {k: ("" if v is None else v) for k, v in outputs.items()}
    return JobResult(job_id, status, outputs, results, summary.read_text(encoding="utf-8"))
