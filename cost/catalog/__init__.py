"""Price catalogs: one interface (:class:`PriceCatalog`), a local file catalog built from real Azure
Retail Prices items, a refresher for the live API, and the on-prem cost model (``cost.onprem``)."""

from __future__ import annotations

from cost.catalog.local import LocalCatalog, shipped_catalog_path
from cost.catalog.model import (
    CatalogInfo,
    ChainCatalog,
    Conflict,
    PriceCatalog,
    PriceEntry,
    PriceTier,
    Provenance,
)

__all__ = [
    "CatalogInfo",
    "ChainCatalog",
    "Conflict",
    "LocalCatalog",
    "PriceCatalog",
    "PriceEntry",
    "PriceTier",
    "Provenance",
    "shipped_catalog_path",
]
