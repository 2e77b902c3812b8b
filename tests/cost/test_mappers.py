"""Each mapper against a hand computation from the catalog's eastus prices (arithmetic written out).

Prices used (cost/data/azure-retail-prices.json, eastus unless noted): Standard_D2s_v5 0.096/h,
Standard_D4s_v5 0.192/h, Standard_D4ds_v5 0.226/h, P10 LRS 19.71/month, P15 LRS 38.012142/month,
P30 LRS 135.17/month, E10 LRS 9.60/month, AKS Standard 0.10/h, AKS Free 0.05/h (conflict), AKS
Premium (LTS) 0.60/h, LB (Global) 0.025/h + 0.01/rule-h over 5 + 0.005/GB, Standard static IPv4
3.65/month, VpnGw1 138.70/month, egress 0/0.087/0.083 per GB from 0/100/10335 GB, Key Vault
0.03 per 10K, Hot LRS 0.0208/0.019968 per GB-month from 0/51200 GB, Cool LRS 0.0152, Traffic
Manager (Global) 0.36 Azure / 0.54 external per endpoint-month, fast interval 1.00 / 2.00, DNS
0.54 per 1M for the first 1,000M then 0.375. On-prem (stacks/onprem-cost-model.yaml): 0.031611
per vCPU-h, 0.004237 per GiB-h, 0.04 per GB-month, power 6 W x 0.16 $/kWh = 0.00096 per vCPU-h.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from cost.catalog import ChainCatalog
from cost.onprem import OnPremCatalog, OnPremModel
from tests.cost.helpers import D, comp, one, report, resource

AKS = "azure-native:containerservice:ManagedCluster"
POOL = "azure-native:containerservice:AgentPool"


def _cluster(**over):
    inputs = {
        "location": "eastus",
        "sku": {"tier": "Standard", "name": "Base"},
        "networkProfile": {"outboundType": "loadBalancer", "loadBalancerSku": "standard"},
        "agentPoolProfiles": [
            {
                "name": "system",
                "mode": "System",
                "count": 2,
                "vmSize": "Standard_D2s_v5",
                "osDiskSizeGB": 128,
                "osDiskType": "Managed",
                "osType": "Linux",
            }
        ],
    }
    inputs.update(over)
    return inputs


def test_aks_cluster_standard_tier_with_system_pool_disks_and_outbound_lb(catalogs):
    """Cluster = management + system nodes + their OS disks + outbound LB, its data and its IP."""
    rc = one(
        catalogs,
        AKS,
        _cluster(),
        usage_={"load_balancer_rules": 3, "monthly_lb_data_processed_gb": 200},
    )
    assert comp(rc, "Cluster management (Standard tier)").monthly_cost == D(
        "73.000000"
    )  # 0.10 x 730
    assert comp(rc, "Compute (system pool, Standard_D2s_v5, Linux)").monthly_cost == D(
        "140.160000"
    )  # 2 x 0.096 x 730
    assert comp(rc, "OS disk (system pool, P10 LRS)").monthly_cost == D(
        "39.420000"
    )  # 2 x 19.71 (128 GiB -> P10)
    lb = comp(rc, "Load balancer (Standard, AKS outbound, first 5 rules)")
    assert (
        lb.monthly_cost == D("18.250000")
        and lb.price_key == "load-balancer/Global/standard-included-rules"
    )
    assert comp(rc, "Load balancer data processed (Standard)").monthly_cost == D(
        "1.000000"
    )  # 200 x 0.005
    assert comp(rc, "Outbound public IP (Standard, static, IPv4)").monthly_cost == D("3.650000")
    # 73 + 140.16 + 39.42 + 18.25 + 1.00 + 3.65
    assert rc.monthly_cost == D("275.480000")
    # 0.10 + 0.192 + 39.42/730 (0.054) + 0.025 + 1.00/730 (0.001370) + 3.65/730 (0.005)
    assert rc.hourly_cost == D("0.377370")
    assert rc.status == "priced" and rc.op == "create" and rc.past_monthly_cost == D(0)


def test_aks_free_tier_is_priced_at_the_api_meter_and_reports_the_conflict(catalogs):
    """Free tier: the API's FreeTierInfrastructureCost (0.05/h) wins over the docs' 0, and says so."""
    rep = report(catalogs, resource(AKS, "aks", _cluster(sku={"tier": "Free"})))
    assert comp(rep.resources[0], "Cluster management (Free tier)").monthly_cost == D(
        "36.500000"
    )  # 0.05 x 730
    assert any(
        "price conflict for aks/eastus/free" in n and "doc-statement" in n for n in rep.notes
    )
    assert rep.prices["aks/eastus/free"].conflicts[0].unit_price == D("0")


def test_aks_premium_tier_lb_overage_and_ephemeral_os_disk(catalogs):
    """Premium = LTS meter; rules over 5 are billed per rule-hour; ephemeral OS disks are free."""
    pools = [{"name": "system", "count": 1, "vmSize": "Standard_D4s_v5", "osDiskType": "Ephemeral"}]
    rc = one(
        catalogs,
        AKS,
        _cluster(sku={"tier": "Premium"}, agentPoolProfiles=pools),
        usage_={"load_balancer_rules": 7},
    )
    assert comp(rc, "Cluster management (Premium tier)").monthly_cost == D(
        "438.000000"
    )  # 0.60 x 730
    assert comp(rc, "Load balancer rules (Standard, over 5)").monthly_cost == D(
        "14.600000"
    )  # 2 x 0.01 x 730
    disk = comp(rc, "OS disk (system pool, ephemeral)")
    assert disk.status == "free" and disk.monthly_cost == D(0) and "local storage" in disk.note


def test_aks_without_outbound_load_balancer_has_no_lb_components(catalogs):
    """outboundType userDefinedRouting: AKS creates no outbound LB, so none is priced."""
    rc = one(catalogs, AKS, _cluster(networkProfile={"outboundType": "userDefinedRouting"}))
    assert not [c for c in rc.components if "oad balancer" in c.name or "public IP" in c.name]


def test_agent_pool_autoscaling_priced_at_min_count_in_stack_region(catalogs):
    """No location input: stack region; autoscaling: minCount nodes (3 of 3-6)."""
    rc = one(
        catalogs,
        POOL,
        {
            "vmSize": "Standard_D4s_v5",
            "count": 3,
            "enableAutoScaling": True,
            "minCount": 3,
            "maxCount": 6,
            "osDiskSizeGB": 128,
            "osDiskType": "Managed",
        },
    )
    compute = comp(rc, "Compute (r1 pool, Standard_D4s_v5, Linux)")
    assert compute.price_key == "vm/eastus/Standard_D4s_v5"
    assert compute.monthly_cost == D("420.480000")  # 3 x 0.192 x 730
    assert "3-6" in compute.note
    assert comp(rc, "OS disk (r1 pool, P10 LRS)").monthly_cost == D("59.130000")  # 3 x 19.71
    assert rc.monthly_cost == D("479.610000") and rc.hourly_cost == D(
        "0.657000"
    )  # 0.576 + 59.13/730 (0.081)


def test_agent_pool_of_non_premium_size_uses_standard_ssd_and_flags_missing_vm_price(catalogs):
    """Standard_D2_v5 (no 's'): E10 OS disk; its VM price is not in the catalog -> price-not-found."""
    rc = one(catalogs, POOL, {"agentPoolName": "misc", "vmSize": "Standard_D2_v5", "count": 2})
    assert comp(rc, "OS disk (misc pool, E10 LRS)").monthly_cost == D("19.200000")  # 2 x 9.60
    compute = comp(rc, "Compute (misc pool, Standard_D2_v5, Linux)")
    assert (
        compute.status == "price-not-found"
        and compute.monthly_cost is None
        and compute.hourly_cost is None
    )
    assert rc.status == "price-not-found" and rc.monthly_cost == D(
        "19.200000"
    )  # a lower bound, flagged


def test_agent_pool_windows_nodes_are_not_priced_at_linux_rates(catalogs):
    """Windows pools ask for a Windows price key, absent from the Linux-only snapshot."""
    rc = one(catalogs, POOL, {"vmSize": "Standard_D4s_v5", "count": 1, "osType": "Windows"})
    assert (
        comp(rc, "Compute (r1 pool, Standard_D4s_v5, Windows)").price_key
        == "vm/eastus/Standard_D4s_v5/windows"
    )
    assert rc.status == "price-not-found"


@pytest.mark.parametrize(
    ("sku", "size", "tier", "monthly"),
    [
        ("Premium_LRS", 128, "P10 LRS", "19.710000"),
        ("Premium_LRS", 200, "P15 LRS", "38.012142"),  # 200 GiB -> P15 (256)
        ("Premium_LRS", 600, "P30 LRS", "135.170000"),  # 600 GiB -> P30 (1024)
        ("StandardSSD_LRS", 100, "E10 LRS", "9.600000"),
    ],
)
def test_managed_disk_tier_from_size(catalogs, sku, size, tier, monthly):
    """A disk is billed at the smallest tier holding its size."""
    rc = one(
        catalogs,
        "azure-native:compute:Disk",
        {"location": "eastus", "sku": {"name": sku}, "diskSizeGB": size},
    )
    c = comp(rc, f"Managed disk ({tier})")
    assert c.monthly_cost == D(monthly) and c.price_key == f"disk/eastus/{tier}"


def test_managed_disk_hourly_is_monthly_over_730(catalogs):
    """P15: 38.012142 / 730 = 0.05207142... -> 0.052071 (half-even, 6 places)."""
    rc = one(
        catalogs, "azure-native:compute:Disk", {"sku": {"name": "Premium_LRS"}, "diskSizeGb": 256}
    )
    assert rc.hourly_cost == D("0.052071")


def test_managed_disk_tier_missing_from_catalog_and_unknown_size(catalogs):
    """P20 is not in the snapshot (README); a [computed] size cannot be priced: both flagged."""
    p20 = one(
        catalogs, "azure-native:compute:Disk", {"sku": {"name": "Premium_LRS"}, "diskSizeGB": 512}
    )
    assert p20.status == "price-not-found" and p20.components[0].price_key == "disk/eastus/P20 LRS"
    unknown = one(
        catalogs,
        "azure-native:compute:Disk",
        {"sku": {"name": "Premium_LRS"}, "diskSizeGB": "[computed]"},
    )
    assert unknown.status == "price-not-found"
    assert unknown.components[0].note == "input diskSizeGB is [computed] until the deploy"


def test_storage_account_hot_capacity_is_tiered_and_cool_is_flat(catalogs):
    """60,000 GB Hot: 51,200 x 0.0208 + 8,800 x 0.019968; 100 GB Cool x 0.0152."""
    inputs = {
        "location": "eastus",
        "sku": {"name": "Standard_LRS"},
        "kind": "StorageV2",
        "accessTier": "Hot",
    }
    rc = one(
        catalogs,
        "azure-native:storage:StorageAccount",
        inputs,
        usage_={"storage_gb": {"hot": 60000, "cool": 100}},
    )
    first = comp(rc, "Capacity (Hot LRS) (first 51200 GB)")
    assert first.quantity == D(51200) and first.monthly_cost == D("1064.960000")  # 51200 x 0.0208
    second = comp(rc, "Capacity (Hot LRS) (51200 GB to 512000 GB)")
    assert second.quantity == D(8800) and second.monthly_cost == D("175.718400")  # 8800 x 0.019968
    assert comp(rc, "Capacity (Cool LRS)").monthly_cost == D("1.520000")  # 100 x 0.0152
    assert rc.monthly_cost == D("1242.198400")


def test_storage_account_without_usage_and_with_unpriced_operations(catalogs):
    """No usage: 0 GB, said in the note; operations set but not in the catalog: price-not-found."""
    inputs = {"sku": {"name": "Standard_LRS"}, "accessTier": "Hot"}
    bare = one(catalogs, "azure-native:storage:StorageAccount", inputs)
    assert comp(bare, "Capacity (Hot LRS) (first 51200 GB)").note == "no usage set: 0 GB assumed"
    ops = one(
        catalogs,
        "azure-native:storage:StorageAccount",
        inputs,
        usage_={"monthly_write_operations": 10**6},
    )
    assert comp(ops, "Write operations (Hot LRS)").status == "price-not-found"
    assert ops.status == "price-not-found"


def test_key_vault_operations_per_10k(catalogs):
    """150,000 operations = 15 x 10K x 0.03 = 0.45; Premium has no price in the snapshot."""
    vault = {"location": "eastus", "properties": {"sku": {"family": "A", "name": "standard"}}}
    rc = one(catalogs, "azure-native:keyvault:Vault", vault, usage_={"monthly_operations": 150000})
    c = comp(rc, "Operations (standard)")
    assert c.monthly_cost == D("0.450000") and c.unit_price == D("0.03") and c.price_unit == "10K"
    premium = one(
        catalogs, "azure-native:keyvault:Vault", {"properties": {"sku": {"name": "premium"}}}
    )
    assert premium.status == "price-not-found"


def test_public_ip_standard_static_and_basic_unpriced(catalogs):
    """Standard static IPv4: 3.65/month (0.005/h); Basic dynamic is not in the catalog."""
    rc = one(
        catalogs,
        "azure-native:network:PublicIPAddress",
        {"sku": {"name": "Standard"}, "publicIPAllocationMethod": "Static"},
    )
    assert rc.monthly_cost == D("3.650000") and rc.hourly_cost == D("0.005000")
    basic = one(catalogs, "azure-native:network:PublicIPAddress", {"sku": {"name": "Basic"}})
    assert (
        basic.components[0].price_key == "public-ip/eastus/basic-ipv4-dynamic"
        and basic.status == "price-not-found"
    )


def test_vpn_gateway_hours_and_tiered_egress(catalogs):
    """VpnGw1 138.70; 12,000 GB out: 100 x 0 + 10,235 x 0.087 + 1,665 x 0.083 = 1,028.64."""
    rc = one(
        catalogs,
        "azure-native:network:VirtualNetworkGateway",
        {"location": "eastus", "gatewayType": "Vpn", "sku": {"name": "VpnGw1", "tier": "VpnGw1"}},
        usage_={"monthly_egress_gb": 12000},
    )
    gw = comp(rc, "VPN gateway (VpnGw1)")
    assert gw.monthly_cost == D("138.700000") and gw.hourly_cost == D("0.190000")
    assert comp(rc, "Data transfer out (over the VPN) (first 100 GB)").monthly_cost == D(0)
    assert comp(rc, "Data transfer out (over the VPN) (100 GB to 10335 GB)").monthly_cost == D(
        "890.445000"
    )
    assert comp(rc, "Data transfer out (over the VPN) (10335 GB to 51295 GB)").monthly_cost == D(
        "138.195000"
    )
    assert rc.monthly_cost == D("1167.340000")  # 138.70 + 890.445 + 138.195


def test_vpn_connection_is_free_with_a_reason(catalogs):
    """S2S tunnels are included with the gateway: free, and the reason is shown."""
    rc = one(
        catalogs,
        "azure-native:network:VirtualNetworkGatewayConnection",
        {"connectionType": "IPsec"},
    )
    assert rc.status == "free" and rc.monthly_cost == D(0)
    assert "included with the VPN gateway" in rc.components[0].note


def _profile(onprem="Enabled", cloud="Disabled", interval=30, **extra):
    return {
        "location": "global",
        "profileStatus": "Enabled",
        "monitorConfig": {"intervalInSeconds": interval},
        "endpoints": [
            {
                "type": "Microsoft.Network/trafficManagerProfiles/externalEndpoints",
                "name": "onprem",
                "endpointStatus": onprem,
            },
            {
                "type": "Microsoft.Network/trafficManagerProfiles/azureEndpoints",
                "name": "cloud",
                "endpointStatus": cloud,
            },
        ],
        **extra,
    }


def test_traffic_manager_bills_only_monitored_endpoints(catalogs):
    """Standby: 1 external (0.54); active: + 1 Azure (0.36) = 0.90; all under Global."""
    tm = "azure-native:trafficmanager:Profile"
    standby = one(catalogs, tm, _profile())
    assert standby.monthly_cost == D("0.540000")
    active = one(catalogs, tm, _profile(cloud="Enabled"))
    assert active.monthly_cost == D("0.900000")
    assert (
        comp(active, "Health checks (Azure endpoints)").price_key
        == "traffic-manager/Global/health-checks-azure"
    )
    off = one(catalogs, tm, _profile(cloud="Enabled", profileStatus="Disabled"))
    assert off.monthly_cost == D(0)


def test_traffic_manager_fast_interval_dns_tiers_and_traffic_view(catalogs):
    """10 s probes add 1.00 + 2.00; 1.5B queries: 1,000 x 0.54 + 500 x 0.375 = 727.50; 3M points x 2.00/M."""
    rc = one(
        catalogs,
        "azure-native:trafficmanager:Profile",
        _profile(cloud="Enabled", interval=10, trafficViewEnrollmentStatus="Enabled"),
        usage_={
            "monthly_dns_queries": 1_500_000_000,
            "monthly_traffic_view_data_points": 3_000_000,
        },
    )
    assert comp(rc, "Fast interval health checks (Azure endpoints)").monthly_cost == D("1.000000")
    assert comp(rc, "Fast interval health checks (external endpoints)").monthly_cost == D(
        "2.000000"
    )
    assert comp(rc, "DNS queries (first 1B)").monthly_cost == D("540.000000")
    over = comp(rc, "DNS queries (over 1B)")
    assert over.quantity == D(500_000_000) and over.monthly_cost == D("187.500000")
    assert comp(rc, "Traffic View data points").monthly_cost == D("6.000000")
    assert rc.monthly_cost == D("737.400000")  # 0.36 + 0.54 + 1 + 2 + 540 + 187.5 + 6


def test_proxmox_vm_from_cores_memory_and_disks(catalogs):
    """8 cores, 16 GiB, 120 GB: 8x0.031611x730 + 16x0.004237x730 + 120x0.04 + 8x0.00096x730."""
    vm = {
        "cpu": {"cores": 8},
        "memory": {"dedicated": 16384},
        "disks": [{"datastoreId": "local-zfs", "interface": "scsi0", "size": 120}],
    }
    rc = one(catalogs, "proxmoxve:index/vmLegacy:VmLegacy", vm)
    assert comp(rc, "vCPU (allocated)").monthly_cost == D("184.608240")
    assert comp(rc, "Memory (allocated)").monthly_cost == D("49.488160")
    assert comp(rc, "Disk (scsi0, local-zfs)").monthly_cost == D("4.800000")
    assert comp(rc, "Power (per allocated vCPU)").monthly_cost == D(
        "5.606400"
    )  # 6/1000 x 0.16 = 0.00096
    assert rc.monthly_cost == D("244.502800")
    two_sockets = one(
        catalogs, "proxmoxve:index/vmLegacy:VmLegacy", {**vm, "cpu": {"cores": 8, "sockets": 2}}
    )
    assert comp(two_sockets, "vCPU (allocated)").quantity == D(16)


def test_proxmox_lxc_with_mount_points(catalogs):
    """db-01: 4 cores, 8 GiB, 16 GB rootfs, 200G mount: 92.30412 + 24.74408 + 0.64 + 8.00 + 2.8032."""
    lxc = {
        "cpu": {"cores": 4},
        "memory": {"dedicated": 8192},
        "disk": {"datastoreId": "local-zfs", "size": 16},
        "mountPoints": [
            {"path": "/var/lib/postgresql", "volume": "local-zfs", "size": "200G"},
            {"path": "/backup", "volume": "nas", "size": "1T"},
        ],
    }
    rc = one(catalogs, "proxmoxve:index/containerLegacy:ContainerLegacy", lxc)
    assert comp(rc, "Disk (/var/lib/postgresql, local-zfs)").monthly_cost == D("8.000000")
    assert comp(rc, "Disk (/backup, nas)").quantity == D(1024)  # 1T = 1024 GB
    assert rc.monthly_cost == D("128.491400") + D("40.960000")  # + 1024 x 0.04


def test_onprem_amortisation_and_datastore_rates(azure_catalog):
    """Amortisation 36,000 / (60 x 730 x 144) per vCPU-h; 4 vCPUs for 730 h = 4 x 36000 / (60 x 144)."""
    model = OnPremModel.model_validate(
        {
            "version": 1,
            "name": "t",
            "currency": "USD",
            "source": "test",
            "rates": {
                "vcpu_hour": "0.01",
                "ram_gib_hour": "0",
                "disk_gb_month": "0.04",
                "disk_gb_month_by_datastore": {"ceph": "0.10"},
            },
            "amortisation": {"hardware_cost": "36000", "months": 60, "allocatable_vcpus": 144},
        }
    )
    catalogs = ChainCatalog(azure_catalog, OnPremCatalog(model, origin="test-model.yaml"))
    vm = {
        "cpu": {"cores": 4},
        "memory": {"dedicated": 1024},
        "disks": [{"datastoreId": "ceph", "size": 100}],
    }
    rc = one(catalogs, "proxmoxve:index/vmLegacy:VmLegacy", vm)
    assert comp(rc, "Hardware amortisation (per allocated vCPU)").monthly_cost == D("16.666667")
    assert comp(rc, "Disk (disk 0, ceph)").monthly_cost == D(
        "10.000000"
    )  # 100 GB x 0.10 (ceph rate)
    assert not [
        c for c in rc.components if c.name.startswith("Power")
    ]  # not configured: not declared


def test_free_types_prefixes_and_unsupported(catalogs):
    """Structural and Kubernetes types are free with a reason; an unknown type is unsupported."""
    rep = report(
        catalogs,
        resource("azure-native:network:VirtualNetwork", "vnet", {}),
        resource("kubernetes:apps/v1:Deployment", "app", {}),
        resource("kubernetes:postgresql.cnpg.io/v1:Cluster", "pg", {}),
        resource("pulumi:providers:azure-native", "prov", {}),
        resource("hybridops:cloud:CloudDrSite", "site", {}),
        resource("aws:s3/bucket:Bucket", "bucket", {}),
    )
    status = {r.name: r.status for r in rep.resources}
    assert status == {
        "vnet": "free",
        "app": "free",
        "pg": "free",
        "prov": "free",
        "site": "free",
        "bucket": "unsupported",
    }
    assert "node pools" in rep.resources[1].reason
    bucket = rep.resources[-1]
    assert bucket.monthly_cost is None and bucket.components is None
    assert rep.summary.unsupported == 1 and rep.summary.unsupported_types == {
        "aws:s3/bucket:Bucket": 1
    }
    assert rep.total_monthly_cost == Decimal(0)
