"""Monitoring: kube-prometheus-stack per cluster, configured from monitoring/ (one source of truth)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from components.cluster_monitoring import MONITORING_DIR, REPO_DIR, load_prometheus_config
from tests.component.kube_support import (
    PROMETHEUS,
    PROMETHEUS_RULE,
    SECRET,
    evaluate_stack,
    planted_secrets,
    release,
    unwrap,
)

RULE_FILES = sorted(
    p.relative_to(REPO_DIR).as_posix() for p in (MONITORING_DIR / "rules").glob("*.yml")
)


def _rules(plan) -> dict[str, dict]:
    """PrometheusRule inputs by their source annotation."""
    out = {}
    for r in plan.by_type(PROMETHEUS_RULE):
        source = r.inputs["metadata"]["annotations"]["hybridops.io/source"]
        assert source not in out, f"two PrometheusRules from {source}"
        out[source] = r.inputs
    return out


@pytest.mark.parametrize("stack", ["cloud-dr", "onprem-prod"])
def test_every_prometheus_rule_is_a_file_in_monitoring(offline_plan, stack):
    """Each PrometheusRule's spec is exactly the YAML of the monitoring/ file it names."""
    rules = _rules(offline_plan(stack))
    assert rules
    for source, rule in rules.items():
        path = REPO_DIR / source
        assert path.parent == MONITORING_DIR / "rules" and path.is_file(), source
        assert rule["spec"] == yaml.safe_load(path.read_text(encoding="utf-8")), source
        assert rule["metadata"]["name"] == path.stem
        assert rule["metadata"]["namespace"] == "monitoring"


def test_rules_are_loaded_where_the_prometheus_configs_say(offline_plan):
    """rule_files of leaf-<site>.yml go to the site's leaf, central.yml's to the central one; the
    cloud cluster (leaf + central) carries every rule file in monitoring/rules/."""
    cloud, onprem = _rules(offline_plan("cloud-dr")), _rules(offline_plan("onprem-prod"))
    assert sorted(cloud) == RULE_FILES
    role = {s: r["metadata"]["labels"]["hybridops.io/prometheus"] for s, r in cloud.items()}
    assert role == {
        "monitoring/rules/central-dr-alerts.yml": "central",
        "monitoring/rules/leaf-dr-signals.yml": "leaf",
    }
    assert sorted(onprem) == ["monitoring/rules/leaf-dr-signals.yml"]
    for site, rules in (("cloud", cloud), ("onprem", onprem)):
        leaf = load_prometheus_config(MONITORING_DIR / "prometheus" / f"leaf-{site}.yml")
        loaded = {p.relative_to(REPO_DIR).as_posix() for p in leaf.rule_files}
        assert loaded == {
            s
            for s, r in rules.items()
            if r["metadata"]["labels"]["hybridops.io/prometheus"] == "leaf"
        }


@pytest.mark.parametrize(
    ("stack", "labels"),
    [
        ("cloud-dr", {"site": "cloud", "prometheus": "leaf-cloud"}),
        ("onprem-prod", {"site": "onprem", "prometheus": "leaf-onprem"}),
    ],
)
def test_leaf_prometheus_per_site(offline_plan, stack, labels):
    """External labels, scrape jobs and the blackbox exporter come from the site's leaf config."""
    plan = offline_plan(stack)
    site = labels["site"]
    leaf = load_prometheus_config(MONITORING_DIR / "prometheus" / f"leaf-{site}.yml")
    kps = release(plan, "kps").inputs
    spec = kps["values"]["prometheus"]["prometheusSpec"]
    assert spec["externalLabels"] == labels == leaf.external_labels
    # the operator must not add or override labels the central Prometheus relies on
    assert spec["prometheusExternalLabelNameClear"] is True
    assert spec["replicaExternalLabelNameClear"] is True
    assert spec["additionalScrapeConfigs"] == leaf.scrape_configs
    assert spec["ruleSelector"] == {"matchLabels": {"hybridops.io/prometheus": "leaf"}}
    (sidecar,) = spec["containers"]
    assert "--web.listen-address=127.0.0.1:9115" in sidecar["args"]
    blackbox = plan.get("monitoring-blackbox").inputs
    assert blackbox["data"] == {
        "blackbox.yml": (MONITORING_DIR / "blackbox" / "blackbox.yml").read_text()
    }
    assert spec["configMaps"] == [blackbox["metadata"]["name"]]
    assert kps["values"]["defaultRules"] == {"create": False}
    assert kps["values"]["alertmanager"] == {"enabled": False}


def test_central_prometheus_runs_on_the_cloud_cluster_only(offline_plan):
    """It must outlive an on-prem outage, the event it exists to detect."""
    cloud, onprem = offline_plan("cloud-dr"), offline_plan("onprem-prod")
    assert onprem.by_type(PROMETHEUS) == []
    (central,) = cloud.by_type(PROMETHEUS)
    spec = central.inputs["spec"]
    config = load_prometheus_config(MONITORING_DIR / "prometheus" / "central.yml")
    assert spec["externalLabels"] == config.external_labels == {"prometheus": "central"}
    assert spec["ruleSelector"] == {"matchLabels": {"hybridops.io/prometheus": "central"}}
    assert spec["additionalScrapeConfigs"] == {
        "name": "prometheus-central",
        "key": "scrape-configs.yaml",
    }
    assert spec["additionalAlertManagerConfigs"] == {
        "name": "prometheus-central",
        "key": "alertmanager-configs.yaml",
    }
    assert (spec["prometheusExternalLabelName"], spec["replicaExternalLabelName"]) == ("", "")


def test_central_federation_job_is_central_yml():
    """The federation jobs and the Alertmanagers the central Prometheus gets are central.yml's."""
    regs = evaluate_stack("cloud-dr", planted_secrets("cloud"))
    (config,) = [r for r in regs if r.type == SECRET and r.name == "monitoring-central-config"]
    data = unwrap(config.inputs)["stringData"]
    central = load_prometheus_config(MONITORING_DIR / "prometheus" / "central.yml")
    scrape = yaml.safe_load(data["scrape-configs.yaml"])
    assert scrape == central.scrape_configs
    assert {job["job_name"] for job in scrape} == {"federate-onprem", "federate-cloud"}
    assert all(job["params"]["match[]"] == ['{__name__=~"dr:.+"}'] for job in scrape)
    assert yaml.safe_load(data["alertmanager-configs.yaml"]) == central.alertmanagers


def test_monitoring_chart_is_pinned(offline_plan):
    for stack in ("cloud-dr", "onprem-prod"):
        kps = release(offline_plan(stack), "kps").inputs
        assert (kps["chart"], kps["version"]) == ("kube-prometheus-stack", "88.2.0")
        assert kps["repositoryOpts"] == {
            "repo": "https://prometheus-community.github.io/helm-charts"
        }


def test_rule_files_are_read_not_copied():
    """No rule expression lives in the component's code (one source of truth)."""
    source = (
        Path(__file__).resolve().parents[2] / "components" / "cluster_monitoring.py"
    ).read_text()
    for path in (MONITORING_DIR / "rules").glob("*.yml"):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                name = rule.get("alert") or rule.get("record")
                assert name not in source, f"{name} is spelled out in cluster_monitoring.py"
