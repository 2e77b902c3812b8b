"""Notifications over real loopback servers: a threading HTTP receiver and aiosmtpd."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from email import message_from_bytes
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from dr.notify import (
    Notification,
    NotifyConfigError,
    NotifyError,
    SmtpNotifier,
    WebhookNotifier,
    WebhookReceiver,
    deliver,
    free_port,
    notifiers_from_env,
    webhook_payload,
)
from dr.redact import REDACTED

TOKEN = "T0000/B1111/xoxb-very-secret-webhook-token"
PASSWORD = "s3cret-smtp-password-42"

MESSAGE = Notification(
    title="Cost gate BLOCKED cutover of cloud-dr",
    text="block: dr.event_cost: event cost $35.91 exceeds the maximum $20.00 per event",
    severity="critical",
    fields=(("stack", "cloud-dr"), ("event cost", "USD 35.91")),
    link="https://ci.example/run/1",
)


class Inbox:
    """An aiosmtpd handler that keeps what it receives."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's hook name
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as r:
        yield r


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.password == PASSWORD.encode()
        return AuthResult(success=ok, handled=False)

    port = free_port()
    controller = Controller(
        inbox, hostname="127.0.0.1", port=port, authenticator=authenticate, auth_require_tls=False
    )
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def url_of(receiver: WebhookReceiver) -> str:
    return receiver.url + "/" + TOKEN


def test_webhook_payload_is_slack_and_teams_compatible():
    body = webhook_payload(MESSAGE)
    assert body["text"].startswith("Cost gate BLOCKED cutover of cloud-dr\nblock: dr.event_cost")
    (att,) = body["attachments"]
    assert att["color"] == "#a30200" and att["title_link"] == "https://ci.example/run/1"
    assert att["fields"][0] == {"title": "stack", "value": "cloud-dr", "short": True}
    assert body["sections"][0]["facts"][1] == {"name": "event cost", "value": "USD 35.91"}
    assert body["hybridops"]["fields"] == {"stack": "cloud-dr", "event cost": "USD 35.91"}


def test_webhook_delivers_json(receiver: WebhookReceiver):
    WebhookNotifier(url_of(receiver)).notify(MESSAGE)
    (post,) = receiver.posts
    assert post.path == "/hooks/hybridops/" + TOKEN
    assert post.body == webhook_payload(MESSAGE)
    assert post.headers["Content-Type"] == "application/json"


def test_webhook_retries_5xx_and_429_then_delivers(receiver: WebhookReceiver):
    receiver.fail_next(503)
    receiver.fail_next(429, retry_after="0")
    WebhookNotifier(url_of(receiver), backoff=0.01).notify(MESSAGE)
    assert receiver.attempts == 3 and len(receiver.posts) == 1


def test_webhook_gives_up_without_leaking_the_url(receiver: WebhookReceiver, caplog):
    caplog.set_level(logging.DEBUG)
    receiver.fail_next(500, count=3)
    with pytest.raises(NotifyError) as err:
        WebhookNotifier(url_of(receiver), backoff=0.01).notify(MESSAGE)
    host, port = receiver.url.split("//")[1].split("/")[0].split(":")
    assert str(err.value) == f"webhook http://{host}:{port}/…: HTTP 500 (after 3 attempts)"
    assert receiver.attempts == 3
    assert "xoxb" not in caplog.text and TOKEN not in caplog.text
    assert REDACTED in caplog.text  # httpx's request log line went through the redactor


def test_webhook_4xx_is_not_retried(receiver: WebhookReceiver):
    receiver.fail_next(404)
    with pytest.raises(NotifyError, match=r"HTTP 404 .*\(not retried\)"):
        WebhookNotifier(url_of(receiver), backoff=0.01).notify(MESSAGE)
    assert receiver.attempts == 1


def test_webhook_unreachable_names_the_error_type_only():
    url = f"http://127.0.0.1:{free_port()}/{TOKEN}"
    with pytest.raises(NotifyError) as err:
        WebhookNotifier(url, backoff=0.01, attempts=2, timeout=1).notify(MESSAGE)
    assert str(err.value).endswith(": ConnectError (after 2 attempts)")
    assert TOKEN not in str(err.value) and "xoxb" not in repr(err.value)


def test_secrets_in_a_message_are_redacted_before_sending(receiver: WebhookReceiver):
    notifier = WebhookNotifier(url_of(receiver))
    leaky = Notification(title="t", text=f"see {url_of(receiver)}", fields=(("k", TOKEN),))
    notifier.notify(leaky)
    assert TOKEN not in str(receiver.posts[0].body)


