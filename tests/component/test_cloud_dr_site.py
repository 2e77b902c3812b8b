"""CloudDrSite and TrafficSwitch under the SDK's mocks (through the offline engine)."""

from __future__ import annotations

import pytest

AGENT_POOL = "azure-native:containerservice:AgentPool"
PROFILE = "azure-native:trafficmanager:Profile"


def _pool(plan, name: str) -> dict:
    return plan.get(f"cloud-pool-{name}", AGENT_POOL).inputs


def test_standby_dr_pool_is_empty_and_fixed(offline_plan):
    """Standby: the DR user pool has the standby size and no autoscaler."""
    dr = _pool(offline_plan("cloud-dr"), "dr")
    assert dr["count"] == 0
    assert dr["enableAutoScaling"] is False
    assert "minCount" not in dr and "maxCount" not in dr
    assert dr["vmSize"] == "Standard_D4s_v5"
    assert dr["mode"] == "User"


def test_active_dr_pool_is_sized_and_autoscaled(offline_plan):
    """Active: the DR pool takes activeCount nodes and may autoscale up to activeMaxCount."""
    plan = offline_plan("cloud-dr", drMode="active")
    dr = _pool(plan, "dr")
    assert (dr["count"], dr["enableAutoScaling"], dr["minCount"], dr["maxCount"]) == (3, True, 3, 6)
    step = plan.get("cloud-pool-dr", AGENT_POOL)
    assert step.op == "update"
    assert step.old_inputs["count"] == 0


def test_db_pool_and_system_pool_do_not_follow_dr_mode(offline_plan):
    """The replica's pool and the system pool run in both modes: of the Azure resources only the
    DR pool and the traffic switch change (the Kubernetes side is pinned in test_kubernetes_plan)."""
    standby, active = offline_plan("cloud-dr"), offline_plan("cloud-dr", drMode="active")
    assert _pool(standby, "db") == _pool(active, "db")
    assert _pool(standby, "db")["count"] == 1
    cluster = active.get("cloud-aks", "azure-native:containerservice:ManagedCluster")
    assert cluster.op == "same"
    system = cluster.inputs["agentPoolProfiles"][0]
    assert (system["name"], system["mode"], system["count"]) == ("system", "System", 2)
    changed = {r.name for r in active.resources if r.op != "same"}
    assert changed == {
        "cloud-pool-dr",
        "traffic-tm",
        # promote the replica cluster, start NetBox (web, worker, cache)
        "db-cluster",
        "netbox-web",
        "netbox-worker",
        "netbox-cache",
    }


def _endpoints(plan) -> dict[str, dict]:
    profile = plan.get("traffic-tm", PROFILE).inputs
    return {e["name"]: e for e in profile["endpoints"]}


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, {"onprem": (1, "Enabled"), "cloud": (2, "Disabled")}),
        ({"drMode": "active"}, {"onprem": (1, "Enabled"), "cloud": (2, "Enabled")}),
        (
            {"drMode": "active", "trafficTarget": "cloud"},
            {"onprem": (2, "Enabled"), "cloud": (1, "Enabled")},
        ),
        ({"trafficTarget": "cloud"}, {"onprem": (2, "Enabled"), "cloud": (1, "Enabled")}),
    ],
)
def test_traffic_priorities_follow_traffic_target(offline_plan, overrides, expected):
    """trafficTarget gives priority 1; the cloud endpoint only takes traffic when active or targeted."""
    endpoints = _endpoints(offline_plan("cloud-dr", **overrides))
    assert {n: (e["priority"], e["endpointStatus"]) for n, e in endpoints.items()} == expected
    assert endpoints["onprem"]["type"].endswith("/externalEndpoints")
    assert endpoints["onprem"]["target"] == "netbox.onprem.example.net"
    assert endpoints["cloud"]["type"].endswith("/azureEndpoints")


def test_traffic_manager_is_a_priority_profile(offline_plan):
    profile = offline_plan("cloud-dr").get("traffic-tm", PROFILE).inputs
    assert profile["trafficRoutingMethod"] == "Priority"
    assert profile["location"] == "global"
    assert profile["dnsConfig"] == {"relativeName": "hybridops-netbox", "ttl": 30}
    assert profile["monitorConfig"]["path"] == "/login/"


def test_key_vault_uses_rbac_and_purge_protection(offline_plan):
    props = (
        offline_plan("cloud-dr").get("cloud-kv", "azure-native:keyvault:Vault").inputs["properties"]
    )
    assert props["enableRbacAuthorization"] is True
    assert props["enablePurgeProtection"] is True
    assert props["softDeleteRetentionInDays"] == 90
    assert "accessPolicies" not in props


def test_wal_archive_storage_is_private(offline_plan):
    plan = offline_plan("cloud-dr")
    account = plan.get("cloud-st-wal", "azure-native:storage:StorageAccount").inputs
    assert account["allowBlobPublicAccess"] is False
    assert account["allowSharedKeyAccess"] is False
    assert account["minimumTlsVersion"] == "TLS1_2"
    container = plan.get("cloud-wal-container", "azure-native:storage:BlobContainer").inputs
    assert (container["containerName"], container["publicAccess"]) == ("wal-archive", "None")


def test_site_to_site_vpn_routes_onprem_prefixes(offline_plan):
    plan = offline_plan("cloud-dr")
    lgw = plan.get("cloud-lgw-onprem", "azure-native:network:LocalNetworkGateway").inputs
    assert lgw["gatewayIpAddress"] == "198.51.100.20"
    assert lgw["localNetworkAddressSpace"] == {"addressPrefixes": ["10.20.0.0/16"]}
    gw = plan.get("cloud-vpngw", "azure-native:network:VirtualNetworkGateway").inputs
    assert gw["sku"] == {"name": "VpnGw1", "tier": "VpnGw1"}
    subnet = plan.get("cloud-snet-gateway", "azure-native:network:Subnet").inputs
    assert subnet["subnetName"] == "GatewaySubnet"
    conn = plan.get(
        "cloud-cn-onprem", "azure-native:network:VirtualNetworkGatewayConnection"
    ).inputs
    assert conn["connectionType"] == "IPsec"
    assert conn["sharedKey"] == "[secret]"


def test_role_assignments_are_scoped_to_single_resources(offline_plan):
    """Workload identities get data-plane roles on one vault / one account, never the subscription."""
    plan = offline_plan("cloud-dr")
    assignments = plan.by_type("azure-native:authorization:RoleAssignment")
    assert {r.name for r in assignments} == {
        "cloud-ra-ingress-ip",
        "cloud-ra-pgdata-disk",
        "db-ra-wal",  # the Postgres pods' identity on the WAL archive account
        "secrets-ra-kv-reader",  # External Secrets' identity on the vault
        "secrets-ra-kv-reader-1",  # the on-prem service principal on the vault
    }
    for r in assignments:
        # scope and role id derive from resource ids: unknown until deploy, never a literal subscription
        assert r.inputs["scope"] == "[computed]"
        assert r.inputs["principalType"] == "ServicePrincipal"


def test_replica_data_disk_is_premium_and_sized(offline_plan):
    disk = offline_plan("cloud-dr").get("cloud-disk-pgdata", "azure-native:compute:Disk").inputs
    assert disk["sku"] == {"name": "Premium_LRS"}
    assert disk["diskSizeGB"] == 128
    assert disk["creationData"] == {"createOption": "Empty"}
