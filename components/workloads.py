"""Workloads: NetBox on one site's cluster, against the database that is primary for that site.

netbox-docker (https://github.com/netbox-community/netbox-docker) configured from environment
variables: web (granian on :8080), the RQ worker, and Valkey for cache and queue. On the cloud
site the replica counts follow ``drMode`` (none while the replica is read-only, full after the
promotion); on-prem they are always the active counts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import kube
from components.secrets_sync import SyncedSecret
from components.settings import ContainerResources, KeyVaultSecretNames, NetboxSettings

NAMESPACE = "netbox"
DB_SECRET = "netbox-db"
APP_SECRET = "netbox-app"
HTTP_PORT = 8080
CACHE_PORT = 6379
PROBE_PATH = "/login/"
"""The page Traffic Manager probes too: ready here means routable there."""


def netbox_secrets(settings: NetboxSettings, names: KeyVaultSecretNames) -> list[SyncedSecret]:
    """The Key Vault secrets NetBox needs, as SecretsSync syncs them."""
    return [
        SyncedSecret(
            namespace=NAMESPACE,
            name=DB_SECRET,
            remote={"password": names.netbox_db_password},
            static={"username": settings.db_user},
            type="kubernetes.io/basic-auth",
        ),
        SyncedSecret(
            namespace=NAMESPACE, name=APP_SECRET, remote={"secret_key": names.netbox_secret_key}
        ),
    ]


@dataclass
class WorkloadsArgs:
    settings: NetboxSettings
    serving: bool
    """True when this site serves NetBox: on-prem always, the cloud when ``drMode`` is active."""
    namespace: pulumi.Input[str]
    """The ``netbox`` namespace (created by SecretsSync with the credentials in it)."""
    database_host: str
    database_port: int
    node_selector: Mapping[str, str]
    labels: Mapping[str, str]
    depends_on: Sequence[pulumi.Resource] = ()
    """The database and the ExternalSecrets: NetBox migrates its schema on start."""


class Workloads(pulumi.ComponentResource):
    """NetBox web + worker + cache, Service, Ingress, PodDisruptionBudget, NetworkPolicy."""

    web_replicas: pulumi.Output[int]

    def __init__(
        self, name: str, args: WorkloadsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("hybridops:workloads:Workloads", name, None, opts)
        self._name = name
        self._args = args
        nb = args.settings
        serving = args.serving
        self._after = pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on))

        self.cache = self._deployment(
            "cache", "netbox-valkey", replicas=1 if serving else 0, pod=self._cache_pod()
        )
        self._service("cache-svc", "netbox-valkey", "valkey", port=CACHE_PORT, target=CACHE_PORT)
        self._cache_policy()
        self.web = self._deployment(
            "web", "netbox", replicas=nb.web_replicas.count(serving), pod=self._web_pod()
        )
        self.worker = self._deployment(
            "worker",
            "netbox-worker",
            replicas=nb.worker_replicas.count(serving),
            pod=self._worker_pod(),
        )
        self._service("svc", "netbox", "web", port=80, target=HTTP_PORT)
        self._ingress()
        # maxUnavailable, not minAvailable: it stays valid at 0 replicas (standby) and never
        # blocks a node drain outright.
        pdb_spec: Any = {"maxUnavailable": 1, "selector": {"matchLabels": _selector("web")}}
        k8s.policy.v1.PodDisruptionBudget(
            f"{name}-pdb",
            metadata=kube.metadata("netbox", args.labels, args.namespace),
            spec=pdb_spec,
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.web_replicas = pulumi.Output.from_input(nb.web_replicas.count(serving))
        self.register_outputs({"webReplicas": self.web_replicas})

    # --- pods ----------------------------------------------------------------------------------

    def _env(self) -> list[dict[str, Any]]:
        args = self._args
        nb = args.settings
        secret = _secret_env
        return [
            {"name": "DB_HOST", "value": args.database_host},
            {"name": "DB_PORT", "value": str(args.database_port)},
            {"name": "DB_NAME", "value": nb.db_name},
            {"name": "DB_USER", "value": nb.db_user},
            secret("DB_PASSWORD", DB_SECRET, "password"),
            {"name": "REDIS_HOST", "value": "netbox-valkey"},
            {"name": "REDIS_DATABASE", "value": "0"},
            {"name": "REDIS_CACHE_HOST", "value": "netbox-valkey"},
            {"name": "REDIS_CACHE_DATABASE", "value": "1"},
            secret("SECRET_KEY", APP_SECRET, "secret_key"),
            {"name": "ALLOWED_HOSTS", "value": " ".join(nb.hosts)},
            {"name": "SKIP_SUPERUSER", "value": "true"},
        ]

    def _web_pod(self) -> dict[str, Any]:
        nb = self._args.settings
        # Django answers only its ALLOWED_HOSTS: probes send the public host name.
        http = {
            "path": PROBE_PATH,
            "port": "http",
            "httpHeaders": [{"name": "Host", "value": nb.hosts[0]}],
        }
        container = {
            "name": "netbox",
            "image": nb.image,
            "ports": [{"name": "http", "containerPort": HTTP_PORT}],
            "env": self._env(),
            "resources": nb.web.as_kubernetes(),
            # Schema migrations run before the server listens: allow up to 10 minutes.
            "startupProbe": {"httpGet": http, "periodSeconds": 10, "failureThreshold": 60},
            "readinessProbe": {
                "httpGet": http,
                "periodSeconds": 10,
                "timeoutSeconds": 5,
                "failureThreshold": 3,
            },
            "livenessProbe": {
                "httpGet": http,
                "periodSeconds": 30,
                "timeoutSeconds": 10,
                "failureThreshold": 4,
            },
            "volumeMounts": [{"name": "media", "mountPath": "/opt/netbox/netbox/media"}],
            "securityContext": _container_security(),
        }
        return self._pod("web", container, volumes=[{"name": "media", "emptyDir": {}}])

    def _worker_pod(self) -> dict[str, Any]:
        nb = self._args.settings
        container = {
            "name": "worker",
            "image": nb.image,
            "command": [
                "/opt/netbox/venv/bin/python",
                "/opt/netbox/netbox/manage.py",
                "rqworker",
            ],
            "env": self._env(),
            "resources": nb.worker.as_kubernetes(),
            "securityContext": _container_security(),
        }
        return self._pod("worker", container)

    def _cache_pod(self) -> dict[str, Any]:
        nb = self._args.settings
        tcp = {"tcpSocket": {"port": "valkey"}}
        container = {
            "name": "valkey",
            "image": nb.cache_image,
            # Cache and queue only: nothing of record lives here, so no persistence.
            "args": ["--save", "", "--appendonly", "no"],
            "ports": [{"name": "valkey", "containerPort": CACHE_PORT}],
            "resources": ContainerResources(
                cpu_request="50m", memory_request="128Mi", memory_limit="256Mi"
            ).as_kubernetes(),
            "readinessProbe": {**tcp, "periodSeconds": 10},
            "livenessProbe": {**tcp, "periodSeconds": 30},
            "securityContext": _container_security(),
        }
        return self._pod("cache", container)

    def _pod(
        self, component: str, container: dict[str, Any], volumes: list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        spec: dict[str, Any] = {
            "containers": [container],
            "nodeSelector": dict(self._args.node_selector),
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": 1000,
                "fsGroup": 1000,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "topologySpreadConstraints": [
                {
                    "maxSkew": 1,
                    "topologyKey": "kubernetes.io/hostname",
                    "whenUnsatisfiable": "ScheduleAnyway",
                    "labelSelector": {"matchLabels": _selector(component)},
                }
            ],
        }
        if volumes:
            spec["volumes"] = volumes
        return {
            "metadata": {"labels": {**self._args.labels, **_selector(component)}},
            "spec": spec,
        }

    # --- objects -------------------------------------------------------------------------------

    def _deployment(
        self, component: str, k8s_name: str, *, replicas: int, pod: dict[str, Any]
    ) -> k8s.apps.v1.Deployment:
        args = self._args
        spec: Any = {
            "replicas": replicas,
            "selector": {"matchLabels": _selector(component)},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
            },
            "template": pod,
        }
        return k8s.apps.v1.Deployment(
            f"{self._name}-{component}",
            metadata=kube.metadata(
                k8s_name, {**args.labels, **_selector(component)}, args.namespace
            ),
            spec=spec,
            opts=self._after,
        )

    def _service(
        self, resource: str, k8s_name: str, component: str, *, port: int, target: int
    ) -> k8s.core.v1.Service:
        args = self._args
        spec: Any = {
            "type": "ClusterIP",
            "selector": _selector(component),
            "ports": [{"name": "tcp", "port": port, "targetPort": target}],
        }
        return k8s.core.v1.Service(
            f"{self._name}-{resource}",
            metadata=kube.metadata(k8s_name, args.labels, args.namespace),
            spec=spec,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _ingress(self) -> k8s.networking.v1.Ingress:
        args = self._args
        nb = args.settings
        backend = {"service": {"name": "netbox", "port": {"number": 80}}}
        spec: Any = {
            "ingressClassName": nb.ingress_class,
            "rules": [
                {
                    "host": host,
                    "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]},
                }
                for host in nb.hosts
            ],
        }
        if nb.tls_secret_name is not None:
            spec["tls"] = [{"hosts": list(nb.hosts), "secretName": nb.tls_secret_name}]
        # The name "netbox" is what the SLO rules select on (monitoring/rules/leaf-dr-signals.yml:
        # nginx_ingress_controller_requests{ingress="netbox"}).
        return k8s.networking.v1.Ingress(
            f"{self._name}-ingress",
            metadata=kube.metadata("netbox", args.labels, args.namespace),
            spec=spec,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _cache_policy(self) -> k8s.networking.v1.NetworkPolicy:
        """Valkey runs without a password: only NetBox pods may reach it."""
        args = self._args
        spec: Any = {
            "podSelector": {"matchLabels": _selector("cache")},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [
                        {"podSelector": {"matchLabels": _selector(c)}} for c in ("web", "worker")
                    ],
                    "ports": [{"protocol": "TCP", "port": CACHE_PORT}],
                }
            ],
        }
        return k8s.networking.v1.NetworkPolicy(
            f"{self._name}-cache-policy",
            metadata=kube.metadata("netbox-valkey", args.labels, args.namespace),
            spec=spec,
            opts=pulumi.ResourceOptions(parent=self),
        )


def _selector(component: str) -> dict[str, str]:
    return {"app.kubernetes.io/instance": "netbox", "app.kubernetes.io/component": component}


def _secret_env(name: str, secret: str, key: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def _container_security() -> dict[str, Any]:
    return {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
