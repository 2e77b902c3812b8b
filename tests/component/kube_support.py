"""Helpers of the Kubernetes component tests: plan lookups and a raw evaluation with planted secrets."""

from __future__ import annotations

import uuid
from typing import Any

import yaml

from tests.conftest import REPO

RELEASE = "kubernetes:helm.sh/v3:Release"
CLUSTER = "kubernetes:postgresql.cnpg.io/v1:Cluster"
EXTERNAL_SECRET = "kubernetes:external-secrets.io/v1:ExternalSecret"
CLUSTER_SECRET_STORE = "kubernetes:external-secrets.io/v1:ClusterSecretStore"
SECRET = "kubernetes:core/v1:Secret"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
SERVICE = "kubernetes:core/v1:Service"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
PV = "kubernetes:core/v1:PersistentVolume"
PROMETHEUS_RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule"
PROMETHEUS = "kubernetes:monitoring.coreos.com/v1:Prometheus"
K8S_PROVIDER = "pulumi:providers:kubernetes"
FIC = "azure-native:managedidentity:FederatedIdentityCredential"
UAMI = "azure-native:managedidentity:UserAssignedIdentity"


def stack_values(stack: str) -> dict[str, Any]:
    """The ``hybridops:*`` values of a committed stack file (structured values as YAML)."""
    doc = yaml.safe_load((REPO / "stacks" / f"Pulumi.{stack}.yaml").read_text())
    return doc["config"]


def by_k8s_name(plan, type_: str) -> dict[str, Any]:
    """Kubernetes objects of one type by ``namespace/name`` (or ``name`` when cluster-scoped)."""
    out = {}
    for r in plan.by_type(type_):
        meta = r.inputs["metadata"]
        key = f"{meta['namespace']}/{meta['name']}" if "namespace" in meta else meta["name"]
        out[key] = r
    return out


def release(plan, release_name: str):
    (found,) = [r for r in plan.by_type(RELEASE) if r.inputs["name"] == release_name]
    return found


def planted_secrets(site: str) -> dict[str, str]:
    """A distinct, recognisable value per secret key of the site."""
    from components.settings import SECRET_KEYS

    tag = uuid.uuid4().hex[:12]
    return {key: f"PLANTED-{key}-{tag}" for key in SECRET_KEYS[site]}


def evaluate_stack(stack: str, secrets: dict[str, str], **overrides: str):
    """Run the program under the mocks like the offline engine, with ``secrets`` as the secret
    config; returns the raw registrations (secret inputs still wrapped)."""
    from components.program import run
    from dr.engines.offline import evaluate
    from dr.stack_config import load_stack_config, parse_overrides

    config = load_stack_config(REPO, stack)
    if overrides:
        config = config.with_overrides(parse_overrides([f"{k}={v}" for k, v in overrides.items()]))
    values = config.runtime_values()
    values.update({f"hybridops:{k}": v for k, v in secrets.items()})
    return evaluate(
        run, stack=stack, config=values, secret_keys=[f"hybridops:{k}" for k in secrets]
    )


def unwrap(value: Any) -> Any:
    """Raw mock-monitor inputs with secret wrappers removed (to read a value's content)."""
    from pulumi.runtime.rpc import is_rpc_secret

    if is_rpc_secret(value):
        return unwrap(value["value"])
    if isinstance(value, dict):
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [unwrap(v) for v in value]
    return value


def unprotected(value: Any, needles: set[str], path: str = "") -> list[str]:
    """Paths where one of ``needles`` appears *outside* a secret wrapper."""
    from pulumi.runtime.rpc import is_rpc_secret

    if is_rpc_secret(value):
        return []
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in unprotected(v, needles, f"{path}.{k}")]
    if isinstance(value, list | tuple):
        return [p for i, v in enumerate(value) for p in unprotected(v, needles, f"{path}[{i}]")]
    if isinstance(value, str) and any(n in value for n in needles):
        return [path]
    return []
