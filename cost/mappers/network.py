"""Public IPs, the VPN gateway and its connections.

* Public IP: per IP-hour by SKU/version/allocation (https://azure.microsoft.com/pricing/details/ip-addresses/).
  Standard IPs are always static; the Basic SKU was retired on 2025-09-30, so an IP without a
  ``sku`` input is priced as Standard.
* VPN gateway: per gateway-hour by SKU (https://azure.microsoft.com/pricing/details/vpn-gateway/).
  Data sent over the VPN to on-prem is billed at the standard internet data-transfer rate (the
  Bandwidth zone meter); the first 100 GB a month are free per subscription, so with several egress
  sources this estimate counts the free band once per resource.
* Site-to-site connections are included with the gateway up to the SKU's tunnel limit
  (https://learn.microsoft.com/azure/vpn-gateway/about-gateway-skus): free, with that reason.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from cost.mappers.base import Component, Mapper, ResourceContext, Usage, lookup


class PublicIPAddressMapper(Mapper):
    type_token = "azure-native:network:PublicIPAddress"

    def components(self, r: ResourceContext) -> list[Component]:
        sku = str(lookup(r.inputs, "sku.name", default="Standard"))
        version = str(lookup(r.inputs, "publicIPAddressVersion", default="IPv4"))
        if sku == "Standard":
            allocation = "Static"
        else:
            allocation = str(lookup(r.inputs, "publicIPAllocationMethod", default="Dynamic"))
        return [
            Component(
                name=f"IP address ({sku}, {allocation.lower()}, {version})",
                unit="IPs",
                quantity=Decimal(1),
                price_key=f"public-ip/{r.region}/{sku.lower()}-{version.lower()}-{allocation.lower()}",
            )
        ]


class VirtualNetworkGatewayUsage(Usage):
    monthly_egress_gb: Decimal | None = Field(default=None, ge=0)
    """GB sent from Azure to on-prem over the VPN per month (WAL/replication back, failback resync)."""


class VirtualNetworkGatewayMapper(Mapper):
    type_token = "azure-native:network:VirtualNetworkGateway"
    usage_model = VirtualNetworkGatewayUsage

    def components(self, r: ResourceContext) -> list[Component]:
        gateway_type = str(lookup(r.inputs, "gatewayType", default="Vpn"))
        sku = str(lookup(r.inputs, "sku.name"))
        family = "vpn-gateway" if gateway_type == "Vpn" else f"{gateway_type.lower()}-gateway"
        usage = (
            r.usage
            if isinstance(r.usage, VirtualNetworkGatewayUsage)
            else VirtualNetworkGatewayUsage()
        )
        egress = usage.monthly_egress_gb
        return [
            Component(
                name=f"{'VPN' if gateway_type == 'Vpn' else gateway_type} gateway ({sku})",
                unit="gateways",
                quantity=Decimal(1),
                price_key=f"{family}/{r.region}/{sku}",
            ),
            Component(
                name="Data transfer out (over the VPN)",
                unit="GB",
                quantity=egress if egress is not None else Decimal(0),
                price_key=f"bandwidth/{r.region}/internet-egress",
                kind="usage",
                usage_key="monthly_egress_gb",
                note="standard internet data-transfer rate"
                + ("" if egress is not None else "; no usage set: 0 GB assumed"),
            ),
        ]


class VirtualNetworkGatewayConnectionMapper(Mapper):
    type_token = "azure-native:network:VirtualNetworkGatewayConnection"

    def components(self, r: ResourceContext) -> list[Component]:
        kind = str(lookup(r.inputs, "connectionType", default="IPsec"))
        reason = {
            "IPsec": "site-to-site tunnels are included with the VPN gateway up to its SKU's tunnel limit",
            "Vnet2Vnet": "VNet-to-VNet tunnels are included with the gateway; transfer bills on the gateway",
        }.get(kind, f"{kind} connection: billed on the gateway/circuit, not the connection")
        return [
            Component(
                name=f"Tunnel ({kind})",
                unit="tunnels",
                quantity=Decimal(1),
                price_key=None,
                free_reason=reason,
            )
        ]
