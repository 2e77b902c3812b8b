"""The Pulumi program: typed settings in, components wired, outputs exported.

``__main__.py`` (the real engine) and the offline engine both call :func:`run`, so what the
offline plan shows is what ``pulumi up`` deploys.
"""

from __future__ import annotations

from typing import Any

import pulumi

from components.settings import Secrets, StackSettings, load_stack_settings
from components.tags import cost_tags


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
    return {
        "site": "onprem",
        "rke2ServerIps": site.server_ips,
        "rke2JoinUrl": site.rke2_join_url,
        "dbPrimaryIp": site.db_primary_ip,
        "dbStandbyIp": site.db_standby_ip,
    }


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
    return {
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
