"""Cost artefact v1: the versioned record of one estimate, written by ``cost estimate --write``.

Path: ``output/artifacts/cost/<component>/cost-run-<run_id>.json`` (``component`` defaults to the
stack). Written atomically (temp file + rename), so a reader never sees half a file. The JSON Schema
is committed at ``docs/ci/cost-artefact.schema.json``; regenerate it with
``python -m cost.artefact --write-schema docs/ci/cost-artefact.schema.json``.

Reading (after ``inspect_ai``'s log format): a newer ``schema_version`` fails with a clear message;
older versions are migrated in a ``mode="before"`` validator (:data:`MIGRATIONS`); anything that is
not a cost artefact is rejected with its path and the reason. Documented in
``docs/ci/CI_cost_artefacts_from_pipelines.md``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from cost.atomic import write_json_atomic
from cost.catalog.model import CatalogInfo
from cost.errors import ArtefactError, ArtefactVersionError, CostUsageError
from cost.report import CostReport, Money, PriceInfo, ResourceCost, Summary, UsageInfo
from cost.versioning import migrate

SCHEMA_VERSION = 1
ARTEFACT_KIND: Literal["hybridops.cost-run"] = "hybridops.cost-run"
ARTEFACTS_DIR = Path("output/artifacts/cost")
SCHEMA_PATH = Path("docs/ci/cost-artefact.schema.json")

Purpose = Literal["baseline", "pr-check", "dr-cutover", "dr-failback", "burst", "drill"]
PURPOSES: tuple[str, ...] = ("baseline", "pr-check", "dr-cutover", "dr-failback", "burst", "drill")
Source = Literal["pulumi-preview", "offline-plan"]

_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")

MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}
"""``version -> function`` turning a version-``version`` document into version ``version + 1``.
Empty while v1 is the only version; add one entry per bump (and a fixture test)."""


class Totals(BaseModel):
    """Totals of the estimate in ``currency``; ``diff = planned - past``."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    hourly: Money
    past_hourly: Money
    diff_hourly: Money
    monthly: Money
    """Planned monthly cost (priced and free resources; unsupported/unknown excluded)."""
    past_monthly: Money
    diff_monthly: Money


