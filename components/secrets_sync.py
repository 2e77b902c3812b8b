"""SecretsSync: External Secrets Operator with a ClusterSecretStore for the cloud Key Vault, the
application namespaces, and the ExternalSecrets that fill them.

Credentials live in Key Vault only: the Kubernetes Secrets are written by the operator from Key
Vault, never by Pulumi, so no password is part of a stack file, the state or a plan.
- AKS: workload identity. A user-assigned identity with a federated credential on the cluster's
  OIDC issuer for one service account, granted Key Vault Secrets User on the vault.
  https://learn.microsoft.com/azure/aks/workload-identity-overview
- RKE2: a service principal; its client secret is a Pulumi secret from config.
  https://external-secrets.io/latest/provider/azure-key-vault/
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components import kube

NAMESPACE = "external-secrets"
STORE_NAME = "azure-key-vault"
READER_SERVICE_ACCOUNT = "keyvault-reader"
SP_CREDENTIALS_SECRET = "azure-keyvault-reader"
# https://learn.microsoft.com/entra/workload-id/workload-identity-federation-create-trust
TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"


@dataclass(frozen=True)
class SyncedSecret:
    """One Kubernetes Secret filled from Key Vault."""

    namespace: str
    name: str
    remote: Mapping[str, str]
    """Secret key -> Key Vault secret name."""
    type: str = "Opaque"
    static: Mapping[str, str] = field(default_factory=dict)
    """Non-secret keys written as they are (a user name beside its password)."""


@dataclass(frozen=True)
class WorkloadIdentity:
    """AKS: what the federated identity needs (all Azure-side)."""

    identity_name: str
    resource_group_name: pulumi.Input[str]
    location: str
    oidc_issuer_url: pulumi.Input[str]
    key_vault_id: pulumi.Input[str]
    tags: Mapping[str, str]
    extra_reader_object_ids: Sequence[str] = ()
    """Other principals (the on-prem service principal) granted Key Vault Secrets User."""


@dataclass(frozen=True)
class ServicePrincipal:
    """RKE2: a service principal outside Azure's workload identity."""

    client_id: str
    client_secret: pulumi.Input[str]


@dataclass
class SecretsSyncArgs:
    vault_url: pulumi.Input[str]
    tenant_id: str
    namespaces: Sequence[str]
    """Application namespaces this component creates and fills (the store serves only these)."""
    secrets: Sequence[SyncedSecret]
    refresh_interval: str
    labels: Mapping[str, str]
    workload_identity: WorkloadIdentity | None = None
    service_principal: ServicePrincipal | None = None


