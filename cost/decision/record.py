"""Decision records v1: ``decision-<run_id>.json`` for every decision, ``blocked-<run_id>.json`` for
every block, beside the cost artefacts in ``output/artifacts/cost/<component>/``.

Written atomically (temp file + rename). The JSON Schema of both kinds (one file, discriminated by
``kind``) is committed at ``docs/ci/decision-record.schema.json``; regenerate it with
``python -m cost.decision.schema --write-schema docs/ci/decision-record.schema.json``.
Reading follows the cost artefact: a newer ``schema_version`` is refused with a clear message, older
ones migrate in a ``mode="before"`` validator (:data:`MIGRATIONS`). Documented in
``docs/ci/decision-records.md``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from cost.artefact import check_component, check_run_id
from cost.atomic import write_json_atomic
from cost.decision.errors import DecisionError
from cost.decision.model import (
    Check,
    EstimateFacts,
    EstimateUnavailable,
    Figures,
    Ledger,
    Override,
    Verdict,
)
from cost.decision.policy import BudgetEntry, Scenario
from cost.versioning import migrate

RECORD_SCHEMA_VERSION = 1
DECISION_KIND = "hybridops.cost-decision"
BLOCKED_KIND = "hybridops.cost-blocked"
SCHEMA_PATH = Path("docs/ci/decision-record.schema.json")

MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}
"""``version -> function`` turning a version-``version`` record into ``version + 1`` (empty in v1)."""


class RecordError(DecisionError):
    """A decision record cannot be read: not JSON, not a record, corrupt, or a newer version."""

    def __init__(self, path: object, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def _migrate(data: Any) -> Any:
    return migrate(
        data, current=RECORD_SCHEMA_VERSION, migrations=MIGRATIONS, what="decision record"
    )
    version = data.get("schema_version", RECORD_SCHEMA_VERSION)
    if not isinstance(version, int) or isinstance(version, bool):
        raise ValueError(f"schema_version must be an integer, not {version!r}")
    if version > RECORD_SCHEMA_VERSION:
        raise ValueError(
            f"schema_version {version} is newer than this hybridops reads ({RECORD_SCHEMA_VERSION}); upgrade hybridops"
        )
    while version < RECORD_SCHEMA_VERSION:
        step = MIGRATIONS.get(version)
        if step is None:
            raise ValueError(f"schema_version {version} is not a known decision record version")
        data = step(dict(data))
        version = data["schema_version"] = version + 1
    return data


class PolicyRef(BaseModel):
    """Which policy, and which entry of it, the decision applied."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    path: str
    sha256: str
    """Hash of the policy file as read: proves which limits were in force."""
    currency: str
    entry: str | None
    """Key of the budget entry that applied (``null``: none did)."""
    limits: BudgetEntry | None = None
    """The entry's limits as read."""


class PreviousAttempt(BaseModel):
    """An earlier decision of the same run id that this record replaces (a resumed run)."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    decided_at: datetime
    decision: Verdict
    reason: str
    artefact_path: str | None = None


class DecisionRecord(BaseModel):
    """One decision of the cost gate (``decision-<run_id>.json``)."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    schema_version: int = RECORD_SCHEMA_VERSION
    """Version of this format; readers refuse versions above theirs."""
    kind: Literal["hybridops.cost-decision"] = "hybridops.cost-decision"
    run_id: str
    """Run id of the DR run, drill or pipeline; part of the file name."""
    decided_at: datetime
    project: str = "hybridops-dr"
    stack: str
    component: str
    scenario: Scenario
    severity: str | None = None
    drill: bool = False
    """A rehearsal: judged like the real scenario, never counted as DR spend."""
    decision: Verdict
    """Final decision (after an approval or a permitted break-glass)."""
    original_decision: Verdict
    """What the checks alone decided."""
    reason: str
    checks: list[Check]
    """Every check (stable ids), passed, failed or skipped, with the reason."""
    figures: Figures
    override: Override | None = None
    """Who approved or broke glass, why, and over which decision."""
    estimate: EstimateFacts | None = None
    """The estimate the decision rests on (``null`` when none was usable: see ``estimate_problem``)."""
    estimate_problem: EstimateUnavailable | None = None
    policy: PolicyRef
    ledger: Ledger
    """The month's DR spend before this decision."""
    blocked_record: str | None = None
    """Path of ``blocked-<run_id>.json`` when the decision is ``block``."""
    previous_attempts: list[PreviousAttempt] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _version(cls, data: Any) -> Any:
        return _migrate(data)


