"""DrDatabase: the cloud copy of db-01, a CloudNativePG replica cluster on AKS.

Why a CNPG replica cluster in the distributed topology, why a pre-provisioned disk, and how
``drMode`` maps to promotion and demotion: docs/adr/0004-cloudnativepg-replica-cluster.md.

- Source: db-01, streamed over the site-to-site VPN (``primary_conninfo``), with the WAL archive in
  the Azure storage account as the fallback (``restore_command``): one ``externalClusters`` entry
  with both ``connectionParameters`` and ``barmanObjectStore``
  (https://cloudnative-pg.io/documentation/current/replica_cluster/).
- ``drMode`` standby -> ``spec.replica.primary`` is db-01 (this cluster is a replica);
  active -> ``primary`` is this cluster (CNPG promotes it), with ``promotionToken`` for a planned
  switchover. Back to standby demotes it again: no rebuild.
- PGDATA lives on the pre-provisioned managed disk (``CloudDrSite.replica_disk``), bound through a
  static PersistentVolume, so the disk is priced in the plan and outlives the cluster.
- Credentials come from Key Vault through ExternalSecrets (components/secrets_sync.py).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_azure_native as azure
import pulumi_kubernetes as k8s

from components import kube
from components.cloud_dr_site import ROLE_STORAGE_BLOB_DATA_CONTRIBUTOR, role_definition_id
from components.secrets_sync import TOKEN_EXCHANGE_AUDIENCE, SyncedSecret
from components.settings import DrDatabaseSettings, DrMode, KeyVaultSecretNames

NAMESPACE = "postgres"
OPERATOR_NAMESPACE = "cnpg-system"
REPLICATION_SECRET = "db-01-replication"
CSI_DRIVER = "disk.csi.azure.com"
# Static binding: no StorageClass, so no provisioner can race to create a second disk.
# https://learn.microsoft.com/azure/aks/create-volume-azure-disk#statically-provision-a-volume
STATIC_STORAGE_CLASS = ""


def superuser_secret(cluster_name: str) -> str:
    return f"{cluster_name}-superuser"


def database_secrets(
    settings: DrDatabaseSettings, names: KeyVaultSecretNames
) -> list[SyncedSecret]:
    """The Key Vault secrets the replica cluster needs, as SecretsSync syncs them."""
    return [
        SyncedSecret(
            namespace=NAMESPACE,
            name=REPLICATION_SECRET,
            remote={"password": names.db_replication_password},
            static={"username": settings.source.user},
            type="kubernetes.io/basic-auth",
        ),
        SyncedSecret(
            namespace=NAMESPACE,
            name=superuser_secret(settings.cluster_name),
            remote={"password": names.db_superuser_password},
            static={"username": "postgres"},
            type="kubernetes.io/basic-auth",
        ),
    ]


def replica_spec(
    *, dr_mode: DrMode, self_name: str, source: str, promotion_token: str | None
) -> dict[str, str]:
    """``spec.replica`` of the distributed topology for a DR mode.

    ``primary`` names the cluster that is primary in the topology; this cluster is a replica
    whenever ``primary != self``. ``enabled`` is deliberately absent: CNPG rejects it together
    with ``primary``, and ``enabled: false`` is a one-way promotion.
    https://cloudnative-pg.io/documentation/current/replica_cluster/#distributed-topology
    """
    active = dr_mode == "active"
    spec = {"self": self_name, "primary": self_name if active else source, "source": source}
    if active and promotion_token:
        # Only valid on a cluster being promoted (CNPG: "promotionToken is only allowed for
        # primary clusters"); in standby the token waits in config for the next cutover.
        spec["promotionToken"] = promotion_token
    return spec


@dataclass
class DrDatabaseArgs:
    settings: DrDatabaseSettings
    dr_mode: DrMode
    namespace: pulumi.Input[str]
    """The ``postgres`` namespace (created by SecretsSync with the credentials in it)."""
    data_disk_id: pulumi.Input[str]
    data_disk_gb: int
    wal_archive_url: pulumi.Input[str]
    """``https://<account>.blob.core.windows.net/<container>``."""
    wal_retention_days: int
    storage_account_id: pulumi.Input[str]
    onprem_address_spaces: Sequence[str]
    """Where db-01 lives: it may stream from this cluster after a cutover (failback resync)."""
    resource_group_name: pulumi.Input[str]
    location: str
    oidc_issuer_url: pulumi.Input[str]
    identity_name: str
    tags: Mapping[str, str]
    labels: Mapping[str, str]
    secrets: Sequence[pulumi.Resource]
    """The ExternalSecrets of the credentials the cluster references."""


