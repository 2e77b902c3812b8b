"""Traffic Manager profile (https://azure.microsoft.com/pricing/details/traffic-manager/).

Meters are published under ``Global`` only. Health checks are billed per *monitored* endpoint per
month, at an Azure or a non-Azure (external) price; disabled endpoints (and every endpoint of a
disabled profile) are not probed
(https://learn.microsoft.com/azure/traffic-manager/traffic-manager-monitoring), so a DR switch that
enables the cloud endpoint adds its health check. A 10-second probe interval adds the fast-interval
add-on. DNS queries are usage-based and tiered (first 1 billion per month, then cheaper). Nested
endpoints are counted as Azure endpoints.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from pydantic import Field

from cost.mappers.base import Component, Mapper, ResourceContext, Usage, lookup

_REGION = "Global"


class ProfileUsage(Usage):
    monthly_dns_queries: Decimal | None = Field(default=None, ge=0)
    """DNS queries answered per month (depends on clients and the profile's TTL)."""
    monthly_traffic_view_data_points: Decimal | None = Field(default=None, ge=0)
    """Data points processed per month when Traffic View is enabled."""


class ProfileMapper(Mapper):
    type_token = "azure-native:trafficmanager:Profile"
    usage_model = ProfileUsage

    def components(self, r: ResourceContext) -> list[Component]:
        enabled = str(lookup(r.inputs, "profileStatus", default="Enabled")) == "Enabled"
        azure = external = 0
        endpoints = lookup(r.inputs, "endpoints", default=[])
        for ep in endpoints if isinstance(endpoints, list) else []:
            if not isinstance(ep, Mapping):
                continue
            if str(lookup(ep, "endpointStatus", default="Enabled")) != "Enabled" or not enabled:
                continue
            kind = str(lookup(ep, "type", default="") or "")
            if not kind:
                lookup(ep, "type")  # raises: cannot tell Azure from external
            if kind.endswith("externalEndpoints"):
                external += 1
            else:
                azure += 1
        fast = lookup(r.inputs, "monitorConfig.intervalInSeconds", default=30) == 10
        out = [
            Component(
                name="Health checks (Azure endpoints)",
                unit="endpoints",
                quantity=Decimal(azure),
                price_key=f"traffic-manager/{_REGION}/health-checks-azure",
                note="enabled endpoints only: disabled endpoints are not probed",
            ),
            Component(
                name="Health checks (external endpoints)",
                unit="endpoints",
                quantity=Decimal(external),
                price_key=f"traffic-manager/{_REGION}/health-checks-external",
                note="enabled endpoints only: disabled endpoints are not probed",
            ),
        ]
        if fast:
            out += [
                Component(
                    name="Fast interval health checks (Azure endpoints)",
                    unit="endpoints",
                    quantity=Decimal(azure),
                    price_key=f"traffic-manager/{_REGION}/fast-interval-azure",
                ),
                Component(
                    name="Fast interval health checks (external endpoints)",
                    unit="endpoints",
                    quantity=Decimal(external),
                    price_key=f"traffic-manager/{_REGION}/fast-interval-external",
                ),
            ]
        usage = r.usage if isinstance(r.usage, ProfileUsage) else ProfileUsage()
        queries = usage.monthly_dns_queries
        out.append(
            Component(
                name="DNS queries",
                unit="queries",
                quantity=queries if queries is not None else Decimal(0),
                price_key=f"traffic-manager/{_REGION}/dns-queries",
                kind="usage",
                usage_key="monthly_dns_queries",
                note=None if queries is not None else "no usage set: 0 queries assumed",
            )
        )
        if str(lookup(r.inputs, "trafficViewEnrollmentStatus", default="Disabled")) == "Enabled":
            points = usage.monthly_traffic_view_data_points
            out.append(
                Component(
                    name="Traffic View data points",
                    unit="data points",
                    quantity=points if points is not None else Decimal(0),
                    price_key=f"traffic-manager/{_REGION}/traffic-view-data-points",
                    kind="usage",
                    usage_key="monthly_traffic_view_data_points",
                    note=None if points is not None else "no usage set: 0 data points assumed",
                )
            )
        return out
