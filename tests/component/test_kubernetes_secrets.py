"""SecretsSync: credentials reach the clusters from Key Vault only (offline engine, SDK mocks)."""

from __future__ import annotations

import json

import pytest

from dr.engines.offline import OFFLINE_SECRET_PLACEHOLDER, _plain
from tests.component.kube_support import (
    CLUSTER,
    CLUSTER_SECRET_STORE,
    EXTERNAL_SECRET,
    FIC,
    SECRET,
    by_k8s_name,
    evaluate_stack,
    planted_secrets,
    stack_values,
    unprotected,
    unwrap,
)

CLOUD_SECRETS = {
    "postgres/db-01-replication": (
        "kubernetes.io/basic-auth",
        {"password": "pg-replication-password"},
    ),
    "postgres/netbox-dr-superuser": (
        "kubernetes.io/basic-auth",
        {"password": "pg-superuser-password"},
    ),
    "netbox/netbox-db": ("kubernetes.io/basic-auth", {"password": "netbox-db-password"}),
    "netbox/netbox-app": ("Opaque", {"secret_key": "netbox-secret-key"}),
}
ONPREM_SECRETS = {k: v for k, v in CLOUD_SECRETS.items() if k.startswith("netbox/")}
STATIC_KEYS = {"username": {"streaming_replica", "postgres", "netbox"}}


@pytest.mark.parametrize(
    ("stack", "expected"), [("cloud-dr", CLOUD_SECRETS), ("onprem-prod", ONPREM_SECRETS)]
)
def test_external_secrets_reference_key_vault_only(offline_plan, stack, expected):
    """Each ExternalSecret names Key Vault secrets and the store; its template writes only
    references to them (and non-secret user names)."""
    found = by_k8s_name(offline_plan(stack), EXTERNAL_SECRET)
    assert set(found) == set(expected)
    for key, (secret_type, remote) in expected.items():
        spec = found[key].inputs["spec"]
        assert spec["secretStoreRef"] == {"kind": "ClusterSecretStore", "name": "azure-key-vault"}
        assert spec["data"] == [
            {"secretKey": k, "remoteRef": {"key": v}} for k, v in sorted(remote.items())
        ]
        target = spec["target"]
        assert target["name"] == key.split("/")[1]
        assert target["creationPolicy"] == "Owner"
        assert target["template"]["type"] == secret_type
        for data_key, value in target["template"]["data"].items():
            if data_key in remote:
                assert value == "{{ ." + data_key + " }}"
            else:
                assert value in STATIC_KEYS[data_key]
        assert spec["refreshInterval"] == "1h"


def test_key_vault_secret_names_are_config(offline_plan):
    names = stack_values("cloud-dr")["hybridops:kubernetes"]["secrets"]["names"]
    assert names["netboxDbPassword"] == "netbox-db-password"
    plan = offline_plan("cloud-dr", **{"kubernetes.secrets.names.netboxDbPassword": "nb-pw-2"})
    spec = by_k8s_name(plan, EXTERNAL_SECRET)["netbox/netbox-db"].inputs["spec"]
    assert spec["data"] == [{"secretKey": "password", "remoteRef": {"key": "nb-pw-2"}}]


def test_cnpg_cluster_uses_the_synced_secrets(offline_plan):
    """The names the Cluster refers to are the targets of ExternalSecrets in its namespace."""
    plan = offline_plan("cloud-dr")
    spec = plan.get("db-cluster", CLUSTER).inputs["spec"]
    synced = set(by_k8s_name(plan, EXTERNAL_SECRET))
    assert f"postgres/{spec['superuserSecret']['name']}" in synced
    assert f"postgres/{spec['externalClusters'][0]['password']['name']}" in synced


@pytest.mark.parametrize("stack", ["cloud-dr", "onprem-prod"])
def test_no_secret_manifest_carries_a_credential(stack):
    """Plant a recognisable value in every secret config key: it never shows in any resource's
    plan inputs, never sits unprotected in any input, and the only Kubernetes Secret that holds
    one at all is the on-prem service principal's bootstrap credential (as a Pulumi secret)."""
    site = "cloud" if stack == "cloud-dr" else "onprem"
    planted = planted_secrets(site)
    needles = set(planted.values())
    for dr_mode in ("standby", "active") if site == "cloud" else ("standby",):
        regs = evaluate_stack(stack, planted, drMode=dr_mode)
        shown = json.dumps([_plain(r.inputs) for r in regs])
        assert not any(n in shown for n in needles)
        for r in regs:
            assert unprotected(r.inputs, needles) == [], f"{r.type} {r.name} leaks a secret"
        manifests = [r for r in regs if r.type in (SECRET, EXTERNAL_SECRET, CLUSTER_SECRET_STORE)]
        holders = {
            r.name for r in manifests if any(n in json.dumps(unwrap(r.inputs)) for n in needles)
        }
        assert holders == ({"secrets-sp-credentials"} if site == "onprem" else set())


