"""Usage files and the on-prem cost model: validated, every error names the file and the key."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cost.errors import OnPremModelError, UsageFileError
from cost.onprem import OnPremCatalog
from cost.sources import load_catalogs
from cost.usage import load_stack_usage, load_usage
from tests.cost.conftest import REPO


def _write(tmp_path, text, name="u.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("version: [", "not valid YAML"),
        ("- 1\n", "expected a mapping at the top level"),
        ("version: 2\n", "version: Input should be 1"),
        (
            "version: 1\nresource_usage: {a: {b: 1}}\nextra: 1\n",
            "extra: Extra inputs are not permitted",
        ),
        (
            "version: 1\ndr: {expected_hours_per_event: -1}\n",
            "dr.expected_hours_per_event: Input should be greater",
        ),
        (
            "version: 1\ndr:\n  expected_hours_per_event: 1\n  one_off_costs: [{name: x, amount: 1, price_key: k, quantity: 1}]\n",
            "dr.one_off_costs.0: Value error, give either 'amount' or both",
        ),
    ],
)
def test_usage_file_errors(tmp_path, text, message):
    path = _write(tmp_path, text)
    with pytest.raises(UsageFileError) as err:
        load_usage(path, display="stacks/usage/x.yaml")
    assert str(err.value).startswith("stacks/usage/x.yaml: ") and message in str(err.value)


def test_shipped_usage_files_are_valid():
    for stack in ("cloud-dr", "onprem-prod"):
        loaded = load_stack_usage(REPO, stack)
        assert loaded.path == f"stacks/usage/{stack}.yaml" and loaded.sha256
    dr = load_stack_usage(REPO, "cloud-dr").data.dr
    assert dr is not None and dr.expected_hours_per_event == Decimal(48)


def test_stack_without_usage_file_gets_none(tmp_path):
    assert load_stack_usage(tmp_path, "nothing").path is None


def test_onprem_model_errors_name_the_key(tmp_path):
    path = _write(
        tmp_path,
        "version: 1\nname: x\ncurrency: USD\nsource: s\nrates: {ram_gib_hour: 1, disk_gb_month: 1}\n",
    )
    with pytest.raises(OnPremModelError, match=r"m.yaml: rates.vcpu_hour: Field required"):
        OnPremCatalog.load(path, display="m.yaml")
    neg = _write(
        tmp_path,
        "version: 1\nname: x\ncurrency: USD\nsource: s\nrates: {vcpu_hour: -1, ram_gib_hour: 1, disk_gb_month: 1}\n",
    )
    with pytest.raises(
        OnPremModelError, match=r"rates.vcpu_hour: Input should be greater than or equal to 0"
    ):
        OnPremCatalog.load(neg)


def test_onprem_model_currency_must_match_the_catalog(tmp_path):
    (tmp_path / "stacks").mkdir()
    _write(
        tmp_path / "stacks",
        "version: 1\nname: x\ncurrency: EUR\nsource: s\n"
        "rates: {vcpu_hour: 1, ram_gib_hour: 1, disk_gb_month: 1}\n",
        name="onprem-cost-model.yaml",
    )
    with pytest.raises(OnPremModelError, match="currency EUR differs from the price catalog's USD"):
        load_catalogs(tmp_path, None)


def test_shipped_onprem_model(onprem_catalog):
    assert onprem_catalog.lookup("onprem/power-vcpu-hour").unit_price == Decimal(
        "0.00096"
    )  # 6 W / 1000 x 0.16
    assert (
        onprem_catalog.lookup("onprem/amortisation-vcpu-hour") is None
    )  # commented out in the model
    assert onprem_catalog.lookup("onprem/disk-gb-month/any-store").unit_price == Decimal("0.04")
