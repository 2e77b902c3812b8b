"""DR database steps for plain PostgreSQL streaming replication (psycopg 3).

Each step returns a frozen pydantic result with timings for the run record and raises a
``dr.database_errors.DatabaseError`` subclass when it cannot do its job. Servers are named by
``endpoint(dsn)`` (``host:port/dbname``); passwords never reach a message, a log line or a result.

SQL only, usable against any DSN (production db-01 is remote):
    replication_status, probe_write / is_writable, fence_primary(mode="read-only"), unfence,
    promote.
Need host access to the node (pg_ctl, pg_rewind, the data directory), through a ``StandbyHost``
(``dr.lab.postgres.PostgresNode`` in the lab; production needs an implementation over SSH):
    fence_primary(mode="stop"), rebuild_as_standby, planned_switchover.

Roles: the SQL steps need a superuser, or a role granted ``pg_promote``, ``pg_signal_backend``,
``ALTER SYSTEM`` on ``default_transaction_read_only`` (PostgreSQL 15) and ``pg_read_all_stats``.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

import psycopg
from psycopg import errors as pgerrors
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from pydantic import BaseModel, ConfigDict, Field

from dr.database_errors import (
    DatabaseError,
    DatabaseQueryError,
    DatabaseUnreachableError,
    FenceError,
    PromotionError,
    PromotionRefusedError,
    RebuildError,
    ReplicationTimeoutError,
    SwitchoverError,
)

APPLICATION_NAME = "hybridops-dr"
PROBE_TABLE = "hybridops_dr_write_probe"
REDACTED = "***"
_SECRET_KEYS = ("password", "sslpassword")
_POLL_S = 0.05

# --------------------------------------------------------------------------------------------
# Pure helpers: DSN redaction and LSN arithmetic
# --------------------------------------------------------------------------------------------


def _parse_dsn(dsn: str) -> dict[str, Any] | None:
    try:
        return conninfo_to_dict(dsn)
    except (psycopg.Error, ValueError, TypeError):
        # libpq's parse errors quote fragments of the string, which may be the password.
        return None


_KEY_ORDER = ("host", "hostaddr", "port", "dbname", "user", "password")


def _canonical(params: dict[str, Any]) -> str:
    """key=value conninfo with the usual keys first, so the same DSN always reads the same."""
    first = [k for k in _KEY_ORDER if k in params]
    rest = sorted(k for k in params if k not in _KEY_ORDER)
    return make_conninfo("", **{k: params[k] for k in first + rest})


def redact_dsn(dsn: str) -> str:
    """The DSN in key=value form with ``password``/``sslpassword`` replaced by ``***``.

    Accepts key=value and URI forms; an unparseable DSN comes back as ``<unparseable DSN>``
    rather than echoed.
    """
    params = _parse_dsn(dsn)
    if params is None:
        return "<unparseable DSN>"
    for key in _SECRET_KEYS:
        if key in params:
            params[key] = REDACTED
    return _canonical(params)


def endpoint(dsn: str) -> str:
    """``host:port/dbname`` for messages and records (libpq defaults filled in, no secrets)."""
    params = _parse_dsn(dsn)
    if params is None:
        return "<unparseable DSN>"
    host = params.get("host") or params.get("hostaddr") or "localhost"
    port = params.get("port") or "5432"
    dbname = params.get("dbname") or params.get("user") or "postgres"
    return f"{host}:{port}/{dbname}"


def split_password(dsn: str) -> tuple[str, str | None]:
    """(DSN without the password, the password): hand the password to a child via PGPASSWORD
    instead of argv, which any local user can read in ps."""
    params = _parse_dsn(dsn)
    if params is None:
        raise DatabaseError("malformed DSN (not shown: it may contain a password)")
    password = params.pop("password", None)
    return _canonical(params), (str(password) if password is not None else None)


def dsn_secrets(*dsns: str) -> list[str]:
    """The secret values inside the DSNs, for ``scrub``."""
    found: list[str] = []
    for dsn in dsns:
        params = _parse_dsn(dsn) or {}
        found += [str(params[k]) for k in _SECRET_KEYS if params.get(k)]
    return found


_INLINE_SECRET = re.compile(r"(?i)\b((?:ssl)?password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)")
_URI_SECRET = re.compile(r"(?i)(postgres(?:ql)?://[^:/@\s]*:)([^@\s]*)(@)")


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """Remove known secret values and anything shaped like ``password=...`` or ``user:pw@``."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    text = _INLINE_SECRET.sub(lambda m: m.group(1) + REDACTED, text)
    return _URI_SECRET.sub(lambda m: m.group(1) + REDACTED + m.group(3), text)


_LSN = re.compile(r"^([0-9A-Fa-f]{1,8})/([0-9A-Fa-f]{1,8})$")


def parse_lsn(lsn: str) -> int:
    """``'16/B374D848'`` -> byte position. https://www.postgresql.org/docs/15/datatype-pg-lsn.html"""
    match = _LSN.match(lsn.strip())
    if not match:
        raise ValueError(f"not a pg_lsn: {lsn!r}")
    return (int(match.group(1), 16) << 32) | int(match.group(2), 16)


def format_lsn(position: int) -> str:
    """Byte position -> ``'16/B374D848'`` (PostgreSQL's own spelling: upper-case hex, no padding)."""
    if not 0 <= position < 1 << 64:
        raise ValueError(f"LSN out of range: {position}")
    return f"{position >> 32:X}/{position & 0xFFFFFFFF:X}"


def lsn_diff(a: str, b: str) -> int:
    """``pg_wal_lsn_diff(a, b)``: bytes of WAL from b to a (negative when a is behind b)."""
    return parse_lsn(a) - parse_lsn(b)


def replay_lag_seconds(
    lag_bytes: int | None, standby_now: datetime | None, last_replay_at: datetime | None
) -> float | None:
    """Replica lag in seconds as an RPO figure.

    ``now() - pg_last_xact_replay_timestamp()`` alone keeps growing while the primary is idle,
    though nothing is missing; so a standby that has replayed everything the primary wrote has
    lag 0. Otherwise it is the age of the last replayed commit (an upper bound); unknown (None)
    when nothing was replayed since the standby started or a position is unknown.
    """
    if lag_bytes is None:
        return None
    if lag_bytes <= 0:
        return 0.0
    if standby_now is None or last_replay_at is None:
        return None
    return max(0.0, round((standby_now - last_replay_at).total_seconds(), 3))


# --------------------------------------------------------------------------------------------
# Result models
# --------------------------------------------------------------------------------------------

Role = Literal["primary", "standby", "unreachable"]


