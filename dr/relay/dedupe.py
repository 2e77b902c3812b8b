"""The incident ledger: one dispatch per incident and status, surviving restarts.

Alertmanager is at-least-once: an HA pair sends the same notification from each member, repeats
come every ``repeat_interval``, and a member that missed the resolve can send a stale "firing"
after the "resolved" (prometheus/alertmanager#2447, #4008). Keyed on (fingerprint, startsAt), see
docs/adr/0005-relay-dedupe.md. SQLite in WAL mode keeps every write a sub-millisecond local call.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path

from dr.relay.errors import RelayError
from dr.relay.mapping import IncidentKey
from dr.relay.payload import AlertStatus

STATE_FILE = "relay-incidents.sqlite3"
_PRUNE_EVERY_SECONDS = 3600.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS incidents (
    fingerprint   TEXT NOT NULL,
    starts_at     TEXT NOT NULL,
    firing_sent   INTEGER NOT NULL DEFAULT 0,
    resolved_sent INTEGER NOT NULL DEFAULT 0,
    first_seen    REAL NOT NULL,
    last_seen     REAL NOT NULL,
    PRIMARY KEY (fingerprint, starts_at)
)
"""


class Verdict(StrEnum):
    """What to do with one (incident, status) notification."""

    SEND = "send"
    DUPLICATE = "duplicate"
    """Already sent, or being sent right now by a concurrent request (the HA twin)."""
    STALE_AFTER_RESOLVED = "stale_after_resolved"
    """A "firing" for an incident already reported resolved."""


class IncidentStore:
    """Claims, then commits or releases, each (incident, status).

    ``claim`` -> SEND reserves the pair in memory so a concurrent duplicate is dropped;
    ``commit`` persists it once GitHub accepted the dispatch; ``release`` frees it after a failed
    dispatch so Alertmanager's retry can send it. Rows idle for ``ttl_seconds`` are pruned, and a
    repeat refreshes ``last_seen``, so a long incident never outlives its row.
    """

    def __init__(
        self,
        state_dir: Path | None,
        *,
        ttl_seconds: float = 7 * 24 * 3600,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._ttl = ttl_seconds
        self._clock = clock
        if state_dir is None:
            target = ":memory:"
        else:
            try:
                state_dir.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise RelayError(f"cannot create state dir {state_dir}: {exc.strerror}") from exc
            target = str(state_dir / STATE_FILE)
        try:
            self._db = sqlite3.connect(target, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode is durable against a process crash (our restart case); only an
            # OS crash can lose the last commits: https://www.sqlite.org/pragma.html#pragma_synchronous
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(_SCHEMA)
        except sqlite3.Error as exc:
            raise RelayError(f"cannot open relay state {target}: {exc}") from exc
        self._in_flight: set[tuple[IncidentKey, AlertStatus]] = set()
        self._last_prune = 0.0
        self.prune()

    def close(self) -> None:
        self._db.close()

    def _row(self, key: IncidentKey) -> tuple[int, int] | None:
        row = self._db.execute(
            "SELECT firing_sent, resolved_sent FROM incidents WHERE fingerprint=? AND starts_at=?",
            (key.fingerprint, key.starts_at),
        ).fetchone()
        return None if row is None else (int(row[0]), int(row[1]))

    def claim(self, key: IncidentKey, status: AlertStatus) -> Verdict:
        """Decide for one notification; SEND reserves it until ``commit`` or ``release``."""
        self._maybe_prune()
        if (key, status) in self._in_flight:
            return Verdict.DUPLICATE
        row = self._row(key)
        firing_sent, resolved_sent = row if row is not None else (0, 0)
        if status == "firing" and (resolved_sent or (key, "resolved") in self._in_flight):
            verdict = Verdict.STALE_AFTER_RESOLVED
        elif (status == "firing" and firing_sent) or (status == "resolved" and resolved_sent):
            verdict = Verdict.DUPLICATE
        else:
            self._in_flight.add((key, status))
            return Verdict.SEND
        self._touch(key)
        return verdict

    def commit(self, key: IncidentKey, status: AlertStatus) -> None:
        """GitHub accepted the dispatch: remember it across restarts."""
        column = "firing_sent" if status == "firing" else "resolved_sent"
        now = self._clock()
        self._db.execute(
            f"INSERT INTO incidents (fingerprint, starts_at, {column}, first_seen, last_seen) "
            f"VALUES (?, ?, 1, ?, ?) ON CONFLICT (fingerprint, starts_at) "
            f"DO UPDATE SET {column}=1, last_seen=excluded.last_seen",
            (key.fingerprint, key.starts_at, now, now),
        )
        self._in_flight.discard((key, status))

    def release(self, key: IncidentKey, status: AlertStatus) -> None:
        """The dispatch failed: let the next delivery attempt claim it again."""
        self._in_flight.discard((key, status))

    def _touch(self, key: IncidentKey) -> None:
        self._db.execute(
            "UPDATE incidents SET last_seen=? WHERE fingerprint=? AND starts_at=?",
            (self._clock(), key.fingerprint, key.starts_at),
        )

    def _maybe_prune(self) -> None:
        if self._clock() - self._last_prune >= _PRUNE_EVERY_SECONDS:
            self.prune()

    def prune(self) -> int:
        """Forget incidents idle for longer than the TTL; returns how many."""
        now = self._clock()
        self._last_prune = now
        cursor = self._db.execute("DELETE FROM incidents WHERE last_seen < ?", (now - self._ttl,))
        return cursor.rowcount

    def count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM incidents").fetchone()[0])
