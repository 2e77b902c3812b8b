"""Typed stack settings, loaded once at the edge of the program.

The stack files in ``stacks/Pulumi.<stack>.yaml`` hold plain (non-secret) configuration under the
``hybridops`` namespace. This module validates it with pydantic (``extra="forbid"`` so a typo in a
stack file fails loudly) and names the key and the stack file in every error. Secrets are never
part of these models: they are read as Pulumi secrets (:func:`read_secrets`) and passed to the
components as ``Output`` values.

Nothing here runs at import time; nothing here imports a provider SDK.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.alias_generators import to_camel

if TYPE_CHECKING:
    import pulumi

NAMESPACE = "hybridops"

DrMode = Literal["standby", "active"]
TrafficTarget = Literal["onprem", "cloud"]
Site = Literal["onprem", "cloud"]

SECRET_KEYS: dict[str, tuple[str, ...]] = {
    # site -> secret config keys (without namespace) the program reads with require_secret
    "onprem": ("proxmoxApiToken", "rke2Token"),
    "cloud": ("vpnSharedKey",),
}
"""Secret configuration per site. Set them with ``pulumi config set --secret <key>``."""

ALL_SECRET_KEYS = frozenset(k for keys in SECRET_KEYS.values() for k in keys)


class SettingsError(ValueError):
    """Stack configuration is missing or invalid. The message names the key and the stack file."""


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        alias_generator=to_camel,
        populate_by_name=True,
    )


PositiveInt = Annotated[int, Field(gt=0)]
NonNegativeInt = Annotated[int, Field(ge=0)]
VmId = Annotated[int, Field(ge=100, le=999_999_999)]
"""Proxmox VMIDs start at 100."""


# --- on-prem (Proxmox) -------------------------------------------------------------------


class ProxmoxSettings(_Model):
    endpoint: Annotated[str, Field(pattern=r"^https://[^\s/]+(:\d+)?/?$")]
    """Proxmox VE API endpoint, e.g. ``https://pve-01.mgmt.example.net:8006/``."""
    insecure: bool = False
    """Skip TLS verification (only for a lab with a self-signed certificate)."""
    nodes: Annotated[list[str], Field(min_length=1)]
    """Cluster nodes the VMs and LXCs are spread over (round-robin)."""
    vm_datastore: str = "local-zfs"
    snippets_datastore: str = "local"
    """Datastore with the ``snippets`` content type, for cloud-init user data."""
    template_vm_id: VmId
    """VMID of the cloud-init enabled template the RKE2 nodes are cloned from."""
    template_node: str
    lxc_template: str
    """Volume id of the LXC OS template, e.g. ``local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst``."""


class VlanNetworkSettings(_Model):
    bridge: str = "vmbr0"
    vlan_id: Annotated[int, Field(ge=1, le=4094)]
    cidr: IPv4Network
    gateway: IPv4Address
    dns_servers: Annotated[list[IPv4Address], Field(min_length=1)]
    search_domain: str

    @model_validator(mode="after")
    def _gateway_in_cidr(self) -> VlanNetworkSettings:
        if self.gateway not in self.cidr:
            raise ValueError(f"gateway {self.gateway} is not inside cidr {self.cidr}")
        return self


class NodeGroupSettings(_Model):
    count: NonNegativeInt
    cores: PositiveInt
    memory_mb: Annotated[int, Field(ge=512)]
    disk_gb: PositiveInt
    first_ip: IPv4Address
    """Address of the first node; the next nodes take the following addresses."""
    vm_id_start: VmId


class Rke2Settings(_Model):
    version: Annotated[str, Field(pattern=r"^v\d+\.\d+\.\d+\+rke2r\d+$")]
    cluster_name: str = "rke2-onprem"
    servers: NodeGroupSettings
    agents: NodeGroupSettings

    @model_validator(mode="after")
    def _odd_servers(self) -> Rke2Settings:
        # etcd needs a majority: an even server count adds cost without adding fault tolerance.
        if self.servers.count < 1 or self.servers.count % 2 == 0:
            raise ValueError(
                f"servers.count must be odd and >= 1 for etcd quorum, got {self.servers.count}"
            )
        return self


class LxcSettings(_Model):
    hostname: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
    vm_id: VmId
    node: str
    ip: IPv4Address


