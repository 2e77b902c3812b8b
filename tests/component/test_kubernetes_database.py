"""DrDatabase: the CloudNativePG replica cluster of db-01 on AKS (offline engine, SDK mocks)."""

from __future__ import annotations

import pytest

from components.dr_database import replica_spec
from tests.component.kube_support import CLUSTER, FIC, PV, RELEASE, UAMI, release

TOKEN = "eyJsYXRlc3RDaGVja3BvaW50VGltZWxpbmVJRCI6IjEifQ=="


def _cluster(plan) -> dict:
    return plan.get("db-cluster", CLUSTER).inputs


def test_standby_cluster_is_a_replica_of_db01(offline_plan):
    """Standby: the distributed topology names db-01 primary, so this cluster is a replica."""
    spec = _cluster(offline_plan("cloud-dr"))["spec"]
    assert spec["replica"] == {"self": "netbox-dr", "primary": "db-01", "source": "db-01"}
    assert spec["bootstrap"] == {"pg_basebackup": {"source": "db-01"}}


def test_active_cluster_is_the_primary(offline_plan):
    """Active: primary == self, so CNPG promotes it; the update is an in-place change."""
    plan = offline_plan("cloud-dr", drMode="active")
    step = plan.get("db-cluster", CLUSTER)
    assert step.op == "update"
    assert step.new_inputs["spec"]["replica"] == {
        "self": "netbox-dr",
        "primary": "netbox-dr",
        "source": "db-01",
    }
    assert step.old_inputs["spec"]["replica"]["primary"] == "db-01"
    # nothing but the topology changes between the modes
    old, new = dict(step.old_inputs["spec"]), dict(step.new_inputs["spec"])
    old.pop("replica"), new.pop("replica")
    assert old == new


def test_promotion_token_is_used_only_when_promoting(offline_plan):
    """A planned switchover passes db-01's demotion token; CNPG rejects it on a replica."""
    key = "kubernetes.drDatabase.promotionToken"
    active = _cluster(offline_plan("cloud-dr", drMode="active", **{key: TOKEN}))
    assert active["spec"]["replica"]["promotionToken"] == TOKEN
    standby = _cluster(offline_plan("cloud-dr", **{key: TOKEN}))
    assert "promotionToken" not in standby["spec"]["replica"]


@pytest.mark.parametrize(
    ("mode", "token", "expected"),
    [
        ("standby", None, {"self": "c", "primary": "db-01", "source": "db-01"}),
        ("standby", TOKEN, {"self": "c", "primary": "db-01", "source": "db-01"}),
        ("active", None, {"self": "c", "primary": "c", "source": "db-01"}),
        (
            "active",
            TOKEN,
            {"self": "c", "primary": "c", "source": "db-01", "promotionToken": TOKEN},
        ),
    ],
)
def test_replica_spec_never_sets_enabled(mode, token, expected):
    """`enabled` is mutually exclusive with `primary` (CNPG webhook) and a one-way switch."""
    spec = replica_spec(dr_mode=mode, self_name="c", source="db-01", promotion_token=token)
    assert spec == expected
    assert "enabled" not in spec


def test_source_streams_over_the_site_link_with_the_wal_archive_as_fallback(offline_plan):
    """One external cluster: primary_conninfo to db-01 and restore_command from the archive."""
    spec = _cluster(offline_plan("cloud-dr"))["spec"]
    clusters = {c["name"]: c for c in spec["externalClusters"]}
    assert set(clusters) == {"db-01", "netbox-dr"}
    db01 = clusters["db-01"]
    assert db01["connectionParameters"] == {
        "host": "10.20.120.31",
        "port": "5432",
        "user": "streaming_replica",
        "dbname": "postgres",
        "sslmode": "require",
    }
    assert db01["password"] == {"name": "db-01-replication", "key": "password"}
    store = db01["barmanObjectStore"]
    assert store["serverName"] == "db-01"
    assert store["azureCredentials"] == {"inheritFromAzureAD": True}  # workload identity, no keys
    # the storage account's blob endpoint + container: known only once the account exists
    assert store["destinationPath"] == "[computed]"
    assert clusters["netbox-dr"]["barmanObjectStore"]["serverName"] == "netbox-dr"
    assert spec["backup"]["barmanObjectStore"]["serverName"] == "netbox-dr"
    assert spec["backup"]["retentionPolicy"] == "14d"


