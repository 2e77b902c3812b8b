"""Benchmark: offline planning cost against the bare SDK registration floor, in one run.

    python bench/offline_plan.py [--resources 2000] [--repeat 3] [--alias-sample 100]

Prints, for the reference cloud-dr stack and for a synthetic estate of N azure-native resources:
- the OfflineEngine's time (recording mock monitor, alias stripping, neutral Plan built);
- the floor: the SDK's bare registration cost for the same resources, i.e. ``pulumi.CustomResource``
  with the exact property sets the typed classes register, under ``set_mocks`` with a do-nothing
  mock (no typed-class argument handling, no aliases, no recording, no Plan);
- for context, the typed classes *with* their version aliases on a sample (what a naive
  mock-based evaluation pays).
Goal (issue 2): engine within 1.5x of the floor.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import pulumi  # noqa: E402
import pulumi_azure_native as azure  # noqa: E402
from pulumi.runtime import mocks  # noqa: E402
from pulumi.runtime import settings as runtime_settings  # noqa: E402
from pulumi.runtime.stack import run_pulumi_func  # noqa: E402
from pulumi.runtime.sync_await import _sync_await  # noqa: E402

from dr.engines.offline import OfflineEngine, _diff, _strip_aliases, evaluate  # noqa: E402

# --- the synthetic estate ----------------------------------------------------------------

TAGS = {
    "env": "bench",
    "owner": "bench",
    "component": "bench",
    "cost-center": "bench",
    "managed-by": "pulumi",
}


def _estate_factories() -> list[Callable[[int], Any]]:
    rg = "rg-bench"
    return [
        lambda i: azure.resources.ResourceGroup(
            f"rg-{i}", resource_group_name=f"rg-{i}", location="eastus", tags=TAGS
        ),
        lambda i: azure.network.VirtualNetwork(
            f"vnet-{i}",
            resource_group_name=rg,
            location="eastus",
            address_space={"address_prefixes": [f"10.{i % 250}.0.0/16"]},
            tags=TAGS,
        ),
        lambda i: azure.network.Subnet(
            f"snet-{i}",
            resource_group_name=rg,
            virtual_network_name="vnet",
            address_prefix=f"10.{i % 250}.1.0/24",
        ),
        lambda i: azure.network.PublicIPAddress(
            f"pip-{i}",
            resource_group_name=rg,
            location="eastus",
            sku={"name": "Standard"},
            public_ip_allocation_method="Static",
            tags=TAGS,
        ),
        lambda i: azure.storage.StorageAccount(
            f"st-{i}",
            resource_group_name=rg,
            location="eastus",
            kind="StorageV2",
            sku={"name": "Standard_LRS"},
            tags=TAGS,
        ),
        lambda i: azure.compute.Disk(
            f"disk-{i}",
            resource_group_name=rg,
            location="eastus",
            sku={"name": "Premium_LRS"},
            disk_size_gb=128,
            creation_data={"create_option": "Empty"},
            tags=TAGS,
        ),
        lambda i: azure.containerservice.AgentPool(
            f"pool-{i}",
            resource_group_name=rg,
            resource_name_="aks",
            vm_size="Standard_D4s_v5",
            count=3,
            mode="User",
            tags=TAGS,
        ),
        lambda i: azure.keyvault.Vault(
            f"kv-{i}",
            resource_group_name=rg,
            location="eastus",
            properties={
                "tenant_id": "00000000-0000-0000-0000-000000000000",
                "sku": {"family": "A", "name": "standard"},
            },
            tags=TAGS,
        ),
    ]


def estate_program(n: int) -> Callable[[], None]:
    factories = _estate_factories()

    def program() -> None:
        for i in range(n):
            factories[i % len(factories)](i)

    return program


# --- the floor: bare CustomResource registrations with the same property sets -----------------


def capture_props(n: int) -> list[tuple[str, str, Any]]:
    """The (type, name, props) each typed class hands to ``CustomResource.__init__``."""
    captured: list[tuple[str, str, Any]] = []
    original = pulumi.CustomResource.__init__

    def spy(
        self: Any, t: str, name: str, props: Any = None, opts: Any = None, *a: Any, **kw: Any
    ) -> None:
        captured.append((t, name, props))
        raise _Captured

    pulumi.CustomResource.__init__ = spy  # type: ignore[method-assign]
    try:
        factories = _estate_factories()
        for i in range(n):
            with contextlib.suppress(_Captured):
                factories[i % len(factories)](i)
    finally:
        pulumi.CustomResource.__init__ = original  # type: ignore[method-assign]
    return captured


class _Captured(Exception):
    pass


class _NoopMocks(pulumi.runtime.Mocks):
    def new_resource(
        self, args: pulumi.runtime.MockResourceArgs
    ) -> tuple[str | None, dict[str, Any]]:
        return None, args.inputs

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


def run_bare(program: Callable[[], None], *, strip: bool = False) -> float:
    runtime_settings.ROOT.set(None)
    pulumi.runtime.set_all_config({}, [])
    mocks.set_mocks(_NoopMocks(), project="bench", stack="bench", preview=True)

    def wrapped() -> None:
        if strip:
            pulumi.runtime.register_stack_transformation(_strip_aliases)
        program()

    t0 = time.perf_counter()
    _sync_await(run_pulumi_func(wrapped))
    return time.perf_counter() - t0


def floor_program(captured: list[tuple[str, str, Any]]) -> Callable[[], None]:
    def program() -> None:
        for t, name, props in captured:
            pulumi.CustomResource(t, name, copy.copy(props))

    return program


def run_engine(program: Callable[[], None], n_expected: int) -> float:
    t0 = time.perf_counter()
    regs = evaluate(program, stack="bench", config={}, secret_keys=[])
    steps = _diff(regs, regs)
    elapsed = time.perf_counter() - t0
    assert len(steps) == n_expected, (len(steps), n_expected)
    return elapsed


def median_of(repeat: int, fn: Callable[[], float]) -> float:
    return statistics.median(fn() for _ in range(repeat))


def cli_help_seconds() -> float:
    exe = Path(sys.executable).with_name("hybridops")
    cmd = [str(exe), "--help"] if exe.exists() else [sys.executable, "-m", "dr.cli", "--help"]
    runs = []
    for _ in range(5):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--resources", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--alias-sample", type=int, default=100)
    args = parser.parse_args()
    n = args.resources

    # First plan in this process: pays the provider SDK module imports once.
    engine = OfflineEngine(REPO)
    t0 = time.perf_counter()
    first = engine.plan("cloud-dr")
    cold = time.perf_counter() - t0
    ref_n = len(first.resources)
    # Warm up the estate's modules too, so every figure below is steady-state.
    run_engine(estate_program(16), 16)

    def ref_once() -> float:
        t = time.perf_counter()
        engine.plan("cloud-dr")
        return time.perf_counter() - t

    ref = median_of(args.repeat, ref_once)

    def ref_whatif() -> float:
        t = time.perf_counter()
        engine.plan("cloud-dr", {"hybridops:drMode": "active"})
        return time.perf_counter() - t

    whatif = median_of(args.repeat, ref_whatif)

    captured = capture_props(n)
    floor = median_of(args.repeat, lambda: run_bare(floor_program(captured)))
    ours = median_of(args.repeat, lambda: run_engine(estate_program(n), n))
    sample = min(args.alias_sample, n)
    with_aliases = run_bare(estate_program(sample), strip=False)
    stripped_sample = run_bare(estate_program(sample), strip=True)
    help_s = cli_help_seconds()

    versions = ", ".join(f"{d} {metadata.version(d)}" for d in ("pulumi", "pulumi-azure-native"))
    print(f"python {sys.version.split()[0]}, {versions}, {os.cpu_count()} cpus")
    print(
        f"reference stack cloud-dr ({ref_n} steps): first plan incl. imports {cold:.2f} s; "
        f"steady {ref:.3f} s ({ref / ref_n * 1000:.2f} ms/step); what-if drMode=active (2 evaluations) {whatif:.3f} s"
    )
    print(f"synthetic estate: {n} azure-native resources, median of {args.repeat}")
    print(
        f"  floor  (bare CustomResource, same props, no-op mocks): {floor:.2f} s  {floor / n * 1000:.2f} ms/resource"
    )
    print(
        f"  engine (OfflineEngine: typed classes, aliases stripped, recorded, Plan built): {ours:.2f} s  {ours / n * 1000:.2f} ms/resource"
    )
    print(f"  ratio engine/floor: {ours / floor:.2f}x  (goal <= 1.5x)")
    print(
        f"  context, typed classes on a sample of {sample}: with version aliases {with_aliases / sample * 1000:.1f} ms/resource, "
        f"aliases stripped {stripped_sample / sample * 1000:.1f} ms/resource"
    )
    print(f"hybridops --help: {help_s * 1000:.0f} ms (median of 5)")


if __name__ == "__main__":
    main()