class StepResult(BaseModel):
    """Common fields of every database step result (one entry of a run record's timeline)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    step: str
    """Stable step name, e.g. ``promote``."""
    started_at: datetime
    """UTC wall clock when the step began."""
    duration_s: float
    """Monotonic duration of the whole step."""
    notes: list[str] = Field(default_factory=list)
    """Human-readable facts worth keeping in the record (no-ops, forced actions, fallbacks)."""


class ServerState(BaseModel):
    """What one server said about itself."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    endpoint: str
    role: Role
    error: str | None = None
    """Why the server is unreachable (scrubbed)."""
    current_lsn: str | None = None
    """``pg_current_wal_lsn()`` on a primary."""
    receive_lsn: str | None = None
    """``pg_last_wal_receive_lsn()`` on a standby: WAL safely on the standby."""
    replay_lsn: str | None = None
    """``pg_last_wal_replay_lsn()`` on a standby: WAL applied and visible."""
    last_replay_at: datetime | None = None
    """``pg_last_xact_replay_timestamp()``: commit time of the last replayed transaction."""
    server_now: datetime | None = None
    replay_paused: bool | None = None
    wal_receiver_status: str | None = None
    """``pg_stat_wal_receiver.status`` (``streaming`` when healthy)."""
    timeline: int | None = None


class WalSender(BaseModel):
    """The primary's ``pg_stat_replication`` row for the standby."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    application_name: str | None
    state: str | None
    sync_state: str | None
    slot_name: str | None
    sent_lsn: str | None
    write_lsn: str | None
    flush_lsn: str | None
    replay_lsn: str | None
    sent_minus_replay_bytes: int | None
    """``pg_wal_lsn_diff(sent_lsn, replay_lsn)``: shipped but not yet applied."""
    replay_lag_s: float | None
    """PostgreSQL's own ``replay_lag`` (NULL once an idle standby has caught up)."""


class ReplicationStatus(StepResult):
    """Roles and lag of a primary/standby pair: the RPO figure before a cutover."""

    step: str = "replication-status"
    primary: ServerState
    standby: ServerState
    wal_sender: WalSender | None = None
    streaming: bool
    """The standby's WAL receiver is streaming."""
    lag_bytes: int | None = None
    """Primary's current LSN minus the standby's replay LSN."""
    unreceived_bytes: int | None = None
    """Primary's current LSN minus the standby's receive LSN: WAL lost if the primary died now."""
    lag_seconds: float | None = None
    """0 when caught up, else age of the last replayed commit (see ``replay_lag_seconds``)."""


class WriteProbe(StepResult):
    """A real write (insert/upsert in a committed transaction), not just ``pg_is_in_recovery()``."""

    step: str = "write-probe"
    endpoint: str
    reachable: bool
    writable: bool | None
    """True: a write committed. False: rejected (read-only, in recovery). None: unknown (timed out)."""
    in_recovery: bool | None = None
    read_only_default: bool | None = None
    """``default_transaction_read_only`` as a new session sees it (our read-only fence)."""
    method: Literal["table", "temp-table"] | None = None
    reason: str


class FenceAction(BaseModel):
    """One thing fencing tried, with its outcome."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    ok: bool
    detail: str
    duration_s: float


class FenceResult(StepResult):
    """Fencing of the old primary: bounded, best effort, every action recorded."""

    step: str = "fence-primary"
    endpoint: str
    mode: Literal["read-only", "stop"]
    outcome: Literal["fenced", "fenced-by-absence", "already-standby", "not-fenced"]
    fenced: bool
    """True when the server provably takes no writes (or could not be reached at all)."""
    actions: list[FenceAction]
    sessions_terminated: int = 0
    final_lsn: str | None = None
    """``pg_current_wal_lsn()`` after sessions were terminated (read-only), or the shutdown
    checkpoint location (stop with host access): no acknowledged commit lies beyond it."""
    verification: WriteProbe | None = None


class UnfenceResult(StepResult):
    step: str = "unfence"
    endpoint: str
    cleared: bool
    """A read-only fence set by ALTER SYSTEM was found and reset."""
    verification: WriteProbe


class PromoteResult(StepResult):
    step: str = "promote"
    endpoint: str
    outcome: Literal["promoted", "already-primary"]
    forced: bool
    """``force=True`` overrode a failed split-brain check (recorded in notes)."""
    old_primary: WriteProbe
    """The split-brain check: could the old primary still take writes?"""
    receive_lsn_before: str | None = None
    replay_lsn_before: str | None = None
    timeline_after: int | None = None
    promote_s: float | None = None
    """Duration of ``pg_promote(wait => true)``."""
    writable_after_s: float | None = None
    """From calling pg_promote to the first committed write probe."""
    cleared_read_only_fence: bool = False
    verification: WriteProbe


class RebuildResult(StepResult):
    step: str = "rebuild-as-standby"
    node: str
    source: str
    outcome: Literal["rebuilt", "already-standby"]
    method: Literal["pg_rewind", "pg_basebackup", "none"]
    rewind_error: str | None = None
    """Why pg_rewind failed before falling back to pg_basebackup."""
    slot_name: str | None
    stop_s: float | None = None
    rewind_s: float | None = None
    basebackup_s: float | None = None
    start_s: float | None = None
    catchup_s: float | None = None
    replay_lsn: str | None = None


class SwitchoverResult(StepResult):
    step: str = "planned-switchover"
    outcome: Literal["switched-over", "already-switched", "resumed"]
    old_primary: str
    new_primary: str
    fence: FenceResult | None = None
    final_lsn: str | None = None
    """Old primary's last WAL position after fencing; everything acknowledged lies before it."""
    shutdown_checkpoint_lsn: str | None = None
    standby_replay_lsn: str | None = None
    """Standby's replay position when it was promoted (>= final_lsn)."""
    data_loss_bytes: int | None = None
    """0 by construction: the switchover refuses to promote before the standby reaches final_lsn."""
    catchup_s: float | None = None
    write_outage_s: float | None = None
    """Fence start to the new primary accepting writes."""
    promote: PromoteResult | None = None
    rebuild: RebuildResult | None = None


# --------------------------------------------------------------------------------------------
# Host access (filesystem/pg_ctl): implemented by dr.lab.postgres.PostgresNode
# --------------------------------------------------------------------------------------------


class ServerControl(Protocol):
    """Enough host access to stop a server (``fence_primary(mode="stop")``)."""

    def is_running(self) -> bool: ...

    def stop(
        self, mode: Literal["smart", "fast", "immediate"] = "fast", timeout: float = 30.0
    ) -> None: ...

    def latest_checkpoint_lsn(self) -> str | None: ...


class StandbyHost(ServerControl, Protocol):
    """Host access needed to turn a server into a standby (rebuild, planned switchover)."""

    @property
    def name(self) -> str: ...

    @property
    def dsn(self) -> str: ...

    def start(self, timeout: float = 30.0) -> None: ...

    def rewind_from(self, source_dsn: str, timeout: float = 120.0) -> str: ...

    def clone_from(self, source_dsn: str, slot_name: str | None, timeout: float = 300.0) -> str: ...

    def configure_as_standby(self, primary_conninfo: str, slot_name: str | None) -> None: ...


