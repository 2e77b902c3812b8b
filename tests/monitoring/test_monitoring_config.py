"""monitoring/ is valid for the real tools and keeps the DR contracts.

promtool/amtool/blackbox_exporter are the Debian packages `prometheus`,
`prometheus-alertmanager` and `prometheus-blackbox-exporter`.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from dr.monitoring import (
    MONITORING_DIR,
    localize_alertmanager_config,
    localize_prometheus_config,
    render_rules,
)

RUNBOOKS = {
    "docs/runbooks/dr-cutover.md",
    "docs/runbooks/dr-failback.md",
    "docs/runbooks/cost-guardrail-breach.md",
    "docs/runbooks/jenkins-controller-outage.md",
    "docs/runbooks/db-01-failover.md",
}
PROM_CONFIGS = ["central.yml", "leaf-onprem.yml", "leaf-cloud.yml"]


def _tool(name: str) -> str:
    path = shutil.which(name) or f"/usr/bin/{name}"
    assert Path(path).exists(), f"{name} missing: apt-get install its Debian package"
    return path


def _run(*cmd: str, cwd: Path | None = None) -> str:
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=cwd)
    assert result.returncode == 0, f"{' '.join(cmd)}\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def _alerts() -> list[dict[str, Any]]:
    doc = _yaml(MONITORING_DIR / "rules" / "central-dr-alerts.yml")
    return [r for g in doc["groups"] for r in g["rules"] if "alert" in r]


@pytest.mark.parametrize("test_file", ["leaf-dr-signals.test.yml", "central-dr-alerts.test.yml"])
def test_promtool_rule_unit_tests_pass(test_file: str) -> None:
    """`promtool test rules` on the committed unit tests."""
    out = _run(_tool("promtool"), "test", "rules", test_file, cwd=MONITORING_DIR / "tests")
    assert "SUCCESS" in out


@pytest.mark.parametrize("config", PROM_CONFIGS)
def test_promtool_check_config(config: str) -> None:
    """`promtool check config` (which also checks the rule files it names)."""
    _run(_tool("promtool"), "check", "config", str(MONITORING_DIR / "prometheus" / config))


def test_amtool_check_config() -> None:
    out = _run(
        _tool("amtool"), "check-config", str(MONITORING_DIR / "alertmanager" / "alertmanager.yml")
    )
    assert "SUCCESS" in out


def test_blackbox_config_check() -> None:
    _run(
        _tool("prometheus-blackbox-exporter"),
        f"--config.file={MONITORING_DIR / 'blackbox' / 'blackbox.yml'}",
        "--config.check",
    )


def test_every_alert_has_a_unit_test_that_fires_and_one_that_does_not() -> None:
    """Each alert name appears in promtool tests with a firing and an empty expectation."""
    doc = _yaml(MONITORING_DIR / "tests" / "central-dr-alerts.test.yml")
    cases = [c for t in doc["tests"] for c in t.get("alert_rule_test", [])]
    for name in {a["alert"] for a in _alerts()}:
        mine = [c for c in cases if c["alertname"] == name]
        assert any(c["exp_alerts"] for c in mine), f"{name}: no firing case"
        assert any(not c["exp_alerts"] for c in mine), f"{name}: no quiet/resolved case"


def test_alert_contracts() -> None:
    """Severity, summary, description and a runbook_url from the agreed list on every alert;
    only jenkins_critical_down and control_plane_unhealthy trigger a cutover."""
    alerts = _alerts()
    assert {a["alert"] for a in alerts} == {
        "jenkins_critical_down",
        "control_plane_unhealthy",
        "netbox_slo_burn_rate",
        "dr_signal_stale",
    }
    for rule in alerts:
        assert rule["labels"]["severity"] in {"critical", "page", "ticket"}
        assert {"summary", "description", "runbook_url"} <= set(rule["annotations"])
        assert rule["annotations"]["runbook_url"] in RUNBOOKS
    cutover = {a["alert"] for a in alerts if a["labels"].get("dr_action") == "cutover"}
    assert cutover == {"jenkins_critical_down", "control_plane_unhealthy"}
    assert all(a["labels"].get("dr_action") in (None, "cutover") for a in alerts)
    # production values in the committed file
    assert {a["alert"]: a["for"] for a in alerts if a["labels"].get("dr_action")} == {
        "jenkins_critical_down": "5m",
        "control_plane_unhealthy": "5m",
    }


def test_central_federates_only_the_dr_signal_set() -> None:
    """honor_labels: true, honor_timestamps: false, match[] only dr:* series."""
    doc = _yaml(MONITORING_DIR / "prometheus" / "central.yml")
    federate = [j for j in doc["scrape_configs"] if j.get("metrics_path") == "/federate"]
    assert {j["job_name"] for j in federate} == {"federate-onprem", "federate-cloud"}
    assert doc["scrape_configs"] == federate
    for job in federate:
        assert job["honor_labels"] is True
        assert job["honor_timestamps"] is False
        assert job["params"]["match[]"] == ['{__name__=~"dr:.+"}']


def test_leaves_label_their_site() -> None:
    for site in ("onprem", "cloud"):
        doc = _yaml(MONITORING_DIR / "prometheus" / f"leaf-{site}.yml")
        assert doc["global"]["external_labels"]["site"] == site
        jobs = {j["job_name"] for j in doc["scrape_configs"]}
        assert {"jenkins-login", "rke2-readyz", "kube-state-metrics", "ingress-nginx"} <= jobs


def test_alertmanager_routes_dr_alerts_to_humans_then_the_relay() -> None:
    doc = _yaml(MONITORING_DIR / "alertmanager" / "alertmanager.yml")
    human, relay = doc["route"]["routes"][:2]
    assert human["matchers"] == relay["matchers"] == ['dr_action="cutover"']
    assert human["receiver"] == "platform-oncall" and human["continue"] is True
    assert relay["receiver"] == "dr-relay"
    [hook] = next(r for r in doc["receivers"] if r["name"] == "dr-relay")["webhook_configs"]
    assert hook["send_resolved"] is True
    assert hook["url"].endswith("/alertmanager")
    assert hook["http_config"] == {
        "authorization": {
            "type": "Bearer",
            "credentials_file": "/etc/alertmanager/secrets/relay-token",
        }
    }


def test_rendered_rules_override_for_and_interval_and_stay_valid(tmp_path: Path) -> None:
    """render_rules: every `for:` and group interval replaced; promtool accepts the copies."""
    paths = render_rules(tmp_path, for_override="10s", interval="1s")
    for path in paths:
        _run(_tool("promtool"), "check", "rules", str(path))
        for group in _yaml(path)["groups"]:
            assert group["interval"] == "1s"
            assert all(r.get("for", "10s") == "10s" for r in group["rules"])
    only = render_rules(tmp_path / "one", for_override={"jenkins_critical_down": "5s"})
    alerts = [r for g in _yaml(only[0])["groups"] for r in g["rules"] if "alert" in r]
    assert {
        a["alert"]: a["for"]
        for a in alerts
        if a["alert"] in ("jenkins_critical_down", "control_plane_unhealthy")
    } == {
        "jenkins_critical_down": "5s",
        "control_plane_unhealthy": "5m",
    }
    # the committed files are untouched
    assert "for: 5m" in (MONITORING_DIR / "rules" / "central-dr-alerts.yml").read_text()


def test_localized_configs_stay_valid(tmp_path: Path) -> None:
    """The lab's loopback copies pass promtool and amtool too."""
    rules = render_rules(tmp_path / "rules", for_override="10s", interval="1s")
    leaf = localize_prometheus_config(
        MONITORING_DIR / "prometheus" / "leaf-onprem.yml",
        tmp_path / "leaf.yml",
        targets={"jenkins-login": ["http://127.0.0.1:8080/login"]},
        rule_files=[rules[1]],
        blackbox_address="127.0.0.1:9115",
        scrape_interval="1s",
        evaluation_interval="1s",
    )
    central = localize_prometheus_config(
        MONITORING_DIR / "prometheus" / "central.yml",
        tmp_path / "central.yml",
        targets={"federate-onprem": ["127.0.0.1:9090"]},
        rule_files=[rules[0]],
        alertmanagers=["127.0.0.1:9093"],
        scrape_interval="1s",
        evaluation_interval="1s",
    )
    (tmp_path / "token").write_text("t")
    am = localize_alertmanager_config(
        MONITORING_DIR / "alertmanager" / "alertmanager.yml",
        tmp_path / "am.yml",
        webhook_urls={
            "platform-oncall": "http://127.0.0.1:1/",
            "dr-relay": "http://127.0.0.1:2/alertmanager",
        },
        credentials_file=tmp_path / "token",
        group_wait="1s",
        group_interval="1s",
        repeat_interval="5s",
    )
    for config in (leaf, central):
        _run(_tool("promtool"), "check", "config", str(config))
    _run(_tool("amtool"), "check-config", str(am))
    leaf_doc = _yaml(leaf)
    [job] = leaf_doc["scrape_configs"]
    assert job["relabel_configs"][-1] == {
        "target_label": "__address__",
        "replacement": "127.0.0.1:9115",
    }
    assert leaf_doc["global"]["external_labels"] == {"site": "onprem", "prometheus": "leaf-onprem"}
    am_doc = _yaml(am)
    assert am_doc["route"]["routes"][1]["group_interval"] == "1s"
    assert am_doc["route"]["routes"][0]["continue"] is True
