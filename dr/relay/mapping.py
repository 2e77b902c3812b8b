"""Pure mapping from Alertmanager alerts to GitHub ``repository_dispatch`` requests.

No I/O here: the service decides what was already sent (``dedupe``) and sends (``github``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from dr.relay.payload import Alert, AlertStatus, WebhookMessage

DR_ACTION_LABEL = "dr_action"
DRILL_LABEL = "drill"

# GitHub caps ``client_payload`` at 10 top-level properties
# (https://docs.github.com/en/rest/repos/repos#create-a-repository-dispatch-event) and the whole
# body at 64 KB; these keys are the contract with .github/workflows/dr.yml.
CLIENT_PAYLOAD_KEYS = (
    "alertname",
    "status",
    "severity",
    "site",
    "fingerprint",
    "startsAt",
    "summary",
    "runbook_url",
    "drill",
    "groupKey",
)
# Per-value cap: 10 values of at most 2 KiB keep the body far below GitHub's 64 KB.
MAX_VALUE_CHARS = 2048


class EventType(StrEnum):
    """``event_type`` of the dispatch; the workflow's ``on.repository_dispatch.types``."""

    CUTOVER = "dr-cutover"
    DRILL = "dr-drill"
    RECOVERED = "dr-recovered"
    """A notification only: failback is always a deliberate, separate decision."""


class IgnoreReason(StrEnum):
    NO_DR_ACTION = "no_dr_action"
    UNKNOWN_DR_ACTION = "unknown_dr_action"


# The only ``dr_action`` the relay turns into a trigger; anything else is logged and ignored
# (an alert never asks for failback: that is a human decision after verification).
KNOWN_DR_ACTIONS = frozenset({"cutover"})


@dataclass(frozen=True, slots=True)
class IncidentKey:
    """One incident: the alert's label-set fingerprint plus when it began.

    A new firing of the same alert after it resolved has a new ``startsAt`` and is a new incident.
    """

    fingerprint: str
    starts_at: str
    """``startsAt`` in UTC, ISO 8601 with microseconds: one spelling whatever the sender's."""

    @classmethod
    def of(cls, alert: Alert) -> IncidentKey:
        return cls(alert.fingerprint, _iso(alert.starts_at_utc))


@dataclass(frozen=True, slots=True)
class DispatchRequest:
    """What to send for one alert."""

    incident: IncidentKey
    status: AlertStatus
    event_type: EventType
    client_payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Ignored:
    """An alert the relay does not act on, and why."""

    fingerprint: str
    alertname: str
    reason: IgnoreReason


def _iso(value: datetime) -> str:
    return value.isoformat(timespec="microseconds")


def _clip(value: str) -> str:
    return value if len(value) <= MAX_VALUE_CHARS else value[: MAX_VALUE_CHARS - 1] + "…"


def is_drill(alert: Alert) -> bool:
    return alert.labels.get(DRILL_LABEL, "").strip().lower() == "true"


def event_type_for(alert: Alert) -> EventType:
    """``dr-recovered`` for a resolved alert, else ``dr-drill`` or ``dr-cutover``."""
    if alert.status == "resolved":
        return EventType.RECOVERED
    return EventType.DRILL if is_drill(alert) else EventType.CUTOVER


def client_payload(alert: Alert, group_key: str) -> dict[str, Any]:
    """The 10 keys of ``CLIENT_PAYLOAD_KEYS``, strings clipped to ``MAX_VALUE_CHARS``."""
    labels, annotations = alert.labels, alert.annotations
    payload: dict[str, Any] = {
        "alertname": labels.get("alertname", ""),
        "status": alert.status,
        "severity": labels.get("severity", ""),
        "site": labels.get("site", ""),
        "fingerprint": alert.fingerprint,
        "startsAt": _iso(alert.starts_at_utc),
        "summary": annotations.get("summary", ""),
        "runbook_url": annotations.get("runbook_url", ""),
        "drill": is_drill(alert),
        "groupKey": group_key,
    }
    return {k: _clip(v) if isinstance(v, str) else v for k, v in payload.items()}


def map_alert(alert: Alert, group_key: str) -> DispatchRequest | Ignored:
    """One alert -> a dispatch request, or the reason it is not one."""
    action = alert.labels.get(DR_ACTION_LABEL)
    alertname = alert.labels.get("alertname", "")
    if action is None:
        return Ignored(alert.fingerprint, alertname, IgnoreReason.NO_DR_ACTION)
    if action not in KNOWN_DR_ACTIONS:
        return Ignored(alert.fingerprint, alertname, IgnoreReason.UNKNOWN_DR_ACTION)
    return DispatchRequest(
        incident=IncidentKey.of(alert),
        status=alert.status,
        event_type=event_type_for(alert),
        client_payload=client_payload(alert, group_key),
    )


def map_message(message: WebhookMessage) -> list[DispatchRequest | Ignored]:
    """Every alert of a notification, in order."""
    return [map_alert(alert, message.groupKey) for alert in message.alerts]
