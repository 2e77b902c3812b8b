"""cloud-init user data that installs RKE2 and joins the cluster.

Pure functions of plain values so they can be unit-tested; the component wraps them in
``Output.apply`` so the join token (a secret) keeps the whole document secret.
Docs: https://docs.rke2.io/install/configuration and https://docs.rke2.io/install/ha
"""

from __future__ import annotations

from typing import Literal

import yaml

Role = Literal["server", "agent"]

SUPERVISOR_PORT = 9345
"""RKE2 supervisor (join) port."""


def join_url(first_server_ip: str) -> str:
    return f"https://{first_server_ip}:{SUPERVISOR_PORT}"


def render_user_data(
    *,
    role: Role,
    hostname: str,
    domain: str,
    node_ip: str,
    rke2_version: str,
    token: str,
    first_server_ip: str,
    tls_sans: list[str],
    ssh_authorized_keys: list[str],
) -> str:
    """The ``#cloud-config`` document for one RKE2 node.

    The first server (``node_ip == first_server_ip``) initialises the cluster; every other node
    joins it through the supervisor port with the shared token.
    """
    rke2_config: dict[str, object] = {"token": token, "node-ip": node_ip}
    if node_ip != first_server_ip:
        rke2_config["server"] = join_url(first_server_ip)
    if role == "server":
        rke2_config["tls-san"] = tls_sans
        rke2_config["write-kubeconfig-mode"] = "0600"
        rke2_config["etcd-snapshot-schedule-cron"] = "0 */6 * * *"
        rke2_config["etcd-snapshot-retention"] = 20
    service = f"rke2-{role}.service"
    document = {
        "hostname": hostname,
        "fqdn": f"{hostname}.{domain}",
        "manage_etc_hosts": True,
        "users": [
            {
                "name": "ops",
                "groups": ["sudo"],
                "shell": "/bin/bash",
                "sudo": "ALL=(ALL) NOPASSWD:ALL",
                "ssh_authorized_keys": ssh_authorized_keys,
            }
        ],
        "package_update": True,
        "packages": ["qemu-guest-agent", "curl"],
        "write_files": [
            {
                "path": "/etc/rancher/rke2/config.yaml",
                "permissions": "0600",
                "owner": "root:root",
                "content": yaml.safe_dump(rke2_config, sort_keys=True),
            }
        ],
        "runcmd": [
            ["systemctl", "enable", "--now", "qemu-guest-agent"],
            [
                "sh",
                "-c",
                "curl -sfL https://get.rke2.io | "
                f"INSTALL_RKE2_VERSION={rke2_version} INSTALL_RKE2_TYPE={role} sh -",
            ],
            ["systemctl", "enable", "--now", service],
        ],
    }
    return "#cloud-config\n" + yaml.safe_dump(document, sort_keys=False)
