"""``hybridops plan``: what would this stack deploy?"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from dr.cli.common import (
    JsonOption,
    OfflineOption,
    ProjectDirOption,
    SetOption,
    StackOption,
    print_json,
    project_dir,
)

if TYPE_CHECKING:
    from cost.plan import Plan, PlannedResource

# Inputs that say what a resource *is* (size, count, priority...), per type; others get a generic summary.
_KEY_INPUTS: dict[str, tuple[str, ...]] = {
    "azure-native:containerservice:ManagedCluster": (
        "kubernetesVersion",
        "sku.tier",
        "agentPoolProfiles.0.vmSize",
        "agentPoolProfiles.0.count",
    ),
    "azure-native:containerservice:AgentPool": (
        "vmSize",
        "count",
        "enableAutoScaling",
        "minCount",
        "maxCount",
    ),
    "azure-native:compute:Disk": ("sku.name", "diskSizeGb"),
    "azure-native:storage:StorageAccount": ("kind", "sku.name", "accessTier"),
    "azure-native:network:VirtualNetworkGateway": ("sku.name", "vpnType"),
    "azure-native:network:PublicIPAddress": ("sku.name", "publicIPAllocationMethod"),
    "azure-native:trafficmanager:Profile": (
        "trafficRoutingMethod",
        "endpoints.0.name",
        "endpoints.0.priority",
        "endpoints.0.endpointStatus",
        "endpoints.1.name",
        "endpoints.1.priority",
        "endpoints.1.endpointStatus",
    ),
    "proxmoxve:index/vmLegacy:VmLegacy": (
        "name",
        "nodeName",
        "cpu.cores",
        "memory.dedicated",
        "disks.0.size",
    ),
    "proxmoxve:index/containerLegacy:ContainerLegacy": (
        "nodeName",
        "unprivileged",
        "cpu.cores",
        "memory.dedicated",
        "disk.size",
        "mountPoints.0.size",
    ),
}
_SKIP = {"tags", "location", "resourceGroupName", "description"}


def _lookup(inputs: dict[str, Any], path: str) -> Any:
    node: Any = inputs
    for part in path.split("."):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return None
    return node


def summarize_inputs(resource: PlannedResource, width: int = 90) -> str:
    inputs = resource.inputs
    keys = _KEY_INPUTS.get(resource.type)
    if keys:
        pairs = [(k, _lookup(inputs, k)) for k in keys]
    else:
        pairs = [
            (k, v)
            for k, v in inputs.items()
            if k not in _SKIP and isinstance(v, str | int | float | bool)
        ]
    text = " ".join(f"{k}={v}" for k, v in pairs if v is not None)
    return text if len(text) <= width else text[: width - 1] + "…"


def render_plan(plan: Plan) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console()
    if plan.offline:
        console.print(
            f"[bold yellow]OFFLINE PLAN[/] of stack [bold]{plan.stack}[/]: evaluated in-process with the "
            "Pulumi SDK's mocks; no pulumi CLI, no state, no credentials; nothing was applied."
        )
    else:
        console.print(
            f"[bold]PREVIEW[/] of stack [bold]{plan.stack}[/] by the Pulumi engine (nothing was applied)."
        )
    if plan.overrides:
        console.print(
            escape("what-if overrides: " + ", ".join(f"{k}={v}" for k, v in plan.overrides.items()))
        )
    for note in plan.notes:
        console.print(f"[dim]note: {escape(note)}[/]")
    table = Table(show_lines=False)
    table.add_column("op")
    table.add_column("type")
    table.add_column("name")
    table.add_column("inputs that matter", overflow="fold")
    for r in plan.resources:
        if r.type.startswith("hybridops:"):
            continue  # components: structure, not resources
        style = {"create": "green", "update": "yellow", "replace": "magenta", "delete": "red"}.get(
            r.op, ""
        )
        table.add_row(
            f"[{style}]{r.op}[/]" if style else r.op,
            r.type,
            escape(r.name),
            escape(summarize_inputs(r)),
        )
    console.print(table)
    counts = ", ".join(f"{n} {op}" for op, n in sorted(plan.counts().items()))
    console.print(f"{len(plan.resources)} steps: {counts}")


def register(app: typer.Typer) -> None:
    @app.command("plan")
    def plan_command(
        stack: StackOption,
        set_: SetOption = None,
        offline: OfflineOption = False,
        json_: JsonOption = False,
        baseline: Annotated[
            str,
            typer.Option(
                "--baseline",
                help="Offline only: 'stack' assumes the committed stack file is deployed (--set is the change); "
                "'empty' plans a deployment from nothing.",
            ),
        ] = "stack",
        project: ProjectDirOption = None,
    ) -> None:
        """Preview what a stack would deploy (type, name, op and the inputs that matter)."""
        from dr.engines import get_engine
        from dr.errors import UsageError
        from dr.stack_config import parse_overrides

        if baseline not in ("stack", "empty"):
            raise UsageError(f"--baseline {baseline!r}: expected 'stack' or 'empty'")
        if baseline != "stack" and not offline:
            raise UsageError(
                "--baseline is only meaningful with --offline (a real preview diffs against state)"
            )
        overrides = parse_overrides(set_ or [])
        engine = get_engine(project_dir(project), offline=offline)
        plan = (
            engine.plan(stack, overrides, baseline=baseline)
            if offline
            else engine.plan(stack, overrides)
        )
        if json_:
            print_json(plan.model_dump(mode="json"))
        else:
            render_plan(plan)
