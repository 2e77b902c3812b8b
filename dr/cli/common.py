"""Options and helpers shared by the CLI commands."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

ProjectDirOption = Annotated[
    Path | None,
    typer.Option(
        "--project-dir",
        envvar="HYBRIDOPS_PROJECT_DIR",
        help="Pulumi project directory (default: found from the current directory).",
    ),
]
StackOption = Annotated[
    str, typer.Option("--stack", "-s", help="Stack name, e.g. cloud-dr or onprem-prod.")
]
SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="Override stack config for what-if planning: KEY=VALUE (repeatable), e.g. drMode=active.",
    ),
]
OfflineOption = Annotated[
    bool,
    typer.Option(
        "--offline",
        envvar="HYBRIDOPS_OFFLINE",
        help="Evaluate in-process with the SDK's mocks: no pulumi CLI, no credentials.",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")


def project_dir(explicit: Path | None) -> Path:
    from dr.project import find_project_dir

    return find_project_dir(explicit)
