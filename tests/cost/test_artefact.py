"""Cost artefact v1: path, atomic write, committed schema, versioning, rejection of foreign files."""

from __future__ import annotations

import json

import jsonschema
import pytest

from cost.artefact import (
    MIGRATIONS,
    SCHEMA_PATH,
    SCHEMA_VERSION,
    LocalArtefactStore,
    dumps,
    from_report,
    json_schema,
    load_artefact,
    parse_artefact,
    schema_text,
    write_artefact,
)
from cost.errors import ArtefactError, ArtefactVersionError
from cost.estimator import estimate
from tests.cost.conftest import FIXED_NOW, REPO

REGENERATE_SCHEMA = "python -m cost.artefact --write-schema docs/ci/cost-artefact.schema.json"


@pytest.fixture(scope="module")
def artefact(recorded_plan, catalogs, stack_usage):
    report = estimate(
        recorded_plan("cloud-dr-active"),
        catalogs,
        usage=stack_usage("cloud-dr"),
        catalogs=catalogs.infos,
        generated_at=FIXED_NOW,
    )
    return from_report(report, run_id="r-1", purpose="dr-cutover", git_commit="abc123", env="prod")


def test_committed_schema_is_current():
    """docs/ci/cost-artefact.schema.json is what the model generates (else: regenerate it)."""
    committed = (REPO / SCHEMA_PATH).read_text(encoding="utf-8")
    assert committed == schema_text(), (
        f"the artefact schema drifted; regenerate it with: {REGENERATE_SCHEMA}"
    )


def test_written_artefact_is_at_the_documented_path_and_validates(tmp_path, artefact):
    """output/artifacts/cost/<component>/cost-run-<run_id>.json, valid against the committed schema."""
    path = write_artefact(artefact, tmp_path)
    assert path == tmp_path / "cloud-dr" / "cost-run-r-1.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    schema = json.loads((REPO / SCHEMA_PATH).read_text(encoding="utf-8"))
    jsonschema.validate(doc, schema)
    assert doc["schema_version"] == SCHEMA_VERSION and doc["kind"] == "hybridops.cost-run"
    assert doc["totals"]["diff_monthly"] == "479.970000" and doc["purpose"] == "dr-cutover"
    assert [p.name for p in path.parent.iterdir()] == ["cost-run-r-1.json"]  # no temp file left
    assert load_artefact(path) == artefact


def test_run_ids_are_unique(tmp_path, artefact):
    write_artefact(artefact, tmp_path)
    with pytest.raises(ArtefactError, match="already exists"):
        write_artefact(artefact, tmp_path)


def test_newer_schema_version_fails_clearly(tmp_path, artefact):
    doc = json.loads(dumps(artefact))
    doc["schema_version"] = SCHEMA_VERSION + 1
    path = tmp_path / "future.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(
        ArtefactVersionError,
        match=r"future.json: cost artefact schema_version 2 is newer .* upgrade hybridops",
    ):
        load_artefact(path)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "not valid JSON"),
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b"[1, 2]", "expected a JSON object"),
        (b'{"kind": "hybridops.decision"}', "kind is 'hybridops.decision'"),
        (
            b'{"kind": "hybridops.cost-run", "schema_version": 1}',
            "invalid cost artefact at run_id: Field required",
        ),
    ],
)
def test_foreign_and_corrupt_files_are_rejected_with_path_and_reason(tmp_path, content, reason):
    path = tmp_path / "x.json"
    path.write_bytes(content)
    with pytest.raises(ArtefactError) as err:
        load_artefact(path)
    assert str(err.value).startswith(f"{path}: ") and reason in str(err.value)


def test_unreadable_file(tmp_path):
    with pytest.raises(ArtefactError, match=r"missing.json: cannot read"):
        load_artefact(tmp_path / "missing.json")


def test_truncated_artefact_is_rejected(artefact):
    raw = dumps(artefact).encode()
    with pytest.raises(ArtefactError, match="not valid JSON"):
        parse_artefact(raw[: len(raw) // 2], "half.json")


def test_older_versions_migrate_in_the_before_validator(monkeypatch, artefact):
    """A v0 document goes through MIGRATIONS[0] (fixture: v0 named the totals 'total')."""
    doc = json.loads(dumps(artefact))
    v0 = {**doc, "schema_version": 0, "total": doc.pop("totals")}
    del v0["totals"]

    def v0_to_v1(d):
        d["totals"] = d.pop("total")
        return d

    with pytest.raises(
        ArtefactError, match="schema_version 0 is not a known cost artefact version"
    ):
        parse_artefact(json.dumps(v0).encode(), "v0.json")
    monkeypatch.setitem(MIGRATIONS, 0, v0_to_v1)
    migrated = parse_artefact(json.dumps(v0).encode(), "v0.json")
    assert migrated.schema_version == SCHEMA_VERSION and migrated.totals == artefact.totals


def test_store_latest_and_unreadable_files_are_reported(tmp_path, artefact):
    """The store lists, loads and picks the newest; a corrupt file is reported, not skipped silently."""
    store = LocalArtefactStore(tmp_path)
    first = artefact.model_copy(update={"run_id": "a"})
    later = artefact.model_copy(
        update={"run_id": "b", "created_at": FIXED_NOW.replace(hour=13), "purpose": "baseline"}
    )
    store.write(first)
    store.write(later)
    (tmp_path / "cloud-dr" / "cost-run-broken.json").write_text("{")
    good, bad = store.scan("cloud-dr")
    assert (
        [a.run_id for a in good] == ["a", "b"]
        and len(bad) == 1
        and "cost-run-broken.json" in str(bad[0])
    )
    assert store.latest("cloud-dr").run_id == "b"
    assert store.latest("cloud-dr", purpose="dr-cutover").run_id == "a"
    assert store.latest("nothing-here") is None


def test_report_round_trips_through_the_artefact(artefact):
    again = artefact.report()
    assert (
        again.total_monthly_cost == artefact.totals.monthly
        and again.resources == artefact.breakdown
    )


def test_schema_documents_fields():
    """Attribute docstrings are the schema's descriptions; money is a decimal string."""
    schema = json_schema()
    assert schema["properties"]["run_id"]["description"].startswith("Unique id")
    assert schema["$defs"]["Totals"]["properties"]["monthly"]["type"] == "string"
