"""The budget policy file: the shipped one loads, and every error names the file and the key."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from cost.decision.errors import PolicyError
from cost.decision.policy import load_policy, parse_policy
from tests.conftest import REPO


def test_shipped_policy_loads_with_exact_amounts():
    loaded = load_policy(REPO)
    assert loaded.path == "stacks/budget-policy.yaml"
    assert len(loaded.sha256) == 64
    p = loaded.policy
    assert p.currency == "USD"
    cloud = p.budgets["cloud-dr"]
    assert cloud.monthly_budget == Decimal(1000) and cloud.warn_ratio == Decimal("0.8")
    assert cloud.dr is not None and cloud.dr.max_event_cost == Decimal(150)
    assert cloud.dr.expected_event_hours is None  # the usage file's 48 h apply
    assert cloud.break_glass.allowed is True
    assert p.budgets["onprem-prod"].dr is None
    assert p.budgets["onprem-prod"].break_glass.allowed is False


GOOD = """
version: 1
currency: USD
budgets:
  s:
    monthly_budget: 10
    warn_ratio: 0.5
    max_artefact_age_hours: 1
"""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GOOD.replace("warn_ratio", "warn_ration"), "p.yaml: budgets.s.warn_ration: Extra inputs are not permitted"),
        (GOOD.replace("0.5", "1.5"), "p.yaml: budgets.s.warn_ratio: Input should be less than or equal to 1"),
        (GOOD.replace("monthly_budget: 10", "monthly_budget: -1"), "p.yaml: budgets.s.monthly_budget: Input should be greater than or equal to 0"),
        (GOOD.replace("monthly_budget: 10", "monthly_budget: ten"), "p.yaml: budgets.s.monthly_budget: Input should be a valid decimal"),
        (GOOD.replace("monthly_budget: 10", "monthly_budget: .nan"), "p.yaml: budgets.s.monthly_budget:"),
        (GOOD.replace("max_artefact_age_hours: 1", "max_artefact_age_hours: 0"), "p.yaml: budgets.s.max_artefact_age_hours: Input should be greater than 0"),
        (GOOD.replace("version: 1", "version: 2"), "p.yaml: version: Input should be 1"),
        (GOOD.replace("currency: USD", "currency: usd"), "p.yaml: currency: String should match pattern"),
        (GOOD + "    dr: {max_event_cost: 1}\n", "p.yaml: budgets.s.dr.monthly_dr_budget: Field required"),
        (GOOD + "    break_glass: {scenarios: [cutovr]}\n", "p.yaml: budgets.s.break_glass.scenarios.0: Input should be"),
        (GOOD.replace("  s:", "  a/b/c:"), "budget key 'a/b/c'"),
        ("[1, 2]", "p.yaml: expected a mapping"),
        ("version: [", "p.yaml: not valid YAML"),
    ],
)  # fmt: skip
def test_errors_name_the_file_and_the_key(text, message):
    with pytest.raises(PolicyError) as err:
        parse_policy(text.encode(), "p.yaml")
    text_ = str(err.value)
    assert text_.startswith("p.yaml: ")
    assert message.removeprefix("p.yaml: ") in text_


def test_missing_policy_file_is_an_error_naming_it(tmp_path: Path):
    with pytest.raises(PolicyError, match=r"nope\.yaml: cannot read the budget policy"):
        load_policy(tmp_path, tmp_path / "nope.yaml")
    assert PolicyError.exit_code == 1


def test_break_glass_defaults_are_closed():
    p = parse_policy(GOOD.encode(), "p.yaml").policy
    bg = p.budgets["s"].break_glass
    assert (
        bg.allowed is False
        and bg.scenarios == ["cutover", "failback", "burst"]
        and bg.severities == []
    )


def test_policy_from_the_environment(tmp_path: Path, monkeypatch):
    """$HYBRIDOPS_BUDGET_POLICY replaces the default file; an explicit path still wins."""
    alt = tmp_path / "tight.yaml"
    alt.write_text(GOOD)
    monkeypatch.setenv("HYBRIDOPS_BUDGET_POLICY", str(alt))
    assert list(load_policy(REPO).policy.budgets) == ["s"]
    assert "cloud-dr" in load_policy(REPO, REPO / "stacks/budget-policy.yaml").policy.budgets
