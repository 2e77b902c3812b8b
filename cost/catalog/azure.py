"""Azure Retail Prices items -> price keys, units and ranking (one place, shared by the shipped
snapshot and by ``hybridops cost catalog refresh``).

Item fields are those of the Retail Prices API
(https://learn.microsoft.com/rest/api/cost-management/retail-prices/azure-retail-prices).
Facts encoded here come from ``../shared/data/azure-retail-prices/README.md``:

* VMs: several Consumption rows per size (Linux, `` Windows`` products, `` Spot``, `` Low Priority``);
  select by ``armSkuName`` and drop the others.
* Managed disks: the disk price is the ``<tier> LRS Disk`` meter; ``... Disk Mount`` (shared disks)
  and ``... Disk Operations`` are other meters.
* Load Balancer and Traffic Manager are only published under ``armRegionName: Global``.
  Rows named ``... - Free`` are 0 and skipped.
* Bandwidth: one zone-1 meter (same ``meterId``) serves eastus, westeurope, uksouth and westus; see
  :func:`shares_meter` for how a region's missing tiers are completed from the same meter.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from cost.catalog.model import Period

EVIDENCE_RANK = {
    "retail-api-item-verbatim": 0,
    "generated-from-retail-api": 1,
    "doc-quoting-retail-api": 2,
    "golden-file-unit-price": 3,
    "golden-file-derived-unit-price": 4,
    "golden-file-monthly": 5,
    "doc-statement": 6,
}
"""When two items give one key a different price, the better evidence wins; the other is kept as a
conflict and shown in every report that uses the key."""

CONFIDENCE_RANK = {"high": 0, "medium": 1, "low": 2}

# unitOfMeasure -> (period, unit size). period None = priced per unit consumed in the month.
_UNITS: dict[str, tuple[Period | None, Decimal]] = {
    "1 hour": ("hour", Decimal(1)),
    "1/hour": ("hour", Decimal(1)),
    "10 hours": ("hour", Decimal(10)),
    "100 hours": ("hour", Decimal(100)),
    "1/month": ("month", Decimal(1)),
    "1 month": ("month", Decimal(1)),
    "month (730 hours)": ("month", Decimal(1)),
    "month (per endpoint)": ("month", Decimal(1)),
    "1 gb/month": ("month", Decimal(1)),
    "1 gib/month": ("month", Decimal(1)),
    "1": (None, Decimal(1)),
    "1 gb": (None, Decimal(1)),
    "1 gib": (None, Decimal(1)),
    "1k": (None, Decimal(1_000)),
    "10k": (None, Decimal(10_000)),
    "100k": (None, Decimal(100_000)),
    "1m": (None, Decimal(1_000_000)),
}


def parse_unit(unit_of_measure: str) -> tuple[Period | None, Decimal] | None:
    """``(period, unit size)`` for a Retail Prices ``unitOfMeasure``; ``None`` if not understood."""
    return _UNITS.get(" ".join(unit_of_measure.lower().split()))


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


_PUBLIC_IP = re.compile(r"^(Standard|Basic) (IPv4|IPv6) (Static|Dynamic) Public IP$")
_VPN_SKU = re.compile(r"^(Basic|VpnGw\d+(AZ)?)$")
_TRAFFIC_MANAGER = {
    "DNS Queries": "dns-queries",
    "Azure Endpoint Health Checks": "health-checks-azure",
    "Azure Endpoint Fast Interval Health Check Add-ons": "fast-interval-azure",
    "Non-Azure Endpoint Health Checks": "health-checks-external",
    "Non-Azure Endpoint Fast Interval Health Check Add-ons": "fast-interval-external",
    "Traffic View Data Points Processed": "traffic-view-data-points",
}
_LOAD_BALANCER = {
    "Standard Included LB Rules and Outbound Rules": "standard-included-rules",
    "Standard Overage LB Rules and Outbound Rules": "standard-overage-rules",
    "Standard Data Processed": "standard-data-processed",
}
_AKS = {
    # https://learn.microsoft.com/azure/aks/free-standard-pricing-tiers
    "Standard Uptime SLA": "standard",
    "FreeTierInfrastructureCost Uptime SLA": "free",
    "Standard Long Term Support": "premium",
}


def price_key(item: dict[str, Any]) -> str | None:
    """The price key an item answers, or ``None`` if no mapper asks for this meter."""
    if item.get("type", "Consumption") != "Consumption":
        return None  # reservations, savings plans, dev/test
    service = item.get("serviceName") or ""
    product = item.get("productName") or ""
    sku = item.get("skuName") or ""
    meter = item.get("meterName") or ""
    arm_sku = item.get("armSkuName") or ""
    region = item.get("armRegionName") or ""
    if not region:
        return None
    if meter.endswith(" - Free"):
        return None

    if service == "Virtual Machines":
        if product.endswith(" Windows") or meter.endswith((" Low Priority", " Spot")):
            return None
        if sku.endswith((" Low Priority", " Spot")):
            return None
        return f"vm/{region}/{arm_sku}" if arm_sku else None
    if service == "Azure Kubernetes Service":
        if meter in _AKS:
            return f"aks/{region}/{_AKS[meter]}"
        if not meter and sku == "Free":  # the documentation row: "Free: cluster management is free"
            return f"aks/{region}/free"
        return None
    if service == "Storage":
        if product.endswith("Managed Disks") and meter == f"{sku} Disk":
            return f"disk/{region}/{sku}"
        if product in ("General Block Blob v2", "Blob Storage") and sku:
            family = "blob" if product == "General Block Blob v2" else "blob-legacy"
            what = meter[len(sku) :] if meter.startswith(sku) else meter
            tier = sku.split(" ", 1)[0]
            if what.startswith(tier + " "):  # "Hot Read Operations" on sku "Hot LRS"
                what = what[len(tier) :]
            return f"{family}/{region}/{sku}/{slug(what)}" if what.strip() else None
        return None
    if service == "Bandwidth":
        if product == "Rtn Preference: MGN" and meter == "Standard Data Transfer Out":
            return f"bandwidth/{region}/internet-egress"
        return None
    if service == "Load Balancer" and meter in _LOAD_BALANCER:
        return f"load-balancer/{region}/{_LOAD_BALANCER[meter]}"
    if service == "Virtual Network" and (m := _PUBLIC_IP.match(meter)):
        return f"public-ip/{region}/{m[1].lower()}-{m[2].lower()}-{m[3].lower()}"
    if service == "VPN Gateway" and _VPN_SKU.match(meter):
        return f"vpn-gateway/{region}/{meter}"
    if service == "Key Vault" and sku and meter:
        return f"key-vault/{region}/{slug(sku)}/{slug(meter)}"
    if service == "Traffic Manager" and meter in _TRAFFIC_MANAGER:
        return f"traffic-manager/{region}/{_TRAFFIC_MANAGER[meter]}"
    return None


def rank(item: dict[str, Any], position: int) -> tuple[Any, ...]:
    """Sort key: best evidence first, then confidence, then the newest effective/source date."""
    evidence = EVIDENCE_RANK.get(str(item.get("evidence") or ""), 9)
    confidence = CONFIDENCE_RANK.get(str(item.get("confidence") or ""), 9)
    effective = str(item.get("effectiveStartDate") or "")
    source_date = str(item.get("sourceDate") or "")
    # negative dates sort newest first without parsing: invert characters
    return (evidence, confidence, _desc(effective), _desc(source_date), position)


def _desc(text: str) -> tuple[int, ...]:
    return (*(-ord(c) for c in text), 1)


def shares_meter(key: str) -> bool:
    """Keys whose missing tiers may be completed from the same ``meterId`` in another region.

    Internet egress is one zone meter for several regions (same meterId, same price ladder); the
    eastus rows in the snapshot carry only the first paid band. A meterId names one price list, so
    the other bands of the same meter are the eastus prices too. Each borrowed tier keeps its own
    provenance (with the region it was read in).
    """
    return key.startswith("bandwidth/")
