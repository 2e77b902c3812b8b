"""``hybridops cost decide``: the cost gate from the command line (CI jobs, humans, the lab).

Exit codes: 0 allow, 10 warn (approval needed), 20 block, 1 error, 2 usage. A block (and a
break-glass override) is also sent to the configured notification channels (see ``dr/notify.py``);
a failed notification is reported on stderr and never changes the exit code.

Module-level imports are typer/stdlib only (``hybridops --help`` stays fast).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from dr.cli.common import (
    JsonOption,
    OfflineOption,
    ProjectDirOption,
    SetOption,
    StackOption,
    print_json,
    project_dir,
)

if TYPE_CHECKING:
    from cost.decision.service import DecisionOutcome
    from cost.plan import Plan
    from dr.notify import Delivery

EXIT_FOR = {"allow": 0, "warn": 10, "block": 20}


def register(app: typer.Typer) -> None:
    """Attach ``decide`` to the ``cost`` sub-app (registered by ``dr.cli.cost`` just before)."""
    for info in app.registered_groups:
        if info.name == "cost" and info.typer_instance is not None:
            info.typer_instance.command("decide")(decide_command)
            return
    raise RuntimeError(
        "register dr.cli.cost before dr.cli.decide: `cost decide` needs the cost sub-app"
    )


def decide_command(
    stack: StackOption,
    scenario: Annotated[
        str, typer.Option("--scenario", help="cutover, failback, burst or change.")
    ],
    artefacts: Annotated[
        Path | None,
        typer.Option(
            "--artefacts",
            help="Root of cost artefacts and records (default: <project>/output/artifacts/cost).",
        ),
    ] = None,
    policy: Annotated[
        Path | None,
        typer.Option("--policy", help="Budget policy file (default: stacks/budget-policy.yaml)."),
    ] = None,
    estimate: Annotated[
        Path | None,
        typer.Option(
            "--estimate", help="A cost artefact or `cost estimate --format json` output to judge."
        ),
    ] = None,
    offline: OfflineOption = False,
    set_: SetOption = None,
    approved_by: Annotated[
        str | None,
        typer.Option(
            "--approved-by", help="Who approves a warn, or breaks glass on a block (with --reason)."
        ),
    ] = None,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why (recorded with --approved-by).")
    ] = None,
    json_: JsonOption = False,
    run_id: Annotated[
        str | None, typer.Option("--run-id", help="Run id of the records (default: time + random).")
    ] = None,
    component: Annotated[
        str | None,
        typer.Option("--component", help="Artefact directory (default: the stack name)."),
    ] = None,
    drill: Annotated[
        bool,
        typer.Option(
            "--drill", help="A rehearsal: judged like the real scenario, never counted as DR spend."
        ),
    ] = False,
    severity: Annotated[
        str | None,
        typer.Option(
            "--severity", help="Severity of the triggering alert (break-glass may depend on it)."
        ),
    ] = None,
    notify: Annotated[
        bool,
        typer.Option(
            "--notify/--no-notify", help="Notify the configured channels on a block or break-glass."
        ),
    ] = True,
    project: ProjectDirOption = None,
) -> None:
    """Judge a plan of STACK against the budget policy: allow (0), warn (10) or block (20), with a record."""
    from cost.artefact import check_component, check_run_id
    from cost.decision.errors import DecisionUsageError
    from cost.decision.policy import SCENARIOS
    from cost.decision.service import evaluate
    from dr.cli.cost import _default_run_id, _git_commit, _now

    # Usage errors first (exit 2), before any file is read.
    if scenario not in SCENARIOS:
        raise DecisionUsageError(f"--scenario {scenario!r}: expected one of {', '.join(SCENARIOS)}")
    if estimate is not None and offline:
        raise DecisionUsageError(
            "--estimate and --offline exclude each other: judge a file, or plan now"
        )
    if set_ and not offline:
        raise DecisionUsageError(
            "--set needs --offline (it changes the what-if the offline engine plans)"
        )
    if bool((approved_by or "").strip()) != bool((reason or "").strip()):
        raise DecisionUsageError("--approved-by and --reason go together (who approved, and why)")
    if run_id is not None:
        check_run_id(run_id)
    if component is not None:
        check_component(component)

    now = _now()
    root = project_dir(project)
    source: Any = estimate
    if offline:
        source = _what_if(root, stack, scenario, set_ or [])
    outcome = evaluate(
        source,
        stack=stack,
        scenario=scenario,
        project_dir=root,
        run_id=run_id or _default_run_id(now),
        component=component,
        artefacts_root=artefacts,
        policy_path=policy,
        severity=severity,
        drill=drill,
        approved_by=approved_by,
        override_reason=reason,
        now=now,
        git_commit=_git_commit(root),
    )
    deliveries = _notify(outcome) if notify else []
    code = EXIT_FOR[outcome.decision]
    if json_:
        data = outcome.to_json()
        data["exit_code"] = code
        data["notifications"] = [vars(d) for d in deliveries]
        print_json(data)
    else:
        _print(outcome, deliveries)
    raise typer.Exit(code)


def _what_if(root: Path, stack: str, scenario: str, items: list[str]) -> Plan:
    """The plan to judge: the scenario's transition (see ``cost.decision.whatif``) plus ``--set``."""
    from cost.decision.whatif import SOURCE, TARGET, in_state, reverse_plan
    from dr.engines.offline import OfflineEngine
    from dr.errors import UsageError
    from dr.stack_config import parse_overrides

    extra = parse_overrides(items)
    engine = OfflineEngine(root)
    if scenario == "change":
        return engine.plan(stack, extra)
    target = TARGET[scenario]
    base = engine.load(stack)
    if not in_state(base.values, target):
        return engine.plan(stack, {**target, **extra})
    # The stack file already is the target state (e.g. a failback while the file says active):
    # price source -> file by planning file -> source and reversing it.
    if extra:
        raise UsageError(
            f"--set with --scenario {scenario}: {base.display_path} is already in the target state; "
            "the what-if is priced from the source state, which --set cannot change"
        )
    source_state = SOURCE[scenario]
    shown = ", ".join(f"{k.split(':', 1)[1]}={v}" for k, v in source_state.items())
    return reverse_plan(
        engine.plan(stack, source_state),
        overrides={},
        note=f"what-if: {scenario} priced from {shown} to {base.display_path} as committed",
    )


