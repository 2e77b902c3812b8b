"""Workloads: NetBox on both sites (offline engine, SDK mocks)."""

from __future__ import annotations

import pytest

from tests.component.kube_support import (
    DEPLOYMENT,
    INGRESS,
    PDB,
    SERVICE,
    by_k8s_name,
    stack_values,
)

DEPLOYMENTS = ("netbox/netbox", "netbox/netbox-worker", "netbox/netbox-valkey")


def _replicas(plan) -> dict[str, int]:
    deployments = by_k8s_name(plan, DEPLOYMENT)
    return {name: deployments[name].inputs["spec"]["replicas"] for name in DEPLOYMENTS}


def _container(plan, name: str) -> dict:
    deployment = by_k8s_name(plan, DEPLOYMENT)[name].inputs
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container


def _env(container: dict) -> dict:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


@pytest.mark.parametrize(
    ("dr_mode", "expected"),
    [
        ("standby", {"netbox/netbox": 0, "netbox/netbox-worker": 0, "netbox/netbox-valkey": 0}),
        ("active", {"netbox/netbox": 3, "netbox/netbox-worker": 1, "netbox/netbox-valkey": 1}),
    ],
)
def test_cloud_replicas_follow_dr_mode(offline_plan, dr_mode, expected):
    """Standby: nothing runs NetBox (the replica is read-only, the DR pool empty); active: full."""
    assert _replicas(offline_plan("cloud-dr", drMode=dr_mode)) == expected


def test_cloud_replica_counts_are_config(offline_plan):
    """The numbers come from hybridops:kubernetes.netbox.*Replicas, not from code."""
    netbox = stack_values("cloud-dr")["hybridops:kubernetes"]["netbox"]
    assert netbox["webReplicas"] == {"active": 3, "standby": 0}
    plan = offline_plan(
        "cloud-dr",
        drMode="active",
        **{
            "kubernetes.netbox.webReplicas.active": "5",
            "kubernetes.netbox.workerReplicas.active": "2",
        },
    )
    assert _replicas(plan) == {
        "netbox/netbox": 5,
        "netbox/netbox-worker": 2,
        "netbox/netbox-valkey": 1,
    }
    warm = offline_plan("cloud-dr", **{"kubernetes.netbox.webReplicas.standby": "1"})
    assert _replicas(warm)["netbox/netbox"] == 1


def test_onprem_always_serves(offline_plan):
    """db-01 is the on-prem primary: the on-prem NetBox runs the active counts."""
    assert _replicas(offline_plan("onprem-prod")) == {
        "netbox/netbox": 3,
        "netbox/netbox-worker": 1,
        "netbox/netbox-valkey": 1,
    }


@pytest.mark.parametrize(
    ("stack", "db_host"),
    [
        ("cloud-dr", "netbox-dr-rw.postgres.svc.cluster.local"),  # the CNPG read-write service
        ("onprem-prod", "10.20.120.31"),  # db-01
    ],
)
def test_netbox_points_at_the_sites_primary(offline_plan, stack, db_host):
    plan = offline_plan(stack)
    for name in ("netbox/netbox", "netbox/netbox-worker"):
        env = _env(_container(plan, name))
        assert env["DB_HOST"] == db_host
        assert env["DB_PORT"] == "5432"
        assert env["DB_USER"] == "netbox" and env["DB_NAME"] == "netbox"
        # credentials by reference to the Secrets External Secrets writes from Key Vault
        assert env["DB_PASSWORD"] == {"secretKeyRef": {"name": "netbox-db", "key": "password"}}
        assert env["SECRET_KEY"] == {"secretKeyRef": {"name": "netbox-app", "key": "secret_key"}}
        assert env["REDIS_HOST"] == env["REDIS_CACHE_HOST"] == "netbox-valkey"


def test_cloud_primary_host_is_the_replica_clusters_service(offline_plan):
    plan = offline_plan("cloud-dr")
    cluster = plan.get("db-cluster").inputs["metadata"]
    host = _env(_container(plan, "netbox/netbox"))["DB_HOST"]
    assert host == f"{cluster['name']}-rw.{cluster['namespace']}.svc.cluster.local"


