"""The pure mapping: alert -> event type and a client_payload GitHub accepts."""

from __future__ import annotations

import json

from relay_helpers import alert, message

from dr.relay.mapping import (
    CLIENT_PAYLOAD_KEYS,
    DispatchRequest,
    EventType,
    Ignored,
    IgnoreReason,
    IncidentKey,
    map_alert,
    map_message,
)
from dr.relay.payload import Alert, WebhookMessage


def _map(raw: dict) -> DispatchRequest | Ignored:
    return map_alert(Alert.model_validate(raw), "gk")


def test_firing_dr_alert_is_a_cutover() -> None:
    """A firing alert labelled dr_action=cutover becomes dr-cutover."""
    result = _map(alert())
    assert isinstance(result, DispatchRequest)
    assert result.event_type is EventType.CUTOVER
    assert result.status == "firing"
    assert result.incident == IncidentKey("a1b2c3d4e5f60718", "2026-11-27T05:00:00.123456+00:00")


def test_drill_label_makes_a_drill() -> None:
    """drill="true" turns the trigger into dr-drill, never a real cutover."""
    result = _map(alert(drill=True))
    assert isinstance(result, DispatchRequest)
    assert result.event_type is EventType.DRILL
    assert result.client_payload["drill"] is True


def test_resolved_is_only_a_recovery_notice() -> None:
    """A resolved alert becomes dr-recovered, for drills too; nothing asks for failback."""
    for raw in (alert("resolved"), alert("resolved", drill=True)):
        result = _map(raw)
        assert isinstance(result, DispatchRequest)
        assert result.event_type is EventType.RECOVERED
    assert {e.value for e in EventType} == {"dr-cutover", "dr-drill", "dr-recovered"}


def test_alerts_without_a_known_dr_action_are_ignored() -> None:
    """No dr_action, or an unknown one (e.g. failback), is ignored with a reason."""
    assert _map(alert(dr_action=None)) == Ignored(
        "a1b2c3d4e5f60718", "jenkins_critical_down", IgnoreReason.NO_DR_ACTION
    )
    assert _map(alert(dr_action="failback")) == Ignored(
        "a1b2c3d4e5f60718", "jenkins_critical_down", IgnoreReason.UNKNOWN_DR_ACTION
    )


def test_client_payload_has_exactly_the_ten_contract_keys() -> None:
    """GitHub allows at most 10 top-level properties; these are the workflow's contract."""
    result = _map(alert())
    assert isinstance(result, DispatchRequest)
    assert result.client_payload == {
        "alertname": "jenkins_critical_down",
        "status": "firing",
        "severity": "critical",
        "site": "onprem",
        "fingerprint": "a1b2c3d4e5f60718",
        "startsAt": "2026-11-27T05:00:00.123456+00:00",
        "summary": "Jenkins controller on onprem does not serve its login page",
        "runbook_url": "docs/runbooks/jenkins-controller-outage.md",
        "drill": False,
        "groupKey": "gk",
    }
    assert tuple(result.client_payload) == CLIENT_PAYLOAD_KEYS
    assert len(CLIENT_PAYLOAD_KEYS) == 10


def test_huge_annotations_are_clipped_under_githubs_64kb() -> None:
    """Oversized summary/labels are clipped so the dispatch body stays under 64 KB."""
    raw = alert(site="s" * 100_000)
    raw["annotations"]["summary"] = "x" * 1_000_000
    result = map_alert(Alert.model_validate(raw), "g" * 100_000)
    assert isinstance(result, DispatchRequest)
    body = json.dumps(
        {"event_type": result.event_type.value, "client_payload": result.client_payload}
    )
    assert len(body.encode()) < 64 * 1024
    assert len(result.client_payload["summary"]) == 2048
    assert result.client_payload["summary"].endswith("…")


def test_incident_key_ignores_how_startsat_is_spelled() -> None:
    """The same instant in another zone or precision is the same incident."""
    a = _map(alert(starts_at="2026-11-27T05:00:00.123456Z"))
    b = _map(alert(starts_at="2026-11-27T06:00:00.123456789+01:00"))
    assert isinstance(a, DispatchRequest) and isinstance(b, DispatchRequest)
    assert a.incident == b.incident


def test_map_message_keeps_order_and_tolerates_extra_fields() -> None:
    """Unknown fields (newer Alertmanager) are accepted; each alert maps in order."""
    raw = message(
        alert(), alert(dr_action=None, fingerprint="ff"), alert("resolved", fingerprint="ee")
    )
    raw["futureField"] = {"x": 1}
    raw["alerts"][0]["silenceURL"] = "http://am/silence"
    results = map_message(WebhookMessage.model_validate(raw))
    assert [type(r).__name__ for r in results] == ["DispatchRequest", "Ignored", "DispatchRequest"]
