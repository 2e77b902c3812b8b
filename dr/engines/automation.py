"""AutomationEngine: the real Pulumi engine through ``pulumi.automation`` (needs the pulumi CLI,
a backend and provider credentials).

Every failure is classified once, in :func:`classify`, into the driver's errors: CLI missing,
stack locked, stack not found, provider/credential errors, anything else.
"""

from __future__ import annotations

import functools
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel, Field

from cost.plan import COMPUTED_MARKER, SECRET_MARKER, Op, Plan, PlannedResource
from dr.errors import (
    EngineError,
    EngineUnavailableError,
    HybridOpsError,
    ProviderError,
    StackLockedError,
    StackNotFoundError,
)
from dr.redact import redact_text
from dr.stack_config import load_stack_config

if TYPE_CHECKING:
    from dr.engines import DrState

UNKNOWN_SENTINEL = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
"""How the engine serialises a value unknown during preview (pulumi sdk ``rpc.UNKNOWN``)."""

# Engine step ops (https://github.com/pulumi/pulumi/blob/master/pkg/apitype/events.go) -> Plan ops.
_OPS: dict[str, Op] = {
    "same": "same",
    "create": "create",
    "update": "update",
    "delete": "delete",
    "replace": "replace",
    "create-replacement": "replace",
    "delete-replaced": "replace",
    "read": "same",
    "read-replacement": "same",
    "refresh": "same",
    "import": "same",
    "import-replacement": "same",
    "discard": "same",
    "discard-replaced": "same",
    "remove-pending-replace": "same",
}

_CREDENTIAL_HINTS = (
    "credentials",
    "authenticat",
    "authoriz",
    "401 unauthorized",
    "403 forbidden",
    "AADSTS",
    "failed to get token",
    "api token",
    "permission denied",
)


class ApplyResult(BaseModel):
    """What an ``up`` changed."""

    stack: str
    resource_changes: dict[str, int] = Field(default_factory=dict)
    outputs: dict[str, Any] = Field(default_factory=dict)
    duration_seconds: float
    plan: Plan | None = None


def _clean(value: Any) -> Any:
    if value == UNKNOWN_SENTINEL:
        return COMPUTED_MARKER
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def plan_from_events(events: Iterable[Any], *, stack: str, project: str) -> list[PlannedResource]:
    """Plan steps from the engine's ``ResourcePreEvent`` metadata (old/new inputs per step).

    A replacement shows up as several steps for one URN (``create-replacement``,
    ``replace``, ``delete-replaced``); they merge into one ``replace`` step.
    """
    steps: dict[str, PlannedResource] = {}
    for event in events:
        pre = getattr(event, "resource_pre_event", None)
        if pre is None:
            continue
        meta = pre.metadata
        op_name = meta.op.value if hasattr(meta.op, "value") else str(meta.op)
        op = _OPS.get(op_name)
        if op is None:
            raise EngineError(f"unknown engine step op {op_name!r} for {meta.urn}")
        if meta.type == "pulumi:pulumi:Stack":
            continue
        old = (
            _clean(meta.old.inputs)
            if meta.old is not None and meta.old.inputs is not None
            else None
        )
        new = (
            _clean(meta.new.inputs)
            if meta.new is not None and meta.new.inputs is not None
            else None
        )
        state = meta.new or meta.old
        if op == "same" and new is None:
            new = old
        previous = steps.get(meta.urn)
        if previous is not None and op == "replace":
            old = previous.old_inputs if old is None else old
            new = previous.new_inputs if new is None else new
        steps[meta.urn] = PlannedResource(
            urn=meta.urn,
            type=meta.type,
            name=meta.urn.rsplit("::", 1)[-1],
            op=op,
            old_inputs=old if op != "create" else None,
            new_inputs=new if op != "delete" else None,
            provider=meta.type.split(":", 1)[0] if state is not None and state.custom else None,
            parent=(state.parent or None) if state is not None else None,
        )
    return sorted(steps.values(), key=lambda s: s.urn)


