"""`hybridops cost decide` as CI and humans run it: exit codes, records, notifications."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from cost.artefact import from_report, write_artefact
from cost.decision.record import BlockedRecord, DecisionRecord, load_record
from dr.cli import main
from dr.notify import WebhookReceiver, free_port
from tests.decision.test_notify import Inbox

TIGHT = Path(__file__).parent / "fixtures" / "tight-budget-policy.yaml"
WEBHOOK_TOKEN = "hooks-token-ZXhhbXBsZS1zZWNyZXQ"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_:
        main(["cost", "decide", *argv])
    out = capsys.readouterr()
    return int(exit_.value.code or 0), out.out, out.err


@pytest.fixture
def channels(monkeypatch, tmp_path: Path) -> Iterator[tuple[WebhookReceiver, Inbox]]:
    """A loopback webhook receiver and SMTP server, configured the way CI would (env + files)."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    with WebhookReceiver() as receiver:
        url_file = tmp_path / "webhook-url"
        url_file.write_text(f"{receiver.url}/{WEBHOOK_TOKEN}\n")
        monkeypatch.setenv("HYBRIDOPS_NOTIFY_WEBHOOK_URL_FILE", str(url_file))
        monkeypatch.setenv("HYBRIDOPS_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("HYBRIDOPS_SMTP_PORT", str(port))
        monkeypatch.setenv("HYBRIDOPS_SMTP_FROM", "hybridops@example.net")
        monkeypatch.setenv("HYBRIDOPS_SMTP_TO", "sre@example.net")
        monkeypatch.setenv("HYBRIDOPS_SMTP_STARTTLS", "false")
        try:
            yield receiver, inbox
        finally:
            controller.stop()


def test_shipped_policy_allows_cutover_exit_0(capsys, root: Path):
    code, out, _ = run(capsys, "--stack", "cloud-dr", "--scenario", "cutover", "--offline",
                       "--artefacts", str(root), "--run-id", "c1", "--json")  # fmt: skip
    assert code == 0
    data = json.loads(out)
    assert (data["decision"], data["exit_code"], data["notifications"]) == ("allow", 0, [])
    assert data["record"]["figures"]["event_cost"] == "35.909664"
    assert data["record"]["estimate"]["purpose"] == "dr-cutover"
    assert data["record_path"] == str(root / "cloud-dr" / "decision-c1.json")
    assert (root / "cloud-dr" / "cost-run-c1.json").is_file()


def test_tightened_policy_blocks_exit_20_records_and_notifies(capsys, root: Path, channels):
    """Acceptance: block -> blocked record + a notification delivered to the webhook and by email."""
    receiver, inbox = channels
    code, out, err = run(capsys, "--stack", "cloud-dr", "--scenario", "cutover", "--offline", "--policy", str(TIGHT),
                         "--artefacts", str(root), "--run-id", "b1", "--severity", "critical", "--json")  # fmt: skip
    assert code == 20, err
    data = json.loads(out)
    assert data["decision"] == "block"
    assert data["notifications"] == [
        {"channel": "webhook", "delivered": True, "error": None},
        {"channel": "email", "delivered": True, "error": None},
    ]
    blocked = load_record(root / "cloud-dr" / "blocked-b1.json")
    assert isinstance(blocked, BlockedRecord) and blocked.severity == "critical"
    assert [c.id for c in blocked.failed_checks] == ["dr.event_cost"]

    (post,) = receiver.posts
    body = post.body
    assert body["title"] == "Cost gate BLOCKED cutover of cloud-dr"
    fields = body["hybridops"]["fields"]
    assert fields["event cost"] == "USD 35.91" and fields["max per event"] == "USD 20.00"
    assert fields["failed checks"] == "dr.event_cost"
    assert fields["blocked record"] == str(root / "cloud-dr" / "blocked-b1.json")
    assert fields["decision record"] == str(root / "cloud-dr" / "decision-b1.json")
    assert body["hybridops"]["text"] == data["reason"]
    assert "exceeds the maximum $20.00 per event" in body["text"]

    (mail,) = inbox.messages
    msg = message_from_bytes(mail.content)
    assert msg["Subject"] == "[hybridops] Cost gate BLOCKED cutover of cloud-dr"
    text = msg.get_payload(decode=True).decode()
    assert "blocked-b1.json" in text and "USD 35.91" in text
    # the webhook token is a secret: in no message, record or output
    assert WEBHOOK_TOKEN not in json.dumps(body) + text + out + err
    assert WEBHOOK_TOKEN not in (root / "cloud-dr" / "decision-b1.json").read_text()


def test_break_glass_allows_exit_0_and_is_recorded_and_announced(capsys, root: Path, channels):
    receiver, _ = channels
    code, _, _ = run(capsys, "--stack", "cloud-dr", "--scenario", "cutover", "--offline", "--policy", str(TIGHT),
                       "--artefacts", str(root), "--run-id", "g1", "--approved-by", "alice",
                       "--reason", "P1: on-prem site down", "--json")  # fmt: skip
    assert code == 0
    record = load_record(root / "cloud-dr" / "decision-g1.json")
    assert isinstance(record, DecisionRecord) and record.override is not None
    assert (record.override.approved_by, record.override.reason, record.override.original_decision) == (
        "alice", "P1: on-prem site down", "block")  # fmt: skip
    assert not (root / "cloud-dr" / "blocked-g1.json").exists()
    (post,) = receiver.posts
    assert post.body["title"] == "Cost gate break-glass: cutover of cloud-dr allowed by alice"


def test_stale_artefact_warns_exit_10(capsys, root: Path, report):
    stale = datetime.now(UTC) - timedelta(hours=30)
    write_artefact(from_report(report("cutover"), run_id="ci-7", purpose="dr-cutover", component="cloud-dr",
                               created_at=stale), root)  # fmt: skip
    code, out, _ = run(
        capsys,
        "--stack",
        "cloud-dr",
        "--scenario",
        "cutover",
        "--artefacts",
        str(root),
        "--run-id",
        "w1",
    )
    assert code == 10
    assert "WARN cutover of cloud-dr: warn: artefact.fresh: estimate is stale: 30" in " ".join(
        out.split()
    )


def test_corrupt_artefact_warns_exit_10(capsys, root: Path):
    (root / "cloud-dr").mkdir()
    (root / "cloud-dr" / "cost-run-ci-8.json").write_text(
        '{"kind": "hybridops.cost-run", "schema_version": 1, '
    )
    code, out, _ = run(
        capsys, "--stack", "cloud-dr", "--scenario", "cutover", "--artefacts", str(root), "--json"
    )
    assert code == 10
    data = json.loads(out)
    assert data["record"]["estimate_problem"]["problem"] == "unreadable"
    assert "artefact.readable" in data["reason"] and "not valid JSON" in data["reason"]


def test_estimate_file_of_a_newer_schema_warns(capsys, root: Path, tmp_path: Path, report):
    from cost.artefact import dumps

    doc = json.loads(dumps(from_report(report("cutover"), run_id="n", purpose="dr-cutover")))
    doc["schema_version"] = 7
    path = tmp_path / "newer.json"
    path.write_text(json.dumps(doc))
    code, out, _ = run(capsys, "--stack", "cloud-dr", "--scenario", "cutover", "--estimate", str(path),
                       "--artefacts", str(root), "--json")  # fmt: skip
    assert code == 10
    assert "artefact.schema" in json.loads(out)["reason"]


def test_approval_of_a_warn_exit_0(capsys, root: Path):
    code, out, _ = run(capsys, "--stack", "cloud-dr", "--scenario", "cutover", "--artefacts", str(root),
                       "--approved-by", "bob", "--reason", "estimate by hand", "--json")  # fmt: skip
    assert code == 0
    data = json.loads(out)
    assert (data["decision"], data["original_decision"]) == ("allow", "warn")
    assert data["record"]["override"]["kind"] == "approval"


def test_failback_offline_prices_the_way_back(capsys, root: Path):
    code, out, _ = run(capsys, "--stack", "cloud-dr", "--scenario", "failback", "--offline",
                       "--artefacts", str(root), "--json")  # fmt: skip
    assert code == 0
    figures = json.loads(out)["record"]["figures"]
    assert (figures["diff_monthly"], figures["event_cost"]) == ("-479.970000", "35.909664")


def test_human_output_of_a_block(capsys, root: Path):
    code, out, err = run(capsys, "--stack", "cloud-dr", "--scenario", "cutover", "--offline", "--policy", str(TIGHT),
                         "--artefacts", str(root), "--run-id", "h1")  # fmt: skip
    assert code == 20
    flat = " ".join(out.split())
    assert flat.startswith("BLOCK cutover of cloud-dr: block: dr.event_cost: event cost $35.91")
    assert "event cost $35.91" in flat and "dr.event_cost │ failed │ block" in flat
    assert "blocked-h1.json" in flat
    assert "no notification channel configured" in err


def test_invalid_policy_is_an_error_exit_1(capsys, root: Path, tmp_path: Path):
    bad = tmp_path / "policy.yaml"
    bad.write_text(TIGHT.read_text().replace("warn_ratio", "warn_ration"))
    code, _, err = run(capsys, "--stack", "cloud-dr", "--scenario", "cutover", "--policy", str(bad),
                       "--artefacts", str(root))  # fmt: skip
    assert code == 1
    assert err.startswith(
        f"error: {bad}: budgets.cloud-dr.warn_ratio: Field required; budgets.cloud-dr.warn_ration: Extra inputs"
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--scenario", "rollback"],
            "--scenario 'rollback': expected one of cutover, failback, burst, change",
        ),
        (
            ["--scenario", "cutover", "--offline", "--estimate", "x.json"],
            "--estimate and --offline exclude each other",
        ),
        (
            ["--scenario", "cutover", "--approved-by", "bob"],
            "--approved-by and --reason go together",
        ),
        (["--scenario", "cutover", "--run-id", "a/b"], "--run-id 'a/b'"),
        (["--scenario", "cutover", "--set", "drMode=active"], "--set needs --offline"),
    ],
)
def test_usage_errors_exit_2(capsys, root: Path, argv, message):
    code, _, err = run(capsys, "--stack", "cloud-dr", "--artefacts", str(root), *argv)
    assert code == 2
    assert message in err
    assert not any(root.rglob("*.json"))  # nothing read, nothing written


def test_missing_option_is_a_usage_error(capsys):
    code, _, _ = run(capsys, "--stack", "cloud-dr")
    assert code == 2
