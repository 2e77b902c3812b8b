"""The relay's Prometheus metrics, on a registry of its own (one per app instance)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

REJECT_REASONS = (
    "unauthorized",
    "too_large",
    "invalid_json",
    "unsupported_version",
    "invalid_payload",
)


class RelayMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        r = self.registry
        self.received = Counter(
            "hybridops_relay_notifications_received",
            "Valid Alertmanager notifications received.",
            registry=r,
        )
        self.alerts_received = Counter(
            "hybridops_relay_alerts_received",
            "Alerts in valid notifications, by status.",
            ["status"],
            registry=r,
        )
        self.dispatched = Counter(
            "hybridops_relay_dispatched",
            "repository_dispatch events GitHub accepted, by event type.",
            ["event_type"],
            registry=r,
        )
        self.deduplicated = Counter(
            "hybridops_relay_deduplicated",
            "Alerts dropped as already dispatched, by reason.",
            ["reason"],
            registry=r,
        )
        self.ignored = Counter(
            "hybridops_relay_ignored",
            "Alerts without a known dr_action label, by reason.",
            ["reason"],
            registry=r,
        )
        self.rejected = Counter(
            "hybridops_relay_rejected",
            "Webhook requests refused, by reason.",
            ["reason"],
            registry=r,
        )
        self.dispatch_failures = Counter(
            "hybridops_relay_dispatch_failures",
            "Dispatches GitHub did not accept within the deadline (answered 502).",
            registry=r,
        )
        self.github_latency = Histogram(
            "hybridops_relay_github_request_duration_seconds",
            "Duration of each HTTP attempt to GitHub, by status code class.",
            ["code"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
            registry=r,
        )
        for reason in REJECT_REASONS:
            self.rejected.labels(reason)  # pre-create so rate() sees the zero

    def observe_github(self, seconds: float, status: int | None) -> None:
        code = "error" if status is None else f"{status // 100}xx"
        self.github_latency.labels(code).observe(seconds)
