"""`hybridops cost ...` as a user and a workflow run it."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal

import jsonschema
import pytest

from cost.artefact import SCHEMA_PATH
from dr.cli import main
from tests.cost.conftest import REPO


@pytest.fixture(autouse=True)
def _fixed_clock(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1795780800")  # 2026-11-27T12:00:00Z
    monkeypatch.delenv("HYBRIDOPS_PRICE_CATALOG", raising=False)
    monkeypatch.delenv("GITHUB_SHA", raising=False)


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_:
        main(list(argv))
    out = capsys.readouterr()
    return exit_.value.code, out.out, out.err


def _estimate(capsys, *extra: str) -> tuple[int, str, str]:
    return _run(
        capsys,
        "cost",
        "estimate",
        "--stack",
        "cloud-dr",
        "--offline",
        "--project-dir",
        str(REPO),
        *extra,
    )


def test_json_prices_every_resource_of_the_reference_stack(capsys):
    """Acceptance: no unsupported, no price-not-found; decimal strings and int counts at the top."""
    code, out, _ = _estimate(capsys, "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["currency"] == "USD"
    for key in ("total_monthly_cost", "past_total_monthly_cost", "diff_total_monthly_cost"):
        assert isinstance(data[key], str)
        Decimal(data[key])
    assert data["summary"]["unsupported"] == 0 and data["summary"]["price_not_found"] == 0
    assert (
        isinstance(data["resources"], list)
        and len(data["resources"]) == data["summary"]["resources"]
    )
    assert data["total_monthly_cost"] == "635.810000"


def test_active_what_if_costs_more_and_diff_adds_up(capsys):
    code, out, _ = _estimate(capsys, "--format", "json", "--set", "drMode=active")
    assert code == 0
    data = json.loads(out)
    assert Decimal(data["total_monthly_cost"]) > Decimal(data["past_total_monthly_cost"])
    assert Decimal(data["diff_total_monthly_cost"]) == sum(
        Decimal(r["diff_monthly_cost"])
        for r in data["resources"]
        if r["diff_monthly_cost"] is not None
    )


def test_markdown_has_the_hidden_marker_line(capsys):
    code, out, _ = _estimate(capsys, "--format", "markdown", "--set", "drMode=active")
    assert code == 0
    assert out.splitlines()[0] == "<!-- hybridops-cost-report stack=cloud-dr -->"
    assert (
        "| `cloud-pool-dr` | containerservice:AgentPool | update | $0.00 | $479.61 | +$479.61 |"
        in out
    )


def test_table_is_the_default_format(capsys):
    code, out, _ = _estimate(capsys)
    assert code == 0 and "Cost estimate of stack cloud-dr" in out and "$635.81" in out


def test_write_produces_a_schema_valid_artefact(capsys, tmp_path):
    """--write: output/artifacts/cost/<component>/cost-run-<run_id>.json, valid against the schema."""
    code, out, err = _estimate(
        capsys,
        "--format",
        "json",
        "--set",
        "drMode=active",
        "--write",
        "--run-id",
        "ci-42",
        "--purpose",
        "dr-cutover",
        "--artefacts-dir",
        str(tmp_path),
    )
    assert code == 0, err
    path = tmp_path / "cloud-dr" / "cost-run-ci-42.json"
    assert err.strip() == f"wrote {path}"
    doc = json.loads(path.read_text())
    jsonschema.validate(doc, json.loads((REPO / SCHEMA_PATH).read_text()))
    assert doc["run_id"] == "ci-42" and doc["purpose"] == "dr-cutover" and doc["env"] == "prod"
    assert doc["created_at"] == "2026-11-27T12:00:00Z" and doc["git_commit"]
    assert doc["totals"]["monthly"] == json.loads(out)["total_monthly_cost"]


def test_compare_to_an_earlier_artefact(capsys, tmp_path):
    code, _, _ = _estimate(
        capsys, "--write", "--run-id", "base", "--artefacts-dir", str(tmp_path), "--format", "json"
    )
    assert code == 0
    code, out, _ = _estimate(
        capsys,
        "--format",
        "json",
        "--set",
        "drMode=active",
        "--compare-to",
        str(tmp_path / "cloud-dr" / "cost-run-base.json"),
    )
    data = json.loads(out)
    # the DR pool (+479.61) and the cloud endpoint's health check, enabled when active (+0.36)
    assert (
        code == 0
        and data["baseline"] == "artefact base"
        and data["diff_total_monthly_cost"] == "479.970000"
    )


@pytest.mark.parametrize(
    ("argv", "exit_code", "message"),
    [
        (["--stack", "nope", "--offline"], 1, "unknown stack 'nope'"),
        (
            ["--stack", "cloud-dr", "--offline", "--set", "drMode"],
            2,
            "--set 'drMode': expected KEY=VALUE",
        ),
        (["--stack", "cloud-dr", "--offline", "--format", "yaml"], 2, "--format 'yaml'"),
        (["--stack", "cloud-dr", "--offline", "--purpose", "party"], 2, "--purpose 'party'"),
        (["--stack", "cloud-dr", "--offline", "--run-id", "../x"], 2, "--run-id '../x'"),
    ],
)
def test_bad_input_is_one_line_with_exit_code(capsys, tmp_path, argv, exit_code, message):
    code, out, err = _run(
        capsys,
        "cost",
        "estimate",
        *argv,
        "--write",
        "--artefacts-dir",
        str(tmp_path),
        "--project-dir",
        str(REPO),
    )
    assert code == exit_code and out == ""
    assert err.startswith("error: ") and message in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []  # no partial file


def test_corrupt_catalog_names_the_file(capsys, tmp_path):
    bad = tmp_path / "catalog.json"
    bad.write_text('{"format": "hybridops.price-catalog", "format_version": 1, "items": [')
    code, out, err = _estimate(
        capsys, "--catalog", str(bad), "--write", "--artefacts-dir", str(tmp_path / "a")
    )
    assert (
        code == 1 and out == "" and err.startswith(f"error: {bad}: price catalog is not valid JSON")
    )
    assert not (tmp_path / "a").exists()


def test_catalog_from_the_environment(capsys, tmp_path, monkeypatch):
    bad = tmp_path / "other.json"
    bad.write_text('{"format": "something-else"}')
    monkeypatch.setenv("HYBRIDOPS_PRICE_CATALOG", str(bad))
    code, _, err = _estimate(capsys, "--format", "json")
    assert code == 1 and "not a hybridops price catalog" in err


def test_unreadable_compare_to_artefact_names_the_file(capsys, tmp_path):
    art = tmp_path / "cost-run-x.json"
    art.write_text('{"kind": "hybridops.cost-run", "schema_version": 99}')
    code, out, err = _estimate(
        capsys, "--compare-to", str(art), "--write", "--artefacts-dir", str(tmp_path / "a")
    )
    assert (
        code == 1
        and out == ""
        and err.startswith(f"error: {art}: cost artefact schema_version 99 is newer")
    )
    assert not (tmp_path / "a").exists()


def test_bad_usage_file_names_file_and_key(capsys, tmp_path):
    usage = tmp_path / "u.yaml"
    usage.write_text("version: 1\nresource_usage:\n  cloud-kv:\n    monthly_ops: 3\n")
    code, _, err = _estimate(capsys, "--usage", str(usage))
    assert (
        code == 1 and "resource_usage.cloud-kv.monthly_ops: Extra inputs are not permitted" in err
    )


def test_catalog_show_lists_prices_and_provenance(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    code, out, _ = _run(capsys, "cost", "catalog", "show", "--json", "--project-dir", str(REPO))
    assert code == 0
    data = json.loads(out)
    assert data["catalogs"][0]["version"] == "snapshot-2026-11-27"
    keys = {p["price_key"]: p for p in data["prices"]}
    assert keys["vm/eastus/Standard_D4s_v5"]["unit_price"] == "0.192"
    assert keys["aks/eastus/free"]["conflicts"] == 1
    assert "onprem/vcpu-hour" in keys
    code, out, _ = _run(capsys, "cost", "catalog", "show", "--project-dir", str(REPO))
    assert code == 0 and "traffic-manager/Global/dns-queries" in out


def test_help_does_not_import_the_cost_engine():
    """`hybridops --help` stays fast: the CLI module imports typer/stdlib only."""
    code = (
        "import sys, dr.cli; "
        "heavy = [m for m in sys.modules if m.startswith(('cost.', 'pulumi', 'httpx', 'rich'))]; "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)
