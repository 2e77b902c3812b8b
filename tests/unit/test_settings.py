"""Config errors name the key and the stack file; valid stacks load."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from components.settings import SettingsError, load_settings
from dr.engines.offline import OfflineEngine
from dr.errors import ConfigError, UsageError
from dr.stack_config import load_stack_config, parse_overrides
from tests.conftest import REPO


def _values(stack: str, **overrides: str) -> dict:
    cfg = load_stack_config(REPO, stack)
    return cfg.with_overrides(
        parse_overrides([f"{k}={v}" for k, v in overrides.items()])
    ).runtime_values()


def test_reference_stacks_load():
    cloud = load_settings(_values("cloud-dr"), source="x")
    assert cloud.site == "cloud" and cloud.dr_mode == "standby" and cloud.cloud is not None
    assert cloud.cloud.aks.dr_pool.active_count == 3
    onprem = load_settings(_values("onprem-prod"), source="x")
    assert onprem.onprem is not None and onprem.onprem.rke2.servers.count == 3


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"drMode": "actve"},
            "stacks/Pulumi.cloud-dr.yaml: hybridops:drMode: Input should be 'standby' or 'active' (got 'actve')",
        ),
        (
            {"trafficTarget": "azure"},
            "hybridops:trafficTarget: Input should be 'onprem' or 'cloud' (got 'azure')",
        ),
        (
            {"cloud.network.vnetCidr": "10.300.0.0/16"},
            "hybridops:cloud.network.vnetCidr: Input is not a valid IPv4 network (got '10.300.0.0/16')",
        ),
        (
            {"cloud.network.aksSubnetCidr": "10.41.0.0/20"},
            "hybridops:cloud.network: Value error, aksSubnetCidr 10.41.0.0/20 is not inside vnetCidr 10.40.0.0/16",
        ),
        (
            {"cloud.vpn.onpremAddressSpaces": "[10.40.128.0/17]"},
            "overlaps network.vnetCidr 10.40.0.0/16",
        ),
        (
            {"cloud.aks.drPool.activeCount": "0"},
            "hybridops:cloud.aks.drPool.activeCount: Input should be greater than or equal to 1 (got '0')",
        ),
        ({"cloud.aks.drPol": "{}"}, "hybridops:cloud.aks.drPol: unknown key (typo?)"),
        (
            {"cloud.storageAccountName": "Has_Upper"},
            "hybridops:cloud.storageAccountName: String should match pattern",
        ),
    ],
)
def test_config_errors_name_the_key_and_the_file(overrides, message):
    with pytest.raises(SettingsError) as err:
        load_settings(_values("cloud-dr", **overrides), source="stacks/Pulumi.cloud-dr.yaml")
    assert message in str(err.value)
    assert str(err.value).startswith("stacks/Pulumi.cloud-dr.yaml: ")


def test_missing_key_is_named():
    values = _values("cloud-dr")
    del values["hybridops:owner"]
    with pytest.raises(SettingsError, match=r"hybridops:owner: required key is missing"):
        load_settings(values, source="stacks/Pulumi.cloud-dr.yaml")


def test_onprem_address_plan_is_checked():
    with pytest.raises(
        SettingsError,
        match=r"database.primary.ip address 10.20.120.11 is already used by rke2.servers\[0\]",
    ):
        load_settings(
            _values("onprem-prod", **{"onprem.database.primary.ip": "10.20.120.11"}), source="f"
        )
    with pytest.raises(
        SettingsError,
        match=r"rke2.agents\[0\] address 10.20.120.255 is the network or broadcast address",
    ):
        load_settings(
            _values("onprem-prod", **{"onprem.rke2.agents.firstIp": "10.20.120.255"}), source="f"
        )
    with pytest.raises(
        SettingsError,
        match=r"rke2.agents\[0\] address 10.20.121.5 is outside network.cidr 10.20.120.0/24",
    ):
        load_settings(
            _values("onprem-prod", **{"onprem.rke2.agents.firstIp": "10.20.121.5"}), source="f"
        )
    with pytest.raises(SettingsError, match=r"servers.count must be odd"):
        load_settings(_values("onprem-prod", **{"onprem.rke2.servers.count": "2"}), source="f")


def test_offline_engine_reports_config_errors_with_stack_file():
    with pytest.raises(
        ConfigError, match=r"^stacks/Pulumi.cloud-dr.yaml: hybridops:drMode: Input should be"
    ):
        OfflineEngine(REPO).plan("cloud-dr", parse_overrides(["drMode=sideways"]))


def test_missing_stack_file_key_names_file(tmp_path: Path):
    project = tmp_path / "proj"
    shutil.copytree(REPO / "stacks", project / "stacks")
    shutil.copy(REPO / "Pulumi.yaml", project / "Pulumi.yaml")
    path = project / "stacks" / "Pulumi.cloud-dr.yaml"
    data = yaml.safe_load(path.read_text())
    del data["config"]["hybridops:costCenter"]
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(
        ConfigError,
        match=r"stacks/Pulumi.cloud-dr.yaml: hybridops:costCenter: required key is missing",
    ):
        OfflineEngine(project).plan("cloud-dr")


def test_missing_secret_names_the_set_command():
    """Under a real engine a missing secret is an error that says how to set it."""
    from components.program import run
    from dr.engines.offline import evaluate

    values = load_stack_config(REPO, "cloud-dr").runtime_values()
    with pytest.raises(
        SettingsError,
        match=r"missing secret hybridops:vpnSharedKey \(set it with: pulumi config set --secret hybridops:vpnSharedKey\)",
    ):
        evaluate(run, stack="cloud-dr", config=values, secret_keys=[])


def test_unknown_stack_lists_known_ones():
    with pytest.raises(
        ConfigError,
        match=r"unknown stack 'nope': no stacks/Pulumi.nope.yaml \(known stacks: cloud-dr, onprem-prod\)",
    ):
        OfflineEngine(REPO).plan("nope")


@pytest.mark.parametrize("item", ["drMode", "=x", "cloud..x=1", ".x=1", "x.=1"])
def test_malformed_set_is_a_usage_error(item):
    with pytest.raises(UsageError, match="expected KEY=VALUE"):
        parse_overrides([item])


def test_set_parses_paths_and_structured_values():
    assert parse_overrides(
        [
            "drMode=active",
            "cloud.aks.drPool.activeCount=5",
            "azure-native:location=westeurope",
            "cloud.vpn.onpremAddressSpaces=[10.1.0.0/16]",
        ]
    ) == {
        "hybridops:drMode": "active",
        "hybridops:cloud.aks.drPool.activeCount": "5",
        "azure-native:location": "westeurope",
        "hybridops:cloud.vpn.onpremAddressSpaces": ["10.1.0.0/16"],
    }


def test_cli_import_does_not_load_pulumi():
    """`hybridops --help` stays fast: the CLI imports no Pulumi SDK at module level."""
    code = "import sys, dr.cli; bad=[m for m in sys.modules if m.split('.')[0] in ('pulumi','pulumi_azure_native','pulumi_proxmoxve','pulumi_kubernetes')]; print(bad)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert out.stdout.strip() == "[]"


# --- the Kubernetes layer ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"kubernetes.drDatabase.source.host": "10.50.0.5"},
            "hybridops:kubernetes.drDatabase.source.host 10.50.0.5 is not in "
            "cloud.vpn.onpremAddressSpaces ['10.20.0.0/16']: the replica could not reach it",
        ),
        (
            {"kubernetes.netbox.image": "docker.io/netboxcommunity/netbox:latest"},
            "hybridops:kubernetes.netbox.image: String should match pattern",
        ),
        (
            {"kubernetes.drDatabase.image": "ghcr.io/cloudnative-pg/postgresql"},
            "hybridops:kubernetes.drDatabase.image: String should match pattern",
        ),
        (
            {"kubernetes.netbox.webReplicas.standby": "4"},
            "hybridops:kubernetes.netbox.webReplicas: Value error, standby (4) is larger than active (3)",
        ),
        (
            {"kubernetes.netbox.web.memoryLimit": "512Mi"},
            "hybridops:kubernetes.netbox.web: Value error, memoryLimit 512Mi is below memoryRequest 768Mi",
        ),
        (
            {"kubernetes.netbox.web.cpuRequest": "half"},
            "hybridops:kubernetes.netbox.web.cpuRequest: String should match pattern",
        ),
        ({"kubernetes.netbx": "{}"}, "hybridops:kubernetes.netbx: unknown key (typo?)"),
        (
            {"kubernetes.drDatabase.promotionToken": "short"},
            "hybridops:kubernetes.drDatabase.promotionToken: String should match pattern",
        ),
        (
            {
                "kubernetes.secrets.keyVault": "{vaultUrl: 'https://kv-x.vault.azure.net/', "
                "tenantId: 3f2a9c1e-7b4d-4e8a-9c21-5d6e7f8a9b0c, clientId: 3f2a9c1e-7b4d-4e8a-9c21-5d6e7f8a9b0c}"
            },
            "hybridops:kubernetes.secrets.keyVault is onprem-only",
        ),
        (
            {"kubernetes.monitoring.retention": "15 days"},
            "hybridops:kubernetes.monitoring.retention: String should match pattern",
        ),
    ],
)
def test_kubernetes_config_errors_name_the_key_and_the_file(overrides, message):
    with pytest.raises(SettingsError) as err:
        load_settings(_values("cloud-dr", **overrides), source="stacks/Pulumi.cloud-dr.yaml")
    assert message in str(err.value)
    assert str(err.value).startswith("stacks/Pulumi.cloud-dr.yaml: ")


def test_cloud_needs_the_replica_cluster():
    values = _values("cloud-dr")
    k8s = json.loads(values["hybridops:kubernetes"])
    del k8s["drDatabase"]
    values["hybridops:kubernetes"] = json.dumps(k8s)
    with pytest.raises(
        SettingsError, match=r"hybridops:kubernetes.drDatabase is required on the cloud site"
    ):
        load_settings(values, source="f")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda k8s: k8s.update(
                drDatabase=json.loads(_values("cloud-dr")["hybridops:kubernetes"])["drDatabase"]
            ),
            "hybridops:kubernetes.drDatabase is cloud-only",
        ),
        (
            lambda k8s: k8s["secrets"].pop("keyVault"),
            "hybridops:kubernetes.secrets.keyVault is required on the onprem site",
        ),
        (
            lambda k8s: k8s["secrets"].update(
                onpremReaderObjectId="7d1e4c2a-5b3f-4a8e-9c6d-2f1a0b9e8d7c"
            ),
            "hybridops:kubernetes.secrets.onpremReaderObjectId belongs in the cloud stack",
        ),
    ],
)
def test_onprem_kubernetes_section_fits_the_site(edit, message):
    values = _values("onprem-prod")
    k8s = json.loads(values["hybridops:kubernetes"])
    edit(k8s)
    values["hybridops:kubernetes"] = json.dumps(k8s)
    with pytest.raises(SettingsError, match=re.escape(message)):
        load_settings(values, source="f")


def test_kubernetes_settings_of_the_reference_stacks():
    cloud = load_settings(_values("cloud-dr"), source="x").kubernetes
    assert cloud is not None and cloud.dr_database is not None
    assert str(cloud.dr_database.source.host) == "10.20.120.31"
    assert (cloud.netbox.web_replicas.count(False), cloud.netbox.web_replicas.count(True)) == (0, 3)
    assert cloud.secrets.key_vault is None
    onprem = load_settings(_values("onprem-prod"), source="x").kubernetes
    assert onprem is not None and onprem.dr_database is None
    assert onprem.secrets.key_vault is not None
    assert onprem.secrets.key_vault.vault_url == "https://kv-hybridops-dr-eus.vault.azure.net/"


def test_onprem_bootstrap_without_kubernetes_needs_no_kubeconfig():
    """Before RKE2 exists there is no kubeconfig: without hybridops:kubernetes the program
    deploys the VMs only and does not ask for the Kubernetes secrets."""
    from components.program import run
    from dr.engines.offline import evaluate

    values = _values("onprem-prod")
    del values["hybridops:kubernetes"]
    settings = load_settings(values, source="f")
    assert settings.secret_keys == ("proxmoxApiToken", "rke2Token")
    secrets = {"hybridops:proxmoxApiToken": "a", "hybridops:rke2Token": "b"}
    regs = evaluate(
        run, stack="onprem-prod", config={**values, **secrets}, secret_keys=sorted(secrets)
    )
    assert regs and not [
        r for r in regs if r.type.startswith(("kubernetes:", "pulumi:providers:kubernetes"))
    ]


def test_missing_kubeconfig_names_the_set_command():
    from components.program import run
    from dr.engines.offline import evaluate

    values = _values("onprem-prod")
    secrets = {
        "hybridops:proxmoxApiToken": "a",
        "hybridops:rke2Token": "b",
        "hybridops:keyVaultClientSecret": "c",
    }
    with pytest.raises(
        SettingsError,
        match=r"missing secret hybridops:rke2Kubeconfig \(set it with: pulumi config set --secret hybridops:rke2Kubeconfig\)",
    ):
        evaluate(
            run, stack="onprem-prod", config={**values, **secrets}, secret_keys=sorted(secrets)
        )