class SecretsSync(pulumi.ComponentResource):
    """The secret plumbing of one cluster. Exactly one of workload identity / service principal."""

    namespace_names: dict[str, pulumi.Output[str]]
    external_secrets: list[k8s.apiextensions.CustomResource]

    def __init__(
        self, name: str, args: SecretsSyncArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("hybridops:secrets_sync:SecretsSync", name, None, opts)
        if (args.workload_identity is None) == (args.service_principal is None):
            raise ValueError(
                "SecretsSync needs exactly one of workload_identity, service_principal"
            )
        self._name = name
        self._args = args

        self.operator_namespace = kube.namespace(
            f"{name}-ns-{NAMESPACE}", NAMESPACE, args.labels, self
        )
        self.operator = kube.release(
            f"{name}-eso",
            kube.EXTERNAL_SECRETS,
            release_name="external-secrets",
            namespace=self.operator_namespace.metadata.name,
            values=_operator_values(),
            parent=self,
        )
        auth = self._create_auth()
        self.store = self._create_store(auth)
        self.app_namespaces = {
            ns: kube.namespace(f"{name}-ns-{ns}", ns, args.labels, self) for ns in args.namespaces
        }
        self.external_secrets = [self._create_external_secret(s) for s in args.secrets]

        self.namespace_names = {ns: r.metadata.name for ns, r in self.app_namespaces.items()}
        self.store_name = pulumi.Output.from_input(STORE_NAME)
        self.register_outputs({"storeName": self.store_name})

    # --- authentication to Key Vault ---------------------------------------------------------

    def _create_auth(self) -> dict[str, object]:
        args = self._args
        if args.workload_identity is not None:
            return self._create_workload_identity(args.workload_identity)
        assert args.service_principal is not None
        sp = args.service_principal
        k8s.core.v1.Secret(
            f"{self._name}-sp-credentials",
            metadata=kube.metadata(
                SP_CREDENTIALS_SECRET, args.labels, self.operator_namespace.metadata.name
            ),
            type="Opaque",
            # The whole map is secret: the provider never shows it and the plan says [secret].
            string_data=pulumi.Output.secret(
                {"client-id": sp.client_id, "client-secret": sp.client_secret}
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

        def ref(key: str) -> dict[str, str]:
            return {"name": SP_CREDENTIALS_SECRET, "namespace": NAMESPACE, "key": key}

        return {
            "authType": "ServicePrincipal",
            "authSecretRef": {"clientId": ref("client-id"), "clientSecret": ref("client-secret")},
        }

    def _create_workload_identity(self, wi: WorkloadIdentity) -> dict[str, object]:
        # Imported here: the on-prem stack has no Azure resources and need not load the SDK.
        import pulumi_azure_native as azure

        from components.cloud_dr_site import ROLE_KEY_VAULT_SECRETS_USER, role_definition_id

        child = pulumi.ResourceOptions(parent=self)
        identity = azure.managedidentity.UserAssignedIdentity(
            f"{self._name}-id-reader",
            resource_name_=wi.identity_name,
            resource_group_name=wi.resource_group_name,
            location=wi.location,
            tags=dict(wi.tags),
            opts=child,
        )
        azure.managedidentity.FederatedIdentityCredential(
            f"{self._name}-fic-reader",
            federated_identity_credential_resource_name="external-secrets",
            resource_name_=identity.name,
            resource_group_name=wi.resource_group_name,
            issuer=wi.oidc_issuer_url,
            subject=f"system:serviceaccount:{NAMESPACE}:{READER_SERVICE_ACCOUNT}",
            audiences=[TOKEN_EXCHANGE_AUDIENCE],
            opts=child,
        )
        readers: list[tuple[str, pulumi.Input[str]]] = [("reader", identity.principal_id)]
        readers += [(f"reader-{i + 1}", oid) for i, oid in enumerate(wi.extra_reader_object_ids)]
        for label, principal in readers:
            scope = pulumi.Output.from_input(wi.key_vault_id)
            azure.authorization.RoleAssignment(
                f"{self._name}-ra-kv-{label}",
                principal_id=principal,
                principal_type="ServicePrincipal",
                role_definition_id=scope.apply(
                    functools.partial(role_definition_id, role=ROLE_KEY_VAULT_SECRETS_USER)
                ),
                scope=scope,
                opts=child,
            )
        k8s.core.v1.ServiceAccount(
            f"{self._name}-sa-reader",
            metadata=kube.metadata(
                READER_SERVICE_ACCOUNT,
                self._args.labels,
                self.operator_namespace.metadata.name,
                annotations={
                    "azure.workload.identity/client-id": identity.client_id,
                    "azure.workload.identity/tenant-id": self._args.tenant_id,
                },
            ),
            opts=child,
        )
        return {
            "authType": "WorkloadIdentity",
            "serviceAccountRef": {"name": READER_SERVICE_ACCOUNT, "namespace": NAMESPACE},
        }

    # --- store and secrets -------------------------------------------------------------------

    def _create_store(self, auth: Mapping[str, object]) -> k8s.apiextensions.CustomResource:
        args = self._args
        return k8s.apiextensions.CustomResource(
            f"{self._name}-store",
            api_version="external-secrets.io/v1",
            kind="ClusterSecretStore",
            metadata=kube.metadata(STORE_NAME, args.labels),
            spec={
                "provider": {
                    "azurekv": {"vaultUrl": args.vault_url, "tenantId": args.tenant_id, **auth}
                },
                # Least privilege: only the application namespaces may read through this store.
                "conditions": [{"namespaces": list(args.namespaces)}],
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.operator]),
        )

    def _create_external_secret(self, secret: SyncedSecret) -> k8s.apiextensions.CustomResource:
        args = self._args
        template_data = {**secret.static, **{key: "{{ ." + key + " }}" for key in secret.remote}}
        return k8s.apiextensions.CustomResource(
            f"{self._name}-es-{secret.namespace}-{secret.name}",
            api_version="external-secrets.io/v1",
            kind="ExternalSecret",
            metadata=kube.metadata(
                secret.name, args.labels, self.app_namespaces[secret.namespace].metadata.name
            ),
            spec={
                "refreshInterval": args.refresh_interval,
                "secretStoreRef": {"kind": "ClusterSecretStore", "name": STORE_NAME},
                "target": {
                    "name": secret.name,
                    "creationPolicy": "Owner",
                    "template": {"type": secret.type, "data": template_data},
                },
                "data": [
                    {"secretKey": key, "remoteRef": {"key": remote}}
                    for key, remote in sorted(secret.remote.items())
                ],
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.store]),
        )


def _operator_values() -> dict[str, object]:
    platform = {"tolerations": kube.PLATFORM_TOLERATIONS}
    return {
        "installCRDs": True,
        **platform,
        "webhook": platform,
        "certController": platform,
        "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
    }
