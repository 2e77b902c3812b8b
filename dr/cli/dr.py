"""``hybridops dr cutover|failback|drill``: run a recovery plan with the cost gate."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from dr.cli.common import (
    JsonOption,
    OfflineOption,
    ProjectDirOption,
    StackOption,
    print_json,
    project_dir,
)

if TYPE_CHECKING:
    from dr.records import RunRecord, StepRecord
    from dr.recovery.model import Step

dr_app = typer.Typer(
    help="DR operations: cutover, failback, drill (preview -> cost gate -> ordered recovery plan).",
    no_args_is_help=True,
)

RunIdOption = Annotated[
    str | None, typer.Option("--run-id", help="Run id; re-use it to resume a crashed run.")
]
EventFileOption = Annotated[
    Path | None,
    typer.Option(
        "--event-file",
        help="The repository_dispatch/workflow_dispatch event JSON ($GITHUB_EVENT_PATH).",
    ),
]
SimulateOption = Annotated[
    bool, typer.Option("--simulate", help="Plan, decide and record; change nothing.")
]
ApprovedByOption = Annotated[
    str | None,
    typer.Option("--approved-by", help="Who approves a warn (or a permitted break-glass)."),
]
ReasonOption = Annotated[
    str | None,
    typer.Option("--reason", help="Why (required with --approved-by; the trigger reason by hand)."),
]
ForceOption = Annotated[
    bool,
    typer.Option(
        "--force",
        help="Proceed although on-prem looks healthy / db-01 could not be fenced (recorded).",
    ),
]
ProfileOption = Annotated[
    Path | None,
    typer.Option(
        "--profile",
        envvar="HYBRIDOPS_DR_PROFILE",
        help="DR profile (default: stacks/dr/<stack>.yaml).",
    ),
]
ArtefactsOption = Annotated[
    Path | None,
    typer.Option(
        "--artefacts",
        envvar="HYBRIDOPS_ARTEFACTS",
        help="Artefacts root (default <project>/output/artifacts): run records in <root>/dr/<run_id>/, cost in <root>/cost/.",
    ),
]


class PlainReporter:
    """One line per step: for CI logs and pipes."""

    def step_started(self, step: Step, index: int, total: int) -> None:
        print(f"[{index}/{total}] {step.name} ({step.kind}) ...", file=sys.stderr, flush=True)

    def step_finished(self, step: Step, record: StepRecord) -> None:
        print(
            f"      {record.outcome} in {record.duration_s:.2f} s: {record.detail}",
            file=sys.stderr,
            flush=True,
        )


class RichReporter:
    """A live spinner per step on a terminal."""

    def __init__(self) -> None:
        from rich.console import Console

        self.console = Console(stderr=True)
        self._status: Any = None

    def step_started(self, step: Step, index: int, total: int) -> None:
        from rich.markup import escape

        self._status = self.console.status(f"[{index}/{total}] {escape(step.name)} ...")
        self._status.start()

    def step_finished(self, step: Step, record: StepRecord) -> None:
        from rich.markup import escape

        if self._status is not None:
            self._status.stop()
        style = {
            "succeeded": "green",
            "noop": "cyan",
            "simulated": "blue",
            "skipped": "yellow",
        }.get(record.outcome, "red")
        self.console.print(
            f"[{style}]{record.outcome:>9}[/] {escape(step.name)} [dim]({record.duration_s:.2f} s)[/] {escape(record.detail)}"
        )


def _reporter() -> Any:
    if sys.stderr.isatty() and not os.environ.get("CI"):
        return RichReporter()
    return PlainReporter()


def _run(
    operation: str,
    *,
    stack: str,
    run_id: str | None,
    event_file: Path | None,
    offline: bool,
    simulate: bool,
    approved_by: str | None,
    reason: str | None,
    force: bool,
    json_: bool,
    profile_path: Path | None,
    artefacts: Path | None,
    project: Path | None,
) -> None:
    from dr.driver import DatabasePair, HttpHealth, RunRequest, Services, new_run_id, run_operation
    from dr.engines import get_engine
    from dr.errors import UsageError
    from dr.gate import DecisionServiceGate
    from dr.notify import notifier_from_env
    from dr.profile import load_profile
    from dr.trigger import cli_trigger, default_actor, load_event

    if approved_by and not reason:
        raise UsageError("--approved-by needs --reason TEXT (both are recorded)")
    if operation == "drill":
        simulate = True
    root = project_dir(project)
    artefacts = artefacts if artefacts is not None else root / "output" / "artifacts"
    profile = load_profile(root, stack, profile_path)
    if event_file is not None:
        trigger, event_actor = load_event(event_file)
    else:
        trigger, event_actor = cli_trigger(reason), None
    engine = get_engine(root, offline=offline)
    database = None
    if profile.database.mode in ("postgres-streaming", "cnpg") and not simulate:
        database = DatabasePair(profile)
    services = Services(
        engine=engine,
        cost_gate=DecisionServiceGate(
            root, artefacts_root=artefacts / "cost", stack=stack, component=profile.component
        ),
        profile=profile,
        health=HttpHealth(),
        database=database,
        notifier=notifier_from_env(),
    )
    request = RunRequest(
        operation=operation,  # type: ignore[arg-type]
        stack=stack,
        run_id=run_id or new_run_id(operation),
        trigger=trigger,
        actor=event_actor or default_actor(),
        simulate=simulate,
        force=force,
        approved_by=approved_by,
        approval_reason=reason if approved_by else None,
        inputs={
            "argv": sys.argv[1:],
            "stack": stack,
            "operation": operation,
            "simulate": simulate,
            "offline": offline,
            "event_file": str(event_file) if event_file else None,
            "trigger": trigger.model_dump(mode="json"),
            "profile": profile.model_dump(mode="json"),
            "stack_config": engine.load(stack).values if hasattr(engine, "load") else None,
        },
    )
    record = run_operation(
        request,
        services,
        artefacts_root=artefacts,
        locks_dir=artefacts.parent / "locks",
        reporter=None if json_ else _reporter(),
    )
    _report(record, artefacts, json_)
    raise typer.Exit(record.exit_code or 0)


def _report(record: RunRecord, artefacts: Path, json_: bool) -> None:
    if json_:
        print_json(record.model_dump(mode="json"))
        return
    where = artefacts / "dr" / record.run_id
    mode = " (simulated)" if record.simulate else ""
    print(
        f"{record.operation} of {record.stack}{mode}: {record.result} (exit {record.exit_code}) - {record.summary}"
    )
    if record.decision:
        print(f"cost decision: {record.decision.decision}: {record.decision.reason}")
    for warning in record.warnings:
        print(f"warning: {warning}")
    print(f"evidence: {where}/record.json, {where}/summary.md")


def _command(operation: str, doc: str) -> None:
    def command(
        stack: StackOption,
        run_id: RunIdOption = None,
        event_file: EventFileOption = None,
        offline: OfflineOption = False,
        simulate: SimulateOption = False,
        approved_by: ApprovedByOption = None,
        reason: ReasonOption = None,
        force: ForceOption = False,
        json_: JsonOption = False,
        profile: ProfileOption = None,
        artefacts: ArtefactsOption = None,
        project: ProjectDirOption = None,
    ) -> None:
        _run(
            operation,
            stack=stack,
            run_id=run_id,
            event_file=event_file,
            offline=offline,
            simulate=simulate,
            approved_by=approved_by,
            reason=reason,
            force=force,
            json_=json_,
            profile_path=profile,
            artefacts=artefacts,
            project=project,
        )

    command.__doc__ = doc
    dr_app.command(operation)(command)


_command(
    "cutover",
    "Fail over to the cloud: confirm trigger, cost gate, fence, promote, scale, verify, switch traffic.",
)
_command(
    "failback",
    "Come back on-prem: verify, resync db-01, planned switchover, traffic back, scale down, cost re-check.",
)
_command("drill", "The cutover plan in simulate mode: plan, decide and record; change nothing.")


def register(app: typer.Typer) -> None:
    app.add_typer(dr_app, name="dr")
