"""Cost-allocation tags carried by every taggable resource."""

from __future__ import annotations

import re
from collections.abc import Mapping

COST_TAG_KEYS = ("env", "owner", "component", "cost-center", "managed-by")
MANAGED_BY = "pulumi"

_PROXMOX_TAG_CHARS = re.compile(r"[^a-z0-9_\-+.]")


def cost_tags(*, env: str, owner: str, cost_center: str, component: str) -> dict[str, str]:
    """The cost-allocation tag set for one component."""
    return {
        "env": env,
        "owner": owner,
        "component": component,
        "cost-center": cost_center,
        "managed-by": MANAGED_BY,
    }


def proxmox_tags(tags: Mapping[str, str]) -> list[str]:
    """Proxmox tags are bare words (``[a-z0-9_][a-z0-9_-+.]*``), so ``key=value`` becomes ``key.value``.

    https://pve.proxmox.com/pve-docs/pve-admin-guide.html#_tags
    """
    return sorted(_PROXMOX_TAG_CHARS.sub("-", f"{k}.{v}".lower()) for k, v in tags.items())


def parse_proxmox_tags(tags: list[str]) -> dict[str, str]:
    """Inverse of :func:`proxmox_tags` for the cost keys (used by tests and the cost engine)."""
    out: dict[str, str] = {}
    for tag in tags:
        for key in COST_TAG_KEYS:
            if tag.startswith(f"{key}."):
                out[key] = tag[len(key) + 1 :]
    return out


KUBERNETES_LABEL_PREFIX = "hybridops.io/"


def kubernetes_labels(tags: Mapping[str, str], *, app: str | None = None) -> dict[str, str]:
    """The cost tags as Kubernetes labels (``hybridops.io/<key>``), for cost allocation by label
    (OpenCost/Kubecost aggregate by label), plus the recommended ``app.kubernetes.io`` labels.

    https://kubernetes.io/docs/concepts/overview/working-with-objects/common-labels/
    """
    labels = {
        f"{KUBERNETES_LABEL_PREFIX}{key}": value
        for key, value in tags.items()
        if key != "managed-by"
    }
    labels["app.kubernetes.io/managed-by"] = tags.get("managed-by", MANAGED_BY)
    labels["app.kubernetes.io/part-of"] = "hybridops-dr"
    if app is not None:
        labels["app.kubernetes.io/name"] = app
    return labels
