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
    "onprem": ("proxmoxApiToken", "rke2Token", "rke2Kubeconfig", "keyVaultClientSecret"),
    "cloud": ("vpnSharedKey",),
}
"""Secret configuration per site. Set them with ``pulumi config set --secret <key>``."""

KUBERNETES_SECRET_KEYS = frozenset({"rke2Kubeconfig", "keyVaultClientSecret"})
"""Secrets only the Kubernetes layer reads: a stack without ``hybridops:kubernetes`` (an on-prem
site being bootstrapped, before RKE2 has a kubeconfig) does not need them."""

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


# --- Kubernetes layer (both sites) -------------------------------------------------------

K8sName = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]
"""An RFC 1123 label: names of namespaces, services, storage classes."""
Hostname = Annotated[
    str, Field(max_length=253, pattern=r"^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
]
PinnedImage = Annotated[
    str, Field(pattern=r"^[a-z0-9.-]+(:\d+)?/[a-z0-9._/-]+:v?\d+\.\d+(\.\d+)?[A-Za-z0-9._-]*$")
]
"""``registry/repository:tag`` with a version tag (no ``latest``, no floating major tag): what
preview shows is what runs."""
CpuQuantity = Annotated[str, Field(pattern=r"^\d+(\.\d+)?m?$")]
MemoryQuantity = Annotated[str, Field(pattern=r"^\d+(Ki|Mi|Gi)$")]
PromDuration = Annotated[str, Field(pattern=r"^\d+[smhdwy]$")]
KeyVaultSecretName = Annotated[str, Field(pattern=r"^[0-9a-zA-Z-]{1,127}$")]
Uuid = Annotated[
    str, Field(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
]

_MEMORY_UNITS = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30}


def _memory_bytes(quantity: str) -> int:
    return int(quantity[:-2]) * _MEMORY_UNITS[quantity[-2:]]


class ContainerResources(_Model):
    """Requests (what the scheduler reserves on the node pools that carry the cost) and a memory limit."""

    cpu_request: CpuQuantity
    memory_request: MemoryQuantity
    memory_limit: MemoryQuantity

    @model_validator(mode="after")
    def _limit_covers_request(self) -> ContainerResources:
        if _memory_bytes(self.memory_limit) < _memory_bytes(self.memory_request):
            raise ValueError(
                f"memoryLimit {self.memory_limit} is below memoryRequest {self.memory_request}"
            )
        return self

    def as_kubernetes(self) -> dict[str, dict[str, str]]:
        # No CPU limit on purpose: CFS throttling hurts latency more than it protects neighbours
        # (https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/).
        return {
            "requests": {"cpu": self.cpu_request, "memory": self.memory_request},
            "limits": {"memory": self.memory_limit},
        }


class ReplicaCounts(_Model):
    """Replicas while the site serves traffic (``active``) and while it is a warm standby."""

    active: PositiveInt
    standby: NonNegativeInt = 0

    @model_validator(mode="after")
    def _standby_not_larger(self) -> ReplicaCounts:
        if self.standby > self.active:
            raise ValueError(f"standby ({self.standby}) is larger than active ({self.active})")
        return self

    def count(self, serving: bool) -> int:
        return self.active if serving else self.standby


class NetboxSettings(_Model):
    image: PinnedImage
    """The netbox-docker image; both sites must run the same NetBox version (one schema in db-01)."""
    cache_image: PinnedImage
    """Valkey/Redis for NetBox's cache and task queue (ephemeral: it holds no state of record)."""
    hosts: Annotated[list[Hostname], Field(min_length=1)]
    """Host names the ingress answers: the public name first, then the site's own name (the one
    Traffic Manager probes)."""
    ingress_class: K8sName = "nginx"
    tls_secret_name: K8sName | None = None
    """Certificate Secret for the ingress (issued outside this program); ``None``: no TLS block."""
    web_replicas: ReplicaCounts
    worker_replicas: ReplicaCounts
    web: ContainerResources
    worker: ContainerResources
    db_name: str = "netbox"
    db_user: str = "netbox"


class KeyVaultSecretNames(_Model):
    """Names of the Key Vault secrets the clusters read (values never pass through Pulumi)."""

    netbox_db_password: KeyVaultSecretName = "netbox-db-password"
    netbox_secret_key: KeyVaultSecretName = "netbox-secret-key"
    db_replication_password: KeyVaultSecretName = "pg-replication-password"
    """Password of ``streaming_replica`` on db-01 (the role the cloud replica streams as)."""
    db_superuser_password: KeyVaultSecretName = "pg-superuser-password"


class ExternalKeyVaultSettings(_Model):
    """The cloud site's Key Vault as seen from RKE2, read with a service principal."""

    vault_url: Annotated[str, Field(pattern=r"^https://[a-zA-Z0-9-]{3,24}\.vault\.azure\.net/?$")]
    tenant_id: Uuid
    client_id: Uuid
    """Application (client) id of the service principal; its secret is ``keyVaultClientSecret``."""


class SecretsSettings(_Model):
    refresh_interval: PromDuration = "1h"
    """How often External Secrets re-reads Key Vault (a rotated password arrives within this)."""
    names: KeyVaultSecretNames = KeyVaultSecretNames()
    key_vault: ExternalKeyVaultSettings | None = None
    """On-prem only: where the Key Vault is and which service principal reads it."""
    onprem_reader_object_id: Uuid | None = None
    """Cloud only: object id of the on-prem service principal, granted Key Vault Secrets User."""


class DbSourceSettings(_Model):
    """db-01 as the replica's source, reached over the site-to-site VPN."""

    name: K8sName = "db-01"
    host: IPv4Address
    port: Annotated[int, Field(ge=1, le=65535)] = 5432
    user: str = "streaming_replica"
    ssl_mode: Literal["require", "verify-ca", "verify-full"] = "require"


class DrDatabaseSettings(_Model):
    """The CloudNativePG replica cluster of db-01 on AKS (docs/adr/0004-cloudnativepg-replica-cluster.md)."""

    cluster_name: K8sName = "netbox-dr"
    image: PinnedImage
    """PostgreSQL image; its major version must be db-01's (physical replication)."""
    source: DbSourceSettings
    resources: ContainerResources
    parameters: dict[str, str] = Field(default_factory=dict)
    """postgresql.conf parameters; a hot standby needs max_connections & co. >= db-01's."""
    promotion_token: Annotated[str, Field(pattern=r"^[A-Za-z0-9+/=_-]{16,}$")] | None = None
    """Demotion token of the former primary, set by the driver for a planned switchover; CNPG
    then promotes only once it has replayed up to it. Used only when ``drMode`` is active."""


class MonitoringSettings(_Model):
    retention: PromDuration = "15d"
    storage_gb: PositiveInt = 50
    storage_class: K8sName
    """StorageClass of the Prometheus volumes (a provisioner the cluster already has)."""
    prometheus: ContainerResources


class KubernetesSettings(_Model):
    netbox: NetboxSettings
    secrets: SecretsSettings
    monitoring: MonitoringSettings
    dr_database: DrDatabaseSettings | None = None
    """Cloud only: the replica of db-01."""


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
    kubernetes: KubernetesSettings | None = None
    """The Kubernetes layer; ``None`` deploys the infrastructure only (bootstrap)."""

    @model_validator(mode="after")
    def _site_sections(self) -> StackSettings:
        if self.site == "onprem" and self.onprem is None:
            raise ValueError("site 'onprem' needs the 'onprem' section")
        if self.site == "cloud" and (self.cloud is None or self.traffic is None):
            missing = [k for k in ("cloud", "traffic") if getattr(self, k) is None]
            raise ValueError(
                f"site 'cloud' needs the {' and '.join(repr(m) for m in missing)} section"
            )
        if self.kubernetes is not None:
            self._kubernetes_fits_site(self.kubernetes)
        return self

    def _kubernetes_fits_site(self, k8s: KubernetesSettings) -> None:
        key = f"{NAMESPACE}:kubernetes"
        if self.site == "onprem":
            if k8s.dr_database is not None:
                raise ValueError(f"{key}.drDatabase is cloud-only (db-01 is the on-prem primary)")
            if k8s.secrets.key_vault is None:
                raise ValueError(
                    f"{key}.secrets.keyVault is required on the onprem site (RKE2 reads Key Vault "
                    "with a service principal)"
                )
            if k8s.secrets.onprem_reader_object_id is not None:
                raise ValueError(f"{key}.secrets.onpremReaderObjectId belongs in the cloud stack")
            return
        if k8s.dr_database is None:
            raise ValueError(f"{key}.drDatabase is required on the cloud site")
        if k8s.secrets.key_vault is not None:
            raise ValueError(
                f"{key}.secrets.keyVault is onprem-only: the cloud site uses its own Key Vault "
                "with workload identity"
            )
        assert self.cloud is not None
        host = k8s.dr_database.source.host
        spaces = self.cloud.vpn.onprem_address_spaces
        if not any(host in space for space in spaces):
            raise ValueError(
                f"{key}.drDatabase.source.host {host} is not in cloud.vpn.onpremAddressSpaces "
                f"{[str(s) for s in spaces]}: the replica could not reach it over the site link"
            )

    @property
    def secret_keys(self) -> tuple[str, ...]:
        keys = SECRET_KEYS[self.site]
        if self.kubernetes is None:
            return tuple(k for k in keys if k not in KUBERNETES_SECRET_KEYS)
        return keys


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
