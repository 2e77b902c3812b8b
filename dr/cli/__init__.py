"""The ``hybridops`` command line.

Exit codes: 0 allow/success, 10 warn (approval needed), 20 block, 1 error, 2 usage.
Heavy SDKs (pulumi, providers) are imported inside commands so ``--help`` stays fast.
"""

from __future__ import annotations

import sys

import typer

from dr.errors import HybridOpsError

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_WARN = 10
EXIT_BLOCK = 20

app = typer.Typer(
    name="hybridops",
    help="HybridOps DR: cost-aware hybrid disaster recovery (Proxmox + Azure) with Pulumi.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """HybridOps DR: cost-aware hybrid disaster recovery (Proxmox + Azure) with Pulumi."""


def _register() -> None:
    from dr.cli import cost, decide, dr, lab, plan, relay

    for module in (
        plan,
        cost,
        decide,
        dr,
        relay,
        lab,
    ):  # decide attaches to the cost sub-app: after cost
        module.register(app)


_register()


def _error_exit_code(exc: BaseException) -> int | None:
    if isinstance(exc, HybridOpsError):
        return exc.exit_code
    try:
        from cost.errors import CostError
    except ImportError:  # pragma: no cover - cost package always ships with the CLI
        return None
    if isinstance(exc, CostError):
        return getattr(exc, "exit_code", EXIT_ERROR)
    return None


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: our errors become one line on stderr and an exit code."""
    try:
        app(args=argv, prog_name="hybridops")
    except Exception as exc:
        code = _error_exit_code(exc)
        if code is None:
            raise
        typer.echo(f"error: {exc}", err=True)
        sys.exit(code)
