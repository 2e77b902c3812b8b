"""The Pulumi program: typed settings in, components wired, outputs exported.

``__main__.py`` (the real engine) and the offline engine both call :func:`run`, so what the
offline plan shows is what ``pulumi up`` deploys.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pulumi

from components.settings import KubernetesSettings, Secrets, StackSettings, load_stack_settings
from components.tags import cost_tags, kubernetes_labels

if TYPE_CHECKING:
    from components.cloud_dr_site import CloudDrSite
    from components.settings import OnPremSettings


def run() -> None:
    """Entry point: read this stack's configuration once, deploy, export."""
    settings, secrets = load_stack_settings()
    for key, value in deploy(settings, secrets).items():
        pulumi.export(key, value)


def deploy(settings: StackSettings, secrets: Secrets) -> dict[str, Any]:
    if settings.site == "onprem":
        return _deploy_onprem(settings, secrets)
    return _deploy_cloud(settings, secrets)


def _tags(settings: StackSettings, component: str) -> dict[str, str]:
    return cost_tags(
        env=settings.env,
        owner=settings.owner,
        cost_center=settings.cost_center,
        component=component,
    )


def _deploy_onprem(settings: StackSettings, secrets: Secrets) -> dict[str, Any]:
    import pulumi_proxmoxve as proxmoxve

    from components.onprem_site import OnPremSite, OnPremSiteArgs

    onprem = settings.onprem
    assert onprem is not None  # guaranteed by StackSettings validation
    provider = proxmoxve.Provider(
        "proxmox",
        endpoint=onprem.proxmox.endpoint,
        api_token=secrets["proxmoxApiToken"],
        insecure=onprem.proxmox.insecure,
    )
    site = OnPremSite(
        "onprem",
        OnPremSiteArgs(
            proxmox=onprem.proxmox,
            network=onprem.network,
            rke2=onprem.rke2,
            database=onprem.database,
            ssh_authorized_keys=onprem.ssh_authorized_keys,
            tags=_tags(settings, "onprem-site"),
            rke2_token=secrets["rke2Token"],
        ),
        opts=pulumi.ResourceOptions(providers=[provider]),
    )
    outputs: dict[str, Any] = {
        "site": "onprem",
        "rke2ServerIps": site.server_ips,
        "rke2JoinUrl": site.rke2_join_url,
        "dbPrimaryIp": site.db_primary_ip,
        "dbStandbyIp": site.db_standby_ip,
    }
    if settings.kubernetes is not None:
        outputs.update(_deploy_kubernetes_onprem(settings, settings.kubernetes, onprem, secrets))
    return outputs


def _deploy_cloud(settings: StackSettings, secrets: Secrets) -> dict[str, Any]:
    from components.cloud_dr_site import CloudDrSite, CloudDrSiteArgs
    from components.traffic_switch import TrafficSwitch, TrafficSwitchArgs

    cloud, traffic = settings.cloud, settings.traffic
    assert cloud is not None and traffic is not None  # guaranteed by StackSettings validation
    site = CloudDrSite(
        "cloud",
        CloudDrSiteArgs(
            cloud=cloud,
            dr_mode=settings.dr_mode,
            tags=_tags(settings, "cloud-dr-site"),
            vpn_shared_key=secrets["vpnSharedKey"],
        ),
    )
    switch = TrafficSwitch(
        "traffic",
        TrafficSwitchArgs(
            traffic=traffic,
            traffic_target=settings.traffic_target,
            resource_group_name=site.resource_group_name,
            cloud_target_resource_id=site.ingress_public_ip_id,
            cloud_enabled=settings.dr_mode == "active" or settings.traffic_target == "cloud",
            tags=_tags(settings, "traffic-switch"),
        ),
    )
    outputs: dict[str, Any] = {
        "site": "cloud",
        "drMode": settings.dr_mode,
        "trafficTarget": settings.traffic_target,
        "drPoolCount": site.dr_pool_count,
        "resourceGroupName": site.resource_group_name,
        "clusterName": site.cluster_name,
        "ingressFqdn": site.ingress_fqdn,
        "walArchiveUrl": site.wal_archive_url,
        "keyVaultUri": site.key_vault_uri,
        "trafficManagerFqdn": switch.fqdn,
    }
    if settings.kubernetes is not None:
        outputs.update(_deploy_kubernetes_cloud(settings, settings.kubernetes, site))
    return outputs


# --- the Kubernetes layer ----------------------------------------------------------------


def _labels(settings: StackSettings, component: str) -> dict[str, str]:
    return kubernetes_labels(_tags(settings, component))