class CostArtefact(BaseModel):
    """One cost run. Consumers: the decision service (``hybridops cost decide``), dashboards, CI."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    schema_version: int = SCHEMA_VERSION
    """Version of this format; readers refuse versions above theirs."""
    kind: Literal["hybridops.cost-run"] = ARTEFACT_KIND
    """Marks the file as a cost artefact (other JSON files are rejected)."""
    run_id: str
    """Unique id of the run (``[A-Za-z0-9][A-Za-z0-9._-]*``); part of the file name."""
    created_at: datetime
    """When the estimate was made (UTC)."""
    git_commit: str | None = None
    """Commit of the repository the plan was made from, when known."""
    project: str
    stack: str
    component: str
    """Artefact directory name; defaults to the stack."""
    env: str | None = None
    """Environment from the stack config (``hybridops:env``)."""
    purpose: Purpose
    """Why the estimate was made."""
    source: Source
    """``offline-plan`` (OfflineEngine) or ``pulumi-preview`` (real engine)."""
    offline: bool
    currency: str
    region: str | None = None
    hours_per_month: int
    totals: Totals
    breakdown: list[ResourceCost]
    """Per-resource costs, past and planned, with their components."""
    summary: Summary
    """Counts of priced/free/unsupported/price-not-found resources; check before trusting totals."""
    catalogs: list[CatalogInfo]
    """Price catalogs used (name, version, collection date, sha256)."""
    prices: dict[str, PriceInfo] = Field(default_factory=dict)
    """Provenance of every price used."""
    usage: UsageInfo
    """Usage assumptions, including DR expected hours and one-off costs."""
    baseline: str
    overrides: dict[str, Any] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _migrate(cls, data: Any) -> Any:
        return migrate(data, current=SCHEMA_VERSION, migrations=MIGRATIONS, what="cost artefact")
        version = data.get("schema_version", SCHEMA_VERSION)
        if not isinstance(version, int) or isinstance(version, bool):
            raise ValueError(f"schema_version must be an integer, not {version!r}")
        if version > SCHEMA_VERSION:
            raise ValueError(
                f"schema_version {version} is newer than this hybridops reads ({SCHEMA_VERSION}); upgrade hybridops"
            )
        while version < SCHEMA_VERSION:
            step = MIGRATIONS.get(version)
            if step is None:
                raise ValueError(f"schema_version {version} is not a known cost artefact version")
            data = step(dict(data))
            version = data["schema_version"] = version + 1
        return data

    @field_validator("run_id")
    @classmethod
    def _run_id(cls, value: str) -> str:
        if not _RUN_ID.match(value):
            raise ValueError("run_id must match [A-Za-z0-9][A-Za-z0-9._-]{0,127}")
        return value

    @field_validator("component")
    @classmethod
    def _component(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("component must match [A-Za-z0-9][A-Za-z0-9._-]{0,127}")
        return value

    def report(self) -> CostReport:
        """The estimate as a :class:`CostReport` again (for renderers and --compare-to)."""
        return CostReport(
            project=self.project,
            stack=self.stack,
            source=self.source,
            offline=self.offline,
            generated_at=self.created_at,
            currency=self.currency,
            region=self.region,
            hours_per_month=self.hours_per_month,
            total_hourly_cost=self.totals.hourly,
            past_total_hourly_cost=self.totals.past_hourly,
            diff_total_hourly_cost=self.totals.diff_hourly,
            total_monthly_cost=self.totals.monthly,
            past_total_monthly_cost=self.totals.past_monthly,
            diff_total_monthly_cost=self.totals.diff_monthly,
            summary=self.summary,
            resources=self.breakdown,
            prices=self.prices,
            catalogs=self.catalogs,
            usage=self.usage,
            baseline=self.baseline,
            overrides=self.overrides,
            notes=self.notes,
        )


def check_run_id(run_id: str) -> str:
    if not _RUN_ID.match(run_id):
        raise CostUsageError(f"--run-id {run_id!r}: use letters, digits, '.', '_' or '-' (max 128)")
    return run_id


def check_component(component: str) -> str:
    if not _NAME.match(component):
        raise CostUsageError(
            f"--component {component!r}: use letters, digits, '.', '_' or '-' (max 128)"
        )
    return component


def check_purpose(purpose: str) -> Purpose:
    if purpose not in PURPOSES:
        raise CostUsageError(f"--purpose {purpose!r}: expected one of {', '.join(PURPOSES)}")
    return purpose  # type: ignore[return-value]


def from_report(
    report: CostReport,
    *,
    run_id: str,
    purpose: Purpose,
    component: str | None = None,
    git_commit: str | None = None,
    env: str | None = None,
    created_at: datetime | None = None,
) -> CostArtefact:
    return CostArtefact(
        run_id=run_id,
        created_at=created_at or report.generated_at,
        git_commit=git_commit,
        project=report.project,
        stack=report.stack,
        component=component or report.stack,
        env=env,
        purpose=purpose,
        source=report.source,
        offline=report.offline,
        currency=report.currency,
        region=report.region,
        hours_per_month=report.hours_per_month,
        totals=Totals(
            hourly=report.total_hourly_cost,
            past_hourly=report.past_total_hourly_cost,
            diff_hourly=report.diff_total_hourly_cost,
            monthly=report.total_monthly_cost,
            past_monthly=report.past_total_monthly_cost,
            diff_monthly=report.diff_total_monthly_cost,
        ),
        breakdown=report.resources,
        summary=report.summary,
        catalogs=report.catalogs,
        prices=report.prices,
        usage=report.usage,
        baseline=report.baseline,
        overrides=report.overrides,
        notes=report.notes,
    )


def artefact_path(root: Path, component: str, run_id: str) -> Path:
    """``<root>/<component>/cost-run-<run_id>.json`` (root: ``output/artifacts/cost``)."""
    return root / check_component(component) / f"cost-run-{check_run_id(run_id)}.json"


def dumps(artefact: CostArtefact) -> str:
    return json.dumps(artefact.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"


def write_artefact(artefact: CostArtefact, root: Path) -> Path:
    """Write atomically; refuses to overwrite an existing run (run ids are unique)."""
    path = artefact_path(root, artefact.component, artefact.run_id)
    if path.exists():
        raise ArtefactError(path, "already exists: run ids are unique, pick another --run-id")
    write_json_atomic(path, dumps(artefact))
    return path


def parse_artefact(raw: bytes, origin: str | Path) -> CostArtefact:
    """Validate bytes as a cost artefact; every failure is an :class:`ArtefactError` naming ``origin``."""
    try:
        doc = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ArtefactError(origin, f"not valid JSON ({exc})") from None
    except RecursionError:
        raise ArtefactError(origin, "not valid JSON (nested too deeply)") from None
    if not isinstance(doc, dict):
        raise ArtefactError(origin, "not a cost artefact (expected a JSON object)")
    if doc.get("kind") != ARTEFACT_KIND:
        raise ArtefactError(
            origin, f"not a cost artefact (kind is {doc.get('kind')!r}, expected {ARTEFACT_KIND!r})"
        )
    version = doc.get("schema_version")
    if isinstance(version, int) and not isinstance(version, bool) and version > SCHEMA_VERSION:
        raise ArtefactVersionError(
            origin,
            f"cost artefact schema_version {version} is newer than this hybridops reads ({SCHEMA_VERSION}); "
            "upgrade hybridops",
        )
    try:
        return CostArtefact.model_validate(doc)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"]) or "(document)"
        raise ArtefactError(origin, f"invalid cost artefact at {loc}: {err['msg']}") from None
    except RecursionError:
        raise ArtefactError(origin, "invalid cost artefact (nested too deeply)") from None


def load_artefact(path: Path) -> CostArtefact:
    """Read one artefact file; unreadable, foreign, corrupt or newer files raise ArtefactError."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ArtefactError(path, f"cannot read: {exc.strerror or exc}") from None
    return parse_artefact(raw, path)