def test_email_is_delivered_with_the_fields(smtp_server):
    inbox, port = smtp_server
    SmtpNotifier("127.0.0.1", port=port, sender="dr@example.net", recipients=["sre@example.net", "fin@example.net"],
                 user="dr", password=PASSWORD, starttls=False).notify(MESSAGE)  # fmt: skip
    (envelope,) = inbox.messages
    assert envelope.rcpt_tos == ["sre@example.net", "fin@example.net"]
    msg = message_from_bytes(envelope.content)
    assert msg["Subject"] == "[hybridops] Cost gate BLOCKED cutover of cloud-dr"
    assert msg["X-HybridOps-Severity"] == "critical"
    body = msg.get_payload(decode=True).decode()
    assert "block: dr.event_cost: event cost $35.91" in body
    assert "event cost  USD 35.91" in body and "https://ci.example/run/1" in body
    assert PASSWORD not in envelope.content.decode()


def test_email_wrong_password_fails_without_leaking_it(smtp_server):
    _, port = smtp_server
    notifier = SmtpNotifier("127.0.0.1", port=port, sender="a@x", recipients=["b@x"], user="dr",
                            password="wrong-password-123", starttls=False, attempts=1)  # fmt: skip
    with pytest.raises(NotifyError) as err:
        notifier.notify(MESSAGE)
    assert str(err.value).startswith(f"smtp 127.0.0.1:{port}: SMTP 535")
    assert "wrong-password-123" not in str(err.value)


def test_email_starttls_required_by_default(smtp_server):
    _, port = smtp_server
    with pytest.raises(NotifyError, match="does not offer STARTTLS"):
        SmtpNotifier("127.0.0.1", port=port, sender="a@x", recipients=["b@x"]).notify(MESSAGE)


def test_no_clear_text_password_to_a_remote_host():
    with pytest.raises(NotifyConfigError, match="refusing to send the SMTP password in clear text"):
        SmtpNotifier(
            "smtp.example.net",
            sender="a@x",
            recipients=["b@x"],
            user="u",
            password="p4ss-word",
            starttls=False,
        )


def test_config_from_env_and_files(tmp_path: Path, receiver: WebhookReceiver, smtp_server):
    _, port = smtp_server
    (tmp_path / "url").write_text(url_of(receiver) + "\n")
    (tmp_path / "pw").write_text(PASSWORD)
    env = {
        "HYBRIDOPS_NOTIFY_WEBHOOK_URL_FILE": str(tmp_path / "url"),
        "HYBRIDOPS_SMTP_HOST": "127.0.0.1",
        "HYBRIDOPS_SMTP_PORT": str(port),
        "HYBRIDOPS_SMTP_USER": "dr",
        "HYBRIDOPS_SMTP_PASSWORD_FILE": str(tmp_path / "pw"),
        "HYBRIDOPS_SMTP_FROM": "dr@example.net",
        "HYBRIDOPS_SMTP_TO": "sre@example.net, fin@example.net",
        "HYBRIDOPS_SMTP_STARTTLS": "false",
    }
    notifiers = notifiers_from_env(env)
    assert [n.name for n in notifiers] == ["webhook", "email"]
    assert TOKEN not in repr(notifiers) and PASSWORD not in repr(notifiers)
    results = deliver(notifiers, MESSAGE)
    assert [(r.channel, r.delivered) for r in results] == [("webhook", True), ("email", True)]


