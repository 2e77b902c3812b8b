"""Human notifications behind one small interface: ``Notifier.notify(Notification)``.

Two channels:

* **Webhook** (:class:`WebhookNotifier`): one JSON ``POST`` that Slack incoming webhooks
  (``text`` + ``attachments[].fields``), Microsoft Teams connectors (``text``, ``title``,
  ``sections[].facts`` of the MessageCard format) and generic receivers (the ``hybridops`` object)
  all understand. Retries transport errors, 429 and 5xx with exponential backoff (tenacity),
  honouring a ``Retry-After`` of a few seconds; other 4xx fail at once.
* **Email** (:class:`SmtpNotifier`): ``smtplib`` with STARTTLS (on by default); it refuses to send
  a password in clear text to anything but a loopback host.

Configuration (environment, and/or a YAML file named by ``HYBRIDOPS_NOTIFY_CONFIG``; a variable
wins over the file key by key):

==================================  =========================================================
``HYBRIDOPS_NOTIFY_WEBHOOK_URL``    webhook URL (a secret: Slack/Teams URLs carry the token)
``HYBRIDOPS_NOTIFY_WEBHOOK_URL_FILE`` file holding the URL (preferred: mounted secrets)
``HYBRIDOPS_NOTIFY_WEBHOOK_TIMEOUT`` seconds per attempt (default 10)
``HYBRIDOPS_SMTP_HOST`` / ``_PORT``  SMTP server (port default 587)
``HYBRIDOPS_SMTP_USER``             login user (optional)
``HYBRIDOPS_SMTP_PASSWORD_FILE``    file holding the password (or ``HYBRIDOPS_SMTP_PASSWORD``)
``HYBRIDOPS_SMTP_FROM`` / ``_TO``    sender; recipients, comma-separated
``HYBRIDOPS_SMTP_STARTTLS``         ``true`` (default) or ``false``
``HYBRIDOPS_SMTP_TIMEOUT``          seconds (default 10)
==================================  =========================================================

Secrets (the webhook URL, the SMTP password) are registered with :data:`dr.redact.redactor` as
soon as they are read, never appear in a message, and every error raised here is redacted and
names the webhook by scheme and host only. httpx's own request log lines go through the redactor
too.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol
from urllib.parse import urlsplit

import httpx
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from dr.errors import ConfigError, HybridOpsError
from dr.redact import redactor

if TYPE_CHECKING:
    from cost.decision.service import DecisionOutcome

log = logging.getLogger("hybridops.notify")

ENV_CONFIG = "HYBRIDOPS_NOTIFY_CONFIG"
ENV_WEBHOOK_URL = "HYBRIDOPS_NOTIFY_WEBHOOK_URL"
ENV_WEBHOOK_URL_FILE = "HYBRIDOPS_NOTIFY_WEBHOOK_URL_FILE"
ENV_WEBHOOK_TIMEOUT = "HYBRIDOPS_NOTIFY_WEBHOOK_TIMEOUT"
ENV_SMTP_HOST = "HYBRIDOPS_SMTP_HOST"
ENV_SMTP_PORT = "HYBRIDOPS_SMTP_PORT"
ENV_SMTP_USER = "HYBRIDOPS_SMTP_USER"
ENV_SMTP_PASSWORD = "HYBRIDOPS_SMTP_PASSWORD"
ENV_SMTP_PASSWORD_FILE = "HYBRIDOPS_SMTP_PASSWORD_FILE"
ENV_SMTP_FROM = "HYBRIDOPS_SMTP_FROM"
ENV_SMTP_TO = "HYBRIDOPS_SMTP_TO"
ENV_SMTP_STARTTLS = "HYBRIDOPS_SMTP_STARTTLS"
ENV_SMTP_TIMEOUT = "HYBRIDOPS_SMTP_TIMEOUT"

Severity = Literal["info", "warning", "critical"]
_COLORS = {"info": "#2eb886", "warning": "#daa038", "critical": "#a30200"}
_MAX_RETRY_AFTER = 5.0
"""Longest ``Retry-After`` honoured: a notification must not hold up a DR run."""


class NotifyError(HybridOpsError):
    """A notification could not be delivered (the message is redacted)."""


class NotifyConfigError(ConfigError):
    """The notification settings are invalid; the message names the variable or file key."""


@dataclass(frozen=True)
class Notification:
    """One message for humans: a title, a text, and ordered fields (name, value)."""

    title: str
    text: str
    severity: Severity = "info"
    fields: tuple[tuple[str, str], ...] | Mapping[str, object] = ()
    """Ordered ``(name, value)`` pairs; a mapping is accepted and kept in its order."""
    link: str | None = None
    """Where to read more (a CI run, a record); shown as a link where the channel can."""

    def __post_init__(self) -> None:
        items = self.fields.items() if isinstance(self.fields, Mapping) else self.fields
        object.__setattr__(self, "fields", tuple((str(k), str(v)) for k, v in items))

    @property
    def pairs(self) -> tuple[tuple[str, str], ...]:
        return self.fields  # type: ignore[return-value]  # normalised in __post_init__

    def redacted(self) -> Notification:
        return Notification(
            title=redactor.text(self.title),
            text=redactor.text(self.text),
            severity=self.severity,
            fields=tuple((redactor.text(k), redactor.text(v)) for k, v in self.pairs),
            link=redactor.text(self.link) if self.link else None,
        )


class Notifier(Protocol):
    """A human channel. ``notify`` returns once delivered, or raises :class:`NotifyError`."""

    name: str

    def notify(self, message: Notification) -> None: ...


@dataclass(frozen=True)
class Delivery:
    channel: str
    delivered: bool
    error: str | None = None


def deliver(notifiers: Sequence[Notifier], message: Notification) -> list[Delivery]:
    """Send to every channel; one failing channel does not stop the others. Never raises."""
    results = []
    for notifier in notifiers:
        try:
            notifier.notify(message)
        except NotifyError as exc:
            log.warning("notification via %s failed: %s", notifier.name, exc)
            results.append(Delivery(notifier.name, False, str(exc)))
        except Exception as exc:  # a channel bug must not break the caller's run
            text = redactor.text(f"{type(exc).__name__}: {exc}")
            log.warning("notification via %s failed: %s", notifier.name, text)
            results.append(Delivery(notifier.name, False, text))
        else:
            results.append(Delivery(notifier.name, True))
    return results


# -- webhook


class _RedactingFilter(logging.Filter):
    """httpx logs ``HTTP Request: POST <url>`` at INFO: the URL is the secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redactor.text(record.getMessage())
        record.args = None
        return True