class LocalArtefactStore:
    """Cost artefacts in a local directory tree (``output/artifacts/cost`` by default).

    The one interface the decision service needs: write, list, load, latest.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, component: str, run_id: str) -> Path:
        return artefact_path(self.root, component, run_id)

    def write(self, artefact: CostArtefact) -> Path:
        return write_artefact(artefact, self.root)

    def paths(self, component: str) -> list[Path]:
        folder = self.root / check_component(component)
        return sorted(folder.glob("cost-run-*.json")) if folder.is_dir() else []

    def load(self, path: Path) -> CostArtefact:
        return load_artefact(path)

    def scan(self, component: str) -> tuple[list[CostArtefact], list[ArtefactError]]:
        """Every artefact of ``component``, and the files that could not be read (never skipped silently)."""
        good: list[CostArtefact] = []
        bad: list[ArtefactError] = []
        for path in self.paths(component):
            try:
                good.append(load_artefact(path))
            except ArtefactError as exc:
                bad.append(exc)
        good.sort(key=lambda a: (a.created_at, a.run_id))
        return good, bad

    def latest(
        self, component: str, *, purpose: str | None = None, stack: str | None = None
    ) -> CostArtefact | None:
        """The newest readable artefact (by ``created_at``), optionally of one purpose/stack."""
        good, _ = self.scan(component)
        matching = [
            a
            for a in good
            if (purpose is None or a.purpose == purpose) and (stack is None or a.stack == stack)
        ]
        return matching[-1] if matching else None


def json_schema() -> dict[str, Any]:
    schema = CostArtefact.model_json_schema(mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://hybridops.example/schemas/cost-artefact.schema.json"
    return schema


def schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    from cost.schema_cli import schema_main

    return schema_main(schema_text, "Cost artefact JSON Schema", argv)


if __name__ == "__main__":
    raise SystemExit(main())