class OnPremDatabaseSettings(_Model):
    primary: LxcSettings
    """db-01: the production PostgreSQL primary."""
    standby: LxcSettings | None = None
    """Optional on-prem standby LXC (streaming replica of db-01) for local failover."""
    cores: PositiveInt
    memory_mb: Annotated[int, Field(ge=512)]
    root_disk_gb: PositiveInt
    data_disk_gb: PositiveInt
    data_mount_path: str = "/var/lib/postgresql"
    postgres_version: Annotated[int, Field(ge=13, le=18)] = 15


class OnPremSettings(_Model):
    proxmox: ProxmoxSettings
    network: VlanNetworkSettings
    rke2: Rke2Settings
    database: OnPremDatabaseSettings
    ssh_authorized_keys: Annotated[
        list[Annotated[str, Field(pattern=r"^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp256) ")]],
        Field(min_length=1),
    ]
    """Public keys installed for the ``ops`` user on every VM and LXC (public, not secret)."""

    @model_validator(mode="after")
    def _addresses_fit(self) -> OnPremSettings:
        groups = {"rke2.servers": self.rke2.servers, "rke2.agents": self.rke2.agents}
        used: dict[IPv4Address, str] = {}
        for label, group in groups.items():
            for i in range(group.count):
                ip = IPv4Address(int(group.first_ip) + i)
                self._claim(used, ip, f"{label}[{i}]")
        self._claim(used, self.database.primary.ip, "database.primary.ip")
        if self.database.standby is not None:
            self._claim(used, self.database.standby.ip, "database.standby.ip")
        nodes = set(self.proxmox.nodes)
        for label, node in [("database.primary.node", self.database.primary.node)] + (
            [("database.standby.node", self.database.standby.node)] if self.database.standby else []
        ):
            if node not in nodes:
                raise ValueError(f"{label} {node!r} is not one of proxmox.nodes {sorted(nodes)}")
        return self

    def _claim(self, used: dict[IPv4Address, str], ip: IPv4Address, label: str) -> None:
        if ip not in self.network.cidr:
            raise ValueError(f"{label} address {ip} is outside network.cidr {self.network.cidr}")
        if ip in (self.network.cidr.network_address, self.network.cidr.broadcast_address):
            raise ValueError(
                f"{label} address {ip} is the network or broadcast address of {self.network.cidr}"
            )
        if ip == self.network.gateway:
            raise ValueError(f"{label} address {ip} is the gateway")
        if ip in used:
            raise ValueError(f"{label} address {ip} is already used by {used[ip]}")
        used[ip] = label


# --- cloud DR site (Azure) ---------------------------------------------------------------


class CloudNetworkSettings(_Model):
    vnet_cidr: IPv4Network
    aks_subnet_cidr: IPv4Network
    gateway_subnet_cidr: IPv4Network
    """The ``GatewaySubnet`` for the VPN gateway (/27 or larger)."""

    @model_validator(mode="after")
    def _subnets(self) -> CloudNetworkSettings:
        for label, net in [
            ("aksSubnetCidr", self.aks_subnet_cidr),
            ("gatewaySubnetCidr", self.gateway_subnet_cidr),
        ]:
            if not net.subnet_of(self.vnet_cidr):
                raise ValueError(f"{label} {net} is not inside vnetCidr {self.vnet_cidr}")
        if self.aks_subnet_cidr.overlaps(self.gateway_subnet_cidr):
            raise ValueError(
                f"aksSubnetCidr {self.aks_subnet_cidr} overlaps gatewaySubnetCidr {self.gateway_subnet_cidr}"
            )
        if self.gateway_subnet_cidr.prefixlen > 27:
            raise ValueError(f"gatewaySubnetCidr {self.gateway_subnet_cidr} must be /27 or larger")
        return self


class PoolSettings(_Model):
    vm_size: str
    count: Annotated[int, Field(ge=1)]
    os_disk_gb: Annotated[int, Field(ge=30)] = 128