class BreakGlassHint(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    permitted: bool
    detail: str


class BlockedRecord(BaseModel):
    """A blocked event (``blocked-<run_id>.json``): what was refused, why, and how to proceed."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    schema_version: int = RECORD_SCHEMA_VERSION
    kind: Literal["hybridops.cost-blocked"] = "hybridops.cost-blocked"
    run_id: str
    blocked_at: datetime
    stack: str
    component: str
    scenario: Scenario
    severity: str | None = None
    drill: bool = False
    reason: str
    failed_checks: list[Check]
    figures: Figures
    decision_record: str
    """Path of the full decision record."""
    estimate_artefact: str | None = None
    break_glass: BreakGlassHint
    """Whether ``--approved-by WHO --reason TEXT`` would be honoured for this block."""

    @model_validator(mode="before")
    @classmethod
    def _version(cls, data: Any) -> Any:
        return _migrate(data)


AnyRecord = Annotated[DecisionRecord | BlockedRecord, Field(discriminator="kind")]
_ADAPTER: TypeAdapter[DecisionRecord | BlockedRecord] = TypeAdapter(AnyRecord)


def decision_path(root: Path, component: str, run_id: str) -> Path:
    return root / check_component(component) / f"decision-{check_run_id(run_id)}.json"


def blocked_path(root: Path, component: str, run_id: str) -> Path:
    return root / check_component(component) / f"blocked-{check_run_id(run_id)}.json"


def dumps(record: DecisionRecord | BlockedRecord) -> str:
    return json.dumps(record.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"


def write_record(record: DecisionRecord | BlockedRecord, path: Path) -> Path:
    """Atomic write (readers see the old file or the new one, never half of one)."""
    write_json_atomic(path, dumps(record))
    return path


def parse_record(raw: bytes, origin: str | Path) -> DecisionRecord | BlockedRecord:
    """Validate bytes as a decision or blocked record; every failure is a :class:`RecordError`."""
    try:
        doc = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise RecordError(origin, f"not valid JSON ({exc})") from None
    except UnicodeDecodeError:
        raise RecordError(origin, "not valid JSON (not UTF-8 text)") from None
    except (ValueError, RecursionError):
        raise RecordError(origin, "not valid JSON (malformed or nested too deeply)") from None
    if not isinstance(doc, dict):
        raise RecordError(origin, "not a decision record (expected a JSON object)")
    if doc.get("kind") not in (DECISION_KIND, BLOCKED_KIND):
        raise RecordError(origin, f"not a decision record (kind is {doc.get('kind')!r})")
    try:
        return _ADAPTER.validate_python(doc)
    except ValidationError as exc:
        err = exc.errors()[0]
        # The first element of a discriminated union's location is the ``kind`` tag: not a key.
        path = err["loc"][1:] if err["loc"] and err["loc"][0] == doc.get("kind") else err["loc"]
        loc = ".".join(str(p) for p in path) or "(document)"
        raise RecordError(origin, f"invalid record at {loc}: {err['msg']}") from None
    except (RecursionError, ValueError, TypeError, ArithmeticError) as exc:
        raise RecordError(origin, f"invalid record ({type(exc).__name__})") from None


def load_record(path: Path) -> DecisionRecord | BlockedRecord:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise RecordError(path, f"cannot read: {exc.strerror or exc}") from None
    return parse_record(raw, path)


def json_schema() -> dict[str, Any]:
    schema = _ADAPTER.json_schema(mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://hybridops.example/schemas/decision-record.schema.json"
    schema["title"] = "HybridOps cost decision record"
    return schema


def schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"
