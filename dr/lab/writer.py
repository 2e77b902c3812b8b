"""The drill's application: a writer that inserts rows continuously and counts what it was told.

It stands in for the application behind the traffic switch: it writes to whichever database takes
writes, moving to the other one when its server dies, refuses writes (a fence, a standby) or is
demoted. Every attempt uses a new sequence number; a row counts as *acknowledged* only when the
INSERT's commit returned. RPO in rows is then exact: acknowledged rows the new primary lacks.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from dataclasses import dataclass

import psycopg

from dr.lab.timings import Writer


@dataclass(frozen=True)
class Ack:
    seq: int
    node: str
    at: float
    lsn: str
    """pg_current_wal_lsn() inside the INSERT: the WAL position of the row (before its commit)."""


class RowWriter:
    """``with RowWriter(dsns, "drill-x") as w: ...`` writes until the block ends (a thread)."""

    def __init__(
        self,
        dsns: dict[str, str],
        writer: str,
        *,
        prefer: str = "onprem",
        interval_s: float = 0.02,
        retry_s: float = 0.05,
    ) -> None:
        self.dsns = dsns
        self.writer = writer
        self.node = prefer
        self.interval_s = interval_s
        self.retry_s = retry_s
        self.acks: list[Ack] = []
        self.failed = 0
        self._seq = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        self._thread = threading.Thread(target=self._run, name=f"writer-{writer}", daemon=True)

    def __enter__(self) -> RowWriter:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(10)
        self._close()

    def wait_for(self, count: int, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.acked()) >= count:
                return True
            time.sleep(0.01)
        return False

    def acked(self) -> list[Ack]:
        with self._lock:
            return list(self.acks)

    def _other(self) -> str:
        return "cloud" if self.node == "onprem" else "onprem"

    def _close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()
            self._conn = None

    def _run(self) -> None:
        while not self._stop.is_set():
            self._seq += 1
            try:
                if self._conn is None:
                    self._conn = psycopg.connect(
                        self.dsns[self.node], autocommit=True, connect_timeout=1
                    )
                row = self._conn.execute(
                    "INSERT INTO app_rows (writer, seq) VALUES (%s, %s) "
                    "RETURNING pg_current_wal_lsn()::text",
                    (self.writer, self._seq),
                ).fetchone()
                ack = Ack(self._seq, self.node, time.time(), str(row[0]) if row else "")
                with self._lock:
                    self.acks.append(ack)
                self._stop.wait(self.interval_s)
            except psycopg.Error:
                # dead, fenced (read-only) or a standby: the application fails over
                self.failed += 1
                self._close()
                self.node = self._other()
                self._stop.wait(self.retry_s)

    def summary(self, new_primary: str | None = None, after: float | None = None) -> Writer:
        acks = self.acked()
        by_node: dict[str, int] = {}
        for a in acks:
            by_node[a.node] = by_node.get(a.node, 0) + 1
        gaps = [b.at - a.at for a, b in itertools.pairwise(acks)]
        first_new = next(
            (a.at for a in acks if a.node == new_primary and (after is None or a.at >= after)),
            None,
        )
        return Writer(
            acknowledged=len(acks),
            acknowledged_on=by_node,
            failed_attempts=self.failed,
            longest_gap_s=round(max(gaps), 3) if gaps else None,
            first_ack_on_new_primary_at=first_new,
        )


def present_seqs(dsn: str, writer: str) -> set[int]:
    """The writer's rows a server has."""
    with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as conn:
        rows = conn.execute("SELECT seq FROM app_rows WHERE writer = %s", (writer,)).fetchall()
    return {int(r[0]) for r in rows}