def classify(exc: BaseException, *, stack: str) -> HybridOpsError:
    """Map an automation-API failure to the driver's error, with a one-line, redacted message."""
    from pulumi.automation import errors as auto_errors

    if isinstance(exc, HybridOpsError):
        return exc
    if isinstance(exc, FileNotFoundError):
        return EngineUnavailableError(
            "the pulumi CLI is not installed (https://www.pulumi.com/docs/install/); "
            "install it, or use --offline to plan without it"
        )
    if isinstance(exc, auto_errors.ConcurrentUpdateError):
        return StackLockedError(
            f"stack {stack!r} is locked: another update is in progress "
            "(wait for it, or `pulumi cancel` if it is abandoned)"
        )
    if isinstance(exc, auto_errors.StackNotFoundError):
        return StackNotFoundError(
            f"stack {stack!r} does not exist in the backend (`pulumi stack init {stack}`)"
        )
    if isinstance(exc, auto_errors.CommandError):
        detail = _first_error_line(str(exc))
        lowered = detail.lower()
        if any(hint.lower() in lowered for hint in _CREDENTIAL_HINTS):
            return ProviderError(f"stack {stack!r}: provider or credential error: {detail}")
        return EngineError(f"stack {stack!r}: pulumi failed: {detail}")
    return EngineError(f"stack {stack!r}: {type(exc).__name__}: {redact_text(str(exc))}")


def _first_error_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for line in lines:
        low = line.lower()
        if low.startswith("error:") or " error:" in low or low.startswith("stderr: error"):
            return redact_text(line.removeprefix("stderr: ").strip())[:400]
    return redact_text(lines[-1] if lines else "no output")[:400]


