"""Print or write the JSON Schema of decision records (both kinds).

``python -m cost.decision.schema --write-schema docs/ci/decision-record.schema.json``
"""

from __future__ import annotations

from cost.decision.record import schema_text
from cost.schema_cli import schema_main


def main(argv: list[str] | None = None) -> int:
    return schema_main(schema_text, "Decision record JSON Schema", argv)


if __name__ == "__main__":
    raise SystemExit(main())