@pytest.mark.parametrize("stack", ["cloud-dr", "onprem-prod"])
def test_offline_placeholder_is_absent(offline_plan, stack):
    """The offline engine's own placeholder secrets do not show either."""
    text = offline_plan(stack).model_dump_json()
    assert OFFLINE_SECRET_PLACEHOLDER not in text


def test_cloud_store_uses_workload_identity(offline_plan):
    plan = offline_plan("cloud-dr")
    store = plan.get("secrets-store", CLUSTER_SECRET_STORE).inputs
    assert store["metadata"]["name"] == "azure-key-vault"
    azurekv = store["spec"]["provider"]["azurekv"]
    assert azurekv == {
        "authType": "WorkloadIdentity",
        "vaultUrl": "https://kv-hybridops-dr-eus.vault.azure.net/",  # CloudDrSite.key_vault_uri
        "tenantId": "3f2a9c1e-7b4d-4e8a-9c21-5d6e7f8a9b0c",
        "serviceAccountRef": {"name": "keyvault-reader", "namespace": "external-secrets"},
    }
    assert store["spec"]["conditions"] == [{"namespaces": ["postgres", "netbox"]}]
    sa = plan.get("secrets-sa-reader").inputs["metadata"]
    assert (sa["namespace"], sa["name"]) == ("external-secrets", "keyvault-reader")
    assert sa["annotations"]["azure.workload.identity/client-id"] == "[computed]"
    fic = plan.get("secrets-fic-reader", FIC).inputs
    assert fic["subject"] == "system:serviceaccount:external-secrets:keyvault-reader"
    # Key Vault Secrets User for the identity and for the on-prem service principal
    readers = {
        r.name: r.inputs["principalId"]
        for r in plan.by_type("azure-native:authorization:RoleAssignment")
        if r.name.startswith("secrets-ra-kv-")
    }
    assert readers == {
        "secrets-ra-kv-reader": "[computed]",
        "secrets-ra-kv-reader-1": "7d1e4c2a-5b3f-4a8e-9c6d-2f1a0b9e8d7c",
    }
    assert plan.by_type(SECRET) == [plan.get("monitoring-central-config", SECRET)]


def test_onprem_store_uses_the_service_principal(offline_plan):
    plan = offline_plan("onprem-prod")
    azurekv = plan.get("secrets-store", CLUSTER_SECRET_STORE).inputs["spec"]["provider"]["azurekv"]
    ref = {"name": "azure-keyvault-reader", "namespace": "external-secrets"}
    assert azurekv == {
        "authType": "ServicePrincipal",
        "vaultUrl": "https://kv-hybridops-dr-eus.vault.azure.net/",
        "tenantId": "3f2a9c1e-7b4d-4e8a-9c21-5d6e7f8a9b0c",
        "authSecretRef": {
            "clientId": {**ref, "key": "client-id"},
            "clientSecret": {**ref, "key": "client-secret"},
        },
    }
    credentials = plan.get("secrets-sp-credentials", SECRET).inputs
    assert credentials["stringData"] == "[secret]"
    assert credentials["metadata"]["namespace"] == "external-secrets"
    assert plan.by_type(FIC) == []


def test_operator_is_a_pinned_release(offline_plan):
    from tests.component.kube_support import release

    for stack in ("cloud-dr", "onprem-prod"):
        eso = release(offline_plan(stack), "external-secrets").inputs
        assert (eso["chart"], eso["version"]) == ("external-secrets", "2.10.0")
        assert eso["repositoryOpts"] == {"repo": "https://charts.external-secrets.io"}
        assert eso["namespace"] == "external-secrets"


def test_secrets_sync_needs_exactly_one_way_to_authenticate():
    from components.secrets_sync import SecretsSync, SecretsSyncArgs
    from dr.engines.offline import evaluate

    def program() -> None:
        SecretsSync(
            "t",
            SecretsSyncArgs(
                vault_url="https://kv.vault.azure.net/",
                tenant_id="t",
                namespaces=[],
                secrets=[],
                refresh_interval="1h",
                labels={},
            ),
        )

    with pytest.raises(ValueError, match="exactly one of workload_identity, service_principal"):
        evaluate(program, stack="t", config={}, secret_keys=[])
