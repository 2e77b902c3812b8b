"""AKS: the cluster (management tier, inline system pool, outbound load balancer) and agent pools.

AKS bills three things outside the plan's resources, created by the service in the node resource
group; they are priced here as components of the cluster/pool that causes them:

* the managed OS disk of every node (``osDiskType: Managed``): Premium SSD for premium-capable
  sizes, Standard SSD otherwise, at the tier holding ``osDiskSizeGB``
  (https://learn.microsoft.com/azure/aks/concepts-storage#os-disks);
* the Standard Load Balancer for outbound traffic and its public IP
  (``outboundType: loadBalancer``, the default:
  https://learn.microsoft.com/azure/aks/load-balancer-standard). Its meters are published under
  ``Global`` only (see the catalog README).

Node count: ``count``, or ``minCount`` when the autoscaler is on (the floor the cluster always pays;
the maximum is named in the note).
Management tier (https://learn.microsoft.com/azure/aks/free-standard-pricing-tiers): Standard is
the ``Standard Uptime SLA`` meter, Premium the ``Long Term Support`` meter. Free: the API lists
``FreeTierInfrastructureCost Uptime SLA`` at $0.05/h from 2026-10-01 while Microsoft Learn still says
the Free tier's management is free; the catalog ranks the API row first (the conservative choice for
a cost gate) and every report that uses it shows the conflict.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from pydantic import Field

from cost.mappers.azure_common import disk_tier, premium_capable
from cost.mappers.base import (
    REQUIRED,
    Component,
    Mapper,
    ResourceContext,
    UnknownInputError,
    Usage,
    first_of,
    integer,
    lookup,
)

_OS_DISK_NOTE = "managed OS disk of each node, created by AKS outside the plan"
_LB_NOTE = "outbound Standard Load Balancer created by AKS outside the plan (meters under Global)"


def node_pool_components(
    pool: Mapping[str, Any], label: str, region: str, path: str
) -> list[Component]:
    """Compute and OS-disk components of one node pool (inline profile or AgentPool resource)."""

    def get(*keys: str, default: Any = None) -> Any:
        try:
            return first_of(pool, *keys, default=default)
        except UnknownInputError as exc:  # name the input as the plan shows it
            raise UnknownInputError(f"{path}.{exc.path}" if path else exc.path, exc.why) from None

    def at(key: str) -> str:
        return f"{path}.{key}" if path else key

    vm_size = str(get("vmSize", default=REQUIRED))
    if bool(get("enableAutoScaling", default=False)):
        nodes = integer(get("minCount", "count", default=REQUIRED), at("minCount"))
        top = get("maxCount")
        note: str | None = (
            f"autoscaling {nodes}-{top if top is not None else '?'} nodes: priced at the minimum"
        )
    else:
        nodes = integer(get("count", default=1), at("count"))
        note = None
    os_type = str(get("osType", default="Linux"))
    linux = os_type.lower() == "linux"
    vm_key = f"vm/{region}/{vm_size}" if linux else f"vm/{region}/{vm_size}/{os_type.lower()}"
    out = [
        Component(
            name=f"Compute ({label} pool, {vm_size}, {os_type})",
            unit="nodes",
            quantity=Decimal(nodes),
            price_key=vm_key,
            note=note,
        )
    ]
    if str(get("osDiskType", default="Managed")) == "Ephemeral":
        out.append(
            Component(
                name=f"OS disk ({label} pool, ephemeral)",
                unit="disks",
                quantity=Decimal(nodes),
                price_key=None,
                free_reason="ephemeral OS disks live on the VM's local storage: no disk charge",
            )
        )
        return out
    size = Decimal(integer(get("osDiskSizeGB", "osDiskSizeGb", default=128), at("osDiskSizeGB")))
    sku = "Premium_LRS" if premium_capable(vm_size) else "StandardSSD_LRS"
    tier = disk_tier(sku, size, at("osDiskSizeGB"))
    out.append(
        Component(
            name=f"OS disk ({label} pool, {tier})",
            unit="disks",
            quantity=Decimal(nodes),
            price_key=f"disk/{region}/{tier}",
            note=f"{_OS_DISK_NOTE}; {size} GiB",
        )
    )
    return out


class ManagedClusterUsage(Usage):
    load_balancer_rules: int | None = Field(default=None, ge=0)
    """Load-balancing + outbound rules on the AKS load balancer (1 outbound rule + 1 per Service port)."""
    monthly_lb_data_processed_gb: Decimal | None = Field(default=None, ge=0)
    """GB through the AKS load balancer per month (inbound and outbound)."""


class ManagedClusterMapper(Mapper):
    type_token = "azure-native:containerservice:ManagedCluster"
    usage_model = ManagedClusterUsage

    def components(self, r: ResourceContext) -> list[Component]:
        tier = str(lookup(r.inputs, "sku.tier", default="Free"))
        out = [
            Component(
                name=f"Cluster management ({tier} tier)",
                unit="clusters",
                quantity=Decimal(1),
                price_key=f"aks/{r.region}/{tier.lower()}",
            )
        ]
        profiles = lookup(r.inputs, "agentPoolProfiles", default=[])
        for i, pool in enumerate(profiles if isinstance(profiles, list) else []):
            if isinstance(pool, Mapping):
                label = str(pool.get("name") or f"pool {i}")
                out += node_pool_components(pool, label, r.region, f"agentPoolProfiles.{i}")
        out += self._load_balancer(r)
        return out

    def _load_balancer(self, r: ResourceContext) -> list[Component]:
        outbound = str(lookup(r.inputs, "networkProfile.outboundType", default="loadBalancer"))
        lb_sku = str(lookup(r.inputs, "networkProfile.loadBalancerSku", default="standard")).lower()
        if outbound != "loadBalancer" or lb_sku != "standard":
            return []
        usage = r.usage if isinstance(r.usage, ManagedClusterUsage) else ManagedClusterUsage()
        rules = usage.load_balancer_rules if usage.load_balancer_rules is not None else 1
        ips = integer(
            lookup(
                r.inputs, "networkProfile.loadBalancerProfile.managedOutboundIPs.count", default=1
            ),
            "networkProfile.loadBalancerProfile.managedOutboundIPs.count",
        )
        out = [
            Component(
                name="Load balancer (Standard, AKS outbound, first 5 rules)",
                unit="load balancers",
                quantity=Decimal(1),
                price_key="load-balancer/Global/standard-included-rules",
                note=_LB_NOTE,
            )
        ]
        if rules > 5:
            out.append(
                Component(
                    name="Load balancer rules (Standard, over 5)",
                    unit="rules",
                    quantity=Decimal(rules - 5),
                    price_key="load-balancer/Global/standard-overage-rules",
                    usage_key="load_balancer_rules",
                )
            )
        processed = usage.monthly_lb_data_processed_gb
        out.append(
            Component(
                name="Load balancer data processed (Standard)",
                unit="GB",
                quantity=processed if processed is not None else Decimal(0),
                price_key="load-balancer/Global/standard-data-processed",
                kind="usage",
                usage_key="monthly_lb_data_processed_gb",
                note=None if processed is not None else "no usage set: 0 GB assumed",
            )
        )
        out.append(
            Component(
                name="Outbound public IP (Standard, static, IPv4)",
                unit="IPs",
                quantity=Decimal(ips),
                price_key=f"public-ip/{r.region}/standard-ipv4-static",
                note="public IP of the AKS outbound load balancer, created by AKS outside the plan",
            )
        )
        return out


class AgentPoolMapper(Mapper):
    """A node pool resource. It has no ``location`` input: the region is the stack's default."""

    type_token = "azure-native:containerservice:AgentPool"

    def components(self, r: ResourceContext) -> list[Component]:
        label = str(r.inputs.get("agentPoolName") or r.name)
        return node_pool_components(r.inputs, label, r.region, "")