_FILTER = _RedactingFilter()


def _guard_http_logs() -> None:
    for name in ("httpx", "httpcore"):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


def _register_url(url: str) -> None:
    redactor.add(url)
    parts = urlsplit(url)
    # The token of a Slack/Teams URL is its path (and sometimes query); an error message or a
    # log line may show them without the host.
    if len(parts.path) > 1:
        redactor.add(parts.path)
        redactor.add(parts.path.lstrip("/"))
    if parts.query:
        redactor.add(parts.query)
    if parts.password:
        redactor.add(parts.password)


def safe_url(url: str) -> str:
    """Scheme and host only: what an error message may say about a webhook."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}/…"


class _Retryable(Exception):
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


def webhook_payload(message: Notification) -> dict[str, Any]:
    """Slack- and Teams-compatible JSON; see the module docstring."""
    headline = f"{message.title}\n{message.text}"
    if message.link:
        headline += f"\n{message.link}"
    return {
        "text": headline,
        "title": message.title,
        "attachments": [
            {
                "color": _COLORS[message.severity],
                "title": message.title,
                "text": message.text,
                "fields": [
                    {"title": k, "value": v, "short": len(v) <= 40} for k, v in message.pairs
                ],
                **({"title_link": message.link} if message.link else {}),
            }
        ],
        "sections": [{"facts": [{"name": k, "value": v} for k, v in message.pairs]}],
        "hybridops": {
            "severity": message.severity,
            "title": message.title,
            "text": message.text,
            "fields": dict(message.pairs),
            "link": message.link,
        },
    }


class WebhookNotifier:
    """POST a JSON payload to one webhook URL, with retries."""

    name = "webhook"

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 10.0,
        attempts: int = 3,
        backoff: float = 0.5,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
            raise NotifyConfigError(f"{ENV_WEBHOOK_URL}: expected an http(s) URL (value not shown)")
        _register_url(url)
        _guard_http_logs()
        self._url = url
        self.target = safe_url(url)
        self.timeout = timeout
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self._transport = transport

    def __repr__(self) -> str:  # never the URL
        return f"WebhookNotifier({self.target})"

    def notify(self, message: Notification) -> None:
        body = webhook_payload(message.redacted())
        retrying = Retrying(
            stop=stop_after_attempt(self.attempts),
            wait=self._wait,
            retry=retry_if_exception_type(_Retryable),
            reraise=True,
        )
        try:
            with httpx.Client(timeout=self.timeout, transport=self._transport) as client:
                for attempt in retrying:
                    with attempt:
                        self._post(client, body)
        except _Retryable as exc:
            raise NotifyError(
                redactor.text(f"webhook {self.target}: {exc} (after {self.attempts} attempts)")
            ) from None

    def _wait(self, state: Any) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _Retryable) and exc.retry_after is not None:
            return min(exc.retry_after, _MAX_RETRY_AFTER)
        base = wait_exponential(multiplier=self.backoff, max=_MAX_RETRY_AFTER)
        return float(base(state))

    def _post(self, client: httpx.Client, body: dict[str, Any]) -> None:
        try:
            response = client.post(self._url, json=body)
        except httpx.TransportError as exc:
            # str(exc) of httpx errors can carry the URL: name the type only.
            raise _Retryable(f"{type(exc).__name__}") from None
        if response.status_code < 300:
            return
        if response.status_code == 429 or response.status_code >= 500:
            after = response.headers.get("retry-after", "").strip()
            raise _Retryable(
                f"HTTP {response.status_code}", float(after) if after.isdigit() else None
            )
        raise NotifyError(
            redactor.text(
                f"webhook {self.target}: HTTP {response.status_code} "
                f"{response.text[:200]!r} (not retried)"
            )
        )


# -- email


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class SmtpNotifier:
    """Send a plain-text email through an SMTP server."""

    name = "email"

    def __init__(
        self,
        host: str,
        *,
        port: int = 587,
        sender: str,
        recipients: Sequence[str],
        user: str | None = None,
        password: str | None = None,
        starttls: bool = True,
        timeout: float = 10.0,
        attempts: int = 3,
    ) -> None:
        if not recipients:
            raise NotifyConfigError(f"{ENV_SMTP_TO}: no recipients")
        if password:
            redactor.add(password)
        if user and password and not starttls and not _is_loopback(host):
            raise NotifyConfigError(
                f"{ENV_SMTP_STARTTLS}=false: refusing to send the SMTP password in clear text to "
                f"{host}; enable STARTTLS"
            )
        self.host = host
        self.port = port
        self.sender = sender
        self.recipients = list(recipients)
        self.user = user
        self._password = password
        self.starttls = starttls
        self.timeout = timeout
        self.attempts = max(1, attempts)

    def __repr__(self) -> str:
        return f"SmtpNotifier({self.host}:{self.port}, to={len(self.recipients)})"

    def message(self, note: Notification) -> EmailMessage:
        note = note.redacted()
        msg = EmailMessage()
        msg["Subject"] = f"[hybridops] {note.title}"
        msg["From"] = self.sender
        msg["To"] = ", ".join(self.recipients)
        msg["X-HybridOps-Severity"] = note.severity
        width = max((len(k) for k, _ in note.pairs), default=0)
        lines = [note.text, ""]
        lines += [f"{k.ljust(width)}  {v}" for k, v in note.pairs]
        if note.link:
            lines += ["", note.link]
        msg.set_content("\n".join(lines) + "\n")
        return msg

    def notify(self, message: Notification) -> None:
        msg = self.message(message)
        retrying = Retrying(
            stop=stop_after_attempt(self.attempts),
            wait=wait_exponential(multiplier=0.5, max=_MAX_RETRY_AFTER),
            retry=retry_if_exception_type(_Retryable),
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    self._send(msg)
        except _Retryable as exc:
            raise NotifyError(
                redactor.text(
                    f"smtp {self.host}:{self.port}: {exc} (after {self.attempts} attempts)"
                )
            ) from None

    def _send(self, msg: EmailMessage) -> None:
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                smtp.ehlo()
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                    smtp.ehlo()
                if self.user:
                    smtp.login(self.user, self._password or "")
                smtp.send_message(msg)
        except smtplib.SMTPNotSupportedError:
            raise NotifyError(
                f"smtp {self.host}:{self.port}: the server does not offer STARTTLS "
                f"(set {ENV_SMTP_STARTTLS}=false only for a loopback relay)"
            ) from None
        except smtplib.SMTPResponseException as exc:
            text = redactor.text(
                f"{exc.smtp_code} {exc.smtp_error.decode(errors='replace')[:200]}"
                if isinstance(exc.smtp_error, bytes)
                else f"{exc.smtp_code}"
            )
            if 400 <= exc.smtp_code < 500:  # transient by RFC 5321
                raise _Retryable(f"SMTP {text}") from None
            raise NotifyError(f"smtp {self.host}:{self.port}: SMTP {text}") from None
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            raise _Retryable(redactor.text(f"{type(exc).__name__}: {exc}")) from None
        except smtplib.SMTPException as exc:
            raise NotifyError(
                redactor.text(f"smtp {self.host}:{self.port}: {type(exc).__name__}: {exc}")
            ) from None


# -- configuration


class _WebhookFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str | None = None
    url_file: Path | None = None
    timeout_s: float = Field(default=10.0, gt=0)


class _SmtpFile(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    host: str
    port: int = Field(default=587, gt=0, lt=65536)
    user: str | None = None
    password_file: Path | None = None
    """Never the password itself: a config file is easy to commit by mistake."""
    sender: str = Field(alias="from")
    to: list[str]
    starttls: bool = True
    timeout_s: float = Field(default=10.0, gt=0)


class NotifyFile(BaseModel):
    """The YAML file named by ``HYBRIDOPS_NOTIFY_CONFIG`` (both sections optional)."""

    model_config = ConfigDict(extra="forbid")

    webhook: _WebhookFile | None = None
    smtp: _SmtpFile | None = None


def _read_secret(path: Path, what: str) -> str:
    try:
        value = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise NotifyConfigError(f"{what}={path}: cannot read: {exc.strerror or exc}") from None
    if not value:
        raise NotifyConfigError(f"{what}={path}: the file is empty")
    redactor.add(value)
    return value


def _bool(value: str, name: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise NotifyConfigError(f"{name}={value!r}: expected true or false")


def _number(value: str, name: str, kind: type[int] | type[float]) -> Any:
    try:
        out = kind(value)
    except ValueError:
        raise NotifyConfigError(f"{name}={value!r}: expected a number") from None
    if out <= 0:
        raise NotifyConfigError(f"{name}={value!r}: expected a positive number")
    return out


def _load_file(env: Mapping[str, str]) -> NotifyFile:
    name = env.get(ENV_CONFIG)
    if not name:
        return NotifyFile()
    path = Path(name)
    try:
        doc = yaml.safe_load(path.read_bytes()) or {}
    except OSError as exc:
        raise NotifyConfigError(
            f"{ENV_CONFIG}={path}: cannot read: {exc.strerror or exc}"
        ) from None
    except yaml.YAMLError as exc:
        raise NotifyConfigError(f"{path}: not valid YAML: {' '.join(str(exc).split())}") from None
    try:
        return NotifyFile.model_validate(doc)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        raise NotifyConfigError(f"{path}: {loc}: {err['msg']}") from None


def notifiers_from_env(env: Mapping[str, str] | None = None) -> list[Notifier]:
    """The configured channels (possibly none); see the module docstring for the names."""
    env = os.environ if env is None else env
    conf = _load_file(env)
    out: list[Notifier] = []

    url_inline = env.get(ENV_WEBHOOK_URL) or (conf.webhook.url if conf.webhook else None)
    url_file = env.get(ENV_WEBHOOK_URL_FILE) or (
        str(conf.webhook.url_file) if conf.webhook and conf.webhook.url_file else None
    )
    if url_inline:
        redactor.add(url_inline)
    if url_inline and url_file:
        raise NotifyConfigError(f"set {ENV_WEBHOOK_URL} or {ENV_WEBHOOK_URL_FILE}, not both")
    url = url_inline or (_read_secret(Path(url_file), ENV_WEBHOOK_URL_FILE) if url_file else None)
    if url:
        timeout = (
            _number(env[ENV_WEBHOOK_TIMEOUT], ENV_WEBHOOK_TIMEOUT, float)
            if env.get(ENV_WEBHOOK_TIMEOUT)
            else (conf.webhook.timeout_s if conf.webhook else 10.0)
        )
        out.append(WebhookNotifier(url, timeout=timeout))

    smtp = conf.smtp
    host = env.get(ENV_SMTP_HOST) or (smtp.host if smtp else None)
    if host:
        password = env.get(ENV_SMTP_PASSWORD) or None
        if password:
            redactor.add(password)
        pw_file = env.get(ENV_SMTP_PASSWORD_FILE) or (
            str(smtp.password_file) if smtp and smtp.password_file else None
        )
        if password and pw_file:
            raise NotifyConfigError(
                f"set {ENV_SMTP_PASSWORD} or {ENV_SMTP_PASSWORD_FILE}, not both"
            )
        if pw_file:
            password = _read_secret(Path(pw_file), ENV_SMTP_PASSWORD_FILE)
        sender = env.get(ENV_SMTP_FROM) or (smtp.sender if smtp else None)
        to_raw = env.get(ENV_SMTP_TO)
        recipients = (
            [t.strip() for t in to_raw.split(",") if t.strip()]
            if to_raw
            else (list(smtp.to) if smtp else [])
        )
        if not sender:
            raise NotifyConfigError(f"{ENV_SMTP_HOST} is set but {ENV_SMTP_FROM} is not")
        if not recipients:
            raise NotifyConfigError(f"{ENV_SMTP_HOST} is set but {ENV_SMTP_TO} is not")
        port = (
            _number(env[ENV_SMTP_PORT], ENV_SMTP_PORT, int)
            if env.get(ENV_SMTP_PORT)
            else (smtp.port if smtp else 587)
        )
        starttls = (
            _bool(env[ENV_SMTP_STARTTLS], ENV_SMTP_STARTTLS)
            if env.get(ENV_SMTP_STARTTLS)
            else (smtp.starttls if smtp else True)
        )
        timeout = (
            _number(env[ENV_SMTP_TIMEOUT], ENV_SMTP_TIMEOUT, float)
            if env.get(ENV_SMTP_TIMEOUT)
            else (smtp.timeout_s if smtp else 10.0)
        )
        out.append(
            SmtpNotifier(
                host,
                port=port,
                sender=sender,
                recipients=recipients,
                user=env.get(ENV_SMTP_USER) or (smtp.user if smtp else None),
                password=password,
                starttls=starttls,
                timeout=timeout,
            )
        )
    return out


class FanoutNotifier:
    """Several channels as one :class:`Notifier`: every channel is tried; if any failed,
    :class:`NotifyError` names them (and ``deliveries`` says which got through)."""

    name = "fanout"

    def __init__(self, notifiers: Sequence[Notifier]) -> None:
        self.notifiers = list(notifiers)
        self.deliveries: list[Delivery] = []

    def __repr__(self) -> str:
        return f"FanoutNotifier({', '.join(n.name for n in self.notifiers)})"

    def notify(self, message: Notification) -> None:
        self.deliveries = deliver(self.notifiers, message)
        failed = [d for d in self.deliveries if not d.delivered]
        if failed:
            raise NotifyError("; ".join(f"{d.channel}: {d.error}" for d in failed))


def notifier_from_env(env: Mapping[str, str] | None = None) -> FanoutNotifier | None:
    """All configured channels as one notifier, or ``None`` when none is configured."""
    notifiers = notifiers_from_env(env)
    return FanoutNotifier(notifiers) if notifiers else None


# -- the cost gate's message


def decision_notification(outcome: DecisionOutcome, *, link: str | None = None) -> Notification:
    """What a block (or a break-glass override) of the cost gate tells humans."""
    rec = outcome.record
    f = outcome.figures
    cur = f.currency or ""
    drill = " (drill)" if rec.drill else ""
    if outcome.decision == "block":
        title = f"Cost gate BLOCKED {rec.scenario} of {rec.stack}{drill}"
        severity: Severity = "warning" if rec.drill else "critical"
    elif outcome.override is not None and outcome.override.kind == "break-glass":
        title = f"Cost gate break-glass: {rec.scenario} of {rec.stack} allowed by {outcome.override.approved_by}{drill}"
        severity = "warning"
    else:
        title = f"Cost gate {outcome.decision}: {rec.scenario} of {rec.stack}{drill}"
        severity = "warning" if outcome.decision == "warn" else "info"

    def money(value: Any) -> str | None:
        return None if value is None else f"{cur} {value:,.2f}".strip()

    candidates: list[tuple[str, str | None]] = [
        ("decision", outcome.decision),
        ("stack", rec.stack),
        ("component", rec.component),
        ("scenario", rec.scenario),
        ("run id", rec.run_id),
        ("severity", rec.severity),
        ("failed checks", ", ".join(c.id for c in outcome.failed_checks) or None),
        ("event cost", money(f.event_cost)),
        ("max per event", money(_limit(outcome, "dr.event_cost"))),
        ("DR spend this month", money(f.dr_spend_to_date)),
        ("monthly DR budget", money(f.monthly_dr_budget)),
        (
            "monthly past -> planned",
            f"{money(f.past_monthly)} -> {money(f.planned_monthly)}"
            if f.past_monthly is not None
            else None,
        ),
        ("projected this month", money(f.projected_monthly)),
        ("monthly budget", money(f.monthly_budget)),
        ("decision record", outcome.display(outcome.record_path)),
        ("blocked record", outcome.display(outcome.blocked_path)),
        ("cost artefact", outcome.display(outcome.artefact_path)),
    ]
    if outcome.override is not None:
        candidates.append(("approved by", outcome.override.approved_by))
        candidates.append(("override reason", outcome.override.reason))
    fields = tuple((k, v) for k, v in candidates if v)
    return Notification(
        title=title, text=outcome.reason, severity=severity, fields=fields, link=link
    )


def _limit(outcome: DecisionOutcome, check_id: str) -> Any:
    for c in outcome.checks:
        if c.id == check_id:
            return c.limit
    return None


# -- a loopback receiver for tests and the local lab


@dataclass
class ReceivedPost:
    path: str
    headers: dict[str, str]
    body: Any
    received_at: float = field(default_factory=time.time)


class WebhookReceiver:
    """A JSON webhook endpoint on 127.0.0.1 (a free port) that records what it receives.

    For tests and the local lab (``hybridops lab drill cost-block``): point
    ``HYBRIDOPS_NOTIFY_WEBHOOK_URL`` at :attr:`url`. ``fail_next(status, n)`` scripts errors.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        receiver = self
        self._lock = threading.Lock()
        self._posts: list[ReceivedPost] = []
        self._failures: list[tuple[int, str | None]] = []
        self.attempts = 0

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, retry_after = receiver._next_status()
                if status == 200:
                    try:
                        body: Any = json.loads(raw)
                    except ValueError:
                        body = raw.decode("utf-8", "replace")
                    receiver._record(ReceivedPost(self.path, dict(self.headers), body))
                data = b"ok" if status == 200 else b"scripted failure"
                self.send_response(status)
                if retry_after is not None:
                    self.send_header("Retry-After", retry_after)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        # A short poll interval: shutdown() waits for the next poll (0.5 s by default).
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/hooks/hybridops"

    @property
    def posts(self) -> list[ReceivedPost]:
        with self._lock:
            return list(self._posts)

    def fail_next(self, status: int, count: int = 1, retry_after: str | None = None) -> None:
        with self._lock:
            self._failures.extend([(status, retry_after)] * count)

    def wait_for(self, count: int = 1, timeout: float = 5.0) -> list[ReceivedPost]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.posts) >= count:
                break
            time.sleep(0.02)
        return self.posts

    def _next_status(self) -> tuple[int, str | None]:
        with self._lock:
            self.attempts += 1
            return self._failures.pop(0) if self._failures else (200, None)

    def _record(self, post: ReceivedPost) -> None:
        with self._lock:
            self._posts.append(post)

    def start(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


__all__ = [
    "Delivery",
    "FanoutNotifier",
    "Notification",
    "Notifier",
    "NotifyConfigError",
    "NotifyError",
    "SmtpNotifier",
    "WebhookNotifier",
    "WebhookReceiver",
    "decision_notification",
    "deliver",
    "notifier_from_env",
    "notifiers_from_env",
    "webhook_payload",
]
