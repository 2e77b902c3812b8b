"""`hybridops dr ...` as CI and operators run it."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import jsonschema
import pytest
import yaml

from dr.cli import main
from dr.records import RunRecord
from tests.conftest import REPO


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_:
        main(list(argv))
    out = capsys.readouterr()
    return exit_.value.code, out.out, out.err


def test_offline_drill_writes_a_complete_record(capsys, tmp_path):
    """Acceptance: works on a fresh machine (no pulumi CLI, no credentials) and leaves full evidence."""
    art = tmp_path / "art"
    code, out, err = _run(
        capsys,
        "dr",
        "drill",
        "--stack",
        "cloud-dr",
        "--offline",
        "--simulate",
        "--run-id",
        "drill-1",
        "--artefacts",
        str(art),
    )
    assert code == 0, err
    run = art / "dr" / "drill-1"
    assert {p.name for p in run.iterdir()} == {
        "record.json",
        "summary.md",
        "inputs.json",
        "journal.jsonl",
    }
    record = RunRecord.model_validate_json((run / "record.json").read_text())
    assert (record.operation, record.plan, record.simulate, record.engine, record.result) == (
        "drill",
        "cutover",
        True,
        "offline",
        "SUCCESS",
    )
    assert [s.id for s in record.steps] == [
        "confirm-trigger",
        "cost-gate",
        "fence-onprem-primary",
        "scale-cloud",
        "verify-health",
        "switch-traffic",
        "record",
    ]
    assert record.decision.decision == "allow"
    assert record.cost.currency == "USD" and record.cost.event_cost is not None
    decision_path = art / "cost" / "cloud-dr" / "decision-drill-1.json"
    assert decision_path.exists() and (art / "cost" / "cloud-dr" / "cost-run-drill-1.json").exists()
    artefact = json.loads((art / "cost" / "cloud-dr" / "cost-run-drill-1.json").read_text())
    jsonschema.validate(
        artefact, json.loads((REPO / "docs" / "ci" / "cost-artefact.schema.json").read_text())
    )
    assert "```mermaid\ngantt" in (run / "summary.md").read_text()
    assert "drill of cloud-dr (simulated): SUCCESS (exit 0)" in out
    assert (
        "[2/7] plan and cost decision (approval) ..." in err
    )  # plain progress lines off a terminal


def test_same_run_id_for_another_operation_is_refused(capsys, tmp_path):
    art = tmp_path / "art"
    assert (
        _run(
            capsys,
            "dr",
            "drill",
            "--stack",
            "cloud-dr",
            "--offline",
            "--run-id",
            "r",
            "--artefacts",
            str(art),
        )[0]
        == 0
    )
    code, _, err = _run(
        capsys,
        "dr",
        "failback",
        "--stack",
        "cloud-dr",
        "--offline",
        "--simulate",
        "--run-id",
        "r",
        "--artefacts",
        str(art),
    )
    assert code == 1 and "run id r belongs to a drill of cloud-dr" in err


def test_approved_by_needs_a_reason(capsys, tmp_path):
    code, _, err = _run(
        capsys,
        "dr",
        "cutover",
        "--stack",
        "cloud-dr",
        "--offline",
        "--approved-by",
        "alice",
        "--artefacts",
        str(tmp_path),
    )
    assert code == 2 and "--approved-by needs --reason" in err


def test_event_file_of_the_wrong_kind_is_refused(capsys, tmp_path):
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps({"action": "dr-recovered", "client_payload": {"status": "resolved"}})
    )
    code, _, _ = _run(
        capsys,
        "dr",
        "drill",
        "--stack",
        "cloud-dr",
        "--offline",
        "--event-file",
        str(event),
        "--run-id",
        "e",
        "--artefacts",
        str(tmp_path),
    )
    record = json.loads((tmp_path / "dr" / "e" / "record.json").read_text())
    assert code == 1 and record["result"] == "ERRORS"
    assert "event 'dr-recovered' does not ask for a drill" in record["steps"][0]["detail"]


def test_planted_secrets_appear_in_no_file_and_no_log(capsys, tmp_path, monkeypatch):
    """A DSN password (config via env), a token and a password in the alert payload, and a webhook
    token: none of them may reach records, artefacts, inputs, journal, stdout or stderr."""
    dsn_password = "Pl4nted-DSN-pass-7c1d"
    github_token = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
    alert_password = "Alert-Leaked-Pass-99"
    hook_token = "T0ken-In-Webhook-Url-123"
    monkeypatch.setenv(
        "HYBRIDOPS_DB_ONPREM_DSN",
        f"postgresql://dr:{dsn_password}@127.0.0.1:1/postgres?connect_timeout=1",
    )
    monkeypatch.setenv(
        "HYBRIDOPS_DB_CLOUD_DSN",
        f"host=127.0.0.1 port=2 user=dr password={dsn_password} connect_timeout=1",
    )
    monkeypatch.setenv("HYBRIDOPS_NOTIFY_WEBHOOK_URL", f"http://127.0.0.1:9/hooks/{hook_token}")
    profile = tmp_path / "profile.yaml"
    data = yaml.safe_load((REPO / "stacks" / "dr" / "cloud-dr.yaml").read_text())
    data["database"]["mode"] = "postgres-streaming"
    data["trigger"]["onprem_probe_urls"] = []
    data["health"]["urls"] = []
    profile.write_text(yaml.safe_dump(data))
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps(
            {
                "action": "dr-cutover",
                "client_payload": {
                    "alertname": "jenkins_critical_down",
                    "status": "firing",
                    "startsAt": datetime.now(UTC).isoformat(),
                    "summary": f"Jenkins down; debug token {github_token} password={alert_password}",
                    "fingerprint": "abc123",
                },
                "sender": {"login": "relay-bot"},
            }
        )
    )
    art = tmp_path / "art"
    code, out, err = _run(
        capsys,
        "dr",
        "cutover",
        "--stack",
        "cloud-dr",
        "--offline",
        "--event-file",
        str(event),
        "--profile",
        str(profile),
        "--run-id",
        "leak",
        "--artefacts",
        str(art),
    )
    assert code == 1  # the cloud replica is unreachable: promotion fails, and says so
    record = json.loads((art / "dr" / "leak" / "record.json").read_text())
    assert record["steps"][2]["id"] == "fence-onprem-primary"
    texts = {str(p): p.read_text() for p in art.rglob("*") if p.is_file()}
    texts["stdout"], texts["stderr"] = out, err
    assert len(texts) >= 8
    for secret in (dsn_password, github_token, alert_password, hook_token):
        leaks = [where for where, text in texts.items() if secret in text]
        assert not leaks, f"{secret[:6]}... leaked into {leaks}"
    assert "[redacted]" in texts[str(art / "dr" / "leak" / "record.json")]


def test_dr_commands_exist_with_their_options():
    from typer.main import get_command

    from dr.cli import app

    group = get_command(app)
    dr_group = group.commands["dr"]  # type: ignore[attr-defined]
    assert set(dr_group.commands) == {"cutover", "failback", "drill"}
    options = {o for p in dr_group.commands["cutover"].params for o in p.opts}
    assert {
        "--stack",
        "--run-id",
        "--event-file",
        "--offline",
        "--simulate",
        "--approved-by",
        "--reason",
        "--force",
        "--json",
    } <= options


@pytest.fixture(autouse=True)
def _no_notifier_env(monkeypatch):
    for name in ("HYBRIDOPS_NOTIFY_WEBHOOK_URL", "HYBRIDOPS_SMTP_HOST", "HYBRIDOPS_NOTIFY_CONFIG"):
        monkeypatch.delenv(name, raising=False)
