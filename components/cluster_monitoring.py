"""Monitoring: kube-prometheus-stack per cluster, driven by the files in ``monitoring/``.

``monitoring/`` is the one source of truth (monitoring/README.md): this component reads it at
program time and never copies a rule or a scrape job into Python.
- Every cluster runs the site's *leaf* Prometheus (the chart's): external labels, scrape jobs and
  rule files come from ``monitoring/prometheus/leaf-<site>.yml``; the blackbox exporter runs
  beside it on 127.0.0.1:9115 (a sidecar) with ``monitoring/blackbox/blackbox.yml``.
- The *central* Prometheus runs on the cloud cluster: it must outlive an on-prem outage, which is
  the event it exists to detect. It is a second ``Prometheus`` of the same operator, configured
  from ``monitoring/prometheus/central.yml`` (federation jobs, Alertmanagers, rule files).
- Each rule file a config names becomes one ``PrometheusRule`` whose spec *is* the file's YAML,
  selected by the Prometheus that loads it (label ``hybridops.io/prometheus: leaf|central``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import yaml

from components import kube
from components.settings import MonitoringSettings, Site

REPO_DIR = Path(__file__).resolve().parents[1]
MONITORING_DIR = REPO_DIR / "monitoring"
NAMESPACE = "monitoring"
RELEASE = "kps"  # fullnameOverride: short, stable object names (kps-prometheus, kps-operator)
ROLE_LABEL = "hybridops.io/prometheus"
SOURCE_ANNOTATION = "hybridops.io/source"
BLACKBOX_CONFIGMAP = "blackbox-exporter"
BLACKBOX_IMAGE = "quay.io/prometheus/blackbox-exporter:v0.27.0"
CENTRAL_CONFIG_SECRET = "prometheus-central"


@dataclass(frozen=True)
class PrometheusConfig:
    """What this component takes from one ``monitoring/prometheus/*.yml``."""

    path: Path
    external_labels: dict[str, str]
    scrape_interval: str
    evaluation_interval: str
    scrape_configs: list[dict[str, Any]]
    alertmanagers: list[dict[str, Any]]
    rule_files: list[Path]


def load_prometheus_config(path: Path) -> PrometheusConfig:
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    glob = doc.get("global") or {}
    return PrometheusConfig(
        path=path,
        external_labels={str(k): str(v) for k, v in (glob.get("external_labels") or {}).items()},
        scrape_interval=str(glob.get("scrape_interval", "1m")),
        evaluation_interval=str(glob.get("evaluation_interval", "1m")),
        scrape_configs=list(doc.get("scrape_configs") or []),
        alertmanagers=list((doc.get("alerting") or {}).get("alertmanagers") or []),
        # rule_files are relative to the config file, as Prometheus reads them.
        rule_files=[(path.parent / f).resolve() for f in doc.get("rule_files") or []],
    )


def load_rule_file(path: Path) -> dict[str, Any]:
    """A Prometheus rule file is exactly a ``PrometheusRule`` spec (``groups``)."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(doc, dict) or not isinstance(doc.get("groups"), list):
        raise ValueError(f"{path}: not a Prometheus rule file (no 'groups' list)")
    return doc


def source_of(path: Path) -> str:
    """Repository-relative path, for the ``hybridops.io/source`` annotation."""
    return path.resolve().relative_to(REPO_DIR).as_posix()


@dataclass
class MonitoringArgs:
    site: Site
    central: bool
    """Run the central Prometheus on this cluster (the cloud cluster)."""
    settings: MonitoringSettings
    labels: Mapping[str, str]
    managed_control_plane: bool
    """AKS: the control plane components (etcd, scheduler, controller-manager) are not scrapeable."""
    monitoring_dir: Path = MONITORING_DIR


class Monitoring(pulumi.ComponentResource):
    """Leaf Prometheus (and on the cloud cluster the central one) with the DR rules."""

    rule_sources: pulumi.Output[list[str]]

    def __init__(
        self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("hybridops:cluster_monitoring:Monitoring", name, None, opts)
        self._name = name
        self._args = args
        prometheus_dir = args.monitoring_dir / "prometheus"
        leaf = load_prometheus_config(prometheus_dir / f"leaf-{args.site}.yml")

        self.namespace = kube.namespace(f"{name}-ns", NAMESPACE, args.labels, self)
        self._ns = self.namespace.metadata.name
        blackbox = k8s.core.v1.ConfigMap(
            f"{name}-blackbox",
            metadata=kube.metadata(BLACKBOX_CONFIGMAP, args.labels, self._ns),
            data={
                "blackbox.yml": (args.monitoring_dir / "blackbox" / "blackbox.yml").read_text(
                    encoding="utf-8"
                )
            },
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.stack = kube.release(
            f"{name}-kps",
            kube.KUBE_PROMETHEUS_STACK,
            release_name=RELEASE,
            namespace=self._ns,
            values=self._stack_values(leaf),
            parent=self,
            depends_on=[blackbox],
        )
        sources = self._create_rules("leaf", leaf)
        if args.central:
            central = load_prometheus_config(prometheus_dir / "central.yml")
            sources += self._create_rules("central", central)
            self._create_central(central)

        self.rule_sources = pulumi.Output.from_input(sources)
        self.register_outputs({"ruleSources": self.rule_sources})

    def _create_rules(self, role: str, config: PrometheusConfig) -> list[str]:
        sources = []
        for path in config.rule_files:
            source = source_of(path)
            k8s.apiextensions.CustomResource(
                f"{self._name}-rule-{role}-{path.stem}",
                api_version="monitoring.coreos.com/v1",
                kind="PrometheusRule",
                metadata=kube.metadata(
                    path.stem,
                    {**self._args.labels, ROLE_LABEL: role},
                    self._ns,
                    annotations={SOURCE_ANNOTATION: source},
                ),
                spec=load_rule_file(path),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.stack]),
            )
            sources.append(source)
        return sources

    def _stack_values(self, leaf: PrometheusConfig) -> dict[str, Any]:
        args = self._args
        platform = {"tolerations": kube.PLATFORM_TOLERATIONS}
        values: dict[str, Any] = {
            "fullnameOverride": RELEASE,
            "crds": {"enabled": True},
            # Only the rules in monitoring/ (one source of truth); alerts route through the
            # central Prometheus to the Alertmanager HA pair, not through a per-cluster one.
            "defaultRules": {"create": False},
            "alertmanager": {"enabled": False},
            "grafana": {"enabled": False},
            "prometheusOperator": {**platform, "admissionWebhooks": {"patch": platform}},
            "kube-state-metrics": platform,
            "prometheus": {"prometheusSpec": self._leaf_spec(leaf)},
        }
        if args.managed_control_plane:
            for component in ("kubeEtcd", "kubeScheduler", "kubeControllerManager", "kubeProxy"):
                values[component] = {"enabled": False}
        return values

    def _leaf_spec(self, leaf: PrometheusConfig) -> dict[str, Any]:
        settings = self._args.settings
        return {
            "externalLabels": leaf.external_labels,
            # The operator would add prometheus=<ns>/<name> and prometheus_replica and drop our
            # "prometheus" label as reserved: the site's labels must reach /federate unchanged.
            "prometheusExternalLabelNameClear": True,
            "replicaExternalLabelNameClear": True,
            "scrapeInterval": leaf.scrape_interval,
            "evaluationInterval": leaf.evaluation_interval,
            "retention": settings.retention,
            "ruleSelectorNilUsesHelmValues": False,
            "ruleSelector": {"matchLabels": {ROLE_LABEL: "leaf"}},
            "serviceMonitorSelectorNilUsesHelmValues": False,
            "podMonitorSelectorNilUsesHelmValues": False,
            "additionalScrapeConfigs": leaf.scrape_configs,
            # The probes in leaf-<site>.yml go through a blackbox exporter on 127.0.0.1:9115.
            "configMaps": [BLACKBOX_CONFIGMAP],
            "containers": [
                {
                    "name": "blackbox-exporter",
                    "image": BLACKBOX_IMAGE,
                    "args": [
                        "--config.file=/etc/blackbox/blackbox.yml",
                        "--web.listen-address=127.0.0.1:9115",
                    ],
                    "volumeMounts": [
                        # The operator names the volume of spec.configMaps "configmap-<name>".
                        {
                            "name": f"configmap-{BLACKBOX_CONFIGMAP}",
                            "mountPath": "/etc/blackbox",
                            "readOnly": True,
                        }
                    ],
                    "resources": {
                        "requests": {"cpu": "10m", "memory": "32Mi"},
                        "limits": {"memory": "64Mi"},
                    },
                }
            ],
            "resources": settings.prometheus.as_kubernetes(),
            "tolerations": kube.PLATFORM_TOLERATIONS,
            "storageSpec": self._storage(),
        }

    def _storage(self) -> dict[str, Any]:
        settings = self._args.settings
        return {
            "volumeClaimTemplate": {
                "spec": {
                    "storageClassName": settings.storage_class,
                    "accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": f"{settings.storage_gb}Gi"}},
                }
            }
        }

    def _create_central(self, central: PrometheusConfig) -> None:
        args = self._args
        child = pulumi.ResourceOptions(parent=self)
        # The operator takes raw Prometheus config only from a Secret; these hold no credential.
        config = k8s.core.v1.Secret(
            f"{self._name}-central-config",
            metadata=kube.metadata(
                CENTRAL_CONFIG_SECRET,
                args.labels,
                self._ns,
                annotations={SOURCE_ANNOTATION: source_of(central.path)},
            ),
            type="Opaque",
            string_data={
                "scrape-configs.yaml": yaml.safe_dump(central.scrape_configs, sort_keys=False),
                "alertmanager-configs.yaml": yaml.safe_dump(central.alertmanagers, sort_keys=False),
            },
            opts=child,
        )
        k8s.apiextensions.CustomResource(
            f"{self._name}-central",
            api_version="monitoring.coreos.com/v1",
            kind="Prometheus",
            metadata=kube.metadata("central", args.labels, self._ns),
            spec={
                "replicas": 1,
                "serviceAccountName": f"{RELEASE}-prometheus",
                "externalLabels": central.external_labels,
                "prometheusExternalLabelName": "",
                "replicaExternalLabelName": "",
                "scrapeInterval": central.scrape_interval,
                "evaluationInterval": central.evaluation_interval,
                "retention": args.settings.retention,
                "ruleSelector": {"matchLabels": {ROLE_LABEL: "central"}},
                "ruleNamespaceSelector": {
                    "matchLabels": {"kubernetes.io/metadata.name": NAMESPACE}
                },
                # Federation only: no ServiceMonitor/PodMonitor is selected (nil selectors).
                "additionalScrapeConfigs": {
                    "name": CENTRAL_CONFIG_SECRET,
                    "key": "scrape-configs.yaml",
                },
                "additionalAlertManagerConfigs": {
                    "name": CENTRAL_CONFIG_SECRET,
                    "key": "alertmanager-configs.yaml",
                },
                "resources": args.settings.prometheus.as_kubernetes(),
                "tolerations": kube.PLATFORM_TOLERATIONS,
                "securityContext": {
                    "runAsNonRoot": True,
                    "runAsUser": 1000,
                    "runAsGroup": 2000,
                    "fsGroup": 2000,
                },
                "storage": self._storage(),
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.stack, config]),
        )