class DrPoolSettings(_Model):
    """The DR user pool: its size follows ``drMode``."""

    vm_size: str
    standby_count: NonNegativeInt = 0
    """Nodes kept warm in standby (0 is allowed for a user pool)."""
    active_count: Annotated[int, Field(ge=1)]
    active_max_count: Annotated[int, Field(ge=1)]
    """Cluster-autoscaler ceiling in active mode."""
    os_disk_gb: Annotated[int, Field(ge=30)] = 128

    @model_validator(mode="after")
    def _sizes(self) -> DrPoolSettings:
        if self.active_count <= self.standby_count:
            raise ValueError(
                f"activeCount ({self.active_count}) must be larger than standbyCount ({self.standby_count})"
            )
        if self.active_max_count < self.active_count:
            raise ValueError(
                f"activeMaxCount ({self.active_max_count}) is below activeCount ({self.active_count})"
            )
        return self


class AksSettings(_Model):
    cluster_name: str
    kubernetes_version: Annotated[str, Field(pattern=r"^\d+\.\d+(\.\d+)?$")]
    tier: Literal["Free", "Standard", "Premium"] = "Standard"
    dns_prefix: str
    system_pool: PoolSettings
    db_pool: PoolSettings
    """Dedicated pool for the PostgreSQL replica (runs in both modes: the replica must follow db-01)."""
    dr_pool: DrPoolSettings
    service_cidr: IPv4Network = IPv4Network("10.96.0.0/16")
    dns_service_ip: IPv4Address = IPv4Address("10.96.0.10")


class CloudDatabaseSettings(_Model):
    data_disk_sku: Literal["Premium_LRS", "StandardSSD_LRS", "Premium_ZRS", "StandardSSD_ZRS"] = (
        "Premium_LRS"
    )
    data_disk_gb: Annotated[int, Field(ge=4, le=32767)]
    """Size of the pre-provisioned managed disk for the replica's PGDATA (outlives the cluster)."""
    wal_container: str = "wal-archive"
    wal_retention_days: Annotated[int, Field(ge=1, le=365)] = 14


class KeyVaultSettings(_Model):
    name: Annotated[str, Field(pattern=r"^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$")]
    tenant_id: Annotated[
        str, Field(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
    ]
    soft_delete_retention_days: Annotated[int, Field(ge=7, le=90)] = 90


class VpnSettings(_Model):
    gateway_sku: Literal["VpnGw1", "VpnGw2", "VpnGw3", "VpnGw1AZ", "VpnGw2AZ"] = "VpnGw1"
    onprem_gateway_ip: IPv4Address
    """Public address of the on-prem VPN endpoint."""
    onprem_address_spaces: Annotated[list[IPv4Network], Field(min_length=1)]
    """On-prem prefixes routed over the tunnel (db-01's VLAN must be one of them)."""


class CloudSettings(_Model):
    location: str
    resource_group_name: str
    storage_account_name: Annotated[str, Field(pattern=r"^[a-z0-9]{3,24}$")]
    """Globally unique name of the WAL-archive storage account."""
    ingress_dns_label: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{1,61}[a-z0-9]$")]
    """DNS label of the cloud ingress public IP (``<label>.<region>.cloudapp.azure.com``)."""
    network: CloudNetworkSettings
    aks: AksSettings
    database: CloudDatabaseSettings
    key_vault: KeyVaultSettings
    vpn: VpnSettings

    @model_validator(mode="after")
    def _no_overlap_with_onprem(self) -> CloudSettings:
        for space in self.vpn.onprem_address_spaces:
            if space.overlaps(self.network.vnet_cidr):
                raise ValueError(
                    f"vpn.onpremAddressSpaces {space} overlaps network.vnetCidr {self.network.vnet_cidr}: "
                    "the tunnel could not route it"
                )
        if self.aks.service_cidr.overlaps(self.network.vnet_cidr):
            raise ValueError(f"aks.serviceCidr {self.aks.service_cidr} overlaps network.vnetCidr")
        if self.aks.dns_service_ip not in self.aks.service_cidr:
            raise ValueError(
                f"aks.dnsServiceIp {self.aks.dns_service_ip} is outside aks.serviceCidr"
            )
        return self


class TrafficSettings(_Model):
    profile_name: str
    relative_dns_name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,61}[a-z0-9]$")]
    """Gives ``<relativeDnsName>.trafficmanager.net``."""
    ttl: Annotated[int, Field(ge=0, le=2_147_483_647)] = 30
    monitor_path: str = "/"
    monitor_port: Annotated[int, Field(ge=1, le=65535)] = 443
    onprem_ingress_fqdn: str
    """The on-prem ingress, a Traffic Manager external endpoint."""


