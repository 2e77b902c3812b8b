"""The neutral Plan: what a preview says would be deployed.

This is the contract between the engines in ``dr/`` (which build it from the Pulumi engine's
events or from the offline evaluation) and the cost engine (which prices it). It knows nothing
of Pulumi: type tokens and input dictionaries are plain data, exactly as the provider sees them
(camelCase keys). Secret inputs are already redacted to :data:`SECRET_MARKER`; inputs the
engine cannot know before ``up`` (outputs of other resources) are :data:`COMPUTED_MARKER`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator

PLAN_SCHEMA_VERSION = 1

SECRET_MARKER = "[secret]"
"""Placeholder for any input value the program marked secret."""

COMPUTED_MARKER = "[computed]"
"""Placeholder for an input that depends on another resource's output (unknown at preview)."""

Op = Literal["create", "update", "same", "delete", "replace"]
PlanSource = Literal["offline-plan", "pulumi-preview"]


class PlannedResource(BaseModel):
    """One resource step of a preview."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    urn: str
    """The resource URN, as the engine builds it (``urn:pulumi:<stack>::<project>::<qualified type>::<name>``)."""
    type: str
    """Provider type token, e.g. ``azure-native:containerservice:AgentPool``."""
    name: str
    """Logical (Pulumi) name of the resource."""
    op: Op
    """What the deploy would do to this resource."""
    old_inputs: dict[str, Any] | None = None
    """Inputs currently deployed (``None`` for a create)."""
    new_inputs: dict[str, Any] | None = None
    """Inputs after the deploy (``None`` for a delete)."""
    provider: str | None = None
    """Provider package (``azure-native``, ``proxmoxve``, ``kubernetes``) or reference."""
    parent: str | None = None
    """URN of the parent resource (a component), if any."""

    @model_validator(mode="before")
    @classmethod
    def _drop_computed_inputs(cls, data: Any) -> Any:
        # ``inputs`` is a computed field: it is in every dump (``hybridops plan --json``) but is
        # derived from new/old inputs, so a dumped plan must load back without tripping extra="forbid".
        if isinstance(data, dict) and "inputs" in data:
            data = {k: v for k, v in data.items() if k != "inputs"}
        return data

    @computed_field  # type: ignore[prop-decorator]
    @property
    def inputs(self) -> dict[str, Any]:
        """The inputs that matter for this step: the new ones, or the old ones for a delete."""
        if self.new_inputs is not None:
            return self.new_inputs
        return self.old_inputs or {}


class Plan(BaseModel):
    """A whole preview of one stack."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = PLAN_SCHEMA_VERSION
    project: str = "hybridops-dr"
    stack: str
    source: PlanSource
    offline: bool
    """True when no Pulumi engine was involved: nothing was read from state or applied."""
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    config: dict[str, Any] = Field(default_factory=dict)
    """The effective (redacted) stack configuration the plan was made with."""
    overrides: dict[str, Any] = Field(default_factory=dict)
    """``--set`` overrides applied on top of the stack file (what-if planning)."""
    notes: list[str] = Field(default_factory=list)
    """Caveats a reader must see, e.g. that secrets were replaced by offline placeholders."""
    resources: list[PlannedResource] = Field(default_factory=list)

    def by_type(self, type_token: str) -> list[PlannedResource]:
        return [r for r in self.resources if r.type == type_token]

    def get(self, name: str, type_token: str | None = None) -> PlannedResource:
        """The resource with this logical name (and type); KeyError if absent or ambiguous."""
        found = [
            r
            for r in self.resources
            if r.name == name and (type_token is None or r.type == type_token)
        ]
        if len(found) != 1:
            raise KeyError(f"{len(found)} resources named {name!r} (type {type_token or 'any'})")
        return found[0]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.resources:
            out[r.op] = out.get(r.op, 0) + 1
        return out
