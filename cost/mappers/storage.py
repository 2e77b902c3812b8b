"""Managed disks and storage accounts.

* Managed disk: billed per disk-month at the smallest tier holding its size
  (https://azure.microsoft.com/pricing/details/managed-disks/).
* Storage account (block blobs): capacity is usage-based, GB stored per access tier per month, tiered
  by volume (https://azure.microsoft.com/pricing/details/storage/blobs/). Operations are declared only
  when the usage file sets them; the shipped catalog has no operation meters, so they show as
  ``price-not-found`` until a refreshed catalog carries them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import Field

from cost.mappers.azure_common import disk_tier
from cost.mappers.base import Component, Mapper, ResourceContext, Usage, first_of, lookup, number


class DiskMapper(Mapper):
    type_token = "azure-native:compute:Disk"

    def components(self, r: ResourceContext) -> list[Component]:
        sku = str(lookup(r.inputs, "sku.name", default="Standard_LRS"))  # the ARM default
        size = number(first_of(r.inputs, "diskSizeGB", "diskSizeGb"), "diskSizeGB")
        tier = disk_tier(sku, size, "diskSizeGB")
        return [
            Component(
                name=f"Managed disk ({tier})",
                unit="disks",
                quantity=Decimal(1),
                price_key=f"disk/{r.region}/{tier}",
                note=f"{sku}, {size} GiB",
            )
        ]


AccessTier = Literal["hot", "cool", "cold", "archive"]

_REDUNDANCY = {"RAGRS": "RA-GRS", "RAGZRS": "RA-GZRS"}


class StorageAccountUsage(Usage):
    storage_gb: dict[AccessTier, Decimal] | None = None
    """Average GB stored per month, per access tier (``{hot: 250}``)."""
    monthly_write_operations: Decimal | None = Field(default=None, ge=0)
    """Write operations per month in the account's default access tier."""
    monthly_read_operations: Decimal | None = Field(default=None, ge=0)


class StorageAccountMapper(Mapper):
    type_token = "azure-native:storage:StorageAccount"
    usage_model = StorageAccountUsage

    def components(self, r: ResourceContext) -> list[Component]:
        sku = str(lookup(r.inputs, "sku.name"))
        performance, _, redundancy = sku.partition("_")
        redundancy = _REDUNDANCY.get(redundancy, redundancy)
        kind = str(lookup(r.inputs, "kind", default="StorageV2"))
        family = "blob-legacy" if kind == "BlobStorage" else "blob"
        default_tier = str(lookup(r.inputs, "accessTier", default="Hot"))
        if performance == "Premium":
            default_tier = "Premium"
        usage = r.usage if isinstance(r.usage, StorageAccountUsage) else StorageAccountUsage()
        stored = usage.storage_gb
        tiers: list[tuple[str, Decimal | None]]
        if stored:
            tiers = [
                (t.capitalize(), stored[t])
                for t in ("hot", "cool", "cold", "archive")
                if t in stored
            ]
        else:
            tiers = [(default_tier, None)]
        out = [
            Component(
                name=f"Capacity ({tier} {redundancy})",
                unit="GB",
                quantity=gb if gb is not None else Decimal(0),
                price_key=f"{family}/{r.region}/{tier} {redundancy}/data-stored",
                usage_key="storage_gb",
                note=None if gb is not None else "no usage set: 0 GB assumed",
            )
            for tier, gb in tiers
        ]
        for what, count in (
            ("write", usage.monthly_write_operations),
            ("read", usage.monthly_read_operations),
        ):
            if count is not None:
                out.append(
                    Component(
                        name=f"{what.capitalize()} operations ({default_tier} {redundancy})",
                        unit="operations",
                        quantity=count,
                        price_key=f"{family}/{r.region}/{default_tier} {redundancy}/{what}-operations",
                        kind="usage",
                        usage_key=f"monthly_{what}_operations",
                    )
                )
        return out