@pytest.mark.parametrize("stack", ["cloud-dr", "onprem-prod"])
def test_web_has_probes_and_resource_requests(offline_plan, stack):
    plan = offline_plan(stack)
    web = _container(plan, "netbox/netbox")
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        get = web[probe]["httpGet"]
        assert get["path"] == "/login/"  # the page Traffic Manager probes
        assert get["port"] == "http"
        assert get["httpHeaders"] == [{"name": "Host", "value": "netbox.example.net"}]
    assert web["readinessProbe"]["periodSeconds"] == 10
    assert web["resources"] == {
        "requests": {"cpu": "500m", "memory": "768Mi"},
        "limits": {"memory": "1536Mi"},
    }
    for name in DEPLOYMENTS:
        resources = _container(plan, name)["resources"]
        assert set(resources["requests"]) == {"cpu", "memory"}
        assert set(resources["limits"]) == {"memory"}


@pytest.mark.parametrize(
    ("stack", "site_host"),
    [
        ("cloud-dr", "hybridops-dr-eus-ingress.eastus.cloudapp.azure.com"),
        ("onprem-prod", "netbox.onprem.example.net"),
    ],
)
def test_service_ingress_and_disruption_budget(offline_plan, stack, site_host):
    plan = offline_plan(stack)
    ingress = by_k8s_name(plan, INGRESS)["netbox/netbox"].inputs["spec"]
    assert ingress["ingressClassName"] == "nginx"
    assert [r["host"] for r in ingress["rules"]] == ["netbox.example.net", site_host]
    backend = ingress["rules"][0]["http"]["paths"][0]["backend"]
    assert backend == {"service": {"name": "netbox", "port": {"number": 80}}}
    assert ingress["tls"] == [
        {"hosts": ["netbox.example.net", site_host], "secretName": "netbox-tls"}
    ]
    service = by_k8s_name(plan, SERVICE)["netbox/netbox"].inputs["spec"]
    assert service["ports"] == [{"name": "tcp", "port": 80, "targetPort": 8080}]
    web = by_k8s_name(plan, DEPLOYMENT)["netbox/netbox"].inputs["spec"]
    pod_labels = web["template"]["metadata"]["labels"]
    assert service["selector"].items() <= pod_labels.items()
    pdb = by_k8s_name(plan, PDB)["netbox/netbox"].inputs["spec"]
    assert pdb["maxUnavailable"] == 1  # valid at 0 replicas, never blocks a drain outright
    assert pdb["selector"]["matchLabels"].items() <= pod_labels.items()


def test_ingress_name_is_what_the_slo_rules_select(offline_plan):
    """monitoring/rules/leaf-dr-signals.yml computes the NetBox SLO from ingress="netbox"."""
    from components.cluster_monitoring import MONITORING_DIR

    rules = (MONITORING_DIR / "rules" / "leaf-dr-signals.yml").read_text()
    assert 'ingress="netbox"' in rules
    assert "netbox/netbox" in by_k8s_name(offline_plan("cloud-dr"), INGRESS)


def test_cloud_netbox_runs_on_the_dr_pool(offline_plan):
    """The pool that follows drMode is where NetBox is scheduled."""
    plan = offline_plan("cloud-dr")
    pool = plan.get("cloud-pool-dr", "azure-native:containerservice:AgentPool").inputs
    for name in DEPLOYMENTS:
        spec = by_k8s_name(plan, DEPLOYMENT)[name].inputs["spec"]["template"]["spec"]
        assert spec["nodeSelector"] == {"hybridops.io/pool": "dr"}
        assert spec["nodeSelector"].items() <= pool["nodeLabels"].items()


def test_cache_is_reachable_from_netbox_only(offline_plan):
    plan = offline_plan("onprem-prod")
    policy = plan.get("netbox-cache-policy").inputs["spec"]
    cache = by_k8s_name(plan, DEPLOYMENT)["netbox/netbox-valkey"].inputs["spec"]
    assert policy["podSelector"]["matchLabels"] == cache["selector"]["matchLabels"]
    sources = [
        s["podSelector"]["matchLabels"]["app.kubernetes.io/component"]
        for s in policy["ingress"][0]["from"]
    ]
    assert sources == ["web", "worker"]
    assert policy["ingress"][0]["ports"] == [{"protocol": "TCP", "port": 6379}]
