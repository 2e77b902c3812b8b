"""OfflineEngine: evaluate the Pulumi program in-process with the SDK's mocks.

No pulumi CLI, no backend, no credentials. It answers "what would this configuration deploy?"
with preview semantics: values only known after a real deploy (ids, outputs of other
resources) are :data:`~cost.plan.COMPUTED_MARKER`; secrets are :data:`~cost.plan.SECRET_MARKER`.
It never applies anything and every plan it makes says ``offline: true``.

Without state, the offline engine assumes the committed stack file is what is deployed
(``baseline="stack"``): ``--set`` overrides are the change. ``baseline="empty"`` plans a deployment
from nothing (every resource a create).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from cost.plan import COMPUTED_MARKER, SECRET_MARKER, Plan, PlannedResource
from dr.errors import ConfigError, EngineError
from dr.project import PROJECT_NAME
from dr.stack_config import StackConfig, load_stack_config

if TYPE_CHECKING:
    from dr.engines import DrState

Baseline = Literal["stack", "empty"]

OFFLINE_SECRET_PLACEHOLDER = "offline-placeholder-not-a-secret"
"""Stands in for secret config the offline engine cannot decrypt or does not have."""

STACK_TYPE = "pulumi:pulumi:Stack"


@dataclass(frozen=True)
class Registration:
    urn: str
    type: str
    name: str
    parent: str | None
    custom: bool
    inputs: dict[str, Any]


def _plain(value: Any) -> Any:
    """Mock-monitor inputs -> JSON-safe data with secrets and unknowns replaced by markers."""
    from pulumi.output import Unknown
    from pulumi.runtime.rpc import is_rpc_secret

    if is_rpc_secret(value):
        return SECRET_MARKER
    if isinstance(value, Unknown):
        return COMPUTED_MARKER
    if isinstance(value, dict):
        # Sorted: protobuf Struct field order is not stable between runs; plans should be.
        return {k: _plain(v) for k, v in sorted(value.items())}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)  # protobuf Struct numbers are doubles; counts and sizes are integers
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _strip_aliases(args: Any) -> Any:
    """Stack transformation: drop the SDK's version aliases (azure-native attaches dozens per
    resource; resolving them costs ~20 ms each under mocks and changes nothing in a plan)."""
    import pulumi

    if not args.opts.aliases:
        return None
    opts = copy.copy(args.opts)
    opts.aliases = None
    return pulumi.ResourceTransformationResult(args.props, opts)


def evaluate(
    program: Callable[[], None],
    *,
    stack: str,
    config: Mapping[str, str],
    secret_keys: list[str],
    project: str = PROJECT_NAME,
    strip_aliases: bool = True,
) -> list[Registration]:
    """Run ``program`` against a recording mock monitor in preview mode; return what it registered."""
    import pulumi
    from pulumi.runtime import mocks, rpc
    from pulumi.runtime import settings as runtime_settings
    from pulumi.runtime.proto import resource_pb2
    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

    records: list[Registration] = []

    class _Mocks(pulumi.runtime.Mocks):
        def new_resource(
            self, args: pulumi.runtime.MockResourceArgs
        ) -> tuple[str | None, dict[str, Any]]:
            raise AssertionError("unused: the recording monitor answers registrations itself")

        def call(
            self, args: pulumi.runtime.MockCallArgs
        ) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
            # An invoke would need a real provider; the program is written to need none.
            raise EngineError(
                f"offline evaluation cannot answer the provider function {args.token}"
            )

    class _RecordingMonitor(mocks.MockMonitor):
        def make_urn(self, parent: str, type_: str, name: str) -> str:
            # Like the engine: the root stack is not part of a child's qualified type.
            if parent and parent.split("::")[2] != STACK_TYPE:
                type_ = parent.split("::")[2] + "$" + type_
            return "urn:pulumi:" + "::".join([stack, project, type_, name])

        def RegisterResource(self, request: Any) -> Any:
            urn = self.make_urn(request.parent, request.type, request.name)
            if request.type == STACK_TYPE:
                return resource_pb2.RegisterResourceResponse(urn=urn)
            _ensure_event_loop()  # type: ignore[no-untyped-call]
            inputs = rpc.deserialize_properties(request.object)
            records.append(
                Registration(
                    urn=urn,
                    type=request.type,
                    name=request.name,
                    parent=request.parent or None,
                    custom=bool(request.custom),
                    inputs=inputs,
                )
            )
            # Echo the inputs as outputs; anything else (ids, computed outputs) stays unknown,
            # exactly as in `pulumi preview`.
            state = _sync_await(rpc.serialize_properties(inputs, {}))
            self.resources[urn] = mocks.MockMonitor.ResourceRegistration(urn, "", inputs)
            return resource_pb2.RegisterResourceResponse(urn=urn, id="", object=state)

    runtime_settings.ROOT.set(None)
    pulumi.runtime.set_all_config(dict(config), secret_keys)
    recorder = _Mocks()
    mocks.set_mocks(
        recorder, project=project, stack=stack, preview=True, monitor=_RecordingMonitor(recorder)
    )

    def _program() -> None:
        if strip_aliases:
            pulumi.runtime.register_stack_transformation(_strip_aliases)
        program()

    _sync_await(run_pulumi_func(_program))
    return records


class OfflineEngine:
    """Plans a stack of this project without the pulumi CLI (see module docstring)."""

    name = "offline"
    can_apply = False
    """It never applies anything: there is no state or backend to change."""

    def __init__(self, project_dir: Path) -> None:
        self.project_dir = project_dir

    def dr_state(self, stack: str) -> DrState:
        from dr.engines import DrState

        config = load_stack_config(self.project_dir, stack)
        return DrState(
            dr_mode=str(config.get("drMode", "standby")),
            traffic_target=str(config.get("trafficTarget", "onprem")),
            source=f"{config.display_path} (offline: the stack file is taken as deployed)",
        )

    def load(self, stack: str, overrides: Mapping[str, Any] | None = None) -> StackConfig:
        config = load_stack_config(self.project_dir, stack)
        return config.with_overrides(overrides) if overrides else config

    def plan(
        self,
        stack: str,
        overrides: Mapping[str, Any] | None = None,
        *,
        baseline: Baseline = "stack",
    ) -> Plan:
        base = load_stack_config(self.project_dir, stack)
        target = base.with_overrides(overrides) if overrides else base
        notes: list[str] = []
        new = self._evaluate(target, notes)
        if baseline == "empty":
            old: list[Registration] = []
            notes.append("baseline: empty (every resource is a create)")
        elif overrides:
            old = self._evaluate(base, [])
            notes.append(f"baseline: {base.display_path} as committed is assumed to be deployed")
        else:
            old = new
            notes.append(f"baseline: {base.display_path} as committed is assumed to be deployed")
        return Plan(
            stack=stack,
            source="offline-plan",
            offline=True,
            config=_redacted_config(target),
            overrides={
                k: (SECRET_MARKER if _is_secret_key(target, k) else v)
                for k, v in target.overrides.items()
            },
            notes=notes,
            resources=_diff(old, new),
        )

    def _evaluate(self, config: StackConfig, notes: list[str]) -> list[Registration]:
        from components.program import run
        from components.settings import SECRET_KEYS, SettingsError

        site = str(config.get("site", ""))
        secret_keys = [f"hybridops:{k}" for k in SECRET_KEYS.get(site, ())]
        runtime_config = config.runtime_values()
        placeholders = sorted(k for k in secret_keys if k not in runtime_config)
        for key in placeholders:
            runtime_config[key] = OFFLINE_SECRET_PLACEHOLDER
        if placeholders:
            notes.append(
                "offline: secrets are not available, placeholders stand in for "
                + ", ".join(placeholders)
                + f" (shown as {SECRET_MARKER})"
            )
        try:
            return evaluate(
                run,
                stack=config.stack,
                config=runtime_config,
                secret_keys=sorted(set(secret_keys) | set(config.secure_keys)),
            )
        except SettingsError as exc:
            raise ConfigError(str(exc)) from None
        except EngineError:
            raise
        except Exception as exc:  # the program failed: say where, keep it one line
            raise EngineError(
                f"offline evaluation of stack {config.stack!r} failed: {type(exc).__name__}: {exc}"
            ) from exc


def _is_secret_key(config: StackConfig, key: str) -> bool:
    """Encrypted in the stack file, or one of the program's secret keys (even when given by --set)."""
    from components.settings import ALL_SECRET_KEYS

    head = key.split(".", 1)[0]
    return head in config.secure_keys or head.removeprefix("hybridops:") in ALL_SECRET_KEYS


