"""The relay's core loop for one notification: map, dedupe, dispatch, account."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from dr.relay.dedupe import IncidentStore, Verdict
from dr.relay.errors import DispatchError
from dr.relay.github import Dispatcher
from dr.relay.mapping import DispatchRequest, Ignored, map_message
from dr.relay.metrics import RelayMetrics
from dr.relay.payload import WebhookMessage

log = logging.getLogger("hybridops.relay")


@dataclass
class Outcome:
    """What happened to one notification's alerts."""

    dispatched: int = 0
    deduplicated: int = 0
    ignored: int = 0
    failed: int = 0
    github_seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        body: dict[str, object] = {
            "dispatched": self.dispatched,
            "deduplicated": self.deduplicated,
            "ignored": self.ignored,
            "failed": self.failed,
        }
        if self.errors:
            body["errors"] = self.errors
        return body


class Relay:
    def __init__(self, store: IncidentStore, dispatcher: Dispatcher, metrics: RelayMetrics) -> None:
        self.store = store
        self.dispatcher = dispatcher
        self.metrics = metrics

    async def handle(self, message: WebhookMessage) -> Outcome:
        """Dispatch every new (incident, status); a failure leaves it claimable for the retry."""
        self.metrics.received.inc()
        outcome = Outcome()
        for item in map_message(message):
            if isinstance(item, Ignored):
                outcome.ignored += 1
                self.metrics.ignored.labels(item.reason.value).inc()
                continue
            self.metrics.alerts_received.labels(item.status).inc()
            verdict = self.store.claim(item.incident, item.status)
            if verdict is not Verdict.SEND:
                outcome.deduplicated += 1
                self.metrics.deduplicated.labels(verdict.value).inc()
                log.info("dropped %s", verdict.value, extra=_fields(item, verdict=verdict.value))
                continue
            await self._send(item, outcome)
        return outcome

    async def _send(self, item: DispatchRequest, outcome: Outcome) -> None:
        t0 = time.perf_counter()
        try:
            await self.dispatcher.dispatch(item.event_type.value, item.client_payload)
        except DispatchError as exc:
            self.store.release(item.incident, item.status)
            outcome.failed += 1
            outcome.errors.append(str(exc))
            self.metrics.dispatch_failures.inc()
            log.error("dispatch failed: %s", exc, extra=_fields(item))
            return
        finally:
            outcome.github_seconds += time.perf_counter() - t0
        self.store.commit(item.incident, item.status)
        outcome.dispatched += 1
        self.metrics.dispatched.labels(item.event_type.value).inc()
        log.info("dispatched %s", item.event_type.value, extra=_fields(item))


def _fields(item: DispatchRequest, **more: str) -> dict[str, object]:
    return {
        "event_type": item.event_type.value,
        "alertname": item.client_payload.get("alertname"),
        "fingerprint": item.incident.fingerprint,
        "starts_at": item.incident.starts_at,
        "status": item.status,
        **more,
    }