# --------------------------------------------------------------------------------------------
# Plumbing
# --------------------------------------------------------------------------------------------


class _Clock:
    def __init__(self, timeout: float | None = None) -> None:
        self.started_at = datetime.now(UTC)
        self._t0 = time.monotonic()
        self._deadline = None if timeout is None else self._t0 + timeout

    def elapsed(self) -> float:
        return round(time.monotonic() - self._t0, 3)

    def remaining(self, cap: float | None = None) -> float:
        left = math.inf if self._deadline is None else self._deadline - time.monotonic()
        left = max(0.0, left)
        return left if cap is None else min(left, cap)

    def expired(self) -> bool:
        return self.remaining() <= 0

    def stamp(self) -> dict[str, Any]:
        return {"started_at": self.started_at, "duration_s": self.elapsed()}


def _err(exc: BaseException, dsns: Iterable[str]) -> str:
    """A one-line, scrubbed description of a driver error."""
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    sqlstate = getattr(exc, "sqlstate", None)
    return scrub(f"{first} ({sqlstate})" if sqlstate else first, dsn_secrets(*dsns))


@contextmanager
def _connect(dsn: str, timeout: float) -> Iterator[psycopg.Connection[Any]]:
    """An autocommit connection; unreachable -> DatabaseUnreachableError (message scrubbed)."""
    try:
        conn = psycopg.connect(
            dsn,
            autocommit=True,
            # libpq takes whole seconds and treats anything below 2 as 2.
            connect_timeout=max(2, math.ceil(timeout)),
            fallback_application_name=APPLICATION_NAME,
        )
    except psycopg.ProgrammingError:
        raise DatabaseError(
            f"malformed DSN for {endpoint(dsn)} (not shown: it may contain a password)"
        ) from None
    except psycopg.OperationalError as exc:
        raise DatabaseUnreachableError(
            f"cannot connect to {endpoint(dsn)}: {_err(exc, [dsn])}"
        ) from None
    try:
        _set_timeout(conn, timeout)
        yield conn
    finally:
        conn.close()


def _set_timeout(conn: psycopg.Connection[Any], seconds: float) -> None:
    conn.execute(
        "SELECT set_config('statement_timeout', %s, false)", (f"{max(1, int(seconds * 1000))}ms",)
    )


def _one(
    conn: psycopg.Connection[Any], query: str, params: tuple[Any, ...] = ()
) -> tuple[Any, ...]:
    row = conn.execute(query, params).fetchone()
    if row is None:  # pragma: no cover - every query here returns one row
        raise DatabaseQueryError(f"no row from {query!r}")
    return tuple(row)


def _query(
    dsn: str, timeout: float, what: str, fn: Callable[[psycopg.Connection[Any]], Any]
) -> Any:
    """Run ``fn`` on a fresh connection; SQL failures become DatabaseQueryError naming ``what``."""
    with _connect(dsn, timeout) as conn:
        try:
            return fn(conn)
        except psycopg.OperationalError as exc:
            raise DatabaseUnreachableError(
                f"{what} on {endpoint(dsn)}: connection lost: {_err(exc, [dsn])}"
            ) from None
        except psycopg.Error as exc:
            raise DatabaseQueryError(
                f"{what} on {endpoint(dsn)} failed: {_err(exc, [dsn])}"
            ) from None


def _wait_for(check: Callable[[], bool], timeout: float, poll: float = _POLL_S) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(poll)


# --------------------------------------------------------------------------------------------
# Observing: server state, replication status, write probe
# --------------------------------------------------------------------------------------------


def server_state(dsn: str, timeout: float = 5.0) -> ServerState:
    """Role and WAL positions of one server; an unreachable server is a state, not an error."""
    ep = endpoint(dsn)

    def read(conn: psycopg.Connection[Any]) -> ServerState:
        (in_recovery, now) = _one(conn, "SELECT pg_is_in_recovery(), now()")
        if not in_recovery:
            current, walfile = _one(
                conn, "SELECT pg_current_wal_lsn()::text, pg_walfile_name(pg_current_wal_lsn())"
            )
            return ServerState(
                endpoint=ep,
                role="primary",
                current_lsn=current,
                server_now=now,
                timeline=int(walfile[:8], 16),
            )
        receive, replay, last_at, paused = _one(
            conn,
            "SELECT pg_last_wal_receive_lsn()::text, pg_last_wal_replay_lsn()::text, "
            "pg_last_xact_replay_timestamp(), pg_is_wal_replay_paused()",
        )
        receiver = conn.execute("SELECT status, received_tli FROM pg_stat_wal_receiver").fetchone()
        return ServerState(
            endpoint=ep,
            role="standby",
            receive_lsn=receive,
            replay_lsn=replay,
            last_replay_at=last_at,
            server_now=now,
            replay_paused=paused,
            wal_receiver_status=receiver[0] if receiver else None,
            timeline=receiver[1] if receiver else None,
        )

    try:
        result: ServerState = _query(dsn, timeout, "reading server state", read)
        return result
    except DatabaseUnreachableError as exc:
        return ServerState(endpoint=ep, role="unreachable", error=str(exc))


