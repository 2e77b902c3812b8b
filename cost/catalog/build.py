"""Build the shipped catalog from the provenance-tagged snapshot.

    python -m cost.catalog.build [SNAPSHOT] [--output cost/data/azure-retail-prices.json]

Items are copied verbatim (every provenance field kept); only the header is ours. The snapshot's
``hoursPerMonth`` must match :data:`cost.money.HOURS_PER_MONTH`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
from typing import Any

from cost.atomic import write_json_atomic
from cost.catalog.local import CATALOG_FORMAT, CATALOG_FORMAT_VERSION, LocalCatalog
from cost.errors import CatalogError
from cost.money import HOURS_PER_MONTH

DEFAULT_SNAPSHOT = Path("../shared/data/azure-retail-prices/snapshot.json")
DEFAULT_OUTPUT = Path("cost/data/azure-retail-prices.json")


def catalog_from_snapshot(snapshot: dict[str, Any], *, source: str) -> dict[str, Any]:
    if not isinstance(snapshot.get("items"), list):
        raise CatalogError(f"{source}: snapshot has no 'items' list")
    hours = snapshot.get("hoursPerMonth", 730)
    if hours != int(HOURS_PER_MONTH):
        raise CatalogError(
            f"{source}: hoursPerMonth {hours} != {HOURS_PER_MONTH} used by the estimator"
        )
    items = snapshot["items"]
    regions = sorted({str(i.get("armRegionName")) for i in items if i.get("armRegionName")})
    collected = str(snapshot.get("collected") or "")
    return {
        "format": CATALOG_FORMAT,
        "format_version": CATALOG_FORMAT_VERSION,
        "name": "azure-retail-prices",
        "version": f"snapshot-{collected}" if collected else "snapshot",
        "currency": snapshot.get("currency", "USD"),
        "collected": collected or None,
        "source": source,
        "regions": regions,
        "hours_per_month": hours,
        "notes": [str(snapshot.get("description", ""))] if snapshot.get("description") else [],
        "items": items,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("snapshot", nargs="?", type=Path, default=DEFAULT_SNAPSHOT)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    raw = args.snapshot.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    source = (
        f"snapshot azure-retail-prices/snapshot.json (sha256 {digest[:16]}), README.md beside it"
    )
    doc = catalog_from_snapshot(json.loads(raw), source=source)
    text = json.dumps(doc, indent=1, ensure_ascii=False) + "\n"
    LocalCatalog.from_bytes(
        text.encode(), origin=str(args.output)
    )  # refuse to write what we cannot read
    write_json_atomic(args.output, text)
    print(f"wrote {args.output}: {len(doc['items'])} items from {args.snapshot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
