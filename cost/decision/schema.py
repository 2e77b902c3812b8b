"""Print or write the JSON Schema of decision records (both kinds).

``python -m cost.decision.schema --write-schema docs/ci/decision-record.schema.json``
"""

from __future__ import annotations

import argparse
from pathlib import Path

from cost.atomic import write_json_atomic
from cost.decision.record import schema_text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Decision record JSON Schema")
    parser.add_argument("--write-schema", type=Path, metavar="PATH", help="write the schema here")
    args = parser.parse_args(argv)
    if args.write_schema:
        write_json_atomic(args.write_schema, schema_text())
        print(f"wrote {args.write_schema}")
    else:
        print(schema_text(), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
