"""Benchmark: estimate a synthetic plan of 10,000 mixed resources.

    python bench/cost_estimate.py [--resources 10000] [--repeat 5] [--seed 7]

Prints resources/second of ``cost.estimator.estimate`` and its time relative to merely loading the
same plan from JSON (``Plan.model_validate_json``) in the same run. Goal: >= 20,000 resources/s and
within 3x of the load time. Best of ``--repeat`` runs for both (each estimate starts with cold
per-run caches; the catalog file is loaded once, as the CLI does). Load and estimate runs are
interleaved so that both see the same machine load.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from cost.catalog import ChainCatalog, LocalCatalog  # noqa: E402
from cost.estimator import estimate  # noqa: E402
from cost.onprem import OnPremCatalog  # noqa: E402
from cost.plan import Plan, PlannedResource  # noqa: E402
from cost.usage import load_usage  # noqa: E402

TAGS = {
    "env": "prod",
    "owner": "platform-sre",
    "cost-center": "cc-4120-infra",
    "managed-by": "pulumi",
}


def _inputs(kind: str, rng: random.Random) -> dict[str, Any]:
    if kind == "azure-native:containerservice:ManagedCluster":
        return {
            "location": "eastus",
            "sku": {"tier": rng.choice(["Free", "Standard"]), "name": "Base"},
            "tags": TAGS,
            "networkProfile": {
                "outboundType": "loadBalancer",
                "loadBalancerSku": "standard",
                "networkPlugin": "azure",
            },
            "agentPoolProfiles": [
                {
                    "name": "system",
                    "mode": "System",
                    "count": rng.randint(1, 5),
                    "vmSize": "Standard_D2s_v5",
                    "osDiskSizeGB": 128,
                    "osDiskType": "Managed",
                    "osType": "Linux",
                    "vnetSubnetID": "[computed]",
                }
            ],
            "resourceGroupName": "[computed]",
        }
    if kind == "azure-native:containerservice:AgentPool":
        auto = rng.random() < 0.3
        pool: dict[str, Any] = {
            "vmSize": rng.choice(
                ["Standard_D2s_v5", "Standard_D4s_v5", "Standard_D4ds_v5", "Standard_D8s_v5"]
            ),
            "count": rng.randint(0, 10),
            "enableAutoScaling": auto,
            "osDiskSizeGB": rng.choice([128, 256]),
            "osDiskType": "Managed",
            "osType": "Linux",
            "mode": "User",
            "tags": TAGS,
            "nodeLabels": {"pool": "x"},
            "resourceGroupName": "[computed]",
            "vnetSubnetID": "[computed]",
        }
        if auto:
            pool.update(minCount=rng.randint(1, 3), maxCount=rng.randint(4, 10))
        return pool
    if kind == "azure-native:compute:Disk":
        return {
            "location": "eastus",
            "sku": {"name": rng.choice(["Premium_LRS", "StandardSSD_LRS"])},
            "diskSizeGB": rng.choice([64, 128, 200, 256, 1000]),
            "tags": TAGS,
            "creationData": {"createOption": "Empty"},
            "resourceGroupName": "[computed]",
        }
    if kind == "azure-native:storage:StorageAccount":
        return {
            "location": "eastus",
            "sku": {"name": "Standard_LRS"},
            "kind": "StorageV2",
            "accessTier": "Hot",
            "tags": TAGS,
            "minimumTlsVersion": "TLS1_2",
            "resourceGroupName": "[computed]",
        }
    if kind == "azure-native:keyvault:Vault":
        return {
            "location": "eastus",
            "properties": {"sku": {"family": "A", "name": "standard"}, "tenantId": "t"},
            "tags": TAGS,
            "resourceGroupName": "[computed]",
        }
    if kind == "azure-native:network:PublicIPAddress":
        return {
            "location": "eastus",
            "sku": {"name": "Standard", "tier": "Regional"},
            "publicIPAllocationMethod": "Static",
            "tags": TAGS,
            "resourceGroupName": "[computed]",
        }
    if kind == "azure-native:network:VirtualNetworkGateway":
        return {
            "location": "eastus",
            "sku": {"name": "VpnGw1", "tier": "VpnGw1"},
            "gatewayType": "Vpn",
            "vpnType": "RouteBased",
            "tags": TAGS,
            "resourceGroupName": "[computed]",
        }
    if kind == "azure-native:network:VirtualNetworkGatewayConnection":
        return {
            "location": "eastus",
            "connectionType": "IPsec",
            "sharedKey": "[secret]",
            "tags": TAGS,
        }
    if kind == "azure-native:trafficmanager:Profile":
        return {
            "location": "global",
            "profileStatus": "Enabled",
            "trafficRoutingMethod": "Priority",
            "monitorConfig": {"intervalInSeconds": rng.choice([10, 30]), "port": 443, "path": "/"},
            "endpoints": [
                {
                    "type": "Microsoft.Network/trafficManagerProfiles/externalEndpoints",
                    "name": "a",
                    "endpointStatus": rng.choice(["Enabled", "Disabled"]),
                    "priority": 1,
                },
                {
                    "type": "Microsoft.Network/trafficManagerProfiles/azureEndpoints",
                    "name": "b",
                    "endpointStatus": rng.choice(["Enabled", "Disabled"]),
                    "priority": 2,
                },
            ],
            "tags": TAGS,
        }
    if kind == "proxmoxve:index/vmLegacy:VmLegacy":
        return {
            "name": "vm",
            "nodeName": "pve-01",
            "cpu": {"cores": rng.choice([2, 4, 8, 16])},
            "memory": {"dedicated": rng.choice([4096, 8192, 16384])},
            "tags": ["prod"],
            "disks": [
                {
                    "datastoreId": "local-zfs",
                    "interface": "scsi0",
                    "size": rng.choice([32, 80, 120]),
                }
            ],
        }
    if kind == "proxmoxve:index/containerLegacy:ContainerLegacy":
        return {
            "nodeName": "pve-02",
            "cpu": {"cores": 4},
            "memory": {"dedicated": 8192},
            "disk": {"datastoreId": "local-zfs", "size": 16},
            "mountPoints": [
                {"path": "/data", "volume": "local-zfs", "size": f"{rng.choice([50, 200])}G"}
            ],
        }
    if kind.startswith("kubernetes:"):
        return {"metadata": {"name": "x", "namespace": "apps"}, "spec": {"replicas": 2}}
    return {"addressPrefix": "10.0.0.0/24", "tags": TAGS}  # structural / unsupported


MIX = [
    # (type, weight)
    ("azure-native:containerservice:ManagedCluster", 2),
    ("azure-native:containerservice:AgentPool", 8),
    ("azure-native:compute:Disk", 10),
    ("azure-native:storage:StorageAccount", 4),
    ("azure-native:keyvault:Vault", 3),
    ("azure-native:network:PublicIPAddress", 8),
    ("azure-native:network:VirtualNetworkGateway", 1),
    ("azure-native:network:VirtualNetworkGatewayConnection", 1),
    ("azure-native:trafficmanager:Profile", 2),
    ("proxmoxve:index/vmLegacy:VmLegacy", 12),
    ("proxmoxve:index/containerLegacy:ContainerLegacy", 4),
    ("azure-native:network:Subnet", 10),
    ("azure-native:authorization:RoleAssignment", 8),
    ("kubernetes:apps/v1:Deployment", 15),
    ("kubernetes:core/v1:Service", 10),
    ("aws:s3/bucket:Bucket", 2),  # unsupported on purpose
]
OPS = [("same", 60), ("update", 20), ("create", 10), ("delete", 5), ("replace", 5)]


def synthetic_plan(n: int, seed: int) -> Plan:
    rng = random.Random(seed)
    types = [t for t, _ in MIX]
    weights = [w for _, w in MIX]
    resources = []
    for i in range(n):
        type_ = rng.choices(types, weights)[0]
        op = rng.choices([o for o, _ in OPS], [w for _, w in OPS])[0]
        new = _inputs(type_, rng)
        old = new if op == "same" else _inputs(type_, rng)
        resources.append(
            PlannedResource(
                urn=f"urn:pulumi:bench::hybridops-dr::{type_}::r{i}",
                type=type_,
                name=f"r{i}",
                op=op,  # type: ignore[arg-type]
                old_inputs=None if op == "create" else old,
                new_inputs=None if op == "delete" else new,
                provider=type_.split(":", 1)[0],
            )
        )
    return Plan(
        stack="bench",
        source="offline-plan",
        offline=True,
        config={"azure-native:location": "eastus"},
        resources=resources,
    )


def _timed(fn: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--resources", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    catalogs = ChainCatalog(
        LocalCatalog.load(), OnPremCatalog.load(REPO / "stacks/onprem-cost-model.yaml")
    )
    usage = load_usage(REPO / "stacks/usage/cloud-dr.yaml")
    raw = synthetic_plan(args.resources, args.seed).model_dump_json(
        exclude={"resources": {"__all__": {"inputs"}}}
    )

    # Interleaved, best of --repeat each: both measurements see the same machine load.
    load_s = est_s = float("inf")
    for _ in range(args.repeat):
        t, plan = _timed(lambda: Plan.model_validate_json(raw))
        load_s = min(load_s, t)
        t, report = _timed(lambda p=plan: estimate(p, catalogs, usage=usage))
        est_s = min(est_s, t)
    n = len(plan.resources)
    s = report.summary
    print(f"plan: {n} resources, {len(raw) / 1e6:.1f} MB JSON; ops {s.ops}")
    print(
        f"summary: {s.priced} priced, {s.free} free, {s.unsupported} unsupported, {s.price_not_found} price-not-found"
    )
    print(
        f"load  (Plan.model_validate_json): {load_s * 1e3:8.1f} ms  {n / load_s:10,.0f} resources/s"
    )
    print(
        f"estimate (cost.estimator.estimate): {est_s * 1e3:6.1f} ms  {n / est_s:10,.0f} resources/s"
    )
    print(f"estimate / load: {est_s / load_s:.2f}x  (goal: >= 20,000 resources/s and <= 3x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
