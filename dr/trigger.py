"""What started a run: a ``repository_dispatch`` / ``workflow_dispatch`` event file as GitHub
writes it to ``$GITHUB_EVENT_PATH``, or a person at the CLI."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dr.errors import UsageError
from dr.records import Trigger


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def load_event(path: Path) -> tuple[Trigger, str | None]:
    """(trigger, actor) from a GitHub event file. Only fields we know are kept."""
    try:
        event = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"--event-file {path}: no such file") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise UsageError(f"--event-file {path}: not a JSON event: {exc}") from None
    if not isinstance(event, dict):
        raise UsageError(f"--event-file {path}: expected a JSON object")
    actor = (
        (event.get("sender") or {}).get("login") if isinstance(event.get("sender"), dict) else None
    )
    if "client_payload" in event:  # repository_dispatch: `action` is the event_type
        payload = event.get("client_payload") or {}
        if not isinstance(payload, dict):
            raise UsageError(f"--event-file {path}: client_payload must be an object")
        alert = {
            k: payload[k]
            for k in sorted(payload)
            if isinstance(payload[k], str | int | float | bool)
        }
        return (
            Trigger(
                source="event-file",
                event_type=str(event.get("action") or ""),
                alert=alert or None,
                fault_at=_parse_time(payload.get("startsAt")),
                reason=str(payload.get("summary") or payload.get("alertname") or "") or None,
            ),
            actor,
        )
    if "inputs" in event:  # workflow_dispatch
        inputs = event.get("inputs") or {}
        return (
            Trigger(
                source="event-file",
                event_type="workflow_dispatch",
                reason=str(inputs.get("reason") or "") or None,
            ),
            actor,
        )
    raise UsageError(
        f"--event-file {path}: neither a repository_dispatch nor a workflow_dispatch event"
    )


def cli_trigger(reason: str | None) -> Trigger:
    return Trigger(source="cli", reason=reason)


def default_actor() -> str:
    return os.environ.get("GITHUB_ACTOR") or os.environ.get("USER") or "unknown"
