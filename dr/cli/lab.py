"""``hybridops lab up|down|status|drill``: the whole DR loop on this machine (dr/lab/)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from dr.cli.common import ProjectDirOption, print_json, project_dir

if TYPE_CHECKING:
    from dr.lab.lab import Lab
    from dr.lab.timings import LabTimings

lab_app = typer.Typer(
    help="The local lab: Jenkins, Prometheus, Alertmanager, relay, runner and PostgreSQL on 127.0.0.1.",
    no_args_is_help=True,
)

DirOption = Annotated[
    Path | None,
    typer.Option("--dir", help="Lab state directory [default: <project>/.lab]."),
]


def _lab(directory: Path | None, project: Path | None, say: Any = None) -> Lab:
    from dr.lab.lab import Lab, default_lab_dir

    root = project_dir(project)
    return Lab(directory or default_lab_dir(root), root, say=say)


def _console() -> Any:
    from rich.console import Console

    return Console(stderr=False, highlight=False)


def _interactive() -> bool:
    return sys.stdout.isatty() and not os.environ.get("CI")


@lab_app.command("up")
def up(directory: DirOption = None, project: ProjectDirOption = None) -> None:
    """Start every lab component on free 127.0.0.1 ports (a no-op when it already runs)."""
    console = _console()
    lab = _lab(directory, project, say=lambda m: console.print(f"  {m}"))
    lab.up()
    _print_status(lab, console)


@lab_app.command("down")
def down(directory: DirOption = None, project: ProjectDirOption = None) -> None:
    """Stop what `lab up` started (recorded PIDs, checked before signalling); keep the evidence."""
    lab = _lab(directory, project)
    stopped = lab.down()
    typer.echo(f"stopped: {', '.join(stopped)}" if stopped else "nothing of the lab was running")
    typer.echo(f"evidence kept in {lab.dir} (drills/, runner/runs/, notifications.jsonl, logs/)")


@lab_app.command("status")
def status(
    directory: DirOption = None,
    project: ProjectDirOption = None,
    json_: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Each component with its port, PID and health."""
    lab = _lab(directory, project)
    if json_:
        from dataclasses import asdict

        print_json([asdict(s) for s in lab.status()])
        return
    _print_status(lab, _console())


def _print_status(lab: Lab, console: Any) -> None:
    from rich.table import Table

    state = lab.state()
    table = Table(title=f"hybridops lab ({lab.dir})", title_justify="left")
    for col in ("component", "port", "pid", "health", "endpoint"):
        table.add_column(col)
    colour = {"healthy": "green", "primary": "green", "standby": "cyan", "fenced": "yellow"}
    for s in lab.status():
        style = colour.get(s.health, "red")
        table.add_row(
            s.name, str(s.port or ""), str(s.pid or "-"), f"[{style}]{s.health}[/]", s.detail
        )
    console.print(table)
    from dr.lab.workflow import load_workflow

    console.print(f"lab timings: {state.settings.floor_formula()} (detection floor)")
    try:
        console.print(f"dispatch runner runs: {load_workflow(lab.project_dir).source}")
    except Exception as exc:  # show the status anyway
        console.print(f"[red]dispatch runner cannot follow the workflow: {exc}[/]")