def _wal_sender_for(primary_dsn: str, standby_dsn: str, timeout: float) -> WalSender | None:
    """The primary's pg_stat_replication row of this standby: matched by slot, then by name."""

    def standby_ids(conn: psycopg.Connection[Any]) -> tuple[Any, ...]:
        return _one(
            conn,
            "SELECT (SELECT slot_name FROM pg_stat_wal_receiver), current_setting('cluster_name')",
        )

    def senders(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
        return [
            tuple(r)
            for r in conn.execute(
                "SELECT r.application_name, r.state, r.sync_state, s.slot_name, r.sent_lsn::text, "
                "r.write_lsn::text, r.flush_lsn::text, r.replay_lsn::text, "
                "pg_wal_lsn_diff(r.sent_lsn, r.replay_lsn)::bigint, extract(epoch FROM r.replay_lag)::float8 "
                "FROM pg_stat_replication r LEFT JOIN pg_replication_slots s ON s.active_pid = r.pid"
            ).fetchall()
        ]

    try:
        slot, cluster_name = _query(standby_dsn, timeout, "identifying the standby", standby_ids)
        rows = _query(primary_dsn, timeout, "reading pg_stat_replication", senders)
    except DatabaseError:
        return None
    match = [r for r in rows if slot and r[3] == slot] or [
        r for r in rows if cluster_name and r[0] == cluster_name
    ]
    if not match and len(rows) == 1:
        match = rows
    if not match:
        return None
    r = match[0]
    return WalSender(
        application_name=r[0],
        state=r[1],
        sync_state=r[2],
        slot_name=r[3],
        sent_lsn=r[4],
        write_lsn=r[5],
        flush_lsn=r[6],
        replay_lsn=r[7],
        sent_minus_replay_bytes=r[8],
        replay_lag_s=None if r[9] is None else round(float(r[9]), 3),
    )


def replication_status(
    primary_dsn: str, standby_dsn: str, *, timeout: float = 10.0
) -> ReplicationStatus:
    """Roles of both servers and the standby's lag in bytes and seconds (the RPO figure).

    lag_bytes = pg_wal_lsn_diff(primary current, standby replay); unreceived_bytes uses the
    standby's receive LSN (what a primary loss now would lose). An unreachable server is reported,
    not raised. https://www.postgresql.org/docs/15/functions-admin.html#FUNCTIONS-RECOVERY-INFO-TABLE
    """
    clock = _Clock(timeout)
    # Standby first: a primary position read after the standby's can only overstate the lag.
    standby = server_state(standby_dsn, clock.remaining(cap=5.0) or 1.0)
    primary = server_state(primary_dsn, clock.remaining(cap=5.0) or 1.0)
    notes: list[str] = []
    lag_bytes = unreceived = None
    if primary.role == "primary" and standby.role == "standby" and primary.current_lsn:
        if standby.replay_lsn:
            lag_bytes = max(0, lsn_diff(primary.current_lsn, standby.replay_lsn))
        if standby.receive_lsn:
            unreceived = max(0, lsn_diff(primary.current_lsn, standby.receive_lsn))
    else:
        notes.append(f"no lag figure: primary is {primary.role}, standby is {standby.role}")
    sender = None
    if primary.role == "primary" and standby.role == "standby":
        sender = _wal_sender_for(primary_dsn, standby_dsn, clock.remaining(cap=5.0) or 1.0)
    if standby.replay_paused:
        notes.append("WAL replay is paused on the standby")
    return ReplicationStatus(
        **clock.stamp(),
        notes=notes,
        primary=primary,
        standby=standby,
        wal_sender=sender,
        streaming=standby.wal_receiver_status == "streaming",
        lag_bytes=lag_bytes,
        unreceived_bytes=unreceived,
        lag_seconds=replay_lag_seconds(lag_bytes, standby.server_now, standby.last_replay_at),
    )


def probe_write(dsn: str, *, timeout: float = 5.0) -> WriteProbe:
    """Try a real write: upsert a row in ``hybridops_dr_write_probe`` in a committed transaction.

    The session sets nothing read-write: it sees what an application would (our fence sets
    ``default_transaction_read_only``). Commit is ``synchronous_commit = local`` so a dead
    synchronous standby cannot hang the probe. Without CREATE rights the probe writes a temporary
    table instead, which is still refused read-only and in recovery.
    """
    clock = _Clock(timeout)
    ep = endpoint(dsn)

    def result(**kw: Any) -> WriteProbe:
        return WriteProbe(**clock.stamp(), endpoint=ep, **kw)

    try:
        with _connect(dsn, timeout) as conn:
            return _probe_on(conn, dsn, timeout, result)
    except DatabaseUnreachableError as exc:
        return result(reachable=False, writable=False, reason=str(exc))
    except psycopg.OperationalError as exc:
        return result(
            reachable=False, writable=False, reason=f"connection lost: {_err(exc, [dsn])}"
        )


def _probe_on(
    conn: psycopg.Connection[Any], dsn: str, timeout: float, result: Callable[..., WriteProbe]
) -> WriteProbe:
    facts: dict[str, Any] = {"reachable": True}
    try:
        in_recovery, ro = _one(
            conn,
            "SELECT pg_is_in_recovery(), current_setting('default_transaction_read_only')::bool",
        )
        facts.update(in_recovery=in_recovery, read_only_default=ro)
        try:
            method = _probe_transaction(conn, timeout)
        except pgerrors.UniqueViolation:
            method = _probe_transaction(conn, timeout)  # two probes raced to create the table
        return result(**facts, writable=True, method=method, reason="write committed")
    except pgerrors.ReadOnlySqlTransaction as exc:
        why = "in recovery (standby)" if facts.get("in_recovery") else "read-only"
        return result(**facts, writable=False, reason=f"{why}: {_err(exc, [dsn])}")
    except pgerrors.QueryCanceled as exc:
        return result(
            **facts,
            writable=None,
            reason=f"write did not finish in {timeout:.0f}s: {_err(exc, [dsn])}",
        )
    except psycopg.OperationalError as exc:
        return result(
            reachable=False, writable=False, reason=f"connection lost: {_err(exc, [dsn])}"
        )
    except psycopg.Error as exc:
        return result(**facts, writable=None, reason=f"write failed: {_err(exc, [dsn])}")


def _probe_transaction(
    conn: psycopg.Connection[Any], timeout: float
) -> Literal["table", "temp-table"]:
    ms = f"{max(1, int(timeout * 1000))}ms"
    with conn.transaction():
        conn.execute(
            "SELECT set_config('statement_timeout', %s, true), set_config('lock_timeout', %s, true), "
            "set_config('synchronous_commit', 'local', true)",
            (ms, ms),
        )
        try:
            with conn.transaction():  # savepoint: a permission error must not doom the probe
                conn.execute(
                    f"CREATE TABLE IF NOT EXISTS {PROBE_TABLE} (probe_id text PRIMARY KEY, "
                    "written_at timestamptz NOT NULL, backend_pid int NOT NULL)"
                )
                conn.execute(
                    f"INSERT INTO {PROBE_TABLE} VALUES (%s, now(), pg_backend_pid()) "
                    "ON CONFLICT (probe_id) DO UPDATE SET written_at = EXCLUDED.written_at, "
                    "backend_pid = EXCLUDED.backend_pid",
                    (APPLICATION_NAME,),
                )
            return "table"
        except pgerrors.InsufficientPrivilege:
            conn.execute("CREATE TEMP TABLE hybridops_dr_probe_tmp (x int) ON COMMIT DROP")
            conn.execute("INSERT INTO hybridops_dr_probe_tmp VALUES (1)")
            return "temp-table"


def is_writable(dsn: str, *, timeout: float = 5.0) -> bool:
    """True only when a real write committed (see ``probe_write``)."""
    return probe_write(dsn, timeout=timeout).writable is True


# --------------------------------------------------------------------------------------------
# Fencing
# --------------------------------------------------------------------------------------------


def fence_primary(
    dsn: str,
    mode: Literal["read-only", "stop"] = "read-only",
    timeout: float = 30.0,
    *,
    host: ServerControl | None = None,
) -> FenceResult:
    """Stop the old primary from taking writes: bounded by ``timeout``, best effort, recorded.

    read-only (SQL only): ``ALTER SYSTEM SET default_transaction_read_only = on`` + reload (it
    survives a restart), terminate client sessions (walsenders are kept so the standby gets the
    last WAL), then prove with a write probe that writes are refused. A session can still opt
    back in with ``SET default_transaction_read_only = off``: this fences applications, not a
    determined superuser; ``stop`` does not have that gap.
    stop (needs ``host``): a fast clean shutdown via pg_ctl.
    An unreachable server is "fenced by absence" (recorded, not an error): from here we cannot
    tell a dead server from a partition, which is why ``promote`` probes again.
    """
    if mode not in ("read-only", "stop"):
        raise FenceError(f"unknown fence mode {mode!r}; use 'read-only' or 'stop'")
    if mode == "stop" and host is None:
        raise FenceError(
            f"fence mode 'stop' needs host access to {endpoint(dsn)} (pg_ctl); use mode='read-only'"
        )
    clock = _Clock(timeout)
    ep = endpoint(dsn)
    actions: list[FenceAction] = []

    def act(name: str, fn: Callable[[], str]) -> bool:
        t0 = time.monotonic()
        try:
            detail, ok = fn(), True
        except Exception as exc:  # best effort: record and go on
            detail, ok = _err(exc, [dsn]), False
        actions.append(
            FenceAction(name=name, ok=ok, detail=detail, duration_s=round(time.monotonic() - t0, 3))
        )
        return ok

    def finish(outcome: str, fenced: bool, **kw: Any) -> FenceResult:
        return FenceResult(
            **clock.stamp(),
            endpoint=ep,
            mode=mode,
            outcome=outcome,
            fenced=fenced,
            actions=actions,
            **kw,
        )

    state = server_state(dsn, clock.remaining(cap=5.0) or 1.0)
    if state.role == "unreachable":
        if host is not None and host.is_running():
            # Running but not answering: stop it if we can, else we cannot call it fenced.
            if mode == "stop" and act("stop-server", lambda: _stop(host, clock)):
                return finish(
                    "fenced",
                    True,
                    final_lsn=host.latest_checkpoint_lsn(),
                    notes=["server did not answer SQL; stopped through the host"],
                )
            return finish(
                "not-fenced",
                False,
                notes=[f"server process runs but does not answer: {state.error}"],
            )
        return finish(
            "fenced-by-absence",
            True,
            notes=[f"unreachable, treated as fenced by absence: {state.error}"],
        )
    if state.role == "standby":
        return finish("already-standby", True, notes=["server is in recovery: it takes no writes"])

    if mode == "stop":
        assert host is not None
        stopped = act("stop-server", lambda: _stop(host, clock))
        checkpoint = host.latest_checkpoint_lsn() if stopped else None
        probe = probe_write(dsn, timeout=clock.remaining(cap=5.0) or 1.0)
        fenced = stopped and probe.writable is False
        return finish(
            "fenced" if fenced else "not-fenced", fenced, final_lsn=checkpoint, verification=probe
        )

    terminated = 0

    def set_read_only() -> str:
        def run(conn: psycopg.Connection[Any]) -> str:
            conn.execute("ALTER SYSTEM SET default_transaction_read_only = on")
            conn.execute("SELECT pg_reload_conf()")
            return "ALTER SYSTEM SET default_transaction_read_only = on; pg_reload_conf()"

        result: str = _query(dsn, clock.remaining(cap=10.0) or 1.0, "setting read-only", run)
        # The reload is asynchronous: wait until a new session starts read-only.
        if not _wait_for(lambda: _read_only_default(dsn, clock) is True, clock.remaining(cap=5.0)):
            raise FenceError("new sessions still start read-write after the reload")
        return result

    def terminate() -> str:
        nonlocal terminated

        def run(conn: psycopg.Connection[Any]) -> tuple[str, int]:
            # pg_terminate_backend(pid, timeout) waits for each backend to exit (PostgreSQL 14+):
            # a transaction still committing is either done or rolled back when we read the LSN.
            # https://www.postgresql.org/docs/15/functions-admin.html#FUNCTIONS-ADMIN-SIGNAL
            wait_ms = max(100, int(clock.remaining(cap=5.0) * 1000))
            n, refused = _one(
                conn,
                "SELECT count(*) FILTER (WHERE t), count(*) FILTER (WHERE NOT t) FROM ("
                " SELECT pg_terminate_backend(pid, %s) AS t FROM pg_stat_activity"
                " WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()) s",
                (wait_ms,),
            )
            if refused:
                # A session we could not end may still commit after the final LSN.
                raise FenceError(f"{n} sessions terminated, {refused} did not exit in time")
            return f"{n} sessions terminated", int(n)

        detail, n = _query(dsn, clock.remaining(cap=10.0) or 1.0, "terminating sessions", run)
        terminated = n
        return str(detail)

    final_lsn: str | None = None

    def read_final_lsn() -> str:
        nonlocal final_lsn
        final_lsn = _query(
            dsn,
            clock.remaining(cap=5.0) or 1.0,
            "reading the final LSN",
            lambda c: _one(c, "SELECT pg_current_wal_lsn()::text")[0],
        )
        return f"pg_current_wal_lsn() = {final_lsn}"

    if act("set-read-only", set_read_only) and not clock.expired():
        act("terminate-sessions", terminate)
    if not clock.expired():
        act("read-final-lsn", read_final_lsn)
    probe = probe_write(dsn, timeout=clock.remaining(cap=5.0) or 1.0)
    actions.append(
        FenceAction(
            name="verify-write-rejected",
            ok=probe.writable is False,
            detail=probe.reason,
            duration_s=probe.duration_s,
        )
    )
    # Fenced means: new sessions are refused writes *and* no old session survived to commit.
    fenced = probe.writable is False and all(a.ok for a in actions)
    if not probe.reachable:
        return finish(
            "fenced-by-absence",
            True,
            verification=probe,
            sessions_terminated=terminated,
            final_lsn=final_lsn,
            notes=["server went away while fencing"],
        )
    return finish(
        "fenced" if fenced else "not-fenced",
        fenced,
        verification=probe,
        sessions_terminated=terminated,
        final_lsn=final_lsn if fenced else None,
    )


def _stop(host: ServerControl, clock: _Clock) -> str:
    host.stop("fast", timeout=max(1.0, clock.remaining(cap=30.0)))
    if host.is_running():
        raise FenceError("server still running after pg_ctl stop")
    return "pg_ctl stop -m fast"


def _read_only_default(dsn: str, clock: _Clock) -> bool | None:
    try:
        value = _query(
            dsn,
            clock.remaining(cap=3.0) or 1.0,
            "reading default_transaction_read_only",
            lambda c: _one(c, "SELECT current_setting('default_transaction_read_only')::bool")[0],
        )
        return bool(value)
    except DatabaseError:
        return None


def unfence(dsn: str, *, timeout: float = 15.0) -> UnfenceResult:
    """Undo a read-only fence (``ALTER SYSTEM RESET default_transaction_read_only`` + reload).

    For rolling back a cutover that stopped before promotion. Never called on a server we did not
    just promote or fence ourselves: that would be how a split brain starts.
    """
    clock = _Clock(timeout)
    cleared = _clear_read_only_fence(dsn, clock)
    probe = probe_write(dsn, timeout=clock.remaining(cap=5.0) or 1.0)
    return UnfenceResult(
        **clock.stamp(), endpoint=endpoint(dsn), cleared=cleared, verification=probe
    )


def _clear_read_only_fence(dsn: str, clock: _Clock) -> bool:
    """Reset default_transaction_read_only if (and only if) ALTER SYSTEM set it."""

    def run(conn: psycopg.Connection[Any]) -> bool:
        setting, source, sourcefile = _one(
            conn,
            "SELECT setting, source, sourcefile FROM pg_settings WHERE name = 'default_transaction_read_only'",
        )
        if setting != "on":
            return False
        if not (sourcefile or "").endswith("postgresql.auto.conf"):
            raise PromotionError(
                f"{endpoint(dsn)} has default_transaction_read_only = on from {sourcefile or source}, "
                "not from our ALTER SYSTEM fence; clear it there"
            )
        conn.execute("ALTER SYSTEM RESET default_transaction_read_only")
        conn.execute("SELECT pg_reload_conf()")
        return True

    cleared: bool = _query(
        dsn, clock.remaining(cap=10.0) or 1.0, "clearing the read-only fence", run
    )
    if cleared:
        _wait_for(lambda: _read_only_default(dsn, clock) is False, clock.remaining(cap=5.0))
    return cleared


# --------------------------------------------------------------------------------------------
# Promotion
# --------------------------------------------------------------------------------------------


def promote(
    standby_dsn: str,
    *,
    old_primary_dsn: str,
    force: bool = False,
    wait_seconds: int = 60,
    timeout: float = 90.0,
) -> PromoteResult:
    """Promote the standby with ``pg_promote(wait => true)`` and prove it takes writes.

    Refuses (PromotionRefusedError) while the old primary still takes writes, or cannot be shown
    not to, unless ``force=True`` (recorded). Promoting a server that is already a primary is a
    no-op that says so. https://www.postgresql.org/docs/15/functions-admin.html#FUNCTIONS-RECOVERY-CONTROL
    """
    clock = _Clock(timeout)
    ep = endpoint(standby_dsn)
    notes: list[str] = []
    if _same_server_dsn(standby_dsn, old_primary_dsn):
        raise PromotionRefusedError(f"standby and old primary are the same server ({ep})")

    state = server_state(standby_dsn, clock.remaining(cap=5.0) or 1.0)
    if state.role == "unreachable":
        raise DatabaseUnreachableError(f"cannot promote {ep}: {state.error}")

    old = probe_write(old_primary_dsn, timeout=clock.remaining(cap=5.0) or 1.0)
    forced = False
    if old.reachable and old.writable is not False:
        what = "still accepts writes" if old.writable else "could not be shown to reject writes"
        if not force:
            raise PromotionRefusedError(
                f"refusing to promote {ep}: the old primary {old.endpoint} {what} ({old.reason}); "
                "fence it first, or pass force (--force) to accept a split brain"
            )
        forced = True
        notes.append(
            f"FORCED: old primary {old.endpoint} {what}; promoted anyway (split brain possible)"
        )
    elif not old.reachable:
        notes.append(f"old primary {old.endpoint} unreachable: fenced by absence")

    if state.role == "primary":
        probe = probe_write(standby_dsn, timeout=clock.remaining(cap=5.0) or 1.0)
        if probe.writable is not True:
            # Never unfence here: a primary that rejects writes may be a fenced old primary.
            raise PromotionError(
                f"{ep} is already a primary but does not accept writes: {probe.reason}"
            )
        notes.append("already a primary: nothing to promote")
        return PromoteResult(
            **clock.stamp(),
            notes=notes,
            endpoint=ep,
            outcome="already-primary",
            forced=forced,
            old_primary=old,
            timeline_after=state.timeline,
            verification=probe,
        )

    t_promote = time.monotonic()

    def run_promote(conn: psycopg.Connection[Any]) -> bool:
        _set_timeout(conn, wait_seconds + 10)
        try:
            return bool(
                _one(conn, "SELECT pg_promote(wait => true, wait_seconds => %s)", (wait_seconds,))[
                    0
                ]
            )
        except pgerrors.ObjectNotInPrerequisiteState:
            return True  # "recovery is not in progress": someone promoted it a moment ago

    done = _query(standby_dsn, wait_seconds + 15, "pg_promote", run_promote)
    promote_s = round(time.monotonic() - t_promote, 3)
    if not done:
        raise PromotionError(
            f"{ep} did not finish promotion within {wait_seconds}s (pg_promote returned false)"
        )

    cleared = False
    probe = probe_write(standby_dsn, timeout=clock.remaining(cap=5.0) or 1.0)
    if probe.writable is not True and probe.read_only_default and probe.in_recovery is False:
        # A read-only fence from this server's earlier life as a primary came along with it.
        cleared = _clear_read_only_fence(standby_dsn, clock)
        if cleared:
            notes.append(
                "cleared a read-only fence (ALTER SYSTEM) the promoted server still carried"
            )
    if probe.writable is not True:
        probe = _probe_until_writable(standby_dsn, clock)
    if probe.writable is not True:
        raise PromotionError(f"{ep} was promoted but does not accept writes: {probe.reason}")
    after = server_state(standby_dsn, clock.remaining(cap=5.0) or 1.0)
    return PromoteResult(
        **clock.stamp(),
        notes=notes,
        endpoint=ep,
        outcome="promoted",
        forced=forced,
        old_primary=old,
        receive_lsn_before=state.receive_lsn,
        replay_lsn_before=state.replay_lsn,
        timeline_after=after.timeline,
        promote_s=promote_s,
        writable_after_s=round(time.monotonic() - t_promote, 3),
        cleared_read_only_fence=cleared,
        verification=probe,
    )


def _probe_until_writable(dsn: str, clock: _Clock) -> WriteProbe:
    probe = probe_write(dsn, timeout=clock.remaining(cap=5.0) or 1.0)
    while probe.writable is not True and not clock.expired():
        time.sleep(0.1)
        probe = probe_write(dsn, timeout=clock.remaining(cap=5.0) or 1.0)
    return probe


def _same_server_dsn(a: str, b: str) -> bool:
    pa, pb = _parse_dsn(a), _parse_dsn(b)
    if pa is None or pb is None:
        return False
    key = ("host", "hostaddr", "port")
    return all(pa.get(k) == pb.get(k) for k in key)


# --------------------------------------------------------------------------------------------
# Failback: rebuild the old primary as a standby, planned switchover
# --------------------------------------------------------------------------------------------


def _server_identity(dsn: str, timeout: float) -> tuple[Any, ...]:
    return tuple(
        _query(
            dsn,
            timeout,
            "identifying the server",
            lambda c: _one(
                c,
                "SELECT inet_server_port(), pg_postmaster_start_time(), "
                "(SELECT system_identifier FROM pg_control_system())",
            ),
        )
    )


def ensure_slot(dsn: str, slot_name: str, *, timeout: float = 10.0) -> bool:
    """Create the physical slot on the primary unless it exists; True if created.

    ``immediately_reserve => true`` so WAL is kept from now on, before the standby first connects.
    """

    def run(conn: psycopg.Connection[Any]) -> bool:
        row = conn.execute(
            "SELECT active FROM pg_replication_slots WHERE slot_name = %s", (slot_name,)
        ).fetchone()
        if row is not None:
            if row[0]:
                raise RebuildError(
                    f"replication slot {slot_name!r} on {endpoint(dsn)} is in use by another standby"
                )
            return False
        conn.execute("SELECT pg_create_physical_replication_slot(%s, true)", (slot_name,))
        return True

    created: bool = _query(dsn, timeout, "creating the replication slot", run)
    return created


def wait_for_replay(
    standby_dsn: str, target_lsn: str, *, timeout: float = 60.0, require_streaming: bool = False
) -> ServerState:
    """Poll until the standby's replay LSN reaches ``target_lsn``; ReplicationTimeoutError if not."""
    clock = _Clock(timeout)
    target = parse_lsn(target_lsn)
    last = server_state(standby_dsn, 5.0)
    while True:
        if (
            last.role == "standby"
            and last.replay_lsn
            and parse_lsn(last.replay_lsn) >= target
            and (not require_streaming or last.wal_receiver_status == "streaming")
        ):
            return last
        if clock.expired():
            raise ReplicationTimeoutError(
                f"{endpoint(standby_dsn)} did not replay up to {target_lsn} within {timeout:.0f}s "
                f"(role {last.role}, replay {last.replay_lsn}, receiver {last.wal_receiver_status})"
            )
        time.sleep(_POLL_S)
        last = server_state(standby_dsn, clock.remaining(cap=5.0) or 1.0)


def rebuild_as_standby(
    node: StandbyHost,
    *,
    source_dsn: str,
    primary_conninfo: str,
    slot_name: str | None,
    timeout: float = 180.0,
) -> RebuildResult:
    """Turn ``node`` (the old primary) into a streaming standby of ``source_dsn`` (the new primary).

    Host access needed. Stops the node, ``pg_rewind`` onto the new timeline, falls back to a
    fresh ``pg_basebackup`` if the rewind fails, writes standby.signal and ``primary_conninfo``
    (a replication-role conninfo; it is written to the node's postgresql.auto.conf, so prefer a
    passfile to a password), starts it and waits until it streams and has replayed the source's
    current position. A node already streaming from the source is a no-op.
    https://www.postgresql.org/docs/15/app-pgrewind.html
    """
    clock = _Clock(timeout)
    src = endpoint(source_dsn)
    secrets_ = dsn_secrets(source_dsn, node.dsn, primary_conninfo)
    notes: list[str] = []
    source = server_state(source_dsn, clock.remaining(cap=5.0) or 1.0)
    if source.role != "primary":
        raise RebuildError(
            f"cannot rebuild {node.name} from {src}: it is {source.role}, not a primary"
        )
    source_id = _server_identity(source_dsn, clock.remaining(cap=5.0) or 1.0)
    source_port = source_id[0]

    if node.is_running():
        here = server_state(node.dsn, clock.remaining(cap=5.0) or 1.0)
        if here.role != "unreachable":
            if _server_identity(node.dsn, clock.remaining(cap=5.0) or 1.0)[:2] == source_id[:2]:
                raise RebuildError(
                    f"{node.name} is the source {src} itself; refusing to rebuild it"
                )
            if (
                here.role == "standby"
                and here.wal_receiver_status == "streaming"
                and here.timeline == source.timeline
                and _streams_from_port(node.dsn, source_port)
            ):
                return RebuildResult(
                    **clock.stamp(),
                    notes=["already a streaming standby of the source"],
                    node=node.name,
                    source=src,
                    outcome="already-standby",
                    method="none",
                    slot_name=slot_name,
                    replay_lsn=here.replay_lsn,
                )

    if slot_name and ensure_slot(source_dsn, slot_name, timeout=clock.remaining(cap=10.0) or 1.0):
        notes.append(f"created replication slot {slot_name} on {src}")

    t = time.monotonic()
    node.stop("fast", timeout=max(1.0, clock.remaining(cap=60.0)))
    stop_s = round(time.monotonic() - t, 3)

    method: Literal["pg_rewind", "pg_basebackup"] = "pg_rewind"
    rewind_error = None
    rewind_s = basebackup_s = None
    t = time.monotonic()
    try:
        # pg_rewind reads the source's timeline from its control file, which a just-promoted
        # server only updates at its first checkpoint: without this it says "same timeline,
        # no rewind required" and the node cannot follow. (The rewind docs' own advice.)
        _query(
            source_dsn,
            clock.remaining(cap=60.0) or 1.0,
            "CHECKPOINT",
            lambda c: c.execute("CHECKPOINT"),
        )
        out = node.rewind_from(source_dsn, timeout=max(1.0, clock.remaining(cap=300.0)))
        last_line = out.strip().splitlines()[-1] if out.strip() else "pg_rewind: done"
        notes.append(scrub(last_line, secrets_))
    except DatabaseError as exc:
        rewind_error = scrub(str(exc), secrets_)[-1000:]
        notes.append("pg_rewind failed; fell back to pg_basebackup")
        method = "pg_basebackup"
    rewind_s = round(time.monotonic() - t, 3)
    if method == "pg_basebackup":
        t = time.monotonic()
        try:
            node.clone_from(source_dsn, slot_name, timeout=max(1.0, clock.remaining(cap=600.0)))
        except DatabaseError as exc:
            raise RebuildError(
                f"could not rebuild {node.name} from {src}: pg_rewind failed ({rewind_error}) and "
                f"pg_basebackup failed ({scrub(str(exc), secrets_)[-1000:]})"
            ) from None
        basebackup_s = round(time.monotonic() - t, 3)

    node.configure_as_standby(primary_conninfo, slot_name)
    t = time.monotonic()
    node.start(timeout=max(1.0, clock.remaining(cap=60.0)))
    start_s = round(time.monotonic() - t, 3)

    t = time.monotonic()
    target = _query(
        source_dsn,
        clock.remaining(cap=5.0) or 1.0,
        "reading the current LSN",
        lambda c: _one(c, "SELECT pg_current_wal_lsn()::text")[0],
    )
    try:
        state = wait_for_replay(
            node.dsn, target, timeout=max(1.0, clock.remaining()), require_streaming=True
        )
    except ReplicationTimeoutError as exc:
        raise ReplicationTimeoutError(f"{node.name} was rebuilt ({method}) but {exc}") from None
    return RebuildResult(
        **clock.stamp(),
        notes=notes,
        node=node.name,
        source=src,
        outcome="rebuilt",
        method=method,
        rewind_error=rewind_error,
        slot_name=slot_name,
        stop_s=stop_s,
        rewind_s=rewind_s,
        basebackup_s=basebackup_s,
        start_s=start_s,
        catchup_s=round(time.monotonic() - t, 3),
        replay_lsn=state.replay_lsn,
    )


def _streams_from_port(standby_dsn: str, port: int) -> bool:
    try:
        row = _query(
            standby_dsn,
            5.0,
            "reading pg_stat_wal_receiver",
            lambda c: c.execute("SELECT sender_port FROM pg_stat_wal_receiver").fetchone(),
        )
    except DatabaseError:
        return False
    return row is not None and row[0] == port


def planned_switchover(
    old_primary: StandbyHost,
    *,
    new_primary_dsn: str,
    primary_conninfo: str,
    slot_name: str | None,
    max_lag_bytes: int | None = 64 * 1024 * 1024,
    catchup_timeout: float = 60.0,
    promote_wait: int = 60,
    rebuild_timeout: float = 180.0,
) -> SwitchoverResult:
    """Swap roles with zero data loss: the standby at ``new_primary_dsn`` becomes the primary and
    ``old_primary`` (host access needed) becomes its streaming standby.

    1. fence the primary read-only (sessions terminated, walsenders kept) and read its final LSN;
    2. wait until the standby has replayed that LSN (every acknowledged commit is before it);
    3. stop the old primary cleanly: walsenders ship the shutdown checkpoint first;
    4. promote the standby (the old primary is down: no split brain);
    5. rebuild the old primary as a standby of the new one (pg_rewind; usually nothing to rewind).
    A failure before step 4 unfences the old primary and raises SwitchoverError. Re-running after
    a success is a no-op; re-running after a crash past step 4 resumes at step 5.
    """
    clock = _Clock()
    new_ep = endpoint(new_primary_dsn)
    old_state = server_state(old_primary.dsn)
    new_state = server_state(new_primary_dsn)
    base = {"old_primary": old_primary.name, "new_primary": new_ep}

    if new_state.role == "unreachable":
        raise SwitchoverError(f"the standby {new_ep} is unreachable: {new_state.error}")
    if new_state.role == "primary":
        # Promotion already happened (an earlier run, or someone else): finish the re-pointing.
        rebuild = rebuild_as_standby(
            old_primary,
            source_dsn=new_primary_dsn,
            primary_conninfo=primary_conninfo,
            slot_name=slot_name,
            timeout=rebuild_timeout,
        )
        outcome: Literal["already-switched", "resumed"] = (
            "already-switched" if rebuild.outcome == "already-standby" else "resumed"
        )
        return SwitchoverResult(
            **clock.stamp(),
            outcome=outcome,
            rebuild=rebuild,
            **base,
            notes=[f"{new_ep} was already the primary"],
        )
    if old_state.role != "primary":
        raise SwitchoverError(
            f"the old primary {old_primary.name} is {old_state.role}: a planned switchover needs it up to "
            "prove zero data loss; start it (a read-only fence survives the restart) and re-run, "
            "or use promote() for an unplanned failover"
        )
    if new_state.wal_receiver_status != "streaming":
        raise SwitchoverError(
            f"the standby {new_ep} is not streaming (receiver {new_state.wal_receiver_status})"
        )
    if max_lag_bytes is not None and new_state.replay_lsn and old_state.current_lsn:
        lag = lsn_diff(old_state.current_lsn, new_state.replay_lsn)
        if lag > max_lag_bytes:
            raise SwitchoverError(
                f"the standby {new_ep} is {lag} bytes behind (limit {max_lag_bytes}); "
                "switching now would mean a long write outage"
            )

    t_fence = time.monotonic()
    fence = fence_primary(old_primary.dsn, "read-only", timeout=30.0)

    def roll_back(why: str) -> SwitchoverError:
        try:
            undo = unfence(old_primary.dsn)
            tail = (
                "old primary unfenced"
                if undo.verification.writable
                else "old primary could NOT be unfenced"
            )
        except DatabaseError as exc:
            tail = f"old primary could NOT be unfenced: {exc}"
        return SwitchoverError(
            f"switchover aborted before promotion: {why}; {tail}; nothing was promoted"
        )

    if fence.outcome != "fenced" or not fence.final_lsn:
        raise roll_back(f"fencing {old_primary.name} failed ({fence.outcome})")
    try:
        caught_up = wait_for_replay(new_primary_dsn, fence.final_lsn, timeout=catchup_timeout)
    except ReplicationTimeoutError as exc:
        raise roll_back(str(exc)) from None
    catchup_s = round(time.monotonic() - t_fence, 3)

    notes: list[str] = []
    old_primary.stop("fast", timeout=30.0)
    checkpoint = old_primary.latest_checkpoint_lsn()
    if checkpoint:
        # The clean shutdown's walsenders ship the checkpoint record; give the standby a moment.
        if _wait_for(lambda: _replayed_past(new_primary_dsn, checkpoint), 10.0):
            notes.append(
                "standby received the old primary's shutdown checkpoint: histories identical"
            )
        else:
            notes.append(
                "standby lacks the shutdown checkpoint (no user data after final_lsn); pg_rewind will fix"
            )
    replay_now = server_state(new_primary_dsn).replay_lsn or caught_up.replay_lsn
    loss = max(0, lsn_diff(fence.final_lsn, replay_now)) if replay_now else None
    if loss:
        raise SwitchoverError(
            f"internal check failed: standby at {replay_now} behind final LSN {fence.final_lsn}"
        )

    promoted = promote(new_primary_dsn, old_primary_dsn=old_primary.dsn, wait_seconds=promote_wait)
    outage = round(time.monotonic() - t_fence, 3)
    rebuild = rebuild_as_standby(
        old_primary,
        source_dsn=new_primary_dsn,
        primary_conninfo=primary_conninfo,
        slot_name=slot_name,
        timeout=rebuild_timeout,
    )
    return SwitchoverResult(
        **clock.stamp(),
        notes=notes,
        outcome="switched-over",
        **base,
        fence=fence,
        final_lsn=fence.final_lsn,
        shutdown_checkpoint_lsn=checkpoint,
        standby_replay_lsn=replay_now,
        data_loss_bytes=loss,
        catchup_s=catchup_s,
        write_outage_s=outage,
        promote=promoted,
        rebuild=rebuild,
    )


def _replayed_past(standby_dsn: str, lsn: str) -> bool:
    state = server_state(standby_dsn, 3.0)
    return bool(state.replay_lsn) and parse_lsn(state.replay_lsn or "0/0") > parse_lsn(lsn)
