"""The lab's dispatch runner: a loopback GitHub that runs dr.yml.

It is the GitHub API the relay dispatches to (``dr.relay.github_stub.GitHubStub``: it checks the
token and validates ``POST /repos/{owner}/{repo}/dispatches`` as GitHub documents it) plus what
GitHub Actions then does: write the event file and run the workflow's DR steps
(:mod:`dr.lab.workflow`, :mod:`dr.lab.actions`) with GitHub's variables and the lab's settings.
Also:

- ``POST /repos/{o}/{r}/actions/workflows/{file}/dispatches``: ``workflow_dispatch``, an
  operator's "Run workflow" (``gh workflow run dr.yml -f action=cutover ...``);
- ``POST /repos/{o}/{r}/actions/runs/{id}/cancel``: GitHub's cancel: SIGINT to the running
  step's process group, SIGTERM after 7.5 s, SIGKILL 2.5 s later;
- the workflow's ``concurrency`` groups (evaluated from dr.yml, ``cancel-in-progress: false``):
  one run at a time per group, at most one pending; a newer pending run cancels the older pending
  one, as GitHub does;
- lab control (loopback, no token): ``GET /healthz``, ``GET /_lab/runs``, ``PUT``/``DELETE
  /_lab/arm`` (a drill arms the runner with its env: artefacts root, DR profile, budget policy).

Each run leaves ``<lab>/runner/runs/<run_id>/``: ``run.json``, ``event.json`` (the exact event
file) and, per job, the rendered step scripts, ``output.log``, its outputs and workspace.

Run: ``python -m dr.lab.runner --lab-dir DIR --project-dir DIR --port P --token-file F
--default-env F --dsn-file F``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from cost.atomic import write_json_atomic
from dr.lab.actions import Execution, StepRun
from dr.lab.procs import ProcessRef, group_members, is_ours, start_ticks
from dr.lab.workflow import (
    LAB_VARS,
    LabWorkflow,
    Repo,
    concurrency_group,
    event_name,
    event_type,
    github_context,
    inputs_context,
    load_workflow,
    repository_dispatch_event,
    requested_action,
    workflow_dispatch_event,
)
from dr.relay.github_stub import GitHubStub

RELAY_SENDER = "hybridops-relay[bot]"
CANCEL_SIGTERM_AFTER_S = 7.5
CANCEL_SIGKILL_AFTER_S = 2.5

Status = Literal["queued", "in_progress", "completed"]
Conclusion = Literal["success", "failure", "cancelled", "waiting"]


class StepInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")

    job: str
    name: str
    outcome: str
    exit_code: int | None = None
    started_at: float | None = None
    finished_at: float | None = None
    outputs: dict[str, str] = Field(default_factory=dict)


class WorkflowRun(BaseModel):
    """One workflow run as the lab saw it (``run.json``; also ``GET /_lab/runs``)."""

    model_config = ConfigDict(extra="forbid")

    run_id: int
    run_attempt: int = 1
    event_name: str
    event_type: str
    """repository_dispatch: the event_type (``dr-cutover``...); else ``workflow_dispatch``."""
    action: str | None
    """The DR operation the event asks for (None for ``dr-recovered``)."""
    payload: dict[str, Any] = Field(default_factory=dict)
    """client_payload (repository_dispatch) or inputs (workflow_dispatch)."""
    concurrency_group: str = ""
    drill_id: str | None = None
    """The drill that armed the runner when this dispatch arrived."""
    received_at: float
    """Epoch seconds when the dispatch reached the API (the end of detection)."""
    started_at: float | None = None
    finished_at: float | None = None
    status: Status = "queued"
    conclusion: Conclusion | None = None
    note: str = ""
    jobs: dict[str, str] = Field(default_factory=dict)
    """Job -> result (success, failure, cancelled, skipped, waiting)."""
    job_outputs: dict[str, dict[str, Any]] = Field(default_factory=dict)
    steps: list[StepInfo] = Field(default_factory=list)
    processes: list[ProcessRef] = Field(default_factory=list)
    """Every step process started (each leads its own process group)."""
    workflow_source: str = ""
    artefacts: str | None = None
    directory: str

    @property
    def dr_run_ids(self) -> list[str]:
        """The driver run ids this workflow run used (decide's simulate run, execute's run)."""
        ids = []
        for outputs in self.job_outputs.values():
            for key in ("run_id",):
                if outputs.get(key):
                    ids.append(str(outputs[key]))
        return ids


class _Arm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    drill_id: str
    env: dict[str, str] = Field(default_factory=dict)


class _Group:
    def __init__(self) -> None:
        self.running: WorkflowRun | None = None
        self.pending: WorkflowRun | None = None


class DispatchRunner(GitHubStub):
    def __init__(
        self,
        *,
        lab_dir: Path,
        project_dir: Path,
        token: str,
        port: int,
        default_env: dict[str, str],
        dsn_file: Path,
        repo: Repo | None = None,
    ) -> None:
        super().__init__(token=token, port=port)
        self.lab_dir = lab_dir
        self.project_dir = project_dir
        self.repo = repo or Repo()
        self.default_env = default_env
        self.dsn_file = dsn_file
        self.runs_dir = lab_dir / "runner" / "runs"
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        self._runs: dict[int, WorkflowRun] = {}
        self._groups: dict[str, _Group] = {}
        self._env_at_dispatch: dict[int, dict[str, str]] = {}
        """The armed env when each dispatch arrived (a drill may disarm before its run starts)."""
        self._cancel_requested: set[int] = set()
        self._threads: list[threading.Thread] = []
        self._arm: _Arm | None = None
        self._runs_lock = threading.RLock()
        self._stopping = False
        self._last_run_id = 0

    # -- lifecycle ---------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Cancel what is queued or running (no stray step processes), then stop serving."""
        with self._runs_lock:
            self._stopping = True
            for group in self._groups.values():
                if group.pending is not None:
                    self._finish(group.pending, "cancelled", note="lab runner stopped")
                    group.pending = None
            running = [g.running for g in self._groups.values() if g.running is not None]
        for run in running:
            self._terminate(run, graceful=False)
        for t in list(self._threads):
            t.join(20)
        self.stop()

    # -- HTTP --------------------------------------------------------------------------------
    def _respond(
        self, method: str, path: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        route = path.split("?", 1)[0].strip("/").split("/")
        if method == "GET" and route == ["healthz"]:
            return 200, {"status": "ok", "runs": len(self._runs)}, {}
        if route[:1] == ["_lab"]:
            return self._lab_route(method, route[1:], raw)
        if route[:1] == ["repos"] and len(route) == 7:
            if self.token is not None and headers.get("authorization") != f"Bearer {self.token}":
                return 401, {"message": "Bad credentials"}, {}
            if (
                method == "POST"
                and route[3:5] == ["actions", "workflows"]
                and route[6] == "dispatches"
            ):
                return self._workflow_dispatch(raw)
            if method == "POST" and route[3:5] == ["actions", "runs"] and route[6] == "cancel":
                return self._cancel_route(route[5])
        before = len(self.dispatches)
        status, body, extra = super()._respond(method, path, headers, raw)
        if status == 204 and len(self.dispatches) > before:
            d = self.dispatches[-1]
            event = repository_dispatch_event(
                d.event_type, d.client_payload, repo=self.repo, sender=RELAY_SENDER
            )
            self._accept(event, received_at=d.received_at)
        return status, body, extra

    def _lab_route(
        self, method: str, route: list[str], raw: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        if method == "GET" and route == ["runs"]:
            with self._runs_lock:
                return 200, [r.model_dump(mode="json") for r in self._runs.values()], {}
        if route == ["arm"] and method == "PUT":
            try:
                arm = _Arm.model_validate_json(raw)
            except ValueError as exc:
                return 422, {"message": str(exc)}, {}
            with self._runs_lock:
                self._arm = arm
            return 200, {"armed": arm.drill_id}, {}
        if route == ["arm"] and method == "DELETE":
            with self._runs_lock:
                self._arm = None
            return 200, {"armed": None}, {}
        if route == ["arm"] and method == "GET":
            with self._runs_lock:
                return 200, {"armed": self._arm.drill_id if self._arm else None}, {}
        return 404, {"message": "Not Found"}, {}

    def _workflow_dispatch(self, raw: bytes) -> tuple[int, Any, dict[str, str]]:
        # https://docs.github.com/en/rest/actions/workflows#create-a-workflow-dispatch-event
        try:
            body = json.loads(raw)
            ref = body["ref"]
            inputs = body.get("inputs") or {}
            valid = isinstance(ref, str) and isinstance(inputs, dict) and len(inputs) <= 25
        except (ValueError, KeyError, TypeError):
            valid = False
        if not valid:
            return 422, {"message": "Invalid request."}, {}
        ref = ref if ref.startswith("refs/") else f"refs/heads/{ref}"
        sender = str(body.get("lab_actor") or "lab-operator")
        event = workflow_dispatch_event(
            {k: str(v) for k, v in inputs.items()}, repo=self.repo, sender=sender, ref=ref
        )
        self._accept(event, received_at=time.time())
        return 204, None, {}

    def _cancel_route(self, run_id: str) -> tuple[int, Any, dict[str, str]]:
        # https://docs.github.com/en/rest/actions/workflow-runs#cancel-a-workflow-run
        try:
            rid = int(run_id)
        except ValueError:
            return 404, {"message": "Not Found"}, {}
        with self._runs_lock:
            run = self._runs.get(rid)
            if run is None:
                return 404, {"message": "Not Found"}, {}
            if run.status == "completed":
                return 409, {"message": "Cannot cancel a workflow run that is completed."}, {}
            group = self._groups.get(run.concurrency_group)
            if group is not None and group.pending is run:
                group.pending = None
                self._finish(run, "cancelled", note="cancelled while queued")
                return 202, {}, {}
        threading.Thread(target=self._terminate, args=(run,), daemon=True).start()
        return 202, {}, {}

    # -- queue: the workflow's concurrency groups ------------------------------------------------
    def _next_run_id(self) -> int:
        # unique across runner restarts: GitHub run ids only grow
        self._last_run_id = max(self._last_run_id + 1, int(time.time() * 10))
        return self._last_run_id

    def _accept(self, event: dict[str, Any], *, received_at: float) -> None:
        with self._runs_lock:
            rid = self._next_run_id()
            run_dir = self.runs_dir / str(rid)
            run_dir.mkdir(parents=True, exist_ok=True)
            # the event file exactly as GitHub writes it to $GITHUB_EVENT_PATH
            write_json_atomic(run_dir / "event.json", json.dumps(event, indent=2) + "\n")
            run = WorkflowRun(
                run_id=rid,
                event_name=event_name(event),
                event_type=event_type(event),
                action=requested_action(event),
                payload=dict(event.get("client_payload") or event.get("inputs") or {}),
                drill_id=self._arm.drill_id if self._arm else None,
                received_at=received_at,
                directory=str(run_dir),
            )
            self._runs[rid] = run
            self._env_at_dispatch[rid] = dict(self._arm.env) if self._arm else {}
            try:
                workflow = load_workflow(self.project_dir)
                run.workflow_source = workflow.source
                run.concurrency_group = concurrency_group(
                    workflow, self._contexts(workflow, event, rid)
                )
            except Exception as exc:  # a workflow the lab cannot follow: say so on the run
                self._finish(run, "failure", note=f"cannot run the workflow: {exc}")
                return
            if self._stopping:
                self._finish(run, "cancelled", note="lab runner stopping")
                return
            group = self._groups.setdefault(run.concurrency_group, _Group())
            if group.running is None:
                self._launch(run, group)
            else:
                if group.pending is not None:
                    self._finish(
                        group.pending,
                        "cancelled",
                        note=f"superseded by run {rid} in concurrency group {run.concurrency_group} "
                        "(a newer pending run cancels the older one)",
                    )
                group.pending = run
                self._save(run)

    def _launch(self, run: WorkflowRun, group: _Group) -> None:
        group.running = run
        thread = threading.Thread(target=self._work, args=(run, group), daemon=True)
        self._threads.append(thread)
        thread.start()

    def _work(self, run: WorkflowRun, group: _Group) -> None:
        try:
            self._execute(run)
        except Exception as exc:  # never lose the runner; the run records why
            with self._runs_lock:
                self._finish(run, "failure", note=f"runner error: {type(exc).__name__}: {exc}")
        finally:
            with self._runs_lock:
                group.running = None
                nxt, group.pending = group.pending, None
                if nxt is not None and not self._stopping:
                    self._launch(nxt, group)

    # -- executing one run ---------------------------------------------------------------------
    def _contexts(self, workflow: LabWorkflow, event: dict[str, Any], rid: int) -> dict[str, Any]:
        return {
            "github": github_context(
                event,
                repo=self.repo,
                run_id=rid,
                run_attempt=1,
                workspace=self.project_dir,
                event_path=self.runs_dir / str(rid) / "event.json",
            ),
            "inputs": inputs_context(workflow.doc, event),
            "vars": dict(LAB_VARS),
        }

    def _lab_env(self, run: WorkflowRun) -> dict[str, str]:
        env = dict(self.default_env)
        env.update(self._env_at_dispatch.pop(run.run_id, {}))
        try:
            dsns = json.loads(self.dsn_file.read_text(encoding="utf-8"))
            env["HYBRIDOPS_DB_ONPREM_DSN"] = dsns["onprem"]
            env["HYBRIDOPS_DB_CLOUD_DSN"] = dsns["cloud"]
        except (OSError, ValueError, KeyError):
            pass  # the driver names the missing variable
        return env

    def _execute(self, run: WorkflowRun) -> None:
        run_dir = Path(run.directory)
        event = json.loads((run_dir / "event.json").read_text(encoding="utf-8"))
        lab_env = self._lab_env(run)
        workflow = load_workflow(self.project_dir)
        bindir = Path(sys.executable).parent
        machine_env = {
            "PATH": f"{bindir}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": os.environ.get("HOME", "/root"),
            "LANG": "C.UTF-8",
            "PYTHONUNBUFFERED": "1",
        }
        with self._runs_lock:
            run.status = "in_progress"
            run.started_at = time.time()
            run.workflow_source = workflow.source
            run.artefacts = lab_env.get("HYBRIDOPS_ARTEFACTS")
            self._save(run)

        def on_step(step: StepRun) -> None:
            with self._runs_lock:
                info = StepInfo(**{k: getattr(step, k) for k in StepInfo.model_fields})
                run.steps = [s for s in run.steps if (s.job, s.name) != (info.job, info.name)]
                run.steps.append(info)
                self._save(run)

        execution = Execution(
            workflow=workflow,
            event=event,
            repo=self.repo,
            run_id=run.run_id,
            run_attempt=run.run_attempt,
            run_dir=run_dir,
            project_dir=self.project_dir,
            machine_env=machine_env,
            lab_env=lab_env,
            vars=dict(LAB_VARS),
            # the workflow's secrets are the lab's settings (DSNs, notification webhook)
            secrets=lab_env,
            launch=lambda argv, env, cwd, log: self._start_step(run, argv, env, cwd, log),
            cancelled=lambda: run.run_id in self._cancel_requested or self._stopping,
            on_step=on_step,
        )
        jobs = execution.run()
        with self._runs_lock:
            run.jobs = {name: job.result for name, job in jobs.items()}
            run.job_outputs = {name: job.outputs for name, job in jobs.items() if job.outputs}
            conclusion = execution.conclusion()
            note = ", ".join(f"{name}: {job.result}" for name, job in jobs.items())
            self._finish(run, conclusion, note=note)  # type: ignore[arg-type]

    def _start_step(
        self, run: WorkflowRun, argv: list[str], env: dict[str, str], cwd: Path, log: Path
    ) -> subprocess.Popen[bytes] | None:
        with self._runs_lock:
            if run.run_id in self._cancel_requested or self._stopping:
                return None
            with open(log, "ab") as out:
                popen = subprocess.Popen(
                    argv,
                    cwd=cwd,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # its own process group: cancel reaches every child
                )
            ticks = start_ticks(popen.pid)
            if ticks is not None:
                run.processes.append(ProcessRef(pid=popen.pid, start_ticks=ticks))
            self._save(run)
            return popen

    def _terminate(self, run: WorkflowRun, graceful: bool = True) -> None:
        """GitHub's cancel: SIGINT, SIGTERM after 7.5 s, SIGKILL 2.5 s later, to the step's group."""
        with self._runs_lock:
            self._cancel_requested.add(run.run_id)
        sequence = (
            [(signal.SIGINT, CANCEL_SIGTERM_AFTER_S), (signal.SIGTERM, CANCEL_SIGKILL_AFTER_S)]
            if graceful
            else [(signal.SIGTERM, 5.0)]
        )
        for sig, wait_s in [*sequence, (signal.SIGKILL, 5.0)]:
            live = [ref for ref in list(run.processes) if _group_alive(ref)]
            if not live:
                break
            for ref in live:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(ref.pid, sig)
            end = time.monotonic() + wait_s
            while time.monotonic() < end and any(_group_alive(ref) for ref in live):
                time.sleep(0.05)

    def _finish(self, run: WorkflowRun, conclusion: Conclusion, *, note: str) -> None:
        run.status = "completed"
        run.conclusion = conclusion
        run.note = note
        run.finished_at = time.time()
        self._save(run)

    def _save(self, run: WorkflowRun) -> None:
        write_json_atomic(Path(run.directory) / "run.json", run.model_dump_json(indent=2) + "\n")


def _group_alive(ref: ProcessRef) -> bool:
    # the group id is the leader's PID; the leader may be gone while its children remain
    return is_ours(ref) or bool(group_members(ref.pid))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lab-dir", type=Path, required=True)
    parser.add_argument("--project-dir", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token-file", type=Path, required=True)
    parser.add_argument("--repo", default="hybridops/dr")
    parser.add_argument("--default-env", type=Path, required=True, help="JSON: env of unarmed runs")
    parser.add_argument("--dsn-file", type=Path, required=True)
    args = parser.parse_args()
    # Signal handlers, not a blocked mask + sigwait: step processes inherit the signal mask, and
    # a step with SIGINT/SIGTERM blocked could not be cancelled the way GitHub cancels.
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())
    runner = DispatchRunner(
        lab_dir=args.lab_dir,
        project_dir=args.project_dir,
        token=args.token_file.read_text(encoding="utf-8").strip(),
        port=args.port,
        default_env=json.loads(args.default_env.read_text(encoding="utf-8")),
        dsn_file=args.dsn_file,
        repo=Repo.parse(args.repo),
    )
    runner.start()
    print(f"lab dispatch runner (loopback GitHub) listening on {runner.url}", flush=True)
    while not stopping.wait(0.5):
        pass
    runner.shutdown()


if __name__ == "__main__":
    main()