def _deploy_kubernetes_cloud(
    settings: StackSettings, k8s: KubernetesSettings, site: CloudDrSite
) -> dict[str, Any]:
    from components import dr_database, workloads
    from components.cluster_monitoring import Monitoring, MonitoringArgs
    from components.dr_database import DrDatabase, DrDatabaseArgs
    from components.kube import aks_provider
    from components.secrets_sync import SecretsSync, SecretsSyncArgs, WorkloadIdentity
    from components.workloads import Workloads, WorkloadsArgs

    cloud = settings.cloud
    db = k8s.dr_database
    assert cloud is not None and db is not None  # guaranteed by StackSettings validation
    aks = cloud.aks.cluster_name
    provider = aks_provider(
        "aks", resource_group_name=site.resource_group_name, cluster_name=site.cluster_name
    )
    on_aks = pulumi.ResourceOptions(providers=[provider])

    secrets = SecretsSync(
        "secrets",
        SecretsSyncArgs(
            vault_url=site.key_vault_uri,
            tenant_id=cloud.key_vault.tenant_id,
            namespaces=[dr_database.NAMESPACE, workloads.NAMESPACE],
            secrets=[
                *dr_database.database_secrets(db, k8s.secrets.names),
                *workloads.netbox_secrets(k8s.netbox, k8s.secrets.names),
            ],
            refresh_interval=k8s.secrets.refresh_interval,
            labels=_labels(settings, "secrets-sync"),
            workload_identity=WorkloadIdentity(
                identity_name=f"id-{aks}-keyvault-reader",
                resource_group_name=site.resource_group_name,
                location=cloud.location,
                oidc_issuer_url=site.oidc_issuer_url,
                key_vault_id=site.key_vault.id,
                tags=_tags(settings, "secrets-sync"),
                extra_reader_object_ids=(
                    [k8s.secrets.onprem_reader_object_id]
                    if k8s.secrets.onprem_reader_object_id
                    else []
                ),
            ),
        ),
        opts=on_aks,
    )
    Monitoring(
        "monitoring",
        MonitoringArgs(
            site="cloud",
            central=True,  # the central Prometheus must outlive an on-prem outage
            settings=k8s.monitoring,
            labels=_labels(settings, "monitoring"),
            managed_control_plane=True,
        ),
        opts=on_aks,
    )
    database = DrDatabase(
        "db",
        DrDatabaseArgs(
            settings=db,
            dr_mode=settings.dr_mode,
            namespace=secrets.namespace_names[dr_database.NAMESPACE],
            data_disk_id=site.replica_disk.id,
            data_disk_gb=cloud.database.data_disk_gb,
            wal_archive_url=site.wal_archive_url,
            wal_retention_days=cloud.database.wal_retention_days,
            storage_account_id=site.storage_account.id,
            onprem_address_spaces=[str(s) for s in cloud.vpn.onprem_address_spaces],
            resource_group_name=site.resource_group_name,
            location=cloud.location,
            oidc_issuer_url=site.oidc_issuer_url,
            identity_name=f"id-{aks}-postgres",
            tags=_tags(settings, "dr-database"),
            labels=_labels(settings, "dr-database"),
            secrets=secrets.external_secrets,
        ),
        opts=on_aks,
    )
    netbox = Workloads(
        "netbox",
        WorkloadsArgs(
            settings=k8s.netbox,
            # NetBox needs a writable primary: it runs only once the replica is promoted.
            serving=settings.dr_mode == "active",
            namespace=secrets.namespace_names[workloads.NAMESPACE],
            database_host=f"{db.cluster_name}-rw.{dr_database.NAMESPACE}.svc.cluster.local",
            database_port=5432,
            node_selector={"hybridops.io/pool": "dr"},
            labels=_labels(settings, "workloads"),
            depends_on=[database.cluster, *secrets.external_secrets],
        ),
        opts=on_aks,
    )
    return {"dbRole": database.role, "netboxReplicas": netbox.web_replicas}


def _deploy_kubernetes_onprem(
    settings: StackSettings, k8s: KubernetesSettings, onprem: OnPremSettings, secrets: Secrets
) -> dict[str, Any]:
    from components import workloads
    from components.cluster_monitoring import Monitoring, MonitoringArgs
    from components.kube import rke2_provider
    from components.secrets_sync import SecretsSync, SecretsSyncArgs, ServicePrincipal
    from components.workloads import Workloads, WorkloadsArgs

    vault = k8s.secrets.key_vault
    assert vault is not None  # guaranteed by StackSettings validation
    provider = rke2_provider("rke2", kubeconfig=secrets["rke2Kubeconfig"])
    on_rke2 = pulumi.ResourceOptions(providers=[provider])
    sync = SecretsSync(
        "secrets",
        SecretsSyncArgs(
            vault_url=vault.vault_url,
            tenant_id=vault.tenant_id,
            namespaces=[workloads.NAMESPACE],
            secrets=workloads.netbox_secrets(k8s.netbox, k8s.secrets.names),
            refresh_interval=k8s.secrets.refresh_interval,
            labels=_labels(settings, "secrets-sync"),
            service_principal=ServicePrincipal(
                client_id=vault.client_id, client_secret=secrets["keyVaultClientSecret"]
            ),
        ),
        opts=on_rke2,
    )
    Monitoring(
        "monitoring",
        MonitoringArgs(
            site="onprem",
            central=False,
            settings=k8s.monitoring,
            labels=_labels(settings, "monitoring"),
            managed_control_plane=False,
        ),
        opts=on_rke2,
    )
    netbox = Workloads(
        "netbox",
        WorkloadsArgs(
            settings=k8s.netbox,
            serving=True,  # db-01 is the on-prem primary; fencing is the driver's step
            namespace=sync.namespace_names[workloads.NAMESPACE],
            database_host=str(onprem.database.primary.ip),
            database_port=5432,
            node_selector={},
            labels=_labels(settings, "workloads"),
            depends_on=sync.external_secrets,
        ),
        opts=on_rke2,
    )
    return {"netboxReplicas": netbox.web_replicas}
