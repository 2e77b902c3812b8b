"""The mapper registry: one mapper per priced resource type, and the free types with their reasons.

Lookup order: an exact type token (mapper or free type), then the longest matching free prefix;
anything else is ``unsupported`` (reported and counted, never an exception, never a zero).
"""

from __future__ import annotations

from cost.mappers.aks import AgentPoolMapper, ManagedClusterMapper
from cost.mappers.base import Component, FreeRule, Mapper, ResourceContext, UnknownInputError, Usage
from cost.mappers.keyvault import VaultMapper
from cost.mappers.network import (
    PublicIPAddressMapper,
    VirtualNetworkGatewayConnectionMapper,
    VirtualNetworkGatewayMapper,
)
from cost.mappers.proxmox import ContainerLegacyMapper, VmLegacyMapper
from cost.mappers.storage import DiskMapper, StorageAccountMapper
from cost.mappers.traffic_manager import ProfileMapper

MAPPERS: tuple[Mapper, ...] = (
    ManagedClusterMapper(),
    AgentPoolMapper(),
    DiskMapper(),
    StorageAccountMapper(),
    VaultMapper(),
    PublicIPAddressMapper(),
    VirtualNetworkGatewayMapper(),
    VirtualNetworkGatewayConnectionMapper(),
    ProfileMapper(),
    VmLegacyMapper(),
    ContainerLegacyMapper(),
)

FREE_TYPES: dict[str, str] = {
    "azure-native:resources:ResourceGroup": "a resource group is a container: no charge",
    "azure-native:network:VirtualNetwork": "virtual networks are free (https://azure.microsoft.com/pricing/details/virtual-network/)",
    "azure-native:network:Subnet": "subnets are free (https://azure.microsoft.com/pricing/details/virtual-network/)",
    "azure-native:network:NetworkSecurityGroup": "network security groups are free",
    "azure-native:network:RouteTable": "route tables are free",
    "azure-native:network:LocalNetworkGateway": "describes the on-prem VPN device: no charge (the gateway is billed)",
    "azure-native:storage:BlobContainer": "containers are free: capacity and operations bill on the storage account",
    "azure-native:storage:ManagementPolicy": "lifecycle rules are free: their actions bill as operations on the account",
    "azure-native:authorization:RoleAssignment": "Azure RBAC role assignments are free",
    "azure-native:authorization:RoleDefinition": "Azure RBAC role definitions are free",
    "azure-native:managedidentity:UserAssignedIdentity": "managed identities are free",
    "azure-native:managedidentity:FederatedIdentityCredential": "federated credentials of a managed identity are free (workload identity)",
    "proxmoxve:index/fileLegacy:FileLegacy": "a cloud-init snippet on a Proxmox datastore: negligible, inside the datastore",
}

FREE_PREFIXES: dict[str, str] = {
    "kubernetes:": (
        "Kubernetes objects are free: their cost is the node pools that run them "
        "(volumes and LoadBalancer Services they provision in Azure are not seen by this estimate)"
    ),
    "pulumi:providers:": "a provider configuration, not a billed resource",
    "pulumi:pulumi:": "Pulumi bookkeeping, not a billed resource",
    "hybridops:": "a component resource: structure only, its children are priced",
    "random:": "generated locally by the provider: no cloud resource",
    "tls:": "generated locally by the provider: no cloud resource",
    "command:": "a local or remote command: no cloud resource",
}


class Registry:
    """Type token -> mapper, free rule, or ``None`` (unsupported). Results are cached."""

    def __init__(
        self,
        mappers: tuple[Mapper, ...] = MAPPERS,
        free_types: dict[str, str] | None = None,
        free_prefixes: dict[str, str] | None = None,
    ) -> None:
        self.mappers = {m.type_token: m for m in mappers}
        if len(self.mappers) != len(mappers):
            raise ValueError("two mappers for one type token")
        self.free_types = {
            t: FreeRule(r) for t, r in (FREE_TYPES if free_types is None else free_types).items()
        }
        prefixes = FREE_PREFIXES if free_prefixes is None else free_prefixes
        self.free_prefixes = sorted(
            ((p, FreeRule(r)) for p, r in prefixes.items()), key=lambda x: -len(x[0])
        )
        self._cache: dict[str, Mapper | FreeRule | None] = {}

    def resolve(self, type_token: str) -> Mapper | FreeRule | None:
        try:
            return self._cache[type_token]
        except KeyError:
            pass
        found: Mapper | FreeRule | None = self.mappers.get(type_token) or self.free_types.get(
            type_token
        )
        if found is None:
            for prefix, rule in self.free_prefixes:
                if type_token.startswith(prefix):
                    found = rule
                    break
        self._cache[type_token] = found
        return found


DEFAULT_REGISTRY = Registry()

__all__ = [
    "DEFAULT_REGISTRY",
    "FREE_PREFIXES",
    "FREE_TYPES",
    "MAPPERS",
    "Component",
    "FreeRule",
    "Mapper",
    "Registry",
    "ResourceContext",
    "UnknownInputError",
    "Usage",
]
