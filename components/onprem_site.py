"""On-prem site: an RKE2 cluster of Proxmox VMs and the db-01 PostgreSQL LXC.

Provider: pulumi-proxmoxve 8.x, where the QEMU VM resource is ``VmLegacy`` and the LXC is
``ContainerLegacy`` (https://www.pulumi.com/registry/packages/proxmoxve/).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_proxmoxve as proxmoxve

from components import rke2_cloud_init
from components.settings import (
    LxcSettings,
    NodeGroupSettings,
    OnPremDatabaseSettings,
    ProxmoxSettings,
    Rke2Settings,
    VlanNetworkSettings,
)
from components.tags import proxmox_tags


@dataclass
class OnPremSiteArgs:
    proxmox: ProxmoxSettings
    network: VlanNetworkSettings
    rke2: Rke2Settings
    database: OnPremDatabaseSettings
    ssh_authorized_keys: Sequence[str]
    tags: Mapping[str, str]
    rke2_token: pulumi.Input[str]
    """Shared RKE2 join token (secret)."""


class OnPremSite(pulumi.ComponentResource):
    """RKE2 servers and agents cloned from a cloud-init template, db-01 and its optional standby."""

    server_ips: pulumi.Output[list[str]]
    rke2_join_url: pulumi.Output[str]
    db_primary_ip: pulumi.Output[str]
    db_standby_ip: pulumi.Output[str | None]

    def __init__(
        self, name: str, args: OnPremSiteArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("hybridops:onprem:OnPremSite", name, None, opts)
        self._name = name
        self._args = args
        self._tags = proxmox_tags(args.tags)
        self._prefixlen = args.network.cidr.prefixlen

        servers = self._create_node_group("server", args.rke2.servers)
        agents = self._create_node_group("agent", args.rke2.agents)
        self.nodes = servers + agents
        self.db_primary = self._create_database_lxc(args.database.primary, role="primary")
        self.db_standby = (
            self._create_database_lxc(args.database.standby, role="standby")
            if args.database.standby is not None
            else None
        )

        first_server = str(args.rke2.servers.first_ip)
        self.server_ips = pulumi.Output.from_input(
            [str(_nth(args.rke2.servers.first_ip, i)) for i in range(args.rke2.servers.count)]
        )
        self.rke2_join_url = pulumi.Output.from_input(rke2_cloud_init.join_url(first_server))
        self.db_primary_ip = pulumi.Output.from_input(str(args.database.primary.ip))
        self.db_standby_ip = pulumi.Output.from_input(
            str(args.database.standby.ip) if args.database.standby else None
        )
        self.register_outputs(
            {
                "serverIps": self.server_ips,
                "rke2JoinUrl": self.rke2_join_url,
                "dbPrimaryIp": self.db_primary_ip,
                "dbStandbyIp": self.db_standby_ip,
            }
        )

    # --- RKE2 nodes ------------------------------------------------------------------

    def _create_node_group(
        self, role: rke2_cloud_init.Role, group: NodeGroupSettings
    ) -> list[proxmoxve.VmLegacy]:
        return [self._create_node(role, group, index) for index in range(group.count)]

    def _create_node(
        self, role: rke2_cloud_init.Role, group: NodeGroupSettings, index: int
    ) -> proxmoxve.VmLegacy:
        args = self._args
        short = "srv" if role == "server" else "agt"
        hostname = f"{args.rke2.cluster_name}-{short}-{index + 1:02d}"
        node_ip = str(_nth(group.first_ip, index))
        node = args.proxmox.nodes[index % len(args.proxmox.nodes)]
        first_server = str(args.rke2.servers.first_ip)
        tls_sans = [first_server, f"{args.rke2.cluster_name}.{args.network.search_domain}"]

        user_data = pulumi.Output.secret(args.rke2_token).apply(
            lambda token: rke2_cloud_init.render_user_data(
                role=role,
                hostname=hostname,
                domain=args.network.search_domain,
                node_ip=node_ip,
                rke2_version=args.rke2.version,
                token=token,
                first_server_ip=first_server,
                tls_sans=tls_sans,
                ssh_authorized_keys=list(args.ssh_authorized_keys),
            )
        )
        snippet = proxmoxve.FileLegacy(
            f"{self._name}-{hostname}-user-data",
            content_type="snippets",
            datastore_id=args.proxmox.snippets_datastore,
            node_name=node,
            source_raw={"data": user_data, "file_name": f"{hostname}-user-data.yaml"},
            opts=pulumi.ResourceOptions(parent=self),
        )
        return proxmoxve.VmLegacy(
            f"{self._name}-{hostname}",
            name=hostname,
            node_name=node,
            vm_id=group.vm_id_start + index,
            description=f"RKE2 {role} {index + 1} of {group.count} ({args.rke2.cluster_name}); managed by Pulumi",
            tags=[*self._tags, f"rke2-{role}"],
            clone={
                "vm_id": args.proxmox.template_vm_id,
                "node_name": args.proxmox.template_node,
                "full": True,
            },
            agent={"enabled": True},
            cpu={"cores": group.cores, "type": "x86-64-v2-AES"},
            memory={"dedicated": group.memory_mb},
            disks=[
                {
                    "interface": "scsi0",
                    "datastore_id": args.proxmox.vm_datastore,
                    "size": group.disk_gb,
                    "file_format": "raw",
                    "discard": "on",
                    "iothread": True,
                    "ssd": True,
                }
            ],
            scsi_hardware="virtio-scsi-single",
            network_devices=[
                {"bridge": args.network.bridge, "vlan_id": args.network.vlan_id, "model": "virtio"}
            ],
            operating_system={"type": "l26"},
            initialization={
                "datastore_id": args.proxmox.vm_datastore,
                "ip_configs": [
                    {
                        "ipv4": {
                            "address": f"{node_ip}/{self._prefixlen}",
                            "gateway": str(args.network.gateway),
                        }
                    }
                ],
                "dns": {
                    "servers": [str(s) for s in args.network.dns_servers],
                    "domain": args.network.search_domain,
                },
                "user_data_file_id": snippet.id,
            },
            on_boot=True,
            started=True,
            stop_on_destroy=True,
            opts=pulumi.ResourceOptions(parent=self),
        )

    # --- database LXCs ---------------------------------------------------------------

    def _create_database_lxc(self, lxc: LxcSettings, *, role: str) -> proxmoxve.ContainerLegacy:
        args = self._args
        db = args.database
        hostname = lxc.hostname
        return proxmoxve.ContainerLegacy(
            f"{self._name}-{hostname}",
            node_name=lxc.node,
            vm_id=lxc.vm_id,
            description=f"PostgreSQL {db.postgres_version} {role} ({hostname}); managed by Pulumi",
            tags=[*self._tags, f"postgres-{role}"],
            # Unprivileged: container root is an unprivileged uid on the host.
            unprivileged=True,
            features={"nesting": True},
            operating_system={"template_file_id": args.proxmox.lxc_template, "type": "debian"},
            cpu={"cores": db.cores},
            memory={"dedicated": db.memory_mb, "swap": 0},
            disk={"datastore_id": args.proxmox.vm_datastore, "size": db.root_disk_gb},
            # PGDATA on its own volume: it can be sized, snapshotted and backed up apart from the OS.
            mount_points=[
                {
                    "volume": args.proxmox.vm_datastore,
                    "size": f"{db.data_disk_gb}G",
                    "path": db.data_mount_path,
                    "backup": True,
                }
            ],
            # One interface, on the private server VLAN only, behind the Proxmox firewall.
            network_interfaces=[
                {
                    "name": "eth0",
                    "bridge": args.network.bridge,
                    "vlan_id": args.network.vlan_id,
                    "firewall": True,
                }
            ],
            initialization={
                "hostname": hostname,
                "ip_configs": [
                    {
                        "ipv4": {
                            "address": f"{lxc.ip}/{self._prefixlen}",
                            "gateway": str(args.network.gateway),
                        }
                    }
                ],
                "dns": {
                    "servers": [str(s) for s in args.network.dns_servers],
                    "domain": args.network.search_domain,
                },
                # Key-only root login: no password exists that could leak.
                "user_account": {"keys": list(args.ssh_authorized_keys)},
            },
            start_on_boot=True,
            started=True,
            # The primary holds the data: deleting it must be a deliberate two-step act.
            protection=role == "primary",
            opts=pulumi.ResourceOptions(parent=self),
        )


def _nth(first: ipaddress.IPv4Address, index: int) -> ipaddress.IPv4Address:
    return ipaddress.IPv4Address(int(first) + index)