class AutomationEngine:
    """Preview/up/refresh/outputs of this project's stacks through ``pulumi.automation``.

    ``command`` is a ``PulumiCommand`` (default: the ``pulumi`` on PATH); tests pass a stand-in
    that replays recorded engine events.
    """

    name = "automation"
    can_apply = True

    def __init__(
        self,
        project_dir: Path,
        *,
        command: Any | None = None,
        env_vars: Mapping[str, str] | None = None,
    ) -> None:
        self.project_dir = project_dir
        self._command = command
        self._env_vars = dict(env_vars or {})

    # --- plumbing ----------------------------------------------------------------------

    def _workspace_options(self) -> Any:
        from pulumi import automation as auto

        return auto.LocalWorkspaceOptions(
            work_dir=str(self.project_dir),
            pulumi_command=self._command,
            env_vars=self._env_vars,
        )

    def _call(self, stack: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except HybridOpsError:
            raise
        except Exception as exc:
            raise classify(exc, stack=stack) from None

    def _stack(self, stack: str) -> Any:
        from pulumi import automation as auto

        def select() -> Any:
            if self._command is None:
                # Constructing PulumiCommand runs `pulumi version`: FileNotFoundError when absent.
                self._command = auto.PulumiCommand()
            return auto.select_stack(
                stack_name=stack, work_dir=str(self.project_dir), opts=self._workspace_options()
            )

        return self._call(stack, select)

    # --- engine interface --------------------------------------------------------------------

    def _pinned_dr_state(self, st: Any, stack: str, committed: Mapping[str, Any]) -> dict[str, str]:
        """The deployed DR state where the checkout's stack file disagrees with it.

        DR state is declarative stack config, but a run happens in a fresh checkout whose stack
        file holds the committed default (standby). Planning or applying on top of that would
        silently undo a cutover (e.g. a resumed cutover scaling the cloud down while moving
        traffic to it). The stack outputs are the deployed truth: pin them first.
        """
        outputs = self._call(stack, st.outputs)
        pinned: dict[str, str] = {}
        for output, key in (
            ("drMode", "hybridops:drMode"),
            ("trafficTarget", "hybridops:trafficTarget"),
        ):
            value = outputs.get(output)
            if value is not None and not value.secret and committed.get(key) != value.value:
                pinned[key] = str(value.value)
        return pinned

    def plan(self, stack: str, overrides: Mapping[str, Any] | None = None) -> Plan:
        """A real ``pulumi preview`` of the deployed DR state plus ``overrides``; both go into a
        temporary config file, so the committed stack file is not modified by a what-if."""
        config = load_stack_config(self.project_dir, stack)
        st = self._stack(stack)
        pinned = self._pinned_dr_state(st, stack, config.values)
        changes = {**pinned, **(overrides or {})}
        target = config.with_overrides(changes) if changes else config
        events: list[Any] = []
        notes = [f"deployed DR state pinned from the stack outputs: {pinned}"] if pinned else []
        with tempfile.TemporaryDirectory(prefix="hybridops-preview-") as tmp:
            kwargs: dict[str, Any] = {"on_event": events.append, "diff": False}
            if changes:
                path = Path(tmp) / f"Pulumi.{stack}.yaml"
                raw = yaml.safe_load(config.path.read_text(encoding="utf-8")) or {}
                raw["config"] = {
                    **(raw.get("config") or {}),
                    **_nested(target.values, config.values),
                }
                path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
                kwargs["config_file"] = str(path)
            self._call(stack, lambda: st.preview(**kwargs))
        from dr.engines.offline import _redacted_config

        return Plan(
            stack=stack,
            source="pulumi-preview",
            offline=False,
            config=_redacted_config(target),
            overrides=dict(overrides or {}),
            notes=notes,
            resources=plan_from_events(events, stack=stack, project=self.project_dir.name),
        )

    def apply(self, stack: str, changes: Mapping[str, str], *, message: str) -> ApplyResult:
        """Persist config ``changes`` in the stack (``pulumi config set``) and run ``pulumi up``."""
        from pulumi import automation as auto

        st = self._stack(stack)
        pinned = self._pinned_dr_state(st, stack, load_stack_config(self.project_dir, stack).values)
        for key, value in {**pinned, **changes}.items():
            self._call(
                stack,
                functools.partial(
                    st.set_config, key, auto.ConfigValue(value=value), path="." in key
                ),
            )
        events: list[Any] = []
        started = time.monotonic()
        try:
            result = st.up(on_event=events.append, message=message)
        except Exception as exc:
            failure = _failed_resource(events)
            error = classify(exc, stack=stack)
            if failure and not isinstance(error, StackLockedError):
                raise type(error)(f"{error} ({failure})") from None
            raise error from None
        return ApplyResult(
            stack=stack,
            resource_changes=dict(result.summary.resource_changes or {}),
            outputs=_plain_outputs(result.outputs),
            duration_seconds=round(time.monotonic() - started, 3),
        )

    def refresh(self, stack: str) -> dict[str, int]:
        st = self._stack(stack)
        result = self._call(stack, lambda: st.refresh())
        return dict(result.summary.resource_changes or {})

    def dr_state(self, stack: str) -> DrState:
        """The deployed DR state (stack outputs); the stack file only before the first deploy."""
        from dr.engines import DrState

        outputs = self.outputs(stack)
        if "drMode" in outputs and "trafficTarget" in outputs:
            return DrState(
                str(outputs["drMode"]), str(outputs["trafficTarget"]), f"stack {stack} outputs"
            )
        config = load_stack_config(self.project_dir, stack)
        return DrState(
            str(config.get("drMode", "standby")),
            str(config.get("trafficTarget", "onprem")),
            f"{config.display_path} (stack has no DR outputs yet)",
        )

    def outputs(self, stack: str) -> dict[str, Any]:
        st = self._stack(stack)
        return _plain_outputs(self._call(stack, st.outputs))


def _plain_outputs(outputs: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (SECRET_MARKER if v.secret else v.value) for k, v in outputs.items()}


def _failed_resource(events: list[Any]) -> str | None:
    diagnostics = [
        e.diagnostic_event
        for e in events
        if getattr(e, "diagnostic_event", None) is not None
        and e.diagnostic_event.severity == "error"
    ]
    for e in events:
        failed = getattr(e, "res_op_failed_event", None)
        if failed is not None:
            urn = failed.metadata.urn
            message = next((d.message for d in diagnostics if d.urn == urn), "")
            detail = redact_text(" ".join(message.split()))[:300]
            return (
                f"{failed.metadata.op.value} of {urn.rsplit('::', 1)[-1]} ({failed.metadata.type}) failed"
                + (f": {detail}" if detail else "")
            )
    return None


def _nested(values: Mapping[str, Any], original: Mapping[str, Any]) -> dict[str, Any]:
    """Config values changed by overrides, in the shape the stack file uses."""
    return {k: v for k, v in values.items() if original.get(k) != v}
