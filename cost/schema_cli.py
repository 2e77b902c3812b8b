"""The ``--write-schema`` command line shared by every versioned JSON model we commit a schema for."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from cost.atomic import write_json_atomic


def schema_main(
    schema_text: Callable[[], str], description: str, argv: list[str] | None = None
) -> int:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--write-schema", type=Path, metavar="PATH", help="write the schema here")
    args = parser.parse_args(argv)
    if args.write_schema:
        write_json_atomic(args.write_schema, schema_text())
        print(f"wrote {args.write_schema}")
    else:
        print(schema_text(), end="")
    return 0