def _notify(outcome: DecisionOutcome) -> list[Delivery]:
    if outcome.decision != "block" and not (
        outcome.override is not None
        and outcome.override.kind == "break-glass"
        and outcome.decision == "allow"
    ):
        return []
    from dr.errors import ConfigError
    from dr.notify import decision_notification, deliver, notifiers_from_env

    try:
        notifiers = notifiers_from_env()
    except ConfigError as exc:
        typer.echo(f"warning: notification not sent: {exc}", err=True)
        return []
    if not notifiers:
        typer.echo(
            "note: no notification channel configured (HYBRIDOPS_NOTIFY_WEBHOOK_URL[_FILE], HYBRIDOPS_SMTP_HOST)",
            err=True,
        )
        return []
    deliveries = deliver(notifiers, decision_notification(outcome))
    for d in deliveries:
        if not d.delivered:
            typer.echo(f"warning: notification via {d.channel} failed: {d.error}", err=True)
    return deliveries


def _print(outcome: DecisionOutcome, deliveries: list[Delivery]) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from cost.money import format_diff, format_money

    console = Console()
    rec = outcome.record
    style = {"allow": "green", "warn": "yellow", "block": "red"}[outcome.decision]
    console.print(
        f"[bold {style}]{outcome.decision.upper()}[/] {escape(rec.scenario)} of {escape(rec.stack)}"
        + (" (drill)" if rec.drill else "")
        + f": {escape(outcome.reason)}"
    )
    f = outcome.figures
    if (
        f.currency
        and f.past_monthly is not None
        and f.planned_monthly is not None
        and f.diff_monthly is not None
    ):
        line = (
            f"monthly {format_money(f.past_monthly, f.currency)} -> {format_money(f.planned_monthly, f.currency)} "
            f"({format_diff(f.diff_monthly, f.currency)})"
        )
        if f.event_cost is not None:
            line += f"; event cost {format_money(f.event_cost, f.currency)}"
        if f.dr_spend_to_date is not None and f.monthly_dr_budget is not None:
            line += (
                f"; DR spend this month {format_money(f.dr_spend_to_date, f.currency)} "
                f"of {format_money(f.monthly_dr_budget, f.currency)}"
            )
        console.print(line)
    table = Table(header_style="bold")
    for col in ("check", "status", "on fail", "reason"):
        table.add_column(col, overflow="fold")
    colors = {"passed": "green", "failed": "red", "skipped": "dim"}
    for c in outcome.checks:
        table.add_row(c.id, f"[{colors[c.status]}]{c.status}[/]", c.effect, escape(c.reason))
    console.print(table)
    console.print(f"record: {outcome.display(outcome.record_path)}")
    if outcome.blocked_path is not None:
        console.print(f"blocked: {outcome.display(outcome.blocked_path)}")
    for d in deliveries:
        console.print(
            f"notified via {d.channel}" if d.delivered else f"notification via {d.channel} FAILED"
        )
    sys.stdout.flush()