# --- the stack ---------------------------------------------------------------------------


class StackSettings(_Model):
    site: Site
    env: str
    owner: str
    cost_center: str
    dr_mode: DrMode = "standby"
    traffic_target: TrafficTarget = "onprem"
    onprem: OnPremSettings | None = None
    cloud: CloudSettings | None = None
    traffic: TrafficSettings | None = None

    @model_validator(mode="after")
    def _site_sections(self) -> StackSettings:
        if self.site == "onprem" and self.onprem is None:
            raise ValueError("site 'onprem' needs the 'onprem' section")
        if self.site == "cloud" and (self.cloud is None or self.traffic is None):
            missing = [k for k in ("cloud", "traffic") if getattr(self, k) is None]
            raise ValueError(
                f"site 'cloud' needs the {' and '.join(repr(m) for m in missing)} section"
            )
        return self

    @property
    def secret_keys(self) -> tuple[str, ...]:
        return SECRET_KEYS[self.site]


# --- loading -----------------------------------------------------------------------------


def _decode(value: Any) -> Any:
    """Pulumi passes structured config to the program as JSON text."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _key_path(loc: tuple[int | str, ...]) -> str:
    head, *rest = [str(p) for p in loc] or ["<root>"]
    path = f"{NAMESPACE}:{head}"
    for part in rest:
        path += f"[{part}]" if part.isdigit() else f".{part}"
    return path


def load_settings(config: Mapping[str, Any], *, source: str) -> StackSettings:
    """Validate the ``hybridops:*`` keys of a stack's configuration.

    ``config`` maps full keys (``hybridops:drMode``) to values (structured values may be JSON
    text, as Pulumi passes them); keys of other namespaces are ignored. ``source`` names the
    stack file for error messages. Raises :class:`SettingsError` naming every bad key.
    """
    prefix = f"{NAMESPACE}:"
    values = {
        key[len(prefix) :]: _decode(value)
        for key, value in config.items()
        if key.startswith(prefix) and key[len(prefix) :] not in ALL_SECRET_KEYS
    }
    try:
        return StackSettings.model_validate(values)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            loc = tuple(err["loc"])
            msg = err["msg"]
            if err["type"] == "missing":
                msg = "required key is missing"
            elif err["type"] == "extra_forbidden":
                msg = "unknown key (typo?)"
            elif "input" in err and not isinstance(err["input"], dict | list):
                msg = f"{msg} (got {err['input']!r})"
            problems.append(f"{_key_path(loc)}: {msg}" if loc else msg)
        raise SettingsError(f"{source}: " + "; ".join(problems)) from None


def pulumi_config_items() -> dict[str, Any]:
    """All configuration the Pulumi runtime gave this program (engine or mocks)."""
    from pulumi.runtime import config as runtime_config

    items = dict(runtime_config.get_config_env())
    items.update(runtime_config.CONFIG.get())
    return items


def stack_file(stack: str) -> str:
    return f"stacks/Pulumi.{stack}.yaml"


@dataclass(frozen=True)
class Secrets:
    """Secret configuration as Pulumi secret outputs (never plain strings)."""

    values: Mapping[str, pulumi.Output[str]]

    def __getitem__(self, key: str) -> pulumi.Output[str]:
        return self.values[key]


def read_secrets(settings: StackSettings, *, source: str) -> Secrets:
    """Read the site's secret keys with ``require_secret``; a missing one names the command to set it."""
    import pulumi

    cfg = pulumi.Config(NAMESPACE)
    missing = [k for k in settings.secret_keys if cfg.get(k) is None]
    if missing:
        cmds = "; ".join(f"pulumi config set --secret {NAMESPACE}:{k}" for k in missing)
        raise SettingsError(
            f"{source}: missing secret {', '.join(f'{NAMESPACE}:{k}' for k in missing)} (set it with: {cmds})"
        )
    return Secrets({k: cfg.require_secret(k) for k in settings.secret_keys})


def load_stack_settings() -> tuple[StackSettings, Secrets]:
    """The program's edge: read and validate this stack's configuration once."""
    import pulumi

    source = stack_file(pulumi.get_stack())
    settings = load_settings(pulumi_config_items(), source=source)
    return settings, read_secrets(settings, source=source)
