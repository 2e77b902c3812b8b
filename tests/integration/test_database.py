"""DR database steps against a real PostgreSQL primary + streaming standby (dr/database.py).

Every test gets fresh servers from ``pg_pair`` (tests/integration/conftest.py).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
import pytest
from psycopg import errors as pgerrors

from dr import database as db
from dr.database_errors import (
    DatabaseError,
    DatabaseUnreachableError,
    FenceError,
    PromotionRefusedError,
    SwitchoverError,
)
from dr.lab.postgres import LocalPostgresCluster, PostgresNode, slot_name_for

if TYPE_CHECKING:  # tests/ is not a package; the fixture lives in conftest.py
    from conftest import PgPair

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

TABLE = "dr_rows"


# -- helpers ------------------------------------------------------------------------------------


def sql(dsn: str, query: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


def make_table(dsn: str) -> None:
    sql(dsn, f"CREATE TABLE {TABLE} (id bigint PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())")


def row_ids(dsn: str) -> set[int]:
    return {int(r[0]) for r in sql(dsn, f"SELECT id FROM {TABLE}")}  # type: ignore[call-overload]


def wait_caught_up(standby_dsn: str, primary_dsn: str) -> None:
    target = sql(primary_dsn, "SELECT pg_current_wal_lsn()::text")[0][0]
    db.wait_for_replay(standby_dsn, str(target), timeout=20)


class Writer(threading.Thread):
    """One client inserting ids 1, 2, 3... into whichever server takes writes.

    Each id is acknowledged (INSERT returned), rejected (25006 read-only: certainly not
    committed) or ambiguous (the connection died mid-statement: maybe committed).
    """

    def __init__(self, dsns: list[str], first_id: int = 1) -> None:
        super().__init__(daemon=True)
        self.dsns = dsns
        self.acked: list[int] = []
        self.ambiguous: list[int] = []
        self.errors: list[str] = []
        self._halt = threading.Event()
        self._next = first_id
        self.acked_on: dict[str, int] = {}

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=10)

    def wait_acked(self, n: int, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        goal = len(self.acked) + n
        while len(self.acked) < goal:
            assert time.monotonic() < deadline, f"writer stalled: {self.errors[-3:]}"
            time.sleep(0.01)

    def run(self) -> None:
        conn: psycopg.Connection[tuple[object, ...]] | None = None
        target = 0
        while not self._halt.is_set():
            try:
                if conn is None:
                    conn = psycopg.connect(self.dsns[target], autocommit=True, connect_timeout=2)
            except psycopg.OperationalError as exc:
                self.errors.append(f"connect: {type(exc).__name__}")
                target = (target + 1) % len(self.dsns)
                time.sleep(0.02)
                continue
            row_id = self._next
            try:
                conn.execute(f"INSERT INTO {TABLE} (id) VALUES (%s)", (row_id,))
                self._next += 1
                self.acked.append(row_id)
                self.acked_on[self.dsns[target]] = self.acked_on.get(self.dsns[target], 0) + 1
            except pgerrors.ReadOnlySqlTransaction:
                self._next += 1  # never committed; switch servers
                conn.close()
                conn, target = None, (target + 1) % len(self.dsns)
            except psycopg.Error as exc:
                self._next += 1
                self.ambiguous.append(row_id)
                self.errors.append(f"insert {row_id}: {type(exc).__name__}")
                conn.close()
                conn, target = None, (target + 1) % len(self.dsns)
                time.sleep(0.01)
        if conn is not None:
            conn.close()


def assert_no_acked_row_lost(writer: Writer, present: set[int]) -> None:
    acked = set(writer.acked)
    assert acked - present == set(), f"acknowledged rows lost: {sorted(acked - present)[:10]}"
    assert present - acked <= set(writer.ambiguous), "rows nobody wrote"


# -- observing ----------------------------------------------------------------------------------


def test_replication_status_measures_lag_then_promotion_keeps_received_rows(
    pg_pair: PgPair,
) -> None:
    """Lag in bytes and seconds is measured on a real standby; promotion replays what it received."""
    p, s = pg_pair.primary, pg_pair.standby
    make_table(p.dsn)
    wait_caught_up(s.dsn, p.dsn)
    sql(s.dsn, "SELECT pg_wal_replay_pause()")
    sql(p.dsn, f"INSERT INTO {TABLE} (id) SELECT g FROM generate_series(1, 500) g")
    primary_lsn = str(sql(p.dsn, "SELECT pg_current_wal_lsn()::text")[0][0])
    # Received (streamed) but not replayed: wait for the receive position, then let time pass.
    deadline = time.monotonic() + 10
    while db.server_state(s.dsn).receive_lsn != primary_lsn:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(1.1)

    status = db.replication_status(p.dsn, s.dsn)

    assert (status.primary.role, status.standby.role) == ("primary", "standby")
    assert status.streaming is True
    assert status.standby.replay_paused is True
    assert status.unreceived_bytes == 0
    assert status.lag_bytes is not None and status.lag_bytes > 0
    assert status.lag_bytes == db.lsn_diff(
        str(status.primary.current_lsn), str(status.standby.replay_lsn)
    )
    assert status.lag_seconds is not None and status.lag_seconds >= 1.0
    assert status.wal_sender is not None
    assert status.wal_sender.slot_name == slot_name_for("standby")
    assert status.wal_sender.sent_minus_replay_bytes is not None
    assert status.wal_sender.sent_minus_replay_bytes > 0
    assert row_ids(s.dsn) == set()

    fence = db.fence_primary(p.dsn)
    result = db.promote(s.dsn, old_primary_dsn=p.dsn)

    assert fence.fenced is True
    assert result.outcome == "promoted"
    assert result.timeline_after == 2
    assert result.verification.writable is True
    assert row_ids(s.dsn) == set(range(1, 501))


def test_idle_primary_reports_zero_lag_seconds(pg_pair: PgPair) -> None:
    """An idle, caught-up standby has lag 0 s even though its last replayed commit is old."""
    p, s = pg_pair.primary, pg_pair.standby
    make_table(p.dsn)
    time.sleep(1.5)
    deadline = time.monotonic() + 10
    status = db.replication_status(p.dsn, s.dsn)
    while status.lag_bytes != 0:
        assert time.monotonic() < deadline
        time.sleep(0.05)
        status = db.replication_status(p.dsn, s.dsn)
    assert status.standby.last_replay_at is not None and status.standby.server_now is not None
    age = (status.standby.server_now - status.standby.last_replay_at).total_seconds()
    assert age > 1.0
    assert status.lag_seconds == 0.0
    assert status.unreceived_bytes == 0


def test_write_probe_is_a_real_write(pg_pair: PgPair) -> None:
    """The probe commits a row on a primary and is refused on a standby."""
    primary = db.probe_write(pg_pair.primary.dsn)
    standby = db.probe_write(pg_pair.standby.dsn)
    assert (primary.writable, primary.method, primary.in_recovery) == (True, "table", False)
    assert sql(pg_pair.primary.dsn, f"SELECT count(*) FROM {db.PROBE_TABLE}") == [(1,)]
    assert (standby.reachable, standby.writable, standby.in_recovery) == (True, False, True)
    assert db.is_writable(pg_pair.primary.dsn) is True
    assert db.is_writable(pg_pair.standby.dsn) is False


# -- fencing ------------------------------------------------------------------------------------


def test_fence_read_only_rejects_writes_and_terminates_sessions(pg_pair: PgPair) -> None:
    """After fencing, old sessions are gone, new ones cannot write, and the standby still streams."""
    p, s = pg_pair.primary, pg_pair.standby
    make_table(p.dsn)
    app = psycopg.connect(p.dsn, autocommit=True)
    app.execute(f"INSERT INTO {TABLE} (id) VALUES (1)")

    fence = db.fence_primary(p.dsn, "read-only", timeout=20)

    assert (fence.outcome, fence.fenced) == ("fenced", True)
    assert fence.sessions_terminated >= 1
    assert [a.name for a in fence.actions] == [
        "set-read-only",
        "terminate-sessions",
        "read-final-lsn",
        "verify-write-rejected",
    ]
    assert all(a.ok for a in fence.actions)
    assert fence.actions[1].detail == f"{fence.sessions_terminated} sessions terminated"
    assert fence.verification is not None and fence.verification.read_only_default is True
    with pytest.raises(psycopg.OperationalError):
        app.execute(f"INSERT INTO {TABLE} (id) VALUES (2)")
    app.close()
    with pytest.raises(pgerrors.ReadOnlySqlTransaction):
        sql(p.dsn, f"INSERT INTO {TABLE} (id) VALUES (3)")
    assert db.is_writable(p.dsn) is False
    # The fence survives a restart (ALTER SYSTEM), and walsenders were spared.
    p.stop()
    p.start()
    assert db.is_writable(p.dsn) is False
    assert fence.final_lsn is not None
    db.wait_for_replay(s.dsn, fence.final_lsn, timeout=10, require_streaming=True)

    undo = db.unfence(p.dsn)
    assert (undo.cleared, undo.verification.writable) == (True, True)


def test_fence_unreachable_primary_is_fenced_by_absence(pg_pair: PgPair) -> None:
    """A primary that is gone counts as fenced, and the record says why."""
    pg_pair.primary.kill()
    fence = db.fence_primary(pg_pair.primary.dsn, timeout=10)
    assert (fence.outcome, fence.fenced) == ("fenced-by-absence", True)
    assert "fenced by absence" in fence.notes[0]


def test_fence_stop_mode_needs_host_and_stops_the_server(pg_pair: PgPair) -> None:
    """mode='stop' is refused without host access and stops the server cleanly with it."""
    p = pg_pair.primary
    with pytest.raises(FenceError, match="host access"):
        db.fence_primary(p.dsn, "stop")
    fence = db.fence_primary(p.dsn, "stop", host=p)
    assert (fence.outcome, fence.fenced) == ("fenced", True)
    assert not p.is_running()
    assert fence.final_lsn is not None  # the shutdown checkpoint
    assert db.fence_primary(pg_pair.standby.dsn).outcome == "already-standby"


# -- promotion ----------------------------------------------------------------------------------


def test_refuses_to_promote_while_old_primary_writable_unless_forced(pg_pair: PgPair) -> None:
    """No split brain by default; force=True promotes anyway and records it."""
    p, s = pg_pair.primary, pg_pair.standby
    with pytest.raises(PromotionRefusedError, match="still accepts writes"):
        db.promote(s.dsn, old_primary_dsn=p.dsn)
    assert db.server_state(s.dsn).role == "standby"

    forced = db.promote(s.dsn, old_primary_dsn=p.dsn, force=True)

    assert (forced.outcome, forced.forced) == ("promoted", True)
    assert forced.old_primary.writable is True
    assert any(n.startswith("FORCED:") for n in forced.notes)
    assert db.is_writable(s.dsn) and db.is_writable(p.dsn)  # the split brain force accepted


def test_promoting_twice_is_a_noop(pg_pair: PgPair) -> None:
    """The second promotion changes nothing and says so."""
    p, s = pg_pair.primary, pg_pair.standby
    db.fence_primary(p.dsn)
    first = db.promote(s.dsn, old_primary_dsn=p.dsn)
    second = db.promote(s.dsn, old_primary_dsn=p.dsn)
    assert first.outcome == "promoted"
    assert second.outcome == "already-primary"
    assert second.notes == ["already a primary: nothing to promote"]
    assert second.promote_s is None
    assert second.timeline_after == first.timeline_after == 2


# -- failover and failback ----------------------------------------------------------------------


def test_unplanned_primary_loss_then_failback_without_loss(pg_pair: PgPair) -> None:
    """kill -9 of the primary under load: promote, measure RPO in rows, rebuild the old primary
    (pg_rewind after a crash) and switch back with zero rows lost."""
    p, s = pg_pair.primary, pg_pair.standby
    make_table(p.dsn)
    wait_caught_up(s.dsn, p.dsn)
    writer = Writer([p.dsn])
    writer.start()
    writer.wait_acked(300)
    before = db.replication_status(p.dsn, s.dsn)
    p.kill()
    writer.stop()

    promoted = db.promote(s.dsn, old_primary_dsn=p.dsn)

    assert promoted.outcome == "promoted"
    assert promoted.old_primary.reachable is False
    assert any("fenced by absence" in n for n in promoted.notes)
    present = row_ids(s.dsn)
    lost = [i for i in writer.acked if i not in present]
    rpo_rows = len(lost)
    # Asynchronous streaming loses a suffix of the commit order, never a hole.
    assert lost == writer.acked[len(writer.acked) - rpo_rows :]
    assert present - set(writer.acked) <= set(writer.ambiguous)
    assert before.lag_bytes is not None
    print(f"RPO after kill -9: {rpo_rows} rows; lag just before: {before.lag_bytes} bytes")

    rebuilt = db.rebuild_as_standby(
        p,
        source_dsn=s.dsn,
        primary_conninfo=s.replication_conninfo(p.name),
        slot_name=slot_name_for(p.name),
    )
    assert (rebuilt.outcome, rebuilt.method) == ("rebuilt", "pg_rewind")
    assert db.server_state(p.dsn).wal_receiver_status == "streaming"
    assert row_ids(p.dsn) == present

    # Failback: planned switchover back to the original primary while a client keeps writing.
    writer = Writer([s.dsn, p.dsn], first_id=max(present) + 1)
    writer.start()
    writer.wait_acked(200)
    back = db.planned_switchover(
        s,
        new_primary_dsn=p.dsn,
        primary_conninfo=p.replication_conninfo(s.name),
        slot_name=slot_name_for(s.name),
    )
    writer.wait_acked(200)
    writer.stop()

    assert back.outcome == "switched-over"
    assert back.data_loss_bytes == 0
    final = row_ids(p.dsn) - present
    assert_no_acked_row_lost(writer, final)
    assert writer.acked_on.get(p.dsn, 0) >= 200  # writes landed on the failed-back primary
    wait_caught_up(s.dsn, p.dsn)
    assert row_ids(s.dsn) == row_ids(p.dsn)


def test_planned_switchover_loses_no_acknowledged_row(pg_pair: PgPair) -> None:
    """Fence, catch up to the final LSN, promote, re-point: every acknowledged row survives;
    a re-run is a no-op."""
    p, s = pg_pair.primary, pg_pair.standby
    make_table(p.dsn)
    wait_caught_up(s.dsn, p.dsn)
    writer = Writer([p.dsn, s.dsn])
    writer.start()
    writer.wait_acked(300)

    result = db.planned_switchover(
        p,
        new_primary_dsn=s.dsn,
        primary_conninfo=s.replication_conninfo(p.name),
        slot_name=slot_name_for(p.name),
    )
    writer.wait_acked(300)
    writer.stop()

    assert result.outcome == "switched-over"
    assert result.fence is not None and result.fence.outcome == "fenced"
    assert result.final_lsn is not None and result.standby_replay_lsn is not None
    assert db.lsn_diff(result.standby_replay_lsn, result.final_lsn) >= 0
    assert result.data_loss_bytes == 0
    assert result.promote is not None and result.promote.outcome == "promoted"
    assert result.rebuild is not None and result.rebuild.outcome == "rebuilt"
    assert result.write_outage_s is not None and result.write_outage_s < 10
    present = row_ids(s.dsn)
    assert_no_acked_row_lost(writer, present)
    assert len(present) == len(writer.acked) + len(present & set(writer.ambiguous))
    assert writer.acked_on.get(s.dsn, 0) >= 300
    assert (db.server_state(p.dsn).role, db.server_state(s.dsn).role) == ("standby", "primary")
    wait_caught_up(p.dsn, s.dsn)
    assert row_ids(p.dsn) == present

    again = db.planned_switchover(
        p,
        new_primary_dsn=s.dsn,
        primary_conninfo=s.replication_conninfo(p.name),
        slot_name=slot_name_for(p.name),
    )
    assert again.outcome == "already-switched"
    assert again.rebuild is not None and again.rebuild.method == "none"


def test_switchover_refuses_without_a_live_old_primary(pg_pair: PgPair) -> None:
    """Zero loss cannot be proven once the primary is gone: planned switchover refuses."""
    pg_pair.primary.kill()
    with pytest.raises(SwitchoverError, match="unplanned failover"):
        db.planned_switchover(
            pg_pair.primary,
            new_primary_dsn=pg_pair.standby.dsn,
            primary_conninfo=pg_pair.standby.replication_conninfo("primary"),
            slot_name=slot_name_for("primary"),
        )
    assert db.server_state(pg_pair.standby.dsn).role == "standby"


def test_rebuild_falls_back_to_base_backup(pg_pair: PgPair) -> None:
    """When pg_rewind cannot work (here: its WAL is gone), a fresh pg_basebackup rebuilds the node."""
    p, s = pg_pair.primary, pg_pair.standby
    db.fence_primary(p.dsn)
    db.promote(s.dsn, old_primary_dsn=p.dsn)
    p.stop()
    for wal in (p.datadir / "pg_wal").glob("0000000*"):
        if wal.is_file():
            wal.unlink()
    result = db.rebuild_as_standby(
        p,
        source_dsn=s.dsn,
        primary_conninfo=s.replication_conninfo(p.name),
        slot_name="hybridops_primary",
    )
    assert (result.outcome, result.method) == ("rebuilt", "pg_basebackup")
    assert result.rewind_error
    assert db.server_state(p.dsn).role == "standby"


# -- secrets and the lab itself -----------------------------------------------------------------


def test_no_password_in_results_or_errors(pg_pair: PgPair) -> None:
    """DSN passwords appear in no result model and no error message."""
    p, s = pg_pair.primary, pg_pair.standby
    secrets = sorted(set(db.dsn_secrets(p.dsn, s.dsn)))
    assert len(secrets) == 1 and len(secrets[0]) > 8
    texts: list[str] = []
    with pytest.raises(PromotionRefusedError) as refused:
        db.promote(s.dsn, old_primary_dsn=p.dsn)
    texts.append(str(refused.value))
    bad = psycopg.conninfo.make_conninfo(p.dsn, user="nobody")
    with pytest.raises(DatabaseError) as denied:
        db.rebuild_as_standby(p, source_dsn=bad, primary_conninfo="", slot_name=None)
    texts.append(str(denied.value))
    texts.append(db.replication_status(p.dsn, s.dsn).model_dump_json())
    texts.append(db.fence_primary(p.dsn).model_dump_json())
    texts.append(db.promote(s.dsn, old_primary_dsn=p.dsn).model_dump_json())
    p.kill()
    texts.append(db.probe_write(p.dsn).model_dump_json())
    with pytest.raises(DatabaseUnreachableError) as unreachable:
        db.promote(p.dsn, old_primary_dsn=s.dsn)
    texts.append(str(unreachable.value))
    texts.append(db.redact_dsn(p.dsn))
    for text in texts:
        assert secrets[0] not in text
    assert "***" in texts[-1]


def test_cluster_stops_exactly_what_it_started(pg_bindir: str, tmp_path: Path) -> None:
    """Another process re-opening the lab directory stops the servers by recorded PID."""
    base = Path("/tmp") / f"hybridops-pg-test-{tmp_path.name}"
    try:
        with LocalPostgresCluster(base, bindir=pg_bindir) as lab:
            primary = lab.create_primary()
            pid = primary.pid
            assert pid is not None and primary.is_running()
            status = {n.name: (n.role, n.running) for n in lab.status()}
            assert status == {"primary": ("primary", True)}

            other = LocalPostgresCluster.open(base, bindir=pg_bindir)
            assert isinstance(other.node("primary"), PostgresNode)
            other.stop_all()

            assert not primary.is_running()
            assert [n.role for n in LocalPostgresCluster.open(base).status()] == ["stopped"]
        assert base.exists(), "a directory the caller named is kept (evidence)"
    finally:
        import shutil

        shutil.rmtree(base, ignore_errors=True)
