"""The report as a pull-request comment (GitHub-flavoured Markdown).

The first line is a hidden marker, ``<!-- hybridops-cost-report stack=<stack> -->``: a workflow finds
its earlier comment by that line and edits it instead of adding a new one.
"""

from __future__ import annotations

from cost.money import format_money
from cost.render.common import diff_text, money_text, ordered, percent, short_type
from cost.report import CostComponent, CostReport, ResourceCost

MARKER = "<!-- hybridops-cost-report"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    return f"`{text.replace('`', '')}`"


def render_markdown(report: CostReport) -> str:
    cur = report.currency
    m, d = money_text(cur), diff_text(cur)
    s = report.summary
    lines = [f"{MARKER} stack={report.stack} -->", f"### Cost estimate: {_code(report.stack)}", ""]
    pct = percent(report.diff_total_monthly_cost, report.past_total_monthly_cost)
    lines.append(
        f"**{m(report.total_monthly_cost)}/month** (was {m(report.past_total_monthly_cost)}; "
        f"**{d(report.diff_total_monthly_cost)}**{f', {pct}' if pct else ''}) · "
        f"{format_money(report.total_hourly_cost, cur, 4)}/hour "
        f"(was {format_money(report.past_total_hourly_cost, cur, 4)})"
    )
    context = [f"{report.currency}", f"{report.hours_per_month} h/month"]
    if report.offline:
        context.append("offline plan")
    if report.overrides:
        context.append(
            "what-if "
            + ", ".join(_code(f"{k.split(':', 1)[-1]}={v}") for k, v in report.overrides.items())
        )
    if report.baseline != "plan":
        context.append(f"compared to {report.baseline}")
    lines += ["", " · ".join(context), ""]
    if not s.complete:
        lines += [
            f"> [!WARNING]\n> {s.unsupported} unsupported and {s.price_not_found} unpriced resource(s): "
            "the totals leave them out.",
            "",
        ]

    rows = ordered(report)
    lines += ["| Resource | Type | Op | Before | After | Diff |", "|---|---|---|---:|---:|---:|"]
    for r in rows:
        flag = "" if r.status == "priced" else f" ({r.status})"
        lines.append(
            f"| {_code(r.name)}{flag} | {_cell(short_type(r.type))} | {r.op} | {m(r.past_monthly_cost)} "
            f"| {m(r.monthly_cost)} | {d(r.diff_monthly_cost)} |"
        )
    lines.append(
        f"| **Total** | | | **{m(report.past_total_monthly_cost)}** | **{m(report.total_monthly_cost)}** "
        f"| **{d(report.diff_total_monthly_cost)}** |"
    )
    free = s.free
    lines += [
        "",
        f"{s.resources} resources: {s.priced} priced, {free} free, {s.unsupported} unsupported, "
        f"{s.price_not_found} with a missing price; {s.changed} change cost.",
    ]

    lines += ["", "<details><summary>Cost components</summary>", ""]
    lines += [
        "| Resource | Component | Quantity | Unit price | Before | After |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines += _component_rows(r, cur)
    lines += ["", "</details>", ""]

    lines.append(
        f"**Unsupported resources ({s.unsupported})**" + (":" if s.unsupported else ": none")
    )
    for type_token, count in s.unsupported_types.items():
        lines.append(f"- {_code(type_token)} x{count}")
    lines.append("")
    lines.append(
        f"**Prices not found ({len(s.missing_prices)})**" + (":" if s.missing_prices else ": none")
    )
    for mp in s.missing_prices:
        lines.append(f"- {_code(mp.price_key)}: {', '.join(mp.resources)}")
    if report.usage.dr is not None:
        dr = report.usage.dr
        lines += [
            "",
            f"**DR event assumptions:** {dr.expected_hours_per_event} h per event, "
            f"one-off costs {m(dr.one_off_total)}"
            + (f" ({dr.one_off_price_not_found} unpriced)" if dr.one_off_price_not_found else ""),
        ]
    if report.notes:
        lines += ["", "<details><summary>Notes</summary>", ""]
        lines += [f"- {_cell(n)}" for n in report.notes]
        lines += ["", "</details>"]
    catalogs = "; ".join(
        f"{c.name} {c.version} ({c.currency}{', sha256 ' + c.sha256[:12] if c.sha256 else ''})"
        for c in report.catalogs
    )
    usage = report.usage.path or "none"
    lines += [
        "",
        f"<sub>Prices: {_cell(catalogs)}. Usage: {usage}. Generated {report.generated_at.isoformat()} "
        f"by <code>hybridops cost estimate</code>.</sub>",
        "",
    ]
    return "\n".join(lines)


def _component_rows(r: ResourceCost, currency: str) -> list[str]:
    past = {c.name: c for c in r.past_components or []}
    now = {c.name: c for c in r.components or []}
    names = list(now) + [n for n in past if n not in now]
    out = []
    for name in names:
        c: CostComponent = now.get(name) or past[name]
        before = past.get(name)
        after = now.get(name)
        price = (
            f"{format_money(c.unit_price, currency, 4)} / {c.price_unit}"
            if c.unit_price is not None
            else ("free" if c.status == "free" else "**not found**")
        )
        qty = f"{format(c.quantity.normalize(), ',f')} {c.unit}"
        out.append(
            f"| {_code(r.name)} | {_cell(name)} | {qty} | {_cell(price)} "
            f"| {_money_or(before, currency)} | {_money_or(after, currency)} |"
        )
    return out


def _money_or(c: CostComponent | None, currency: str) -> str:
    if c is None:
        return "-"
    if c.monthly_cost is None:
        return "n/a"
    return format_money(c.monthly_cost, currency)
