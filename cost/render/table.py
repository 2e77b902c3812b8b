"""The report as a terminal table (rich)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cost.money import format_money
from cost.render.common import diff_text, money_text, ordered, percent, short_type
from cost.report import CostReport

if TYPE_CHECKING:
    from rich.console import Console


def render_table(report: CostReport, console: Console) -> None:
    from rich.markup import escape
    from rich.table import Table

    cur = report.currency
    m, d = money_text(cur), diff_text(cur)
    s = report.summary
    title = f"Cost estimate of stack [bold]{escape(report.stack)}[/]"
    if report.offline:
        title += " [yellow](offline plan)[/]"
    console.print(title)
    if report.overrides:
        console.print(
            escape("what-if: " + ", ".join(f"{k}={v}" for k, v in report.overrides.items()))
        )
    table = Table(show_lines=False, header_style="bold")
    table.add_column("resource / component", overflow="fold", ratio=3)
    table.add_column("op")
    for col in ("quantity", "before /mo", "after /mo", "diff"):
        table.add_column(col, justify="right", no_wrap=True)
    for r in ordered(report):
        style = {"unsupported": "red", "price-not-found": "red"}.get(r.status, "")
        name = escape(r.name) + (f" [{style}]({r.status})[/]" if style else "")
        diff_style = (
            "green" if (r.diff_monthly_cost or 0) < 0 else "yellow" if r.diff_monthly_cost else ""
        )
        diff = d(r.diff_monthly_cost)
        table.add_row(
            f"[bold]{name}[/] [dim]{escape(short_type(r.type))}[/]",
            r.op,
            "",
            m(r.past_monthly_cost),
            m(r.monthly_cost),
            f"[{diff_style}]{diff}[/]" if diff_style else diff,
        )
        past = {c.name: c for c in r.past_components or []}
        for c in r.components if r.components is not None else r.past_components or []:
            before = past.get(c.name)
            table.add_row(
                f"  [dim]{escape(c.name)}[/]",
                "",
                f"{format(c.quantity.normalize(), ',f')} {c.unit}",
                m(before.monthly_cost) if before else "-",
                m(c.monthly_cost) if r.components is not None else "-",
                "[red]price not found[/]" if c.status == "price-not-found" else "",
            )
    pct = percent(report.diff_total_monthly_cost, report.past_total_monthly_cost)
    table.add_row(
        "[bold]Total[/]",
        "",
        "",
        m(report.past_total_monthly_cost),
        f"[bold]{m(report.total_monthly_cost)}[/]",
        f"[bold]{d(report.diff_total_monthly_cost)}[/]" + (f" ({pct})" if pct else ""),
    )
    console.print(table)
    console.print(
        f"hourly {format_money(report.total_hourly_cost, cur, 4)} (was {format_money(report.past_total_hourly_cost, cur, 4)}); "
        f"{s.resources} resources: {s.priced} priced, {s.free} free, "
        f"[{'red' if s.unsupported else 'green'}]{s.unsupported} unsupported[/], "
        f"[{'red' if s.price_not_found else 'green'}]{s.price_not_found} price not found[/]"
    )
    for type_token, count in s.unsupported_types.items():
        console.print(f"[red]unsupported:[/] {escape(type_token)} x{count}")
    for mp in s.missing_prices:
        console.print(
            f"[red]price not found:[/] {escape(mp.price_key)} ({escape(', '.join(mp.resources))})"
        )
    for note in report.notes:
        console.print(f"[dim]note: {escape(note)}[/]")
    console.print(
        "[dim]prices: "
        + escape("; ".join(f"{c.name} {c.version}" for c in report.catalogs))
        + f"; usage: {escape(report.usage.path or 'none')}[/]"
    )
