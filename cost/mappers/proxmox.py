"""Proxmox VE VMs and LXC containers, priced from the on-prem cost model (``onprem/...`` keys).

Allocation, not utilisation, is priced (as OpenCost does for requests): cores x sockets, dedicated
memory and provisioned disk, whether or not the guest is started, because the capacity is reserved
on the cluster either way. Power and hardware amortisation appear only when the model defines them.
Input reference: https://registry.terraform.io/providers/bpg/proxmox/latest/docs (the Pulumi
provider wraps bpg/proxmox; ``memory.dedicated`` is MiB, disk ``size`` is GB).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from cost.mappers.base import Component, Mapper, ResourceContext, integer, lookup, size_gb

_MIB_PER_GIB = Decimal(1024)


def _compute(cores: int, memory_mib: int) -> list[Component]:
    return [
        Component(
            name="vCPU (allocated)",
            unit="vCPUs",
            quantity=Decimal(cores),
            price_key="onprem/vcpu-hour",
        ),
        Component(
            name="Memory (allocated)",
            unit="GiB",
            quantity=Decimal(memory_mib) / _MIB_PER_GIB,
            price_key="onprem/ram-gib-hour",
        ),
    ]


def _extras(cores: int) -> list[Component]:
    return [
        Component(
            name="Power (per allocated vCPU)",
            unit="vCPUs",
            quantity=Decimal(cores),
            price_key="onprem/power-vcpu-hour",
            optional=True,
        ),
        Component(
            name="Hardware amortisation (per allocated vCPU)",
            unit="vCPUs",
            quantity=Decimal(cores),
            price_key="onprem/amortisation-vcpu-hour",
            optional=True,
        ),
    ]


def _disk(label: str, size: Decimal, datastore: str) -> Component:
    return Component(
        name=f"Disk ({label}, {datastore})",
        unit="GB",
        quantity=size,
        price_key=f"onprem/disk-gb-month/{datastore}",
    )


class VmLegacyMapper(Mapper):
    type_token = "proxmoxve:index/vmLegacy:VmLegacy"

    def components(self, r: ResourceContext) -> list[Component]:
        cores = integer(lookup(r.inputs, "cpu.cores", default=1), "cpu.cores")
        cores *= integer(lookup(r.inputs, "cpu.sockets", default=1), "cpu.sockets")
        memory = integer(lookup(r.inputs, "memory.dedicated", default=512), "memory.dedicated")
        out = _compute(cores, memory)
        disks = lookup(r.inputs, "disks", default=[])
        for i, disk in enumerate(disks if isinstance(disks, list) else []):
            if isinstance(disk, Mapping):
                size = size_gb(lookup(disk, "size", default=8), f"disks.{i}.size")
                label = str(disk.get("interface") or f"disk {i}")
                out.append(_disk(label, size, str(disk.get("datastoreId") or "local-lvm")))
        return out + _extras(cores)


class ContainerLegacyMapper(Mapper):
    type_token = "proxmoxve:index/containerLegacy:ContainerLegacy"

    def components(self, r: ResourceContext) -> list[Component]:
        cores = integer(lookup(r.inputs, "cpu.cores", default=1), "cpu.cores")
        memory = integer(lookup(r.inputs, "memory.dedicated", default=512), "memory.dedicated")
        out = _compute(cores, memory)
        root: Any = lookup(r.inputs, "disk", default={})
        if isinstance(root, Mapping):
            size = size_gb(lookup(root, "size", default=4), "disk.size")
            out.append(_disk("rootfs", size, str(root.get("datastoreId") or "local-lvm")))
        mounts = lookup(r.inputs, "mountPoints", default=[])
        for i, mount in enumerate(mounts if isinstance(mounts, list) else []):
            if isinstance(mount, Mapping) and mount.get("size") is not None:
                size = size_gb(lookup(mount, "size"), f"mountPoints.{i}.size")
                label = str(mount.get("path") or f"mp{i}")
                out.append(_disk(label, size, str(mount.get("volume") or "local-lvm")))
        return out + _extras(cores)