class RichProgress:
    """A spinner for the current phase, a line per finished phase."""

    def __init__(self, console: Any) -> None:
        self.console = console
        self.t0 = time.monotonic()
        self._status: Any = None
        self._phase = ""

    def _elapsed(self) -> str:
        return f"[dim]{time.monotonic() - self.t0:6.1f}s[/]"

    def phase(self, text: str) -> None:
        from rich.markup import escape

        self._phase = escape(text)
        if self._status is None:
            self._status = self.console.status(self._phase)
            self._status.start()
        else:
            self._status.update(self._phase)

    def update(self, text: str) -> None:
        from rich.markup import escape

        if self._status is not None:
            self._status.update(f"{self._phase}: {escape(text)}")

    def done(self, text: str) -> None:
        from rich.markup import escape

        self.console.print(f"{self._elapsed()} {escape(text)}")

    def close(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None


def _fmt(value: float | None, unit: str = "s") -> str:
    return "-" if value is None else f"{value:.1f} {unit}"


def print_timings(t: LabTimings, console: Any, drill_dir: Path | None = None) -> None:
    from rich.table import Table

    table = Table(title=f"{t.scenario}: {t.result}  ({t.drill_id})", title_justify="left")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("basis")
    floor_gap = (
        f" ({t.detection_latency_s - t.floor_s:+.1f} s vs floor)"
        if t.detection_latency_s is not None and t.trigger == "alert"
        else ""
    )
    table.add_row("detection latency", _fmt(t.detection_latency_s) + floor_gap, t.detection_basis)
    table.add_row("physical floor", f"{t.floor_s:.1f} s", t.floor_formula)
    table.add_row(
        "decision latency",
        _fmt(t.decision_latency_s),
        f"dispatch -> decision record ({t.decision or 'none'})",
    )
    table.add_row("RTO", _fmt(t.rto_s), t.rto_basis or "no recovery ran")
    if t.record_rto_s is not None:
        table.add_row("RTO (record)", _fmt(t.record_rto_s), t.record_rto_basis or "")
    table.add_row(
        "RPO (rows lost)", "-" if t.rpo_rows is None else f"{t.rpo_rows} rows", t.rpo_basis
    )
    if t.rpo_bytes is not None:
        table.add_row("RPO (WAL bytes)", f"{t.rpo_bytes} B", t.rpo_bytes_basis)
    if t.writer.longest_gap_s is not None:
        table.add_row(
            "app write outage",
            _fmt(t.writer.longest_gap_s),
            f"longest gap between acknowledged writes ({t.writer.acknowledged} rows: {t.writer.acknowledged_on})",
        )
    console.print(table)
    for c in t.checks:
        mark = "[green]ok[/]" if c.ok else "[red]FAILED[/]"
        console.print(f"  {mark} {c.name}: {c.detail}")
    if t.record_result == "WARNINGS":
        console.print(
            "  note: the record says WARNINGS because the offline engine planned and priced the "
            "config transitions (drMode, trafficTarget) but cannot apply them; the database steps ran for real."
        )
    for n in t.notes:
        console.print(f"  note: {n}")
    if t.record:
        console.print(
            f"evidence: {Path(t.record).parent} (record.json, summary.md, lab-timings.json)"
        )
    if drill_dir is not None:
        console.print(f"drill directory: {drill_dir} (lab-timings.json, artifacts/)")


@lab_app.command("drill")
def drill(
    scenario: Annotated[
        str,
        typer.Argument(help="jenkins-outage | cost-block | db-primary-loss | failback"),
    ],
    directory: DirOption = None,
    keep: Annotated[
        bool,
        typer.Option("--keep", help="Leave the lab as the drill left it (no reset at the end)."),
    ] = False,
    json_: Annotated[
        bool, typer.Option("--json", help="Print lab-timings.json on stdout.")
    ] = False,
    project: ProjectDirOption = None,
) -> None:
    """Run a drill against the lab (started if needed) and print the measured timings.

    Exit 0 when every promised property held, 1 when one did not, 130 when interrupted.
    """
    from dr.lab.drills import SCENARIOS, DrillCancelled, PlainProgress, run_drill
    from dr.lab.procs import LabError

    if scenario not in SCENARIOS:
        raise typer.BadParameter(f"choose one of {', '.join(SCENARIOS)}", param_hint="SCENARIO")
    console = _console()
    progress: Any = (
        RichProgress(console)
        if _interactive() and not json_
        else PlainProgress(lambda m: print(m, file=sys.stderr if json_ else sys.stdout, flush=True))
    )
    lab = _lab(directory, project, say=progress.done)
    try:
        timings = run_drill(lab, scenario, progress, keep=keep)
    except DrillCancelled as exc:
        progress.close()
        typer.echo(f"{exc}: the workflow run was cancelled; evidence in {lab.drills_dir}", err=True)
        raise typer.Exit(130) from None
    except LabError:
        progress.close()
        raise
    progress.close()
    if json_:
        print_json(timings.model_dump(mode="json"))
    else:
        print_timings(timings, console, lab.drills_dir / timings.drill_id)
    raise typer.Exit(0 if timings.result == "passed" else 1)


def register(app: typer.Typer) -> None:
    app.add_typer(lab_app, name="lab")