class DrDatabase(pulumi.ComponentResource):
    """The CNPG operator, the static PGDATA volume and the replica ``Cluster``."""

    rw_host: pulumi.Output[str]
    role: pulumi.Output[str]

    def __init__(
        self, name: str, args: DrDatabaseArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("hybridops:dr_database:DrDatabase", name, None, opts)
        self._name = name
        self._args = args
        db = args.settings

        operator_ns = kube.namespace(f"{name}-ns-cnpg", OPERATOR_NAMESPACE, args.labels, self)
        self.operator = kube.release(
            f"{name}-cnpg",
            kube.CLOUDNATIVE_PG,
            release_name="cnpg",
            namespace=operator_ns.metadata.name,
            values={
                "tolerations": kube.PLATFORM_TOLERATIONS,
                "resources": {
                    "requests": {"cpu": "100m", "memory": "256Mi"},
                    "limits": {"memory": "512Mi"},
                },
            },
            parent=self,
        )
        identity_grants = self._create_identity()
        self.volume = self._create_volume()
        self.cluster = self._create_cluster(identity_grants)

        self.rw_host = pulumi.Output.from_input(
            f"{db.cluster_name}-rw.{NAMESPACE}.svc.cluster.local"
        )
        self.role = pulumi.Output.from_input("primary" if args.dr_mode == "active" else "replica")
        self.register_outputs({"rwHost": self.rw_host, "role": self.role})

    def _create_identity(self) -> list[pulumi.Resource]:
        """Workload identity of the Postgres pods for the WAL archive (no storage keys anywhere:
        the account has shared-key access disabled)."""
        args = self._args
        child = pulumi.ResourceOptions(parent=self)
        self.identity = azure.managedidentity.UserAssignedIdentity(
            f"{self._name}-id-pg",
            resource_name_=args.identity_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            tags=dict(args.tags),
            opts=child,
        )
        federated = azure.managedidentity.FederatedIdentityCredential(
            f"{self._name}-fic-pg",
            federated_identity_credential_resource_name="cnpg",
            resource_name_=self.identity.name,
            resource_group_name=args.resource_group_name,
            issuer=args.oidc_issuer_url,
            # CNPG runs the instances under a service account named after the cluster.
            subject=f"system:serviceaccount:{NAMESPACE}:{args.settings.cluster_name}",
            audiences=[TOKEN_EXCHANGE_AUDIENCE],
            opts=child,
        )
        scope = pulumi.Output.from_input(args.storage_account_id)
        grant = azure.authorization.RoleAssignment(
            f"{self._name}-ra-wal",
            principal_id=self.identity.principal_id,
            principal_type="ServicePrincipal",
            role_definition_id=scope.apply(
                functools.partial(role_definition_id, role=ROLE_STORAGE_BLOB_DATA_CONTRIBUTOR)
            ),
            scope=scope,
            opts=child,
        )
        return [federated, grant]

    def _create_volume(self) -> k8s.core.v1.PersistentVolume:
        """The pre-provisioned disk as a static PV, reserved (``claimRef``) for the PVC that CNPG
        creates for instance 1 (``<cluster>-1``) from ``storage.pvcTemplate``.

        ``Retain``: deleting the cluster or the PVC never deletes the disk (it is also protected
        in CloudDrSite)."""
        args = self._args
        cluster = args.settings.cluster_name
        spec: Any = {
            "capacity": {"storage": f"{args.data_disk_gb}Gi"},
            "accessModes": ["ReadWriteOnce"],
            "volumeMode": "Filesystem",
            "persistentVolumeReclaimPolicy": "Retain",
            "storageClassName": STATIC_STORAGE_CLASS,
            "claimRef": {"namespace": NAMESPACE, "name": f"{cluster}-1"},
            "csi": {
                "driver": CSI_DRIVER,
                "volumeHandle": args.data_disk_id,
                "volumeAttributes": {"fsType": "ext4"},
            },
        }
        return k8s.core.v1.PersistentVolume(
            f"{self._name}-pv-pgdata",
            metadata=kube.metadata(f"{cluster}-pgdata", args.labels),
            spec=spec,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _create_cluster(
        self, identity_grants: list[pulumi.Resource]
    ) -> k8s.apiextensions.CustomResource:
        args = self._args
        return k8s.apiextensions.CustomResource(
            f"{self._name}-cluster",
            api_version="postgresql.cnpg.io/v1",
            kind="Cluster",
            metadata=kube.metadata(args.settings.cluster_name, args.labels, args.namespace),
            spec=self._cluster_spec(),
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[self.operator, self.volume, *identity_grants, *args.secrets],
            ),
        )

    def _cluster_spec(self) -> dict[str, Any]:
        args = self._args
        db = args.settings
        source = db.source
        cluster = db.cluster_name
        disk_size = f"{args.data_disk_gb}Gi"

        def object_store(server_name: str) -> dict[str, Any]:
            return {
                "destinationPath": args.wal_archive_url,
                "serverName": server_name,
                # DefaultAzureCredential in barman-cloud picks up the workload identity token.
                "azureCredentials": {"inheritFromAzureAD": True},
                "wal": {"compression": "gzip", "maxParallel": 4},
                "data": {"compression": "gzip"},
            }

        return {
            "instances": 1,  # one pre-provisioned disk, one instance (ADR 0004)
            "imageName": db.image,
            "primaryUpdateStrategy": "unsupervised",
            "enableSuperuserAccess": True,
            "superuserSecret": {"name": superuser_secret(cluster)},
            "bootstrap": {"pg_basebackup": {"source": source.name}},
            "replica": replica_spec(
                dr_mode=args.dr_mode,
                self_name=cluster,
                source=source.name,
                promotion_token=db.promotion_token,
            ),
            "externalClusters": [
                {
                    "name": source.name,
                    "connectionParameters": {
                        "host": str(source.host),
                        "port": str(source.port),
                        "user": source.user,
                        "dbname": "postgres",
                        "sslmode": source.ssl_mode,
                    },
                    "password": {"name": REPLICATION_SECRET, "key": "password"},
                    "barmanObjectStore": object_store(source.name),
                },
                # The topology must name this cluster too; its archive is where db-01 catches up
                # from after a cutover.
                {"name": cluster, "barmanObjectStore": object_store(cluster)},
            ],
            "backup": {
                "barmanObjectStore": object_store(cluster),
                "retentionPolicy": f"{args.wal_retention_days}d",
            },
            "storage": {
                "resizeInUseVolumes": False,  # resize the Azure disk instead (it is ours)
                "pvcTemplate": {
                    "accessModes": ["ReadWriteOnce"],
                    "volumeMode": "Filesystem",
                    "storageClassName": STATIC_STORAGE_CLASS,
                    "volumeName": f"{cluster}-pgdata",
                    "resources": {"requests": {"storage": disk_size}},
                },
            },
            "postgresql": {
                "parameters": dict(db.parameters),
                # db-01 streams from this cluster after a cutover (failback resync).
                "pg_hba": [
                    f"hostssl replication {source.user} {space} scram-sha-256"
                    for space in args.onprem_address_spaces
                ],
            },
            "managed": {
                "services": {
                    "additional": [
                        {
                            "selectorType": "rw",
                            "serviceTemplate": {
                                "metadata": {
                                    "name": f"{cluster}-rw-site-link",
                                    "annotations": {
                                        # Reachable over the VPN only, never from the internet.
                                        "service.beta.kubernetes.io/azure-load-balancer-internal": "true"
                                    },
                                },
                                "spec": {"type": "LoadBalancer"},
                            },
                        }
                    ]
                }
            },
            "serviceAccountTemplate": {
                "metadata": {
                    "annotations": {"azure.workload.identity/client-id": self.identity.client_id}
                }
            },
            "inheritedMetadata": {"labels": {**args.labels, "azure.workload.identity/use": "true"}},
            "affinity": {
                "nodeSelector": {"hybridops.io/pool": "db"},
                "tolerations": [
                    {
                        "key": "workload",
                        "operator": "Equal",
                        "value": "postgres",
                        "effect": "NoSchedule",
                    }
                ],
            },
            "resources": db.resources.as_kubernetes(),
        }
