"""Typed errors of the database steps (dr/database.py) and the local PostgreSQL lab (dr/lab/postgres.py).

One root, ``DatabaseError``, under the driver's ``HybridOpsError`` so the CLI maps every one of
them to exit code 1 with its message. Messages name the server as ``host:port/dbname`` (see
``dr.database.endpoint``) and never carry a DSN's password.
"""

from __future__ import annotations

from dr.errors import HybridOpsError


class DatabaseError(HybridOpsError):
    """A database step could not do what it was asked; the message says which server and why."""


class DatabaseUnreachableError(DatabaseError):
    """The server did not accept a connection within the timeout."""


class DatabaseQueryError(DatabaseError):
    """A query failed for a reason the step does not handle (permissions, unexpected state)."""


class PromotionRefusedError(DatabaseError):
    """The old primary still accepts writes: promoting now would split the brain.

    Fence it first (``fence_primary``) or pass ``force=True`` (``--force``), which is recorded.
    """


class PromotionError(DatabaseError):
    """``pg_promote`` did not finish in time, or the promoted server does not accept writes."""


class FenceError(DatabaseError):
    """Fencing was asked in a way that cannot work (for example ``mode="stop"`` with no host access)."""


class ReplicationTimeoutError(DatabaseError):
    """The standby did not reach the wanted WAL position (or start streaming) within the timeout."""


class RebuildError(DatabaseError):
    """The old primary could not be rebuilt as a standby: both pg_rewind and pg_basebackup failed."""


class SwitchoverError(DatabaseError):
    """A planned switchover stopped before it could guarantee zero data loss; nothing was promoted
    unless the message says so."""


class PostgresNotInstalledError(DatabaseError):
    """The PostgreSQL server binaries are missing; install the Debian package ``postgresql``."""


class LocalClusterError(DatabaseError):
    """The local PostgreSQL lab could not create, start or stop a node (initdb, pg_ctl, permissions)."""