def test_config_file(tmp_path: Path, receiver: WebhookReceiver):
    (tmp_path / "url").write_text(url_of(receiver))
    conf = tmp_path / "notify.yaml"
    conf.write_text(
        f"webhook:\n  url_file: {tmp_path / 'url'}\n  timeout_s: 3\n"
        "smtp:\n  host: 127.0.0.1\n  port: 2525\n  from: a@x\n  to: [b@x]\n  starttls: false\n"
    )
    notifiers = notifiers_from_env(
        {"HYBRIDOPS_NOTIFY_CONFIG": str(conf), "HYBRIDOPS_SMTP_PORT": "2526"}
    )
    web, mail = notifiers
    assert isinstance(web, WebhookNotifier) and web.timeout == 3
    assert isinstance(mail, SmtpNotifier) and mail.port == 2526  # the variable wins


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"HYBRIDOPS_NOTIFY_WEBHOOK_URL": "http://h/x", "HYBRIDOPS_NOTIFY_WEBHOOK_URL_FILE": "f"}, "not both"),
        ({"HYBRIDOPS_NOTIFY_WEBHOOK_URL_FILE": "/nonexistent/url"}, "HYBRIDOPS_NOTIFY_WEBHOOK_URL_FILE=/nonexistent/url: cannot read"),
        ({"HYBRIDOPS_NOTIFY_WEBHOOK_URL": "ftp://h/secret-path"}, "expected an http(s) URL (value not shown)"),
        ({"HYBRIDOPS_SMTP_HOST": "h", "HYBRIDOPS_SMTP_TO": "a@x"}, "HYBRIDOPS_SMTP_FROM is not"),
        ({"HYBRIDOPS_SMTP_HOST": "h", "HYBRIDOPS_SMTP_FROM": "a@x"}, "HYBRIDOPS_SMTP_TO is not"),
        ({"HYBRIDOPS_SMTP_HOST": "h", "HYBRIDOPS_SMTP_FROM": "a", "HYBRIDOPS_SMTP_TO": "b", "HYBRIDOPS_SMTP_PORT": "x"}, "HYBRIDOPS_SMTP_PORT='x': expected a number"),
        ({"HYBRIDOPS_SMTP_HOST": "h", "HYBRIDOPS_SMTP_FROM": "a", "HYBRIDOPS_SMTP_TO": "b", "HYBRIDOPS_SMTP_STARTTLS": "maybe"}, "expected true or false"),
        ({"HYBRIDOPS_NOTIFY_CONFIG": "/nonexistent.yaml"}, "HYBRIDOPS_NOTIFY_CONFIG=/nonexistent.yaml: cannot read"),
    ],
)  # fmt: skip
def test_config_errors_name_the_variable(env, message):
    with pytest.raises(NotifyConfigError) as err:
        notifiers_from_env(env)
    assert message in str(err.value)
    assert "secret-path" not in str(err.value)


def test_no_configuration_means_no_channels():
    assert notifiers_from_env({}) == []


def test_deliver_never_raises_and_reports_each_channel(receiver: WebhookReceiver):
    receiver.fail_next(400)

    class Broken:
        name = "broken"

        def notify(self, message: Notification) -> None:
            raise RuntimeError(f"bug with {TOKEN}")

    results = deliver([WebhookNotifier(url_of(receiver)), Broken()], MESSAGE)
    assert [r.delivered for r in results] == [False, False]
    assert TOKEN not in str(results)


def test_transport_injection_for_unit_use():
    """The webhook notifier takes an httpx transport (for a caller's own fakes)."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    WebhookNotifier(
        "https://hooks.example/x/" + TOKEN, transport=httpx.MockTransport(handler)
    ).notify(MESSAGE)
    assert len(seen) == 1


def test_fields_may_be_a_mapping():
    """The driver passes fields as a dict: kept in order, values as text."""
    note = Notification(title="t", text="x", fields={"run_id": "r1", "lag": 3})
    assert note.pairs == (("run_id", "r1"), ("lag", "3"))
    assert webhook_payload(note)["hybridops"]["fields"] == {"run_id": "r1", "lag": "3"}


def test_fanout_from_env_tries_every_channel(receiver: WebhookReceiver):
    from dr.notify import FanoutNotifier, notifier_from_env

    assert notifier_from_env({}) is None
    fan = notifier_from_env(
        {
            "HYBRIDOPS_NOTIFY_WEBHOOK_URL": url_of(receiver),
            "HYBRIDOPS_SMTP_HOST": "127.0.0.1",
            "HYBRIDOPS_SMTP_PORT": str(free_port()),  # nobody listens
            "HYBRIDOPS_SMTP_FROM": "a@x",
            "HYBRIDOPS_SMTP_TO": "b@x",
            "HYBRIDOPS_SMTP_STARTTLS": "false",
            "HYBRIDOPS_SMTP_TIMEOUT": "1",
        }
    )
    assert isinstance(fan, FanoutNotifier)
    with pytest.raises(NotifyError, match=r"^email: smtp 127\.0\.0\.1:\d+: ConnectionRefusedError"):
        fan.notify(MESSAGE)
    assert [(d.channel, d.delivered) for d in fan.deliveries] == [
        ("webhook", True),
        ("email", False),
    ]
    assert len(receiver.posts) == 1
