"""OnPremSite under the SDK's mocks (through the offline engine)."""

from __future__ import annotations

import ipaddress

import yaml

from components import rke2_cloud_init

VM = "proxmoxve:index/vmLegacy:VmLegacy"
LXC = "proxmoxve:index/containerLegacy:ContainerLegacy"


def test_onprem_plan_has_rke2_vms_and_database_lxcs(offline_plan):
    plan = offline_plan("onprem-prod")
    vms = plan.by_type(VM)
    assert sorted(v.inputs["name"] for v in vms) == [
        "rke2-prod-agt-01",
        "rke2-prod-agt-02",
        "rke2-prod-agt-03",
        "rke2-prod-srv-01",
        "rke2-prod-srv-02",
        "rke2-prod-srv-03",
    ]
    assert sorted(c.name for c in plan.by_type(LXC)) == ["onprem-db-01", "onprem-db-02"]


def test_vms_are_full_clones_of_the_template_spread_over_nodes(offline_plan):
    vms = {v.inputs["name"]: v.inputs for v in offline_plan("onprem-prod").by_type(VM)}
    srv1 = vms["rke2-prod-srv-01"]
    assert srv1["clone"] == {"vmId": 9000, "nodeName": "pve-01", "full": True}
    assert [vms[f"rke2-prod-srv-0{i}"]["nodeName"] for i in (1, 2, 3)] == [
        "pve-01",
        "pve-02",
        "pve-03",
    ]
    assert srv1["vmId"] == 2011 and vms["rke2-prod-agt-03"]["vmId"] == 2023
    assert srv1["cpu"]["cores"] == 4 and srv1["memory"]["dedicated"] == 8192
    assert srv1["disks"][0]["size"] == 80
    assert srv1["networkDevices"] == [{"bridge": "vmbr0", "vlanId": 120, "model": "virtio"}]
    init = srv1["initialization"]
    assert init["ipConfigs"][0]["ipv4"] == {"address": "10.20.120.11/24", "gateway": "10.20.120.1"}
    # cloud-init user data is uploaded as a snippet; its id is only known after deploy
    assert init["userDataFileId"] == "[computed]"


def test_db01_is_unprivileged_with_a_dedicated_data_mount(offline_plan):
    db = offline_plan("onprem-prod").get("onprem-db-01", LXC).inputs
    assert db["unprivileged"] is True
    assert db["protection"] is True
    assert db["mountPoints"] == [
        {"volume": "local-zfs", "size": "200G", "path": "/var/lib/postgresql", "backup": True}
    ]
    assert db["initialization"]["hostname"] == "db-01"


def test_db01_has_no_public_exposure(offline_plan):
    """One interface, on the private server VLAN, firewalled, with a private address; key-only login."""
    plan = offline_plan("onprem-prod")
    for name in ("onprem-db-01", "onprem-db-02"):
        db = plan.get(name, LXC).inputs
        assert db["networkInterfaces"] == [
            {"name": "eth0", "bridge": "vmbr0", "vlanId": 120, "firewall": True}
        ]
        address = db["initialization"]["ipConfigs"][0]["ipv4"]["address"]
        assert ipaddress.ip_interface(address).ip.is_private
        assert "password" not in db["initialization"]["userAccount"]
    standby = plan.get("onprem-db-02", LXC).inputs
    assert standby["protection"] is False


def test_rke2_user_data_bootstraps_first_server_and_joins_others():
    common = dict(
        domain="onprem.example.net",
        rke2_version="v1.31.4+rke2r1",
        token="tok-123",
        first_server_ip="10.20.120.11",
        tls_sans=["10.20.120.11"],
        ssh_authorized_keys=["ssh-ed25519 AAAA test"],
    )
    first = rke2_cloud_init.render_user_data(
        role="server", hostname="s1", node_ip="10.20.120.11", **common
    )
    agent = rke2_cloud_init.render_user_data(
        role="agent", hostname="a1", node_ip="10.20.120.21", **common
    )
    assert first.startswith("#cloud-config\n") and agent.startswith("#cloud-config\n")
    first_doc, agent_doc = yaml.safe_load(first), yaml.safe_load(agent)
    first_cfg = yaml.safe_load(first_doc["write_files"][0]["content"])
    agent_cfg = yaml.safe_load(agent_doc["write_files"][0]["content"])
    assert "server" not in first_cfg
    assert first_cfg["token"] == "tok-123" and first_cfg["tls-san"] == ["10.20.120.11"]
    assert agent_cfg == {
        "token": "tok-123",
        "node-ip": "10.20.120.21",
        "server": "https://10.20.120.11:9345",
    }
    assert first_doc["write_files"][0]["permissions"] == "0600"
    install = agent_doc["runcmd"][1][2]
    assert "INSTALL_RKE2_VERSION=v1.31.4+rke2r1 INSTALL_RKE2_TYPE=agent" in install
    assert agent_doc["runcmd"][2] == ["systemctl", "enable", "--now", "rke2-agent.service"]
