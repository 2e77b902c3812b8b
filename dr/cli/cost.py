"""``hybridops cost``: estimate what a plan costs, and manage the price catalog.

Module-level imports are typer/stdlib only (``hybridops --help`` stays fast); the cost engine and
the Pulumi engine are imported inside the commands.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from dr.cli.common import (
    OfflineOption,
    ProjectDirOption,
    SetOption,
    StackOption,
    print_json,
    project_dir,
)

if TYPE_CHECKING:
    from cost.catalog import ChainCatalog

ENV_CATALOG = (
    "HYBRIDOPS_PRICE_CATALOG"  # same as cost.sources.ENV_CATALOG (not imported: --help speed)
)

CatalogOption = Annotated[
    Path | None,
    typer.Option(
        "--catalog",
        help=f"Price catalog file (default: ${ENV_CATALOG}, else the snapshot shipped in cost/data/).",
    ),
]


def _now() -> datetime:
    """Now in UTC, or ``$SOURCE_DATE_EPOCH`` (reproducible output: https://reproducible-builds.org/specs/source-date-epoch/)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        from cost.errors import CostUsageError

        try:
            return datetime.fromtimestamp(int(epoch), UTC)
        except ValueError:
            raise CostUsageError(
                f"$SOURCE_DATE_EPOCH={epoch!r}: expected an integer (seconds)"
            ) from None
    return datetime.now(UTC)


def _git_commit(project: Path) -> str | None:
    if sha := os.environ.get("GITHUB_SHA"):
        return sha
    try:
        out = subprocess.run(
            ["git", "-C", str(project), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    sha = out.stdout.strip()
    return sha if out.returncode == 0 and sha else None


def _default_run_id(now: datetime) -> str:
    return now.strftime("%Y%m%dT%H%M%SZ") + "-" + os.urandom(4).hex()


def load_catalogs(project: Path, explicit: Path | None) -> ChainCatalog:
    """See :func:`cost.sources.load_catalogs` (imported lazily: ``--help`` stays fast)."""
    from cost.sources import load_catalogs as load

    return load(project, explicit)


def register(app: typer.Typer) -> None:
    cost_app = typer.Typer(
        name="cost",
        help="Estimate what a plan costs (per resource, before/after) and manage the price catalog.",
        no_args_is_help=True,
    )
    catalog_app = typer.Typer(
        name="catalog",
        help="The price catalog: show it, refresh it from Azure.",
        no_args_is_help=True,
    )
    cost_app.add_typer(catalog_app, name="catalog")
    app.add_typer(cost_app, name="cost")

    @cost_app.command("estimate")
    def estimate_command(
        stack: StackOption,
        set_: SetOption = None,
        offline: OfflineOption = False,
        format_: Annotated[
            str, typer.Option("--format", "-f", help="table, json or markdown (PR comment).")
        ] = "table",
        compare_to: Annotated[
            Path | None,
            typer.Option(
                "--compare-to",
                help="Cost artefact whose planned costs are the 'before' of this estimate.",
            ),
        ] = None,
        write: Annotated[
            bool,
            typer.Option(
                "--write",
                help="Write a cost artefact to output/artifacts/cost/<component>/cost-run-<run_id>.json.",
            ),
        ] = False,
        run_id: Annotated[
            str | None,
            typer.Option("--run-id", help="Run id of the artefact (default: time + random)."),
        ] = None,
        purpose: Annotated[
            str,
            typer.Option(
                "--purpose", help="baseline, pr-check, dr-cutover, dr-failback, burst or drill."
            ),
        ] = "baseline",
        component: Annotated[
            str | None,
            typer.Option("--component", help="Artefact directory (default: the stack name)."),
        ] = None,
        catalog: CatalogOption = None,
        usage: Annotated[
            Path | None,
            typer.Option(
                "--usage", help="Usage file (default: stacks/usage/<stack>.yaml if present)."
            ),
        ] = None,
        baseline: Annotated[
            str,
            typer.Option(
                "--baseline",
                help="Offline only: 'stack' (the committed stack file is deployed) or 'empty'.",
            ),
        ] = "stack",
        artefacts_dir: Annotated[
            Path | None,
            typer.Option(
                "--artefacts-dir",
                help="Root of cost artefacts (default: <project>/output/artifacts/cost).",
            ),
        ] = None,
        project: ProjectDirOption = None,
    ) -> None:
        """Price a plan of STACK: per-resource costs before/after the change, totals and diff."""
        from cost.artefact import (
            ARTEFACTS_DIR,
            check_component,
            check_purpose,
            check_run_id,
            from_report,
            load_artefact,
            write_artefact,
        )
        from cost.compare import compare_to as rebase
        from cost.errors import CostUsageError
        from cost.estimator import estimate
        from cost.render import FORMATS, render_json, render_markdown, render_table
        from cost.usage import load_stack_usage
        from dr.engines import get_engine
        from dr.errors import UsageError
        from dr.stack_config import parse_overrides

        # Usage errors first (exit 2), then every input file (exit 1), then the plan: fail fast.
        if format_ not in FORMATS:
            raise CostUsageError(f"--format {format_!r}: expected one of {', '.join(FORMATS)}")
        purpose_ = check_purpose(purpose)
        if run_id is not None:
            check_run_id(run_id)
        if component is not None:
            check_component(component)
        if baseline not in ("stack", "empty"):
            raise UsageError(f"--baseline {baseline!r}: expected 'stack' or 'empty'")
        if baseline != "stack" and not offline:
            raise UsageError(
                "--baseline is only meaningful with --offline (a real preview diffs against state)"
            )
        overrides = parse_overrides(set_ or [])
        now = _now()
        root = project_dir(project)
        catalogs = load_catalogs(root, catalog)
        loaded_usage = load_stack_usage(root, stack, usage)
        previous = load_artefact(compare_to) if compare_to is not None else None

        engine = get_engine(root, offline=offline)
        plan = (
            engine.plan(stack, overrides, baseline=baseline)
            if offline
            else engine.plan(stack, overrides)
        )
        report = estimate(
            plan, catalogs, usage=loaded_usage, catalogs=catalogs.infos, generated_at=now
        )
        if previous is not None:
            report = rebase(report, previous)

        if write:
            env = plan.config.get("hybridops:env")
            artefact = from_report(
                report,
                run_id=run_id or _default_run_id(now),
                purpose=purpose_,
                component=component,
                git_commit=_git_commit(root),
                env=str(env) if isinstance(env, str) else None,
            )
            path = write_artefact(artefact, artefacts_dir or root / ARTEFACTS_DIR)
            typer.echo(f"wrote {_display(path)}", err=True)

        if format_ == "json":
            sys.stdout.write(render_json(report))
        elif format_ == "markdown":
            sys.stdout.write(render_markdown(report))
        else:
            from rich.console import Console

            render_table(report, Console())

    @catalog_app.command("show")
    def catalog_show(
        catalog: CatalogOption = None,
        json_: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
        project: ProjectDirOption = None,
    ) -> None:
        """List what is priced (price key, price, unit, evidence) and from when."""
        catalogs = load_catalogs(project_dir(project), catalog)
        rows: list[dict[str, Any]] = []
        for entry in catalogs.entries():
            rows.append(
                {
                    "price_key": entry.key,
                    "unit_price": str(entry.unit_price),
                    "tiers": len(entry.tiers),
                    "unit_of_measure": entry.unit_of_measure,
                    "currency": entry.currency,
                    "evidence": entry.provenance.evidence,
                    "confidence": entry.provenance.confidence,
                    "source_date": entry.provenance.source_date,
                    "conflicts": len(entry.conflicts),
                }
            )
        infos = [c.model_dump(mode="json") for c in catalogs.infos]
        if json_:
            print_json({"catalogs": infos, "prices": rows})
            return
        from rich.console import Console
        from rich.markup import escape
        from rich.table import Table

        console = Console()
        for info in catalogs.infos:
            console.print(
                f"[bold]{escape(info.name)}[/] {escape(info.version)}: {info.currency}, collected "
                f"{info.collected or 'unknown'}, {info.indexed} of {info.items} items priced; source {escape(info.source)}"
            )
        table = Table(header_style="bold")
        for col in ("price key", "price", "unit", "evidence", "confidence", "read", "conflicts"):
            table.add_column(col, overflow="fold")
        for row in rows:
            price = row["unit_price"] + (
                f" (+{row['tiers'] - 1} tiers)" if row["tiers"] > 1 else ""
            )
            table.add_row(
                escape(row["price_key"]),
                price,
                escape(row["unit_of_measure"]),
                row["evidence"] or "",
                row["confidence"] or "",
                row["source_date"] or "",
                str(row["conflicts"] or ""),
            )
        console.print(table)

    @catalog_app.command("refresh")
    def catalog_refresh(
        region: Annotated[
            str, typer.Option("--region", help="Azure region (armRegionName), e.g. eastus.")
        ],
        currency: Annotated[
            str, typer.Option("--currency", help="Currency code, e.g. USD, EUR.")
        ] = "USD",
        api_url: Annotated[
            str, typer.Option("--api-url", help="Retail Prices API endpoint.")
        ] = "https://prices.azure.com/api/retail/prices",
        output: Annotated[
            Path | None,
            typer.Option(
                "--output",
                help="Where to write (default: output/catalog/azure-retail-prices-<region>-<currency>.json).",
            ),
        ] = None,
        project: ProjectDirOption = None,
    ) -> None:
        """Fetch current prices for REGION from the Azure Retail Prices API into a new catalog file."""
        from cost.catalog.refresh import RetailPricesClient, refresh_catalog
        from cost.errors import CostUsageError

        if not region.isalnum():
            raise CostUsageError(f"--region {region!r}: expected an armRegionName such as eastus")
        if not (len(currency) == 3 and currency.isalpha() and currency.isupper()):
            raise CostUsageError(f"--currency {currency!r}: expected an ISO 4217 code such as USD")
        target = (
            output
            or project_dir(project)
            / "output"
            / "catalog"
            / f"azure-retail-prices-{region}-{currency}.json"
        )
        with RetailPricesClient(api_url, currency=currency) as client:
            result = refresh_catalog(region, target, currency=currency, client=client)
        typer.echo(
            f"wrote {_display(result.path)}: {result.items} items ({result.indexed} priced) from {result.pages} pages "
            f"of {result.queries} queries, {result.retries} retries; use it with --catalog or ${ENV_CATALOG}"
        )


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
