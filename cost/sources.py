"""Where prices come from for a project: the Azure catalog and the on-prem model, chained.

One function for every caller (the CLI, the decision service), so they price with the same files:
``--catalog FILE``, else ``$HYBRIDOPS_PRICE_CATALOG``, else the snapshot shipped in ``cost/data``;
plus ``stacks/onprem-cost-model.yaml`` when the project has one (same currency required).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from cost.catalog import ChainCatalog, LocalCatalog
from cost.errors import OnPremModelError
from cost.onprem import ONPREM_MODEL_FILE, OnPremCatalog

ENV_CATALOG = "HYBRIDOPS_PRICE_CATALOG"
"""Path of a price catalog file to use instead of the shipped one (e.g. a refreshed snapshot)."""


def load_catalogs(
    project_dir: Path, explicit: Path | None = None, *, env: Mapping[str, str] | None = None
) -> ChainCatalog:
    """The Azure catalog and, if present, the project's on-prem cost model, as one catalog."""
    environ = os.environ if env is None else env
    path = explicit or (Path(environ[ENV_CATALOG]) if environ.get(ENV_CATALOG) else None)
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
