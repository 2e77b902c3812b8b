"""``hybridops relay``: the Alertmanager -> GitHub repository_dispatch relay.

Only typer and the standard library at module level: ``hybridops --help`` must stay fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

relay_app = typer.Typer(
    help="Alertmanager -> GitHub repository_dispatch relay (dedupes per incident).",
    no_args_is_help=True,
)


@relay_app.command("serve")
def serve(
    config: Annotated[
        Path | None,
        typer.Option("--config", help="YAML settings file (env HYBRIDOPS_RELAY_CONFIG)."),
    ] = None,
    host: Annotated[str | None, typer.Option(help="Listen address [default 127.0.0.1].")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port [default 9099].")] = None,
    repo: Annotated[str | None, typer.Option(help="OWNER/NAME receiving the dispatch.")] = None,
    github_api_url: Annotated[
        str | None, typer.Option(help="GitHub API base URL [default https://api.github.com].")
    ] = None,
    github_token_file: Annotated[
        Path | None,
        typer.Option(help="File holding the GitHub token (else env HYBRIDOPS_RELAY_GITHUB_TOKEN)."),
    ] = None,
    auth_token_file: Annotated[
        Path | None,
        typer.Option(
            help="File holding the webhook bearer token (else env HYBRIDOPS_RELAY_AUTH_TOKEN)."
        ),
    ] = None,
    state_dir: Annotated[
        Path | None, typer.Option(help="Directory of the persisted dedupe ledger (required).")
    ] = None,
) -> None:
    """Serve POST /alertmanager, GET /healthz and GET /metrics.

    Settings: flags override environment (HYBRIDOPS_RELAY_<FLAG>, e.g. HYBRIDOPS_RELAY_REPO),
    which overrides the config file.
    """
    from dr.relay.server import serve as run
    from dr.relay.settings import load_secrets, load_settings

    settings = load_settings(
        config_file=config,
        overrides={
            "host": host,
            "port": port,
            "repo": repo,
            "github_api_url": github_api_url,
            "github_token_file": github_token_file,
            "auth_token_file": auth_token_file,
            "state_dir": state_dir,
        },
    )
    run(settings, load_secrets(settings))


@relay_app.command("render-rules")
def render_rules(
    out: Annotated[Path, typer.Option("--out", help="Directory to write the rule files into.")],
    for_: Annotated[
        str | None,
        typer.Option("--for", help="Replace every rule's `for:` (e.g. 10s); default: keep."),
    ] = None,
    interval: Annotated[
        str | None,
        typer.Option("--interval", help="Set every rule group's evaluation interval (e.g. 1s)."),
    ] = None,
) -> None:
    """Copy monitoring/rules/*.yml with shortened `for:`/interval, for tests and the local lab."""
    from dr.monitoring import render_rules as render

    for path in render(out, for_override=for_, interval=interval):
        typer.echo(str(path))


def register(app: typer.Typer) -> None:
    app.add_typer(relay_app, name="relay")
