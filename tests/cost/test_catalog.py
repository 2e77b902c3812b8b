"""The local price catalog: provenance kept, keys derived per the data README, conflicts recorded."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from cost.catalog import LocalCatalog
from cost.catalog.azure import parse_unit, price_key
from cost.catalog.build import catalog_from_snapshot
from cost.errors import CatalogError

# The public provenance snapshot the shipped catalog was built from (a verbatim copy of
# ../shared/data/azure-retail-prices/snapshot.json, collected 2026-11-27; see its README there).
SNAPSHOT = Path(__file__).resolve().parent / "fixtures" / "azure-retail-prices-snapshot.json"


def _catalog(items, **header):
    doc = {
        "format": "hybridops.price-catalog",
        "format_version": 1,
        "name": "t",
        "version": "t",
        "currency": "USD",
        "source": "test",
        "items": items,
        **header,
    }
    return LocalCatalog.from_bytes(json.dumps(doc).encode(), origin="t.json")


def _vm(**over):
    item = {
        "serviceName": "Virtual Machines",
        "armSkuName": "Standard_X2s",
        "armRegionName": "eastus",
        "unitOfMeasure": "1 Hour",
        "retailPrice": 0.1,
        "productName": "Virtual Machines X Series",
        "meterName": "X2s",
        "skuName": "X2s",
        "type": "Consumption",
    }
    item.update(over)
    return item


def test_shipped_catalog_is_the_snapshot_verbatim():
    """Every snapshot item, with every provenance field, is in the shipped catalog unchanged."""
    snapshot = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    shipped = LocalCatalog.load()
    assert shipped.data.items == snapshot["items"]
    rebuilt = catalog_from_snapshot(snapshot, source=shipped.data.source)
    assert {k: v for k, v in rebuilt.items() if k != "items"} == shipped.data.model_dump(
        exclude={"items"}
    )


def test_shipped_catalog_identity(azure_catalog):
    info = azure_catalog.info
    assert (info.name, info.version, info.currency, info.collected) == (
        "azure-retail-prices",
        "snapshot-2026-11-27",
        "USD",
        "2026-11-27",
    )
    assert info.items == 73 and info.indexed == 58 and len(info.sha256) == 64
    skipped = {s.reason for s in azure_catalog.skipped}
    assert skipped == {"no mapper uses this meter"}  # PostgreSQL flexible server and Front Door


def test_vm_rows_other_than_linux_pay_as_you_go_are_ignored():
    """Windows products, Spot and Low Priority rows never answer a VM key (README: select by armSkuName)."""
    catalog = _catalog(
        [
            _vm(productName="Virtual Machines X Series Windows", retailPrice=0.5),
            _vm(meterName="X2s Spot", skuName="X2s Spot", retailPrice=0.01),
            _vm(meterName="X2s Low Priority", skuName="X2s Low Priority", retailPrice=0.02),
            _vm(type="Reservation", retailPrice=0.03),
            _vm(),
        ]
    )
    entry = catalog.lookup("vm/eastus/Standard_X2s")
    assert entry is not None and entry.unit_price == Decimal("0.1") and entry.conflicts == ()


def test_conflicting_sources_better_evidence_wins_and_the_other_is_kept(azure_catalog):
    """AKS Free: the API row (0.05, verbatim) wins over the doc statement (0); both are visible."""
    entry = azure_catalog.lookup("aks/eastus/free")
    assert (
        entry.unit_price == Decimal("0.05")
        and entry.provenance.evidence == "retail-api-item-verbatim"
    )
    assert [(c.unit_price, c.provenance.evidence) for c in entry.conflicts] == [
        (Decimal("0.0"), "doc-statement")
    ]


def test_zone_meter_tiers_are_completed_from_the_same_meter(azure_catalog):
    """eastus egress has only the 100 GB band; the other bands come from the same meterId, labelled."""
    entry = azure_catalog.lookup("bandwidth/eastus/internet-egress")
    ladder = [(t.start, t.unit_price, t.provenance.region) for t in entry.tiers]
    assert ladder[:3] == [
        (Decimal("0.0"), Decimal("0.0"), "westeurope"),
        (Decimal("100.0"), Decimal("0.087"), None),
        (Decimal("10335.0"), Decimal("0.083"), "westeurope"),
    ]
    assert {t.provenance.meter_id for t in entry.tiers} == {"9995d93a-7d35-4d3f-9c69-7a7fea447ef4"}


def test_global_only_meters_are_keyed_under_global(azure_catalog):
    assert azure_catalog.lookup("load-balancer/eastus/standard-included-rules") is None
    assert azure_catalog.lookup(
        "load-balancer/Global/standard-included-rules"
    ).unit_price == Decimal("0.025")
    assert azure_catalog.lookup("traffic-manager/Global/dns-queries").unit_size == Decimal(
        1_000_000
    )


def test_free_rows_and_disk_mount_meters_do_not_answer_keys():
    assert (
        price_key(
            {
                "serviceName": "Load Balancer",
                "armRegionName": "Global",
                "meterName": "Standard Data Processed - Free",
            }
        )
        is None
    )
    mount = {
        "serviceName": "Storage",
        "productName": "Premium SSD Managed Disks",
        "skuName": "P10 LRS",
        "meterName": "P10 LRS Disk Mount",
        "armRegionName": "eastus",
    }
    assert price_key(mount) is None
    assert price_key({**mount, "meterName": "P10 LRS Disk"}) == "disk/eastus/P10 LRS"


@pytest.mark.parametrize(
    ("unit", "parsed"),
    [
        ("1 Hour", ("hour", 1)),
        ("1/Month", ("month", 1)),
        ("month (730 hours)", ("month", 1)),
        ("1 GB/Month", ("month", 1)),
        ("10K", (None, 10_000)),
        ("1M", (None, 1_000_000)),
        ("1/Day", None),
    ],
)
def test_units(unit, parsed):
    got = parse_unit(unit)
    assert (got if got is None else (got[0], int(got[1]))) == parsed


def test_unknown_units_and_foreign_currency_are_skipped_with_a_reason():
    catalog = _catalog(
        [_vm(unitOfMeasure="1/Day"), _vm(armSkuName="Standard_Y", currencyCode="EUR")]
    )
    assert [s.reason for s in catalog.skipped] == [
        "unit '1/Day' not understood",
        "currency EUR != catalog USD",
    ]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"{", "t.json: price catalog is not valid JSON"),
        (b'{"format": "x"}', "t.json: not a hybridops price catalog"),
        (
            b'{"format": "hybridops.price-catalog", "format_version": 9}',
            "format_version 9 is not supported",
        ),
        (
            b'{"format": "hybridops.price-catalog", "format_version": 1, "name": "n"}',
            "invalid price catalog at version",
        ),
    ],
)
def test_corrupt_catalogs_are_rejected_naming_the_file(raw, message):
    with pytest.raises(CatalogError, match=message):
        LocalCatalog.from_bytes(raw, origin="t.json")


def test_non_numeric_price_names_the_item():
    with pytest.raises(CatalogError, match=r"t.json: items\[1\] has a non-numeric retailPrice"):
        _catalog([_vm(), _vm(armSkuName="Standard_Z", retailPrice="cheap")])


def test_missing_catalog_file(tmp_path):
    with pytest.raises(CatalogError, match=r"nope\.json: cannot read price catalog"):
        LocalCatalog.load(tmp_path / "nope.json")
