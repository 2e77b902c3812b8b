"""The Kubernetes layer in `hybridops plan --offline --json`, its standby->active diff, and the
properties every Kubernetes object shares."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from components import kube
from dr.cli import main
from tests.component.kube_support import (
    CLUSTER,
    DEPLOYMENT,
    EXTERNAL_SECRET,
    INGRESS,
    K8S_PROVIDER,
    PDB,
    RELEASE,
    SERVICE,
)

EXACT_VERSION = re.compile(r"^\d+\.\d+\.\d+$")


def _plan_json(capsys, *extra: str) -> dict:
    with pytest.raises(SystemExit) as exit_:
        main(["plan", "--stack", "cloud-dr", "--offline", "--json", *extra])
    assert exit_.value.code == 0
    return json.loads(capsys.readouterr().out)


def _k8s(resource: dict) -> tuple[str, str]:
    meta = resource["inputs"]["metadata"]
    return resource["type"], f"{meta.get('namespace', '')}/{meta['name']}"


def test_plan_lists_operators_cluster_netbox_and_external_secrets(capsys):
    data = _plan_json(capsys)
    resources = data["resources"]
    releases = {
        r["inputs"]["name"]: (r["inputs"]["chart"], r["inputs"]["version"])
        for r in resources
        if r["type"] == RELEASE
    }
    assert releases == {
        "cnpg": ("cloudnative-pg", "0.29.0"),
        "external-secrets": ("external-secrets", "2.10.0"),
        "kps": ("kube-prometheus-stack", "88.2.0"),
    }
    objects = {
        _k8s(r) for r in resources if r["type"].startswith("kubernetes:") and r["type"] != RELEASE
    }
    assert {
        (CLUSTER, "postgres/netbox-dr"),
        (DEPLOYMENT, "netbox/netbox"),
        (DEPLOYMENT, "netbox/netbox-worker"),
        (DEPLOYMENT, "netbox/netbox-valkey"),
        (SERVICE, "netbox/netbox"),
        (INGRESS, "netbox/netbox"),
        (PDB, "netbox/netbox"),
        (EXTERNAL_SECRET, "postgres/db-01-replication"),
        (EXTERNAL_SECRET, "postgres/netbox-dr-superuser"),
        (EXTERNAL_SECRET, "netbox/netbox-db"),
        (EXTERNAL_SECRET, "netbox/netbox-app"),
    } <= objects
    (provider,) = [r for r in resources if r["type"] == K8S_PROVIDER]
    assert provider["name"] == "aks"
    assert all(r["op"] == "same" for r in resources)


def test_standby_to_active_changes_exactly_the_expected_resources(capsys):
    """`--set drMode=active`: grow the DR pool, enable the cloud endpoint, promote the replica
    cluster, start NetBox. Nothing else (no operator, secret, volume or monitoring change)."""
    data = _plan_json(capsys, "--set", "drMode=active")
    changed = {(r["type"], r["name"], r["op"]) for r in data["resources"] if r["op"] != "same"}
    assert changed == {
        ("azure-native:containerservice:AgentPool", "cloud-pool-dr", "update"),
        ("azure-native:trafficmanager:Profile", "traffic-tm", "update"),
        (CLUSTER, "db-cluster", "update"),
        (DEPLOYMENT, "netbox-web", "update"),
        (DEPLOYMENT, "netbox-worker", "update"),
        (DEPLOYMENT, "netbox-cache", "update"),
    }
    by_name = {r["name"]: r for r in data["resources"]}
    for name in ("netbox-web", "netbox-worker", "netbox-cache"):
        old, new = by_name[name]["old_inputs"]["spec"], by_name[name]["new_inputs"]["spec"]
        assert old["replicas"] == 0 and new["replicas"] > 0
        assert {**old, "replicas": None} == {**new, "replicas": None}  # only the count changes


@pytest.mark.parametrize("stack", ["cloud-dr", "onprem-prod"])
def test_every_helm_chart_is_pinned(offline_plan, stack):
    """Exact versions (no ranges, no latest) from an https repository, and only known charts."""
    releases = offline_plan(stack).by_type(RELEASE)
    assert releases
    pinned = {(c.chart, c.version, c.repo) for c in kube.CHARTS}
    for r in releases:
        version = r.inputs["version"]
        assert EXACT_VERSION.match(version), f"{r.name}: {version!r} is not an exact version"
        assert (r.inputs["chart"], version, r.inputs["repositoryOpts"]["repo"]) in pinned
        assert r.inputs["repositoryOpts"]["repo"].startswith("https://")


@pytest.mark.parametrize("version", ["~0.29.0", "^2.10", "0.29", ">=88.0.0", "latest", "0.29.x"])
def test_chart_ranges_are_refused(version):
    with pytest.raises(ValueError, match="must be pinned to an exact version"):
        kube.HelmChart(repo="https://example.org/charts", chart="c", version=version)


@pytest.mark.parametrize("stack", ["cloud-dr", "onprem-prod"])
def test_every_image_is_pinned(offline_plan, stack):
    """Container images carry a version tag; none floats."""
    plan = offline_plan(stack)
    images = [
        c["image"]
        for r in plan.by_type(DEPLOYMENT)
        for c in r.inputs["spec"]["template"]["spec"]["containers"]
    ]
    images.append(
        plan.get("db-cluster").inputs["spec"]["imageName"]
    ) if stack == "cloud-dr" else None
    assert images
    for image in images:
        assert re.search(r":v?\d+\.\d+(\.\d+)?[\w.-]*$", image), image


@pytest.mark.parametrize("stack", ["cloud-dr", "onprem-prod"])
def test_every_kubernetes_object_carries_cost_labels(offline_plan, stack):
    """Kubernetes objects take no Azure tags: the cost tags are labels (OpenCost/Kubecost)."""
    plan = offline_plan(stack)
    checked = 0
    for r in plan.resources:
        if not r.type.startswith("kubernetes:") or r.type == RELEASE:
            continue
        labels = r.inputs["metadata"]["labels"]
        assert labels["app.kubernetes.io/managed-by"] == "pulumi", r.name
        assert labels["app.kubernetes.io/part-of"] == "hybridops-dr", r.name
        for key in ("env", "owner", "component", "cost-center"):
            assert labels.get(f"hybridops.io/{key}"), f"{r.type} {r.name} lacks hybridops.io/{key}"
        checked += 1
    assert checked >= (25 if stack == "cloud-dr" else 15)


@pytest.mark.parametrize("stack", ["cloud-dr", "onprem-prod"])
def test_one_provider_per_site_and_objects_inside_components(offline_plan, stack):
    """One program, two clusters: each stack has exactly its cluster's provider (AKS from the
    cluster's credentials, RKE2 from secret config), and every Kubernetes resource is a child of
    a component that was given that provider."""
    from tests.component.kube_support import evaluate_stack, planted_secrets

    site = "cloud" if stack == "cloud-dr" else "onprem"
    regs = evaluate_stack(stack, planted_secrets(site))
    providers = [r for r in regs if r.type == K8S_PROVIDER]
    assert [p.name for p in providers] == ["aks" if site == "cloud" else "rke2"]
    components = {r.urn for r in regs if r.type.startswith("hybridops:")}
    for r in regs:
        if r.type.startswith("kubernetes:"):
            assert r.parent in components, f"{r.name} is not inside a component"


def test_offline_plan_stays_fast():
    """The whole cloud-dr evaluation (Azure + Kubernetes layer) stays well under a second once
    the SDKs are imported: it runs on every PR and twice per what-if."""
    from dr.engines.offline import OfflineEngine

    engine = OfflineEngine(Path(__file__).resolve().parents[2])
    engine.plan("cloud-dr")  # imports and first evaluation
    best = min(_timed(lambda: engine.plan("cloud-dr")) for _ in range(3))
    assert best < 1.0, f"offline plan of cloud-dr took {best:.2f}s"


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start