def _redacted_config(config: StackConfig) -> dict[str, Any]:
    return {
        k: (SECRET_MARKER if _is_secret_key(config, k) else v)
        for k, v in sorted(config.values.items())
    }


def _resource(
    reg: Registration, op: str, old: dict[str, Any] | None, new: dict[str, Any] | None
) -> PlannedResource:
    return PlannedResource(
        urn=reg.urn,
        type=reg.type,
        name=reg.name,
        op=op,
        old_inputs=old,
        new_inputs=new,
        provider=reg.type.split(":", 1)[0] if reg.custom else None,
        parent=reg.parent,
    )


def _diff(old: list[Registration], new: list[Registration]) -> list[PlannedResource]:
    """Steps from the old registrations to the new ones, sorted by URN (registration order is
    not deterministic: it follows the resolution of outputs)."""
    old_by_urn = {r.urn: r for r in old}
    new_urns = {r.urn for r in new}
    steps: list[PlannedResource] = []
    for reg in new:
        new_inputs = _plain(reg.inputs)
        before = old_by_urn.get(reg.urn)
        if before is None:
            steps.append(_resource(reg, "create", None, new_inputs))
            continue
        old_inputs = new_inputs if before is reg else _plain(before.inputs)
        steps.append(
            _resource(reg, "same" if old_inputs == new_inputs else "update", old_inputs, new_inputs)
        )
    for reg in old:
        if reg.urn not in new_urns:
            steps.append(_resource(reg, "delete", _plain(reg.inputs), None))
    steps.sort(key=lambda s: s.urn)
    return steps
