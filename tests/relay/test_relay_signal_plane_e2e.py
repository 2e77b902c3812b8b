"""The signal plane end to end with the real Debian binaries on 127.0.0.1.

fake Jenkins <- blackbox exporter <- leaf Prometheus --federate--> central Prometheus
    -> Alertmanager (alone)          -> relay A -> loopback GitHub A
    -> Alertmanager HA pair (2, gossiping) -> relay B -> loopback GitHub B
    (both Alertmanagers also notify a human webhook sink: `continue: true`)

One incident: kill the Jenkins target, then restore it. Each path must deliver exactly one
dr-cutover within the alert's `for:` + 10 s and, after the restore, exactly one dr-recovered and
no second cutover, despite repeats (repeat_interval 4s), the HA pair's duplicates and a relay
killed with SIGKILL and restarted in the middle (its ledger is on disk).
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from lab_stack import Proc, fake_jenkins, query, stack, wait_until, webhook_sink
from relay_helpers import AUTH_TOKEN, GITHUB_TOKEN, free_port, hybridops

from dr.monitoring import (
    MONITORING_DIR,
    localize_alertmanager_config,
    localize_prometheus_config,
    render_rules,
)
from dr.relay.github_stub import GitHubStub

FOR = 5  # seconds: jenkins_critical_down's `for:` in this test (production: 5m)
FIRE_BUDGET = FOR + 10


def _metric(base: str, name: str) -> float:
    text = httpx.get(base + "/metrics", timeout=5).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.split(" ")[0].startswith(name)
    )


@pytest.mark.integration
@pytest.mark.timeout(180)
def test_kill_and_restore_jenkins_one_cutover_one_recovery(tmp_path: Path) -> None:
    rules = render_rules(
        tmp_path / "rules", for_override={"jenkins_critical_down": f"{FOR}s"}, interval="1s"
    )
    leaf_rules = [p for p in rules if p.name == "leaf-dr-signals.yml"]
    central_rules = [p for p in rules if p.name == "central-dr-alerts.yml"]
    (tmp_path / "relay-token").write_text(AUTH_TOKEN)
    (tmp_path / "github-token").write_text(GITHUB_TOKEN)

    jenkins = fake_jenkins().start()
    human = webhook_sink().start()
    with (
        stack(tmp_path) as lab,
        GitHubStub(token=GITHUB_TOKEN) as gh_a,
        GitHubStub(token=GITHUB_TOKEN) as gh_b,
    ):
        try:
            # --- relays (A behind the lone Alertmanager, B behind the HA pair)
            relays: dict[str, tuple[int, Proc]] = {}
            for name, gh in (("relay-a", gh_a), ("relay-b", gh_b)):
                port = free_port()
                cmd = hybridops(
                    "relay",
                    "serve",
                    "--port",
                    str(port),
                    "--repo",
                    "hybridops/dr",
                    "--github-api-url",
                    gh.url,
                    "--github-token-file",
                    str(tmp_path / "github-token"),
                    "--auth-token-file",
                    str(tmp_path / "relay-token"),
                    "--state-dir",
                    str(tmp_path / f"{name}-state"),
                )
                relays[name] = (port, lab.run(name, cmd, f"http://127.0.0.1:{port}/healthz"))

            # --- Alertmanagers, with the committed routing and loopback receivers
            def am_config(relay_port: int, name: str) -> Path:
                return localize_alertmanager_config(
                    MONITORING_DIR / "alertmanager" / "alertmanager.yml",
                    tmp_path / f"{name}.yml",
                    webhook_urls={
                        "platform-oncall": f"http://127.0.0.1:{human.port}/",
                        "dr-relay": f"http://127.0.0.1:{relay_port}/alertmanager",
                    },
                    credentials_file=tmp_path / "relay-token",
                    group_wait="1s",
                    group_interval="2s",
                    repeat_interval="4s",
                )

            am_solo = lab.alertmanager("am-solo", am_config(relays["relay-a"][0], "am-solo"))
            c1, c2 = free_port(), free_port()
            ha_cfg = am_config(relays["relay-b"][0], "am-ha")
            am_ha1 = lab.alertmanager("am-ha1", ha_cfg, cluster_port=c1, peers=[c2])
            am_ha2 = lab.alertmanager("am-ha2", ha_cfg, cluster_port=c2, peers=[c1])
            wait_until(
                lambda: (
                    len(httpx.get(f"http://{am_ha1}/api/v2/status").json()["cluster"]["peers"]) == 2
                ),
                30,
                "the Alertmanager HA pair to see each other",
            )

            # --- leaf and central Prometheus, from the committed configs
            blackbox = lab.blackbox(MONITORING_DIR / "blackbox" / "blackbox.yml")
            leaf_port = free_port()
            leaf_cfg = localize_prometheus_config(
                MONITORING_DIR / "prometheus" / "leaf-onprem.yml",
                tmp_path / "leaf.yml",
                targets={
                    "jenkins-login": [f"http://127.0.0.1:{jenkins.port}/login"],
                    "prometheus": [f"127.0.0.1:{leaf_port}"],
                },
                rule_files=leaf_rules,
                blackbox_address=blackbox,
                scrape_interval="1s",
                evaluation_interval="1s",
            )
            leaf = lab.prometheus("leaf-onprem", leaf_cfg)
            central_cfg = localize_prometheus_config(
                MONITORING_DIR / "prometheus" / "central.yml",
                tmp_path / "central.yml",
                targets={"federate-onprem": [leaf]},
                rule_files=central_rules,
                alertmanagers=[am_solo, am_ha1, am_ha2],
                scrape_interval="1s",
                evaluation_interval="1s",
            )
            central = lab.prometheus("central", central_cfg)
            wait_until(
                lambda: (
                    [
                        s["value"][1]
                        for s in query(central, 'dr:jenkins_login_probe:success{site="onprem"}')
                    ]
                    == ["1"]
                ),
                60,
                "the federated Jenkins signal at the central Prometheus",
            )
            assert gh_a.dispatches == gh_b.dispatches == []

            # --- kill the target: one cutover per path within for + 10 s
            killed = time.time()
            jenkins.stop()
            wait_until(
                lambda: gh_a.events("dr-cutover") and gh_b.events("dr-cutover"),
                FIRE_BUDGET + 5,
                "dr-cutover on both paths",
            )
            for label, gh in (("lone Alertmanager", gh_a), ("HA pair", gh_b)):
                took = gh.events("dr-cutover")[0].received_at - killed
                print(f"dr-cutover via the {label}: {took:.1f}s after the kill")
                assert took <= FIRE_BUDGET, f"dr-cutover via the {label} took {took:.1f}s"
            cut = gh_a.events("dr-cutover")[0].client_payload
            assert cut["alertname"] == "jenkins_critical_down"
            assert cut["site"] == "onprem"
            assert cut["runbook_url"] == "docs/runbooks/jenkins-controller-outage.md"
            assert cut["drill"] is False

            # --- SIGKILL relay A and restart it on the same port and state dir
            port_a, proc_a = relays["relay-a"]
            proc_a.stop(kill=True)
            restarted = lab.run("relay-a2", proc_a.cmd, f"http://127.0.0.1:{port_a}/healthz")
            # repeats (repeat_interval 4s) and HA duplicates arrive and are dropped
            wait_until(
                lambda: (
                    _metric(f"http://127.0.0.1:{port_a}", "hybridops_relay_deduplicated_total") >= 1
                ),
                20,
                "a repeat notification at the restarted relay A",
            )
            assert restarted.alive()
            assert len(gh_a.events("dr-cutover")) == 1
            assert len(gh_b.events("dr-cutover")) == 1

            # --- restore: one dr-recovered per path, never a second cutover
            jenkins.start()
            wait_until(
                lambda: gh_a.events("dr-recovered") and gh_b.events("dr-recovered"),
                30,
                "dr-recovered on both paths",
            )
            time.sleep(6)  # room for late duplicates and stale "firing" from the HA pair
            for label, gh in (("lone Alertmanager", gh_a), ("HA pair", gh_b)):
                assert [d.event_type for d in gh.dispatches] == ["dr-cutover", "dr-recovered"], (
                    label
                )
            recovered = gh_b.events("dr-recovered")[0].client_payload
            assert recovered["status"] == "resolved"
            assert (
                recovered["fingerprint"]
                == gh_b.events("dr-cutover")[0].client_payload["fingerprint"]
            )
            assert recovered["startsAt"] == gh_b.events("dr-cutover")[0].client_payload["startsAt"]

            # the humans were paged too (route `continue: true`)
            paged = [a["labels"]["alertname"] for body in human.received for a in body["alerts"]]
            assert "jenkins_critical_down" in paged
            for name, (port, _) in relays.items():
                base = f"http://127.0.0.1:{port}"
                assert _metric(base, "hybridops_relay_rejected_total") == 0
                print(
                    name,
                    "received:",
                    _metric(base, "hybridops_relay_notifications_received_total"),
                    "deduplicated:",
                    _metric(base, "hybridops_relay_deduplicated_total"),
                )
        except BaseException:
            print(lab.logs())
            raise
        finally:
            jenkins.stop()
            human.stop()
