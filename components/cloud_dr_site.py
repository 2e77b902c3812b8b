"""Cloud DR site on Azure: network, AKS with a DR pool sized by ``drMode``, WAL archive,
Key Vault, the replica's data disk and the site-to-site VPN to on-prem.

Provider: pulumi-azure-native 3.x (https://www.pulumi.com/registry/packages/azure-native/).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_azure_native as azure

from components.settings import CloudSettings, DrMode

# Built-in role definition ids (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles).
ROLE_KEY_VAULT_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
ROLE_STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
ROLE_NETWORK_CONTRIBUTOR = "4d97b98b-1d4f-4787-a291-c67834d212e7"
ROLE_CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"


@dataclass
class CloudDrSiteArgs:
    cloud: CloudSettings
    dr_mode: DrMode
    tags: Mapping[str, str]
    vpn_shared_key: pulumi.Input[str]
    """IPsec pre-shared key of the site-to-site connection (secret)."""


class CloudDrSite(pulumi.ComponentResource):
    """The Azure side of the DR pair. Only ``drMode`` changes between standby and active."""

    resource_group_name: pulumi.Output[str]
    cluster_name: pulumi.Output[str]
    ingress_public_ip_id: pulumi.Output[str]
    ingress_fqdn: pulumi.Output[str]
    wal_archive_url: pulumi.Output[str]
    key_vault_uri: pulumi.Output[str]
    dr_pool_count: pulumi.Output[int]
    oidc_issuer_url: pulumi.Output[str]

    def __init__(
        self, name: str, args: CloudDrSiteArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("hybridops:cloud:CloudDrSite", name, None, opts)
        self._name = name
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self)
        cloud = args.cloud

        self.resource_group = azure.resources.ResourceGroup(
            f"{name}-rg",
            resource_group_name=cloud.resource_group_name,
            location=cloud.location,
            tags=dict(args.tags),
            opts=self._child,
        )
        self._rg_name = self.resource_group.name
        self._create_network()
        self._create_cluster()
        self._create_wal_archive()
        self._create_key_vault()
        self._create_replica_disk()
        self._create_ingress_ip()
        self._create_role_assignments()
        self._create_vpn()

        self.resource_group_name = self._rg_name
        self.cluster_name = self.cluster.name
        self.ingress_public_ip_id = self.ingress_ip.id
        self.ingress_fqdn = self.ingress_ip.dns_settings.apply(
            lambda d: (d.fqdn or "") if d else ""
        )
        self.wal_archive_url = self.storage_account.primary_endpoints.apply(
            lambda e: f"{e.blob}{cloud.database.wal_container}"
        )
        # Azure reports vaultUri once the vault exists; before that (a preview) it is the
        # documented public-cloud form https://<name>.vault.azure.net/.
        vault_name = cloud.key_vault.name
        self.key_vault_uri = self.key_vault.properties.apply(
            lambda p: (p.vault_uri if p else None) or f"https://{vault_name}.vault.azure.net/"
        )
        # Workload identity federates service accounts on this issuer (components/secrets_sync.py).
        self.oidc_issuer_url = self.cluster.oidc_issuer_profile.apply(
            lambda p: (p.issuer_url or "") if p else ""
        )
        self.dr_pool_count = pulumi.Output.from_input(self.dr_pool_size)
        self.register_outputs(
            {
                "resourceGroupName": self.resource_group_name,
                "clusterName": self.cluster_name,
                "ingressFqdn": self.ingress_fqdn,
                "walArchiveUrl": self.wal_archive_url,
                "keyVaultUri": self.key_vault_uri,
                "drPoolCount": self.dr_pool_count,
            }
        )

    @property
    def dr_pool_size(self) -> int:
        pool = self._args.cloud.aks.dr_pool
        return pool.active_count if self._args.dr_mode == "active" else pool.standby_count

    # --- network -------------------------------------------------------------------------

    def _create_network(self) -> None:
        cloud, tags = self._args.cloud, dict(self._args.tags)
        self.vnet = azure.network.VirtualNetwork(
            f"{self._name}-vnet",
            virtual_network_name=f"vnet-{cloud.resource_group_name.removeprefix('rg-')}",
            resource_group_name=self._rg_name,
            location=cloud.location,
            address_space={"address_prefixes": [str(cloud.network.vnet_cidr)]},
            tags=tags,
            # Subnets are separate resources; without this the VNet would fight them on every update.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["subnets"]),
        )
        self.aks_subnet = azure.network.Subnet(
            f"{self._name}-snet-aks",
            subnet_name="snet-aks",
            resource_group_name=self._rg_name,
            virtual_network_name=self.vnet.name,
            address_prefix=str(cloud.network.aks_subnet_cidr),
            opts=self._child,
        )
        self.gateway_subnet = azure.network.Subnet(
            f"{self._name}-snet-gateway",
            subnet_name="GatewaySubnet",  # the name Azure requires for a VPN gateway subnet
            resource_group_name=self._rg_name,
            virtual_network_name=self.vnet.name,
            address_prefix=str(cloud.network.gateway_subnet_cidr),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.aks_subnet]),
        )

    # --- AKS -----------------------------------------------------------------------------

    def _create_cluster(self) -> None:
        cloud, tags = self._args.cloud, dict(self._args.tags)
        aks = cloud.aks
        self.cluster = azure.containerservice.ManagedCluster(
            f"{self._name}-aks",
            resource_name_=aks.cluster_name,
            resource_group_name=self._rg_name,
            location=cloud.location,
            dns_prefix=aks.dns_prefix,
            kubernetes_version=aks.kubernetes_version,
            sku={"name": "Base", "tier": aks.tier},
            identity={"type": azure.containerservice.ResourceIdentityType.SYSTEM_ASSIGNED},
            enable_rbac=True,
            oidc_issuer_profile={"enabled": True},
            security_profile={"workload_identity": {"enabled": True}},
            auto_upgrade_profile={
                "upgrade_channel": "patch",
                "node_os_upgrade_channel": "NodeImage",
            },
            network_profile={
                "network_plugin": "azure",
                "network_plugin_mode": "overlay",
                "network_dataplane": "cilium",
                "network_policy": "cilium",
                "service_cidr": str(aks.service_cidr),
                "dns_service_ip": str(aks.dns_service_ip),
                "load_balancer_sku": "standard",
                "outbound_type": "loadBalancer",
            },
            agent_pool_profiles=[
                {
                    "name": "system",
                    "mode": "System",
                    "type": "VirtualMachineScaleSets",
                    "vm_size": aks.system_pool.vm_size,
                    "count": aks.system_pool.count,
                    "os_disk_size_gb": aks.system_pool.os_disk_gb,
                    "os_disk_type": "Managed",
                    "os_type": "Linux",
                    "vnet_subnet_id": self.aks_subnet.id,
                    "node_taints": ["CriticalAddonsOnly=true:NoSchedule"],
                    "tags": tags,
                }
            ],
            tags=tags,
            # Only the system pool is inline (a cluster cannot exist without one); user pools are
            # separate AgentPool resources so that drMode changes them without touching the cluster.
            opts=self._child,
        )
        self.db_pool = self._create_pool(
            "db",
            vm_size=aks.db_pool.vm_size,
            count=aks.db_pool.count,
            os_disk_gb=aks.db_pool.os_disk_gb,
            taints=["workload=postgres:NoSchedule"],
        )
        active = self._args.dr_mode == "active"
        self.dr_pool = self._create_pool(
            "dr",
            vm_size=aks.dr_pool.vm_size,
            count=self.dr_pool_size,
            os_disk_gb=aks.dr_pool.os_disk_gb,
            taints=[],
            # Active: the autoscaler may grow the pool for real traffic. Standby: fixed, usually 0.
            autoscale=(aks.dr_pool.active_count, aks.dr_pool.active_max_count) if active else None,
        )

    def _create_pool(
        self,
        pool: str,
        *,
        vm_size: str,
        count: int,
        os_disk_gb: int,
        taints: list[str],
        autoscale: tuple[int, int] | None = None,
    ) -> azure.containerservice.AgentPool:
        return azure.containerservice.AgentPool(
            f"{self._name}-pool-{pool}",
            agent_pool_name=pool,
            resource_group_name=self._rg_name,
            resource_name_=self.cluster.name,
            mode="User",
            type="VirtualMachineScaleSets",
            os_type="Linux",
            vm_size=vm_size,
            count=count,
            enable_auto_scaling=autoscale is not None,
            min_count=autoscale[0] if autoscale else None,
            max_count=autoscale[1] if autoscale else None,
            os_disk_size_gb=os_disk_gb,
            os_disk_type="Managed",
            vnet_subnet_id=self.aks_subnet.id,
            node_labels={"hybridops.io/pool": pool},
            node_taints=taints,
            tags=dict(self._args.tags),
            opts=self._child,
        )

    # --- data --------------------------------------------------------------------------

    def _create_wal_archive(self) -> None:
        cloud = self._args.cloud
        self.storage_account = azure.storage.StorageAccount(
            f"{self._name}-st-wal",
            account_name=cloud.storage_account_name,
            resource_group_name=self._rg_name,
            location=cloud.location,
            kind="StorageV2",
            sku={"name": "Standard_LRS"},
            access_tier=azure.storage.AccessTier.HOT,
            enable_https_traffic_only=True,
            minimum_tls_version="TLS1_2",
            allow_blob_public_access=False,
            # Workload identity (Entra ID) only; no account keys to leak.
            allow_shared_key_access=False,
            tags=dict(self._args.tags),
            opts=self._child,
        )
        self.wal_container = azure.storage.BlobContainer(
            f"{self._name}-wal-container",
            container_name=cloud.database.wal_container,
            account_name=self.storage_account.name,
            resource_group_name=self._rg_name,
            public_access=azure.storage.PublicAccess.NONE,
            opts=self._child,
        )
        azure.storage.ManagementPolicy(
            f"{self._name}-wal-lifecycle",
            management_policy_name="default",  # the only name Azure accepts
            account_name=self.storage_account.name,
            resource_group_name=self._rg_name,
            policy={
                "rules": [
                    {
                        "name": "expire-wal",
                        "enabled": True,
                        "type": "Lifecycle",
                        "definition": {
                            "filters": {
                                "blob_types": ["blockBlob"],
                                "prefix_match": [f"{cloud.database.wal_container}/"],
                            },
                            "actions": {
                                "base_blob": {
                                    "delete": {
                                        "days_after_modification_greater_than": cloud.database.wal_retention_days
                                    }
                                }
                            },
                        },
                    }
                ]
            },
            opts=self._child,
        )

    def _create_key_vault(self) -> None:
        cloud = self._args.cloud
        kv = cloud.key_vault
        self.key_vault = azure.keyvault.Vault(
            f"{self._name}-kv",
            vault_name=kv.name,
            resource_group_name=self._rg_name,
            location=cloud.location,
            properties={
                "tenant_id": kv.tenant_id,
                "sku": {"family": "A", "name": azure.keyvault.SkuName.STANDARD},
                "enable_rbac_authorization": True,
                "enable_purge_protection": True,
                "enable_soft_delete": True,
                "soft_delete_retention_in_days": kv.soft_delete_retention_days,
            },
            tags=dict(self._args.tags),
            opts=self._child,
        )

    def _create_replica_disk(self) -> None:
        cloud = self._args.cloud
        self.replica_disk = azure.compute.Disk(
            f"{self._name}-disk-pgdata",
            disk_name=f"disk-{cloud.aks.cluster_name}-pgdata",
            resource_group_name=self._rg_name,
            location=cloud.location,
            sku={"name": cloud.database.data_disk_sku},
            disk_size_gb=cloud.database.data_disk_gb,
            creation_data={"create_option": "Empty"},
            tags=dict(self._args.tags),
            # The replica's PGDATA outlives the cluster: never delete it by accident.
            opts=pulumi.ResourceOptions(parent=self, protect=True),
        )

    def _create_ingress_ip(self) -> None:
        cloud = self._args.cloud
        self.ingress_ip = azure.network.PublicIPAddress(
            f"{self._name}-pip-ingress",
            public_ip_address_name=f"pip-{cloud.aks.cluster_name}-ingress",
            resource_group_name=self._rg_name,
            location=cloud.location,
            sku={"name": "Standard", "tier": "Regional"},
            public_ip_allocation_method="Static",
            public_ip_address_version="IPv4",
            dns_settings={"domain_name_label": cloud.ingress_dns_label},
            tags=dict(self._args.tags),
            opts=self._child,
        )

    def _create_role_assignments(self) -> None:
        # The cluster identity (created by AKS, known only after the cluster exists) manages the
        # ingress IP and attaches the PGDATA disk. Data-plane access (Key Vault, the WAL archive) is
        # granted to workload identities only (SecretsSync, DrDatabase): a kubelet-wide grant would
        # let every pod on every node read the vault.
        cluster_principal: pulumi.Output[str] = self.cluster.identity.apply(
            lambda i: str(i.principal_id) if i else ""
        )
        grants: list[tuple[str, pulumi.Output[str], str, pulumi.Output[str]]] = [
            ("ingress-ip", cluster_principal, ROLE_NETWORK_CONTRIBUTOR, self.resource_group.id),
            ("pgdata-disk", cluster_principal, ROLE_CONTRIBUTOR, self.replica_disk.id),
        ]
        for label, principal, role, scope in grants:
            azure.authorization.RoleAssignment(
                f"{self._name}-ra-{label}",
                principal_id=principal,
                principal_type="ServicePrincipal",
                role_definition_id=scope.apply(functools.partial(role_definition_id, role=role)),
                scope=scope,
                opts=self._child,
            )

    # --- site-to-site VPN -----------------------------------------------------------------

    def _create_vpn(self) -> None:
        cloud, tags = self._args.cloud, dict(self._args.tags)
        vpn = cloud.vpn
        gateway_ip = azure.network.PublicIPAddress(
            f"{self._name}-pip-vpngw",
            public_ip_address_name=f"pip-{cloud.aks.cluster_name}-vpngw",
            resource_group_name=self._rg_name,
            location=cloud.location,
            sku={"name": "Standard", "tier": "Regional"},
            public_ip_allocation_method="Static",
            tags=tags,
            opts=self._child,
        )
        self.vpn_gateway = azure.network.VirtualNetworkGateway(
            f"{self._name}-vpngw",
            virtual_network_gateway_name=f"vpngw-{cloud.aks.cluster_name}",
            resource_group_name=self._rg_name,
            location=cloud.location,
            gateway_type="Vpn",
            vpn_type="RouteBased",
            vpn_gateway_generation="Generation1",
            sku={"name": vpn.gateway_sku, "tier": vpn.gateway_sku},
            active_active=False,
            enable_bgp=False,
            ip_configurations=[
                {
                    "name": "default",
                    "private_ip_allocation_method": "Dynamic",
                    "public_ip_address": {"id": gateway_ip.id},
                    "subnet": {"id": self.gateway_subnet.id},
                }
            ],
            tags=tags,
            opts=self._child,
        )
        onprem_gateway = azure.network.LocalNetworkGateway(
            f"{self._name}-lgw-onprem",
            local_network_gateway_name="lgw-onprem",
            resource_group_name=self._rg_name,
            location=cloud.location,
            gateway_ip_address=str(vpn.onprem_gateway_ip),
            local_network_address_space={
                "address_prefixes": [str(s) for s in vpn.onprem_address_spaces]
            },
            tags=tags,
            opts=self._child,
        )
        azure.network.VirtualNetworkGatewayConnection(
            f"{self._name}-cn-onprem",
            virtual_network_gateway_connection_name="cn-onprem",
            resource_group_name=self._rg_name,
            location=cloud.location,
            connection_type="IPsec",
            connection_protocol="IKEv2",
            virtual_network_gateway1={"id": self.vpn_gateway.id},
            local_network_gateway2={"id": onprem_gateway.id},
            shared_key=pulumi.Output.secret(self._args.vpn_shared_key),
            routing_weight=0,
            tags=tags,
            opts=self._child,
        )


def role_definition_id(scope: str, *, role: str) -> str:
    """``/subscriptions/<sub>/providers/Microsoft.Authorization/roleDefinitions/<role>`` from a resource id."""
    parts = scope.split("/")
    subscription = parts[2] if len(parts) > 2 and parts[1].lower() == "subscriptions" else ""
    return f"/subscriptions/{subscription}/providers/Microsoft.Authorization/roleDefinitions/{role}"
