"""Alertmanager's webhook message, ``version: "4"``.

Field reference: https://prometheus.io/docs/alerting/latest/configuration/#webhook_config
The models tolerate extra fields (third-party payload: newer Alertmanager versions add keys) but
type-check the ones the relay reads.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

AlertStatus = Literal["firing", "resolved"]


class Alert(BaseModel):
    """One alert of a notification."""

    model_config = ConfigDict(extra="allow", frozen=True)

    status: AlertStatus
    labels: dict[str, str]
    """Identifying labels; ``dr_action`` and ``drill`` drive the mapping."""
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: datetime
    """When the incident began (Prometheus' ``ActiveAt``); with the fingerprint it names the incident."""
    endsAt: datetime | None = None
    generatorURL: str = ""
    fingerprint: str = Field(min_length=1, max_length=128)
    """Alertmanager's hash of the label set, the same on every member of an HA cluster."""

    @property
    def starts_at_utc(self) -> datetime:
        """``startsAt`` as an aware UTC datetime (naive values are taken as UTC)."""
        value = self.startsAt
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class WebhookMessage(BaseModel):
    """A whole notification: one alert group."""

    model_config = ConfigDict(extra="allow", frozen=True)

    version: Literal["4"]
    groupKey: str = ""
    truncatedAlerts: int = Field(default=0, ge=0)
    status: AlertStatus
    receiver: str = ""
    groupLabels: dict[str, str] = Field(default_factory=dict)
    commonLabels: dict[str, str] = Field(default_factory=dict)
    commonAnnotations: dict[str, str] = Field(default_factory=dict)
    externalURL: str = ""
    alerts: list[Alert]


def webhook_json_schema() -> dict[str, Any]:
    """JSON Schema of the accepted message, served in the relay's OpenAPI document."""
    return WebhookMessage.model_json_schema(ref_template="#/components/schemas/{model}")
