"""The default price catalogs for estimating a plan inside the service.

The same choice as ``hybridops cost estimate`` (``dr/cli/cost.py: load_catalogs``), which lives in
the CLI layer the cost package must not import: ``$HYBRIDOPS_PRICE_CATALOG`` or the shipped Azure
snapshot, chained with the on-prem cost model when the project has one.
"""

from __future__ import annotations

import os
from pathlib import Path

from cost.catalog import ChainCatalog, LocalCatalog
from cost.errors import OnPremModelError
from cost.onprem import ONPREM_MODEL_FILE, OnPremCatalog

ENV_CATALOG = "HYBRIDOPS_PRICE_CATALOG"


def default_catalog(project_dir: Path, explicit: Path | None = None) -> ChainCatalog:
    path = explicit or (Path(os.environ[ENV_CATALOG]) if os.environ.get(ENV_CATALOG) else None)
    azure = LocalCatalog.load(path)
    model_path = project_dir / ONPREM_MODEL_FILE
    if not model_path.is_file():
        return ChainCatalog(azure)
    onprem = OnPremCatalog.load(model_path, display=str(ONPREM_MODEL_FILE))
    if onprem.info.currency != azure.info.currency:
        raise OnPremModelError(
            f"{ONPREM_MODEL_FILE}: currency {onprem.info.currency} differs from the price catalog's "
            f"{azure.info.currency}"
        )
    return ChainCatalog(azure, onprem)