def test_db01_is_reachable_over_the_vpn(offline_plan):
    """The source host is inside the prefixes the tunnel routes (checked by settings too)."""
    import ipaddress

    plan = offline_plan("cloud-dr")
    host = _cluster(plan)["spec"]["externalClusters"][0]["connectionParameters"]["host"]
    lgw = plan.get("cloud-lgw-onprem").inputs["localNetworkAddressSpace"]["addressPrefixes"]
    assert any(ipaddress.ip_address(host) in ipaddress.ip_network(p) for p in lgw)


def test_pgdata_is_the_pre_provisioned_disk(offline_plan):
    """A static PV (Azure disk CSI, Retain) reserved for CNPG's PVC of instance 1, same size as
    the priced managed disk; the cluster's PVC template names that PV."""
    plan = offline_plan("cloud-dr")
    disk = plan.get("cloud-disk-pgdata", "azure-native:compute:Disk").inputs
    pv = plan.get("db-pv-pgdata", PV).inputs
    spec = pv["spec"]
    assert pv["metadata"]["name"] == "netbox-dr-pgdata"
    assert spec["csi"] == {
        "driver": "disk.csi.azure.com",
        "volumeHandle": "[computed]",  # the disk's resource id
        "volumeAttributes": {"fsType": "ext4"},
    }
    assert spec["persistentVolumeReclaimPolicy"] == "Retain"
    assert spec["claimRef"] == {"namespace": "postgres", "name": "netbox-dr-1"}
    assert spec["capacity"] == {"storage": f"{disk['diskSizeGB']}Gi"}
    storage = _cluster(plan)["spec"]["storage"]
    template = storage["pvcTemplate"]
    assert template["volumeName"] == "netbox-dr-pgdata"
    assert template["storageClassName"] == spec["storageClassName"] == ""
    assert template["resources"] == {"requests": {"storage": "128Gi"}}
    assert storage["resizeInUseVolumes"] is False
    assert _cluster(plan)["spec"]["instances"] == 1


def test_volume_handle_is_the_disk_id():
    """The PV's CSI volume handle is exactly the managed disk's id it is given (and the archive
    URL and OIDC issuer reach the cluster and the federated credential unchanged)."""
    from components.dr_database import DrDatabase, DrDatabaseArgs
    from components.settings import load_settings
    from dr.engines.offline import evaluate
    from dr.stack_config import load_stack_config
    from tests.conftest import REPO

    settings = load_settings(load_stack_config(REPO, "cloud-dr").runtime_values(), source="t")
    assert settings.kubernetes is not None and settings.kubernetes.dr_database is not None
    disk_id = "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.Compute/disks/d1"

    def program() -> None:
        DrDatabase(
            "t",
            DrDatabaseArgs(
                settings=settings.kubernetes.dr_database,
                dr_mode="standby",
                namespace="postgres",
                data_disk_id=disk_id,
                data_disk_gb=256,
                wal_archive_url="https://st1.blob.core.windows.net/wal-archive",
                wal_retention_days=7,
                storage_account_id="/subscriptions/0000/resourceGroups/rg/providers/x/st1",
                onprem_address_spaces=["10.20.0.0/16"],
                resource_group_name="rg",
                location="eastus",
                oidc_issuer_url="https://oidc.example/",
                identity_name="id-t",
                tags={},
                labels={},
                secrets=[],
            ),
        )

    regs = {r.name: r for r in evaluate(program, stack="cloud-dr", config={}, secret_keys=[])}
    pv = regs["t-pv-pgdata"].inputs["spec"]
    assert pv["csi"]["volumeHandle"] == disk_id
    assert pv["capacity"] == {"storage": "256Gi"}
    store = regs["t-cluster"].inputs["spec"]["backup"]["barmanObjectStore"]
    assert store["destinationPath"] == "https://st1.blob.core.windows.net/wal-archive"
    assert regs["t-cluster"].inputs["spec"]["backup"]["retentionPolicy"] == "7d"
    assert regs["t-fic-pg"].inputs["issuer"] == "https://oidc.example/"


