"""Shared pieces of the Kubernetes layer: a provider per cluster, the pinned Helm charts, helpers.

Provider: pulumi-kubernetes 4.x (https://www.pulumi.com/registry/packages/kubernetes/).
Operators are ``helm.v3.Release`` resources (Helm installs their CRDs server-side); the objects
this program owns (namespaces, CNPG ``Cluster``, ``ExternalSecret``, NetBox) are plain resources,
so a preview lists each of them and the cost engine sees them one by one.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

_EXACT_VERSION = re.compile(r"^\d+\.\d+\.\d+$")


@dataclass(frozen=True)
class HelmChart:
    """A chart pinned to one exact version: no range, no ``latest``, so a preview is reproducible."""

    repo: str
    chart: str
    version: str

    def __post_init__(self) -> None:
        if not _EXACT_VERSION.match(self.version):
            raise ValueError(
                f"chart {self.chart} must be pinned to an exact version, got {self.version!r}"
            )


# Chart versions, with the app version they ship. Upgrade deliberately: read the chart's release
# notes and the operator's upgrade notes first.
CLOUDNATIVE_PG = HelmChart(
    # operator 1.30.0; https://github.com/cloudnative-pg/charts/releases/tag/cloudnative-pg-v0.29.0
    repo="https://cloudnative-pg.github.io/charts",
    chart="cloudnative-pg",
    version="0.29.0",
)
EXTERNAL_SECRETS = HelmChart(
    # https://github.com/external-secrets/external-secrets/releases/tag/v2.10.0
    repo="https://charts.external-secrets.io",
    chart="external-secrets",
    version="2.10.0",
)
KUBE_PROMETHEUS_STACK = HelmChart(
    # https://github.com/prometheus-community/helm-charts/releases/tag/kube-prometheus-stack-88.2.0
    repo="https://prometheus-community.github.io/helm-charts",
    chart="kube-prometheus-stack",
    version="88.2.0",
)
CHARTS = (CLOUDNATIVE_PG, EXTERNAL_SECRETS, KUBE_PROMETHEUS_STACK)

PLATFORM_TOLERATIONS: list[dict[str, str]] = [{"key": "CriticalAddonsOnly", "operator": "Exists"}]
"""Operators and monitoring run on the AKS system pool (tainted ``CriticalAddonsOnly``): in standby
it is the only pool with nodes besides the database's. Harmless on RKE2 (no such taint)."""


def aks_provider(
    name: str,
    *,
    resource_group_name: pulumi.Input[str],
    cluster_name: pulumi.Input[str],
    opts: pulumi.ResourceOptions | None = None,
) -> k8s.Provider:
    """A provider for an AKS cluster, from the cluster's user credentials.

    The invoke's inputs are outputs of the cluster: unknown during a preview of a new cluster, so
    the SDK skips the call (and the offline engine never needs a provider function).
    https://learn.microsoft.com/rest/api/aks/managed-clusters/list-cluster-user-credentials
    """
    import pulumi_azure_native as azure

    credentials = azure.containerservice.list_managed_cluster_user_credentials_output(
        resource_group_name=resource_group_name, resource_name=cluster_name
    )
    kubeconfig: pulumi.Output[str] = pulumi.Output.secret(
        credentials.apply(lambda c: base64.b64decode(c.kubeconfigs[0].value).decode())
    )
    return k8s.Provider(
        name,
        kubeconfig=kubeconfig,
        enable_server_side_apply=True,
        opts=opts,
    )


def rke2_provider(
    name: str, *, kubeconfig: pulumi.Input[str], opts: pulumi.ResourceOptions | None = None
) -> k8s.Provider:
    """A provider for the RKE2 cluster from its kubeconfig, a secret config value."""
    return k8s.Provider(
        name,
        kubeconfig=pulumi.Output.secret(kubeconfig),
        enable_server_side_apply=True,
        opts=opts,
    )


def metadata(
    name: str,
    labels: Mapping[str, str],
    namespace: pulumi.Input[str] | None = None,
    *,
    annotations: Mapping[str, pulumi.Input[str]] | None = None,
) -> k8s.meta.v1.ObjectMetaArgs:
    """Explicit names everywhere: other objects refer to them (no auto-naming suffix)."""
    return k8s.meta.v1.ObjectMetaArgs(
        name=name,
        labels=dict(labels),
        namespace=namespace,
        annotations=dict(annotations) if annotations is not None else None,
    )


def namespace(
    resource_name: str, name: str, labels: Mapping[str, str], parent: pulumi.Resource
) -> k8s.core.v1.Namespace:
    return k8s.core.v1.Namespace(
        resource_name,
        metadata=metadata(name, labels),
        opts=pulumi.ResourceOptions(parent=parent),
    )


def release(
    resource_name: str,
    chart: HelmChart,
    *,
    release_name: str,
    namespace: pulumi.Input[str],
    values: Mapping[str, Any],
    parent: pulumi.Resource,
    depends_on: Sequence[pulumi.Resource] = (),
) -> k8s.helm.v3.Release:
    """An operator chart as a Helm release (Helm installs and upgrades its CRDs)."""
    return k8s.helm.v3.Release(
        resource_name,
        name=release_name,
        chart=chart.chart,
        version=chart.version,
        repository_opts={"repo": chart.repo},
        namespace=namespace,
        values=dict(values),
        create_namespace=False,  # the namespace is a resource of its own, with our labels
        cleanup_on_fail=True,
        timeout=900,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on)),
    )
