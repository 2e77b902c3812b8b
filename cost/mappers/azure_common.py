"""Facts shared by the Azure mappers: managed-disk tiers, VM premium-storage capability."""

from __future__ import annotations

import re
from decimal import Decimal

from cost.mappers.base import UnknownInputError

# Disk size tiers (GiB upper bound -> tier number), same ladder for P (Premium SSD), E (Standard SSD)
# and S (Standard HDD, from S4): https://learn.microsoft.com/azure/virtual-machines/disks-types
# A disk is billed at the smallest tier that holds it:
# https://azure.microsoft.com/pricing/details/managed-disks/
_TIERS: tuple[tuple[int, str], ...] = (
    (4, "1"),
    (8, "2"),
    (16, "3"),
    (32, "4"),
    (64, "6"),
    (128, "10"),
    (256, "15"),
    (512, "20"),
    (1024, "30"),
    (2048, "40"),
    (4096, "50"),
    (8192, "60"),
    (16384, "70"),
    (32767, "80"),
)

_DISK_SKUS = {
    # sku.name -> (tier letter, redundancy)
    "Premium_LRS": ("P", "LRS"),
    "Premium_ZRS": ("P", "ZRS"),
    "StandardSSD_LRS": ("E", "LRS"),
    "StandardSSD_ZRS": ("E", "ZRS"),
    "Standard_LRS": ("S", "LRS"),
}


def disk_tier(sku_name: str, size_gb: Decimal, path: str) -> str:
    """``P10 LRS`` for a 128 GiB Premium_LRS disk (the catalog's skuName for that meter)."""
    if sku_name not in _DISK_SKUS:
        # Ultra and Premium SSD v2 bill GiB, IOPS and throughput separately; not modelled.
        return f"{sku_name} (provisioned performance)"
    letter, redundancy = _DISK_SKUS[sku_name]
    for bound, number in _TIERS:
        if size_gb <= bound:
            if letter == "S" and bound < 32:
                number = "4"  # Standard HDD starts at S4 (32 GiB)
            return f"{letter}{number} {redundancy}"
    raise UnknownInputError(path, f"is {size_gb} GiB, above the largest managed disk (32767 GiB)")


_VM_SIZE = re.compile(r"^Standard_([A-Z]+)(\d+)(-\d+)?([a-z]*)(_|$)")


def premium_capable(vm_size: str) -> bool:
    """Sizes with ``s`` in their additive features (D4s_v5, D4ds_v5, B2ms) or a DS/GS family take
    Premium SSD: https://learn.microsoft.com/azure/virtual-machines/vm-naming-conventions"""
    m = _VM_SIZE.match(vm_size)
    if not m:
        return False
    family, features = m[1], m[4]
    return "s" in features or family.endswith("S")