def test_postgres_runs_on_the_db_pool(offline_plan):
    """Node selector and toleration match the db pool's label and taint."""
    plan = offline_plan("cloud-dr")
    pool = plan.get("cloud-pool-db", "azure-native:containerservice:AgentPool").inputs
    affinity = _cluster(plan)["spec"]["affinity"]
    assert affinity["nodeSelector"].items() <= pool["nodeLabels"].items()
    (taint,) = pool["nodeTaints"]
    key_value, effect = taint.split(":")
    key, value = key_value.split("=")
    assert affinity["tolerations"] == [
        {"key": key, "operator": "Equal", "value": value, "effect": effect}
    ]
    assert _cluster(plan)["spec"]["resources"] == {
        "requests": {"cpu": "2", "memory": "8Gi"},
        "limits": {"memory": "8Gi"},
    }


def test_wal_archive_access_is_workload_identity(offline_plan):
    """The Postgres pods' service account is federated to a managed identity that may write the
    WAL archive account, and the pods opt in to token injection."""
    plan = offline_plan("cloud-dr")
    spec = _cluster(plan)["spec"]
    fic = plan.get("db-fic-pg", FIC).inputs
    # CNPG runs instances as a service account named after the cluster, in its namespace
    assert fic["subject"] == "system:serviceaccount:postgres:netbox-dr"
    assert fic["audiences"] == ["api://AzureADTokenExchange"]
    # The AKS OIDC issuer: an output of the cluster. Offline, the cluster echoes its inputs
    # (oidcIssuerProfile: {enabled: true}) without an issuer URL, so it reads as empty; the
    # mapping itself is pinned in test_volume_handle_is_the_disk_id.
    assert fic["issuer"] in ("[computed]", "")
    assert plan.get("db-id-pg", UAMI).inputs["resourceName"] == "id-aks-hybridops-dr-eus-postgres"
    assert spec["serviceAccountTemplate"]["metadata"]["annotations"] == {
        "azure.workload.identity/client-id": "[computed]"
    }
    assert spec["inheritedMetadata"]["labels"]["azure.workload.identity/use"] == "true"
    ra = plan.get("db-ra-wal", "azure-native:authorization:RoleAssignment").inputs
    assert ra["scope"] == "[computed]" and ra["principalType"] == "ServicePrincipal"


def test_failback_path_is_open_to_onprem_only(offline_plan):
    """db-01 may stream from the promoted cluster over the VPN (internal load balancer, on-prem
    prefixes in pg_hba); nothing is exposed publicly."""
    spec = _cluster(offline_plan("cloud-dr"))["spec"]
    assert spec["postgresql"]["pg_hba"] == [
        "hostssl replication streaming_replica 10.20.0.0/16 scram-sha-256"
    ]
    (service,) = spec["managed"]["services"]["additional"]
    assert service["selectorType"] == "rw"
    template = service["serviceTemplate"]
    assert template["spec"] == {"type": "LoadBalancer"}
    assert template["metadata"]["annotations"] == {
        "service.beta.kubernetes.io/azure-load-balancer-internal": "true"
    }


def test_cnpg_operator_is_a_pinned_release(offline_plan):
    plan = offline_plan("cloud-dr")
    cnpg = release(plan, "cnpg").inputs
    assert (cnpg["chart"], cnpg["version"]) == ("cloudnative-pg", "0.29.0")
    assert cnpg["repositoryOpts"] == {"repo": "https://cloudnative-pg.github.io/charts"}
    assert cnpg["namespace"] == "cnpg-system"


def test_onprem_has_no_replica_cluster(offline_plan):
    plan = offline_plan("onprem-prod")
    assert plan.by_type(CLUSTER) == []
    assert "cnpg" not in {r.inputs["name"] for r in plan.by_type(RELEASE)}
