"""The driver's database steps against a real PostgreSQL primary and streaming standby:
cutover (fence + promote, RPO measured) and failback (resync + zero-loss switchover)."""

from __future__ import annotations

import psycopg
import pytest

from dr.driver import DatabasePair, HttpHealth, RunRequest, Services, run_operation
from dr.engines.automation import AutomationEngine
from dr.profile import DrProfile
from dr.trigger import cli_trigger
from tests.support.fakes import FixedGate

pytestmark = pytest.mark.integration


def _profile(cluster_dir) -> DrProfile:
    return DrProfile.model_validate(
        {
            "stack": "cloud-dr",
            "component": "cloud-dr",
            "database": {
                "mode": "postgres-streaming",
                "onprem_dsn_env": "T_ONPREM",
                "cloud_dsn_env": "T_CLOUD",
                "lab_cluster_dir": str(cluster_dir),
                "onprem_node": "primary",
                "cloud_node": "standby",
                "fence_timeout_s": 10,
                "promote_timeout_s": 30,
                "switchover_timeout_s": 120,
            },
        }
    )


def _rows(dsn: str) -> int:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute("SELECT count(*) FROM app_rows").fetchone()[0]


def test_cutover_then_failback_through_the_driver(pg_pair, scratch_project, standin, tmp_path):
    primary, standby = pg_pair.primary, pg_pair.standby
    with psycopg.connect(primary.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE app_rows (id serial primary key, v text)")
        conn.execute("INSERT INTO app_rows (v) SELECT 'x' FROM generate_series(1, 500)")
    profile = _profile(pg_pair.cluster.base_dir)
    env = {"T_ONPREM": primary.dsn, "T_CLOUD": standby.dsn}
    services = Services(
        engine=AutomationEngine(scratch_project, command=standin),
        cost_gate=FixedGate("allow"),
        profile=profile,
        health=HttpHealth(),
        database=DatabasePair(profile, env=env),
    )
    art, locks = tmp_path / "art", tmp_path / "locks"

    cut = run_operation(
        RunRequest(
            operation="cutover",
            stack="cloud-dr",
            run_id="cut",
            trigger=cli_trigger("t"),
            actor="t",
            simulate=False,
        ),
        services,
        artefacts_root=art,
        locks_dir=locks,
    )
    outcomes = {s.id: s.outcome for s in cut.steps}
    assert outcomes["fence-onprem-primary"] == "succeeded"
    assert outcomes["promote-cloud-replica"] == "succeeded"
    assert cut.result == "SUCCESS"  # health: the promoted replica took a real write
    assert cut.rpo is not None and cut.rpo.lag_bytes == 0
    assert cut.rto_seconds is not None and "new primary writable" in cut.rto_basis
    with psycopg.connect(standby.dsn, autocommit=True) as conn:
        assert conn.execute("SELECT pg_is_in_recovery()").fetchone()[0] is False
        conn.execute("INSERT INTO app_rows (v) SELECT 'cloud' FROM generate_series(1, 250)")
    with (
        psycopg.connect(primary.dsn, autocommit=True) as conn,
        pytest.raises(psycopg.errors.ReadOnlySqlTransaction),
    ):
        conn.execute("INSERT INTO app_rows (v) VALUES ('split-brain?')")

    back = run_operation(
        RunRequest(
            operation="failback",
            stack="cloud-dr",
            run_id="back",
            trigger=cli_trigger("t"),
            actor="t",
            simulate=False,
        ),
        services,
        artefacts_root=art,
        locks_dir=locks,
    )
    outcomes = {s.id: s.outcome for s in back.steps}
    assert outcomes["resync-db01"] == "succeeded"
    assert outcomes["planned-switchover"] == "succeeded"
    assert back.rpo is not None and back.rpo.lag_bytes == 0
    assert _rows(primary.dsn) == 750  # every row written on either side survived
    with psycopg.connect(primary.dsn, autocommit=True) as conn:
        assert conn.execute("SELECT pg_is_in_recovery()").fetchone()[0] is False
    with psycopg.connect(standby.dsn, autocommit=True) as conn:
        assert conn.execute("SELECT pg_is_in_recovery()").fetchone()[0] is True
    assert standin.stacks["cloud-dr"].outputs == {
        "site": "cloud",
        "drMode": "standby",
        "trafficTarget": "onprem",
    }

    again = run_operation(
        RunRequest(
            operation="failback",
            stack="cloud-dr",
            run_id="back2",
            trigger=cli_trigger("t"),
            actor="t",
            simulate=False,
        ),
        services,
        artefacts_root=art,
        locks_dir=locks,
    )
    assert again.steps == [] and "no-op" in again.summary


def test_cnpg_cutover_fences_db01_and_leaves_promotion_to_the_transition(
    pg_pair, scratch_project, standin, tmp_path
):
    """CNPG mode: db-01 is fenced over SQL; no pg_promote behind the operator's back (the
    drMode transition promotes the replica cluster)."""
    primary = pg_pair.primary
    profile = _profile(pg_pair.cluster.base_dir).model_copy(
        update={
            "database": _profile(pg_pair.cluster.base_dir).database.model_copy(
                update={"mode": "cnpg"}
            )
        }
    )
    services = Services(
        engine=AutomationEngine(scratch_project, command=standin),
        cost_gate=FixedGate("allow"),
        profile=profile,
        health=HttpHealth(),
        database=DatabasePair(profile, env={"T_ONPREM": primary.dsn}),
    )
    record = run_operation(
        RunRequest(
            operation="cutover",
            stack="cloud-dr",
            run_id="cnpg",
            trigger=cli_trigger("t"),
            actor="t",
            simulate=False,
        ),
        services,
        artefacts_root=tmp_path / "art",
        locks_dir=tmp_path / "locks",
    )
    assert [s.id for s in record.steps] == [
        "confirm-trigger",
        "cost-gate",
        "fence-onprem-primary",
        "scale-cloud",
        "verify-health",
        "switch-traffic",
        "record",
    ]
    assert (
        record.steps[2].outcome == "succeeded"
        and record.steps[2].data["fence"]["outcome"] == "fenced"
    )
    with (
        psycopg.connect(primary.dsn, autocommit=True) as conn,
        pytest.raises(psycopg.errors.ReadOnlySqlTransaction),
    ):
        conn.execute("CREATE TABLE after_fence (id int)")
    assert standin.stacks["cloud-dr"].outputs["drMode"] == "active"


def test_cnpg_failback_checks_db01_streams_before_moving_back(
    pg_pair, scratch_project, standin, tmp_path
):
    """CNPG mode: db-01 must already follow the cloud primary; the driver checks it over SQL."""
    profile = _profile(pg_pair.cluster.base_dir)
    profile = profile.model_copy(
        update={"database": profile.database.model_copy(update={"mode": "cnpg"})}
    )
    standin.stacks["cloud-dr"].outputs = {
        "site": "cloud",
        "drMode": "active",
        "trafficTarget": "cloud",
    }

    def run(run_id: str, onprem_dsn: str):
        services = Services(
            engine=AutomationEngine(scratch_project, command=standin),
            cost_gate=FixedGate("allow"),
            profile=profile,
            health=HttpHealth(),
            database=DatabasePair(profile, env={"T_ONPREM": onprem_dsn}),
        )
        return run_operation(
            RunRequest(
                operation="failback",
                stack="cloud-dr",
                run_id=run_id,
                trigger=cli_trigger("t"),
                actor="t",
                simulate=False,
            ),
            services,
            artefacts_root=tmp_path / "art",
            locks_dir=tmp_path / "locks",
        )

    refused = run("fb-1", pg_pair.primary.dsn)  # "db-01" here is a primary, not following anything
    assert refused.steps[-1].id == "check-db01-resynced" and refused.steps[-1].outcome == "failed"
    assert "rebuild it as a standby of the cloud primary first" in refused.steps[-1].detail
    assert not any(c[0] == "up" for c in standin.calls)

    done = run("fb-2", pg_pair.standby.dsn)  # a streaming standby: the failback goes ahead
    assert done.result == "SUCCESS", [(s.id, s.outcome, s.detail) for s in done.steps]
    assert standin.stacks["cloud-dr"].outputs == {
        "site": "cloud",
        "drMode": "standby",
        "trafficTarget": "onprem",
    }
