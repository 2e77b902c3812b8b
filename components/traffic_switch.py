"""Traffic switch: an Azure Traffic Manager priority profile in front of both sites.

``trafficTarget`` decides which endpoint has priority 1. Both endpoints live inline in the
profile so a switch is one atomic update of the profile: with separate Endpoint resources
the two priority updates would race and Azure rejects duplicate priorities.
https://learn.microsoft.com/azure/traffic-manager/traffic-manager-routing-methods#priority-traffic-routing-method
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_azure_native as azure

from components.settings import TrafficSettings, TrafficTarget

EXTERNAL_ENDPOINT = "Microsoft.Network/trafficManagerProfiles/externalEndpoints"
AZURE_ENDPOINT = "Microsoft.Network/trafficManagerProfiles/azureEndpoints"


@dataclass
class TrafficSwitchArgs:
    traffic: TrafficSettings
    traffic_target: TrafficTarget
    resource_group_name: pulumi.Input[str]
    cloud_target_resource_id: pulumi.Input[str]
    """The cloud ingress public IP (an Azure endpoint)."""
    cloud_enabled: bool
    """Whether the cloud endpoint takes traffic at all. In standby the DR site has no app
    capacity, so DNS must not fail over to it on its own: the driver decides (with the cost gate)."""
    tags: Mapping[str, str]


def priorities(target: TrafficTarget) -> dict[str, int]:
    """Endpoint priorities for a traffic target (1 is preferred)."""
    return {"onprem": 1, "cloud": 2} if target == "onprem" else {"onprem": 2, "cloud": 1}


class TrafficSwitch(pulumi.ComponentResource):
    fqdn: pulumi.Output[str]
    active_endpoint: pulumi.Output[str]

    def __init__(
        self, name: str, args: TrafficSwitchArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("hybridops:traffic:TrafficSwitch", name, None, opts)
        traffic = args.traffic
        prio = priorities(args.traffic_target)
        self.profile = azure.trafficmanager.Profile(
            f"{name}-tm",
            profile_name=traffic.profile_name,
            resource_group_name=args.resource_group_name,
            location="global",
            profile_status="Enabled",
            traffic_routing_method="Priority",
            dns_config={"relative_name": traffic.relative_dns_name, "ttl": traffic.ttl},
            monitor_config={
                "protocol": "HTTPS",
                "port": traffic.monitor_port,
                "path": traffic.monitor_path,
                "interval_in_seconds": 30,
                "timeout_in_seconds": 10,
                "tolerated_number_of_failures": 3,
            },
            endpoints=[
                {
                    "name": "onprem",
                    "type": EXTERNAL_ENDPOINT,
                    "target": traffic.onprem_ingress_fqdn,
                    "endpoint_status": "Enabled",
                    "priority": prio["onprem"],
                },
                {
                    "name": "cloud",
                    "type": AZURE_ENDPOINT,
                    "target_resource_id": args.cloud_target_resource_id,
                    "endpoint_status": "Enabled" if args.cloud_enabled else "Disabled",
                    "priority": prio["cloud"],
                },
            ],
            traffic_view_enrollment_status="Disabled",
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.fqdn = pulumi.Output.from_input(f"{traffic.relative_dns_name}.trafficmanager.net")
        self.active_endpoint = pulumi.Output.from_input(args.traffic_target)
        self.register_outputs({"fqdn": self.fqdn, "activeEndpoint": self.active_endpoint})
