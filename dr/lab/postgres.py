"""A local PostgreSQL primary + streaming standby on 127.0.0.1, for the integration tests and the lab.

The cluster lives in one directory::

    <base>/cluster.json        nodes, ports and the postmaster PIDs we started (no secrets)
    <base>/secrets.json        superuser and replication passwords (0600)
    <base>/pgpass              libpq password file the standbys use in primary_conninfo (0600)
    <base>/<node>/data         the data directory
    <base>/<node>/server.log   the server log (pg_ctl -l)

``LocalPostgresCluster`` is a context manager: leaving it stops every server it started (by the
data directory and the recorded PID, never by name) and removes a directory it created itself.
``LocalPostgresCluster.open(base)`` re-attaches to a directory from another process, so
``hybridops lab down`` can stop exactly what ``lab up`` started.

PostgreSQL refuses to run as root, so when we are root every server-side command (initdb, pg_ctl,
pg_basebackup, pg_rewind) runs as an unprivileged user (``postgres`` from the Debian package, or
``$HYBRIDOPS_PG_USER``) that owns the directory.

A cluster without a named directory goes to a fresh temporary directory (on /dev/shm when it
is a roomy tmpfs; see ``default_tmp_parent``) and is deleted on exit.

Lab speed over durability: ``fsync = off`` and ``initdb --no-sync``. That only loses data on an
operating-system crash; a ``kill -9`` of the server (our "primary loss") keeps the page cache, so
crash and replication semantics stay those of production.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Literal

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo
from pydantic import BaseModel, ConfigDict

from dr.database import endpoint, scrub, split_password
from dr.database_errors import LocalClusterError, PostgresNotInstalledError

BINDIR_ENV = "HYBRIDOPS_PG_BINDIR"
USER_ENV = "HYBRIDOPS_PG_USER"
TMPDIR_ENV = "HYBRIDOPS_PG_TMPDIR"
HOST = "127.0.0.1"
SUPERUSER = "postgres"
REPLICATION_USER = "replicator"
STATE_FILE = "cluster.json"
STATE_VERSION = 1
_REQUIRED_BINARIES = (
    "initdb",
    "pg_ctl",
    "pg_basebackup",
    "pg_rewind",
    "pg_controldata",
    "postgres",
)
_INSTALL_HINT = "install the Debian package postgresql (apt-get install postgresql)"

# Settings shared by every node; pg_basebackup and pg_rewind copy postgresql.conf, so anything
# node-specific (the port) lives in hybridops_node.conf, rewritten after every copy.
_LAB_SETTINGS = """
# --- hybridops lab (dr/lab/postgres.py) -------------------------------------------------------
listen_addresses = '127.0.0.1'
unix_socket_directories = ''          # TCP only: no dependency on /var/run/postgresql
max_connections = 40
shared_buffers = 16MB
wal_level = replica
max_wal_senders = 10
max_replication_slots = 10
# pg_rewind needs hint-bit changes WAL-logged (or data checksums) and full page writes:
# https://www.postgresql.org/docs/15/app-pgrewind.html
wal_log_hints = on
full_page_writes = on
wal_keep_size = 256MB                 # the rewound node needs WAL back to the fork point
hot_standby = on
hot_standby_feedback = on
wal_receiver_status_interval = 1s     # fresher replay positions in pg_stat_replication
wal_retrieve_retry_interval = 500ms   # a re-pointed standby reconnects quickly
wal_sender_timeout = 10s
wal_receiver_timeout = 10s
# Dynamic shared memory as files in the data directory (default: /dev/shm), so a kill -9 leaks
# nothing outside the directory we delete.
dynamic_shared_memory_type = mmap
# Lab speed: no fsync. Only an OS crash can lose data; kill -9 of the server cannot.
fsync = off
synchronous_commit = on
password_encryption = scram-sha-256
log_line_prefix = '%m [%p] %q%u@%d '
include_if_exists = 'hybridops_node.conf'
"""

_PG_HBA = f"""# hybridops lab: TCP on 127.0.0.1 only, passwords (SCRAM) for everyone
# TYPE  DATABASE     USER  ADDRESS       METHOD
host    all          all   {HOST}/32  scram-sha-256
host    replication  all   {HOST}/32  scram-sha-256
"""


def find_pg_bindir(override: str | os.PathLike[str] | None = None) -> Path:
    """The directory holding initdb, pg_ctl, pg_basebackup and pg_rewind.

    Order: ``override``, ``$HYBRIDOPS_PG_BINDIR``, the newest ``/usr/lib/postgresql/<major>/bin``
    (Debian keeps server binaries off PATH), then PATH.
    """
    explicit = override or os.environ.get(BINDIR_ENV)
    if explicit:
        path = Path(explicit)
        missing = [b for b in _REQUIRED_BINARIES if not (path / b).is_file()]
        if missing:
            raise PostgresNotInstalledError(
                f"{path} (from {'the argument' if override else BINDIR_ENV}) lacks {', '.join(missing)}; "
                f"point it at a PostgreSQL bin directory or {_INSTALL_HINT}"
            )
        return path
    candidates: list[tuple[int, Path]] = []
    for bindir in Path("/usr/lib/postgresql").glob("*/bin"):
        with contextlib.suppress(ValueError):
            if all((bindir / b).is_file() for b in _REQUIRED_BINARIES):
                candidates.append((int(bindir.parent.name), bindir))
    if candidates:
        return max(candidates)[1]
    on_path = shutil.which("pg_ctl")
    if on_path:
        bindir = Path(on_path).resolve().parent
        if all((bindir / b).is_file() for b in _REQUIRED_BINARIES):
            return bindir
    raise PostgresNotInstalledError(
        f"PostgreSQL server binaries (initdb, pg_ctl, ...) not found; {_INSTALL_HINT} "
        f"or set {BINDIR_ENV}"
    )


def default_tmp_parent() -> str | None:
    """Where a throw-away cluster goes: ``$HYBRIDOPS_PG_TMPDIR``, else ``/dev/shm`` when it is a
    roomy world-writable tmpfs (initdb, copies and base backups are disk-bound: a primary +
    standby takes ~0.5 s there against several seconds on a busy disk), else the system default.
    """
    explicit = os.environ.get(TMPDIR_ENV)
    if explicit:
        return explicit
    shm = Path("/dev/shm")
    try:
        st = os.statvfs(shm)
        sticky_world_writable = (shm.stat().st_mode & 0o1777) == 0o1777
    except OSError:
        return None
    if sticky_world_writable and st.f_bavail * st.f_frsize >= 2 << 30:
        return str(shm)
    return None


def free_port() -> int:
    """A TCP port on 127.0.0.1 free right now (the caller retries if it is taken before use)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def slot_name_for(node_name: str) -> str:
    """The physical replication slot a standby called ``node_name`` streams through."""
    return "hybridops_" + re.sub(r"[^a-z0-9_]", "_", node_name.lower())


@dataclass(frozen=True)
class RunAs:
    """Who server-side commands run as: ``None`` uid means "as ourselves" (we are not root)."""

    user: str
    uid: int | None
    gid: int | None

    @classmethod
    def resolve(cls, user: str | None = None) -> RunAs:
        if os.geteuid() != 0:
            return cls(user=pwd.getpwuid(os.geteuid()).pw_name, uid=None, gid=None)
        name = user or os.environ.get(USER_ENV) or "postgres"
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            raise LocalClusterError(
                f"PostgreSQL refuses to run as root and there is no user {name!r} to run it as; "
                f"{_INSTALL_HINT} (it creates the postgres user) or set {USER_ENV}"
            ) from None
        if entry.pw_uid == 0:
            raise LocalClusterError(
                f"{USER_ENV}={name!r} is root; PostgreSQL refuses to run as root"
            )
        return cls(user=name, uid=entry.pw_uid, gid=entry.pw_gid)

    def chown(self, path: Path) -> None:
        if self.uid is not None and self.gid is not None:
            os.chown(path, self.uid, self.gid)

    def check_can_reach(self, path: Path) -> None:
        """Fail early and clearly when a parent directory is closed to the server user.

        (pytest's tmp_path lives under a 0700 root directory, for example.)
        """
        if self.uid is None:
            return
        groups = set(os.getgrouplist(self.user, self.gid or 0))
        for parent in reversed(path.resolve().parents):
            st = parent.stat()
            if st.st_uid == self.uid:
                ok = bool(st.st_mode & 0o100)
            elif st.st_gid in groups:
                ok = bool(st.st_mode & 0o010)
            else:
                ok = bool(st.st_mode & 0o001)
            if not ok:
                raise LocalClusterError(
                    f"the PostgreSQL user {self.user!r} cannot enter {parent} (mode "
                    f"{oct(st.st_mode & 0o777)}); put the lab directory elsewhere, e.g. under /tmp"
                )


class CommandOutput(BaseModel):
    """One server-side command we ran (argv and output scrubbed of passwords)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    argv: list[str]
    returncode: int
    output: str
    duration_s: float


class NodeState(BaseModel):
    """What cluster.json records for one node."""

    model_config = ConfigDict(extra="forbid")

    name: str
    port: int
    pid: int | None = None
    """PID of the postmaster we started (None when we stopped it or never started it)."""


class ClusterState(BaseModel):
    """cluster.json: enough for another process to find and stop exactly what was started."""

    model_config = ConfigDict(extra="forbid")

    version: int = STATE_VERSION
    bindir: str
    run_as: str
    nodes: list[NodeState] = []


class NodeStatus(BaseModel):
    """One node as ``LocalPostgresCluster.status()`` sees it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    port: int
    pid: int | None
    running: bool
    role: Literal["primary", "standby", "stopped", "unreachable"]
    endpoint: str


class PostgresNode:
    """One local server: its data directory, port and postmaster PID, with pg_ctl operations.

    Implements ``dr.database.StandbyHost`` (the host-side half of rebuild and switchover).
    Create nodes through ``LocalPostgresCluster``.
    """

    def __init__(self, cluster: LocalPostgresCluster, state: NodeState) -> None:
        self._cluster = cluster
        self._state = state

    def __repr__(self) -> str:
        return f"PostgresNode({self.name!r}, port={self.port}, pid={self._state.pid})"

    # -- identity and connection info ----------------------------------------------------------
    @property
    def name(self) -> str:
        return self._state.name

    @property
    def port(self) -> int:
        return self._state.port

    @property
    def node_dir(self) -> Path:
        return self._cluster.base_dir / self.name

    @property
    def datadir(self) -> Path:
        return self.node_dir / "data"

    @property
    def logfile(self) -> Path:
        return self.node_dir / "server.log"

    @property
    def pid(self) -> int | None:
        """The postmaster PID we recorded at start (None if we did not start it or stopped it)."""
        return self._state.pid

    @property
    def dsn(self) -> str:
        """Superuser DSN (contains the password: pass it on, never print it; see redact_dsn)."""
        return self.connect_dsn()

    def connect_dsn(self, dbname: str = "postgres", user: str = SUPERUSER) -> str:
        password = self._cluster.password_for(user)
        return make_conninfo(
            "", host=HOST, port=self.port, user=user, password=password, dbname=dbname
        )

    def replication_conninfo(self, application_name: str) -> str:
        """How a standby streams from this node: replication role, password via the pgpass file
        (so no password lands in the standby's postgresql.auto.conf)."""
        return make_conninfo(
            "",
            host=HOST,
            port=self.port,
            user=REPLICATION_USER,
            passfile=str(self._cluster.passfile),
            application_name=application_name,
        )

    # -- process control -----------------------------------------------------------------------
    def is_running(self) -> bool:
        """True while the postmaster of this data directory is alive (a zombie counts as dead)."""
        return self._adopt_live_pid() is not None

    def _adopt_live_pid(self) -> int | None:
        """The live postmaster of this data directory: the PID we recorded, or else the one in
        ``postmaster.pid`` (another handle on the same lab directory, e.g. the driver's host
        access during a failback, may have restarted the server). Adopted so stop/kill reach it."""
        for pid in (self._state.pid, self._read_postmaster_pid()):
            if pid is not None and _alive(pid) and self._owns(pid):
                if self._state.pid != pid:
                    self._state.pid = pid
                    self._cluster.save()
                return pid
        return None

    def start(self, timeout: float = 30.0) -> None:
        """``pg_ctl start -w``; records the postmaster PID. Starting a running node is a no-op."""
        if self.is_running():
            return
        self._write_node_conf()
        result = self._cluster.run(
            [
                "pg_ctl",
                "start",
                "-D",
                str(self.datadir),
                "-l",
                str(self.logfile),
                "-w",
                "-t",
                str(int(timeout)),
            ],
            timeout=timeout + 10,
            check=False,
        )
        pid = self._read_postmaster_pid()
        if result.returncode != 0 or pid is None:
            raise LocalClusterError(
                f"could not start PostgreSQL node {self.name!r} on port {self.port}: "
                f"{result.output.strip()}\n--- {self.logfile} (tail) ---\n{scrub(self.log_tail(), self._cluster.known_secrets())}"
            )
        self._state.pid = pid
        self._cluster.save()

    def stop(
        self, mode: Literal["smart", "fast", "immediate"] = "fast", timeout: float = 30.0
    ) -> None:
        """``pg_ctl stop -m MODE``; falls back to SIGKILL of the recorded PID if that times out.

        A fast stop is a clean shutdown: the walsenders send the shutdown checkpoint to connected
        standbys before exiting, which is what makes a planned switchover lossless.
        """
        if not self.is_running():
            self._forget_pid()
            return
        result = self._cluster.run(
            ["pg_ctl", "stop", "-D", str(self.datadir), "-m", mode, "-w", "-t", str(int(timeout))],
            timeout=timeout + 10,
            check=False,
        )
        if result.returncode != 0 and self.is_running():
            self.kill()
            return
        self._wait_gone(self._state.pid, timeout=10)
        self._forget_pid()

    def kill(self) -> None:
        """SIGKILL the postmaster and every child (walsenders included): an abrupt primary loss.

        pg_ctl starts the postmaster with setsid(), so it leads its own process group; we signal
        that group only after checking the PID is still the postmaster of *our* data directory.
        """
        pid = self._adopt_live_pid()
        if pid is None:
            self._forget_pid()
            return
        try:
            if os.getpgid(pid) == pid:
                os.killpg(pid, signal.SIGKILL)
            else:
                os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self._wait_gone(pid, timeout=10)
        self._clear_stale_pidfile(pid)
        self._forget_pid()

    # -- host-side rebuild operations (dr.database.StandbyHost) ---------------------------------
    def rewind_from(self, source_dsn: str, timeout: float = 120.0) -> str:
        """``pg_rewind`` this (stopped) data directory onto the timeline of ``source_dsn``.

        Needs wal_log_hints (set above). A node that crashed is first recovered in single-user
        mode by pg_rewind itself (PostgreSQL 13+). Raises LocalClusterError on failure.
        https://www.postgresql.org/docs/15/app-pgrewind.html
        """
        conninfo, password = split_password(source_dsn)
        return self._cluster.run(
            [
                "pg_rewind",
                "--target-pgdata",
                str(self.datadir),
                "--source-server",
                conninfo,
                "--no-sync",
            ],
            timeout=timeout,
            password=password,
        ).output

    def clone_from(self, source_dsn: str, slot_name: str | None, timeout: float = 300.0) -> str:
        """Replace this (stopped) node's data directory with a fresh ``pg_basebackup`` of the source.

        ``-X stream`` ships the WAL needed for consistency; ``-S`` uses an existing slot so no WAL
        is recycled between the backup and the standby's first connection.
        https://www.postgresql.org/docs/15/app-pgbasebackup.html
        """
        if self.is_running():
            raise LocalClusterError(
                f"node {self.name!r} is running; stop it before replacing its data"
            )
        shutil.rmtree(self.datadir, ignore_errors=True)
        conninfo, password = split_password(source_dsn)
        argv = [
            "pg_basebackup",
            "-D",
            str(self.datadir),
            "-d",
            conninfo,
            "-X",
            "stream",
            "-c",
            "fast",
            "--no-sync",
        ]
        if slot_name:
            argv += ["-S", slot_name]
        return self._cluster.run(argv, timeout=timeout, password=password).output

    def configure_as_standby(self, primary_conninfo: str, slot_name: str | None) -> None:
        """Write standby.signal and the streaming settings; drop a read-only fence left by ALTER SYSTEM.

        https://www.postgresql.org/docs/15/warm-standby.html#STANDBY-SERVER-SETUP
        """
        auto_conf = self.datadir / "postgresql.auto.conf"
        drop = ("primary_conninfo", "primary_slot_name", "default_transaction_read_only")
        lines = auto_conf.read_text().splitlines() if auto_conf.exists() else []
        kept = [ln for ln in lines if ln.split("=", 1)[0].strip() not in drop]
        kept.append(f"primary_conninfo = {_quote_setting(primary_conninfo)}")
        if slot_name:
            kept.append(f"primary_slot_name = {_quote_setting(slot_name)}")
        self._write_owned(auto_conf, "\n".join(kept) + "\n", mode=0o600)
        self._write_owned(self.datadir / "standby.signal", "", mode=0o600)
        self._write_node_conf()

    def latest_checkpoint_lsn(self) -> str | None:
        """``Latest checkpoint location`` from pg_controldata (the shutdown checkpoint after a clean stop)."""
        result = self._cluster.run(
            ["pg_controldata", "-D", str(self.datadir)], timeout=30, check=False
        )
        match = re.search(
            r"^Latest checkpoint location:\s+([0-9A-Fa-f]+/[0-9A-Fa-f]+)", result.output, re.M
        )
        return match.group(1) if match else None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.logfile.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    # -- internals -----------------------------------------------------------------------------
    def _write_node_conf(self) -> None:
        body = f"# written by dr/lab/postgres.py for node {self.name!r}\nport = {self.port}\ncluster_name = '{self.name}'\n"
        self._write_owned(self.datadir / "hybridops_node.conf", body, mode=0o600)

    def _write_owned(self, path: Path, text: str, mode: int) -> None:
        path.write_text(text)
        path.chmod(mode)
        self._cluster.run_as.chown(path)

    def _read_postmaster_pid(self) -> int | None:
        try:
            first = (self.datadir / "postmaster.pid").read_text().splitlines()[0]
            return int(first.strip())
        except (OSError, IndexError, ValueError):
            return None

    def _owns(self, pid: int) -> bool:
        """Is ``pid`` the postmaster of this data directory? (Guards against PID reuse.)"""
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return False
        return str(self.datadir).encode() in cmdline

    def _wait_gone(self, pid: int | None, timeout: float) -> None:
        if pid is None:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and (_alive(pid) or _group_members(pid)):
            time.sleep(0.02)

    def _clear_stale_pidfile(self, pid: int) -> None:
        """After a SIGKILL the postmaster is a zombie until its parent (init) reaps it, and
        PostgreSQL takes a zombie's PID in postmaster.pid for a live server ("lock file already
        exists"). Wait for the reaping; if it does not come, drop the lock file, as a reboot would.
        """
        deadline = time.monotonic() + 3
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        if Path(f"/proc/{pid}").exists() and self._read_postmaster_pid() == pid:
            (self.datadir / "postmaster.pid").unlink(missing_ok=True)

    def _forget_pid(self) -> None:
        if self._state.pid is not None:
            self._state.pid = None
            self._cluster.save()


class LocalPostgresCluster:
    """Creates, tracks and cleans up local PostgreSQL nodes in one directory.

    ``with LocalPostgresCluster() as lab: primary = lab.create_primary(); standby =
    lab.create_standby(primary=primary)``. Leaving the block stops every node (fast, then
    SIGKILL) and deletes the directory if the cluster created it (``keep=True`` keeps it).
    """

    def __init__(
        self,
        base_dir: Path | str | None = None,
        *,
        bindir: Path | str | None = None,
        run_as: str | None = None,
        keep: bool | None = None,
    ) -> None:
        self.bindir = find_pg_bindir(bindir)
        self.run_as = RunAs.resolve(run_as)
        created = base_dir is None
        if base_dir is None:
            # Not pytest's tmp_path: its parents are 0700 root, closed to the server user.
            base_dir = tempfile.mkdtemp(prefix="hybridops-pg-", dir=default_tmp_parent())
        self.base_dir = Path(base_dir).resolve()
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.run_as.chown(self.base_dir)
        self.run_as.check_can_reach(self.base_dir)
        self.keep = (not created) if keep is None else keep
        self._nodes: dict[str, PostgresNode] = {}
        self._secrets = self._load_or_create_secrets()
        state_path = self.base_dir / STATE_FILE
        if state_path.exists():
            state = ClusterState.model_validate_json(state_path.read_text())
            if state.version > STATE_VERSION:
                raise LocalClusterError(
                    f"{state_path} has version {state.version}; this hybridops understands up to {STATE_VERSION}"
                )
            for ns in state.nodes:
                self._nodes[ns.name] = PostgresNode(self, ns)
        self.save()

    @classmethod
    def open(cls, base_dir: Path | str, **kwargs: object) -> LocalPostgresCluster:
        """Re-attach to an existing lab directory (for ``lab down``/``status`` in a new process)."""
        if not (Path(base_dir) / STATE_FILE).exists():
            raise LocalClusterError(f"{base_dir} holds no {STATE_FILE}: no PostgreSQL lab there")
        return cls(base_dir, keep=True, **kwargs)  # type: ignore[arg-type]

    # -- context manager -----------------------------------------------------------------------
    def __enter__(self) -> LocalPostgresCluster:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop every node we started; delete the directory unless it is kept."""
        self.stop_all()
        if not self.keep:
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def stop_all(self, timeout: float = 15.0) -> None:
        """Stop every node by its data directory/recorded PID (fast, then SIGKILL). Never by name."""
        errors: list[str] = []
        for node in self._nodes.values():
            try:
                node.stop("fast", timeout=timeout)
            except Exception as exc:  # keep stopping the others, report at the end
                errors.append(f"{node.name}: {exc}")
                with contextlib.suppress(Exception):
                    node.kill()
        if errors:
            raise LocalClusterError(
                "could not stop every PostgreSQL node cleanly: " + "; ".join(errors)
            )

    # -- nodes ---------------------------------------------------------------------------------
    @property
    def nodes(self) -> dict[str, PostgresNode]:
        return dict(self._nodes)

    def node(self, name: str) -> PostgresNode:
        try:
            return self._nodes[name]
        except KeyError:
            raise LocalClusterError(f"no node {name!r} in {self.base_dir}") from None

    def init_node(self, name: str) -> PostgresNode:
        """initdb a data directory with the lab settings, without starting it.

        Used directly to make a template for ``create_primary(template=...)``.
        """
        node = self._new_node(name)
        pwfile = node.node_dir / ".pwfile"
        node._write_owned(pwfile, self._secrets[SUPERUSER] + "\n", mode=0o600)
        try:
            self.run(
                [
                    "initdb",
                    "-D",
                    str(node.datadir),
                    "-U",
                    SUPERUSER,
                    f"--pwfile={pwfile}",
                    "--auth=scram-sha-256",
                    "-E",
                    "UTF8",
                    "--locale=C",
                    "--no-sync",
                    # 1 MB WAL segments (default 16 MB): faster initdb and base backups in the lab.
                    "--wal-segsize=1",
                ],
                timeout=120,
            )
        finally:
            pwfile.unlink(missing_ok=True)
        with (node.datadir / "postgresql.conf").open("a") as conf:
            conf.write(_LAB_SETTINGS)
        node._write_owned(node.datadir / "pg_hba.conf", _PG_HBA, mode=0o600)
        return node

    def create_primary(
        self,
        name: str = "primary",
        *,
        template: PostgresNode | None = None,
        start_timeout: float = 30.0,
    ) -> PostgresNode:
        """initdb a primary (replica WAL, wal_log_hints, replication role, 127.0.0.1 SCRAM) and start it.

        ``template``: a stopped node made by ``init_node`` (any cluster) to copy instead of running
        initdb again (about a second saved per primary; copies share a system identifier).
        """
        if template is None:
            node = self.init_node(name)
            bootstrap_password = self._secrets[SUPERUSER]
        else:
            if template.is_running():
                raise LocalClusterError(
                    f"template node {template.name!r} must be stopped to be copied"
                )
            node = self._new_node(name)
            # cp -a keeps owners and modes, and is several times faster than shutil.copytree.
            subprocess.run(
                ["cp", "-a", str(template.datadir), str(node.datadir)],
                check=True,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=120,
            )
            bootstrap_password = template._cluster.password_for(SUPERUSER)
        self._start_on_free_port(node, start_timeout)
        dsn = make_conninfo(node.dsn, password=bootstrap_password)
        with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
            if template is not None:
                conn.execute(
                    sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                        sql.Identifier(SUPERUSER), sql.Literal(self._secrets[SUPERUSER])
                    )
                )
            conn.execute(
                sql.SQL("CREATE ROLE {} WITH LOGIN REPLICATION PASSWORD {}").format(
                    sql.Identifier(REPLICATION_USER), sql.Literal(self._secrets[REPLICATION_USER])
                )
            )
        return node

    def create_standby(
        self,
        name: str = "standby",
        *,
        primary: PostgresNode,
        slot: bool = True,
        start_timeout: float = 30.0,
    ) -> PostgresNode:
        """``pg_basebackup -R`` a streaming standby of ``primary`` (with a physical slot) and start it.

        -R writes standby.signal and primary_conninfo; -C -S creates the slot so the primary keeps
        the WAL this standby has not received. https://www.postgresql.org/docs/15/app-pgbasebackup.html
        """
        node = self._new_node(name)
        argv = [
            "pg_basebackup",
            "-D",
            str(node.datadir),
            "-d",
            primary.replication_conninfo(name),
            "-X",
            "stream",
            "-c",
            "fast",
            "-R",
            "--no-sync",
        ]
        if slot:
            argv += ["-C", "-S", slot_name_for(name)]
        self.run(argv, timeout=300)
        self._start_on_free_port(node, start_timeout)
        return node

    def status(self) -> list[NodeStatus]:
        out: list[NodeStatus] = []
        for node in self._nodes.values():
            running = node.is_running()
            role: Literal["primary", "standby", "stopped", "unreachable"] = "stopped"
            if running:
                try:
                    with psycopg.connect(node.dsn, connect_timeout=3) as conn:
                        row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
                    role = "standby" if row and row[0] else "primary"
                except psycopg.Error:
                    role = "unreachable"
            out.append(
                NodeStatus(
                    name=node.name,
                    port=node.port,
                    pid=node.pid,
                    running=running,
                    role=role,
                    endpoint=endpoint(node.dsn),
                )
            )
        return out

    # -- secrets -------------------------------------------------------------------------------
    @property
    def passfile(self) -> Path:
        return self.base_dir / "pgpass"

    def known_secrets(self) -> list[str]:
        """The lab's passwords, for scrubbing command output and log excerpts."""
        return list(self._secrets.values())

    def password_for(self, user: str) -> str:
        try:
            return self._secrets[user]
        except KeyError:
            raise LocalClusterError(f"the lab has no password for role {user!r}") from None

    # -- running server-side commands ----------------------------------------------------------
    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: float,
        check: bool = True,
        password: str | None = None,
    ) -> CommandOutput:
        """Run a PostgreSQL binary as the server user, with a clean libpq environment.

        Passwords go through PGPASSWORD, never argv (argv is visible in ps); output is scrubbed.
        """
        exe = self.bindir / argv[0]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(LC_ALL="C", HOME=str(self.base_dir))
        if password is not None:
            env["PGPASSWORD"] = password
        known = [*self.known_secrets(), *([password] if password else [])]
        shown = [scrub(a, known) for a in argv]
        started = time.monotonic()
        try:
            proc = subprocess.run(
                [str(exe), *argv[1:]],
                env=env,
                cwd=self.base_dir,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=timeout,
                user=self.run_as.uid,
                group=self.run_as.gid,
                extra_groups=[] if self.run_as.uid is not None else None,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise LocalClusterError(
                f"{' '.join(shown)} did not finish within {timeout:.0f}s"
            ) from exc
        result = CommandOutput(
            argv=shown,
            returncode=proc.returncode,
            output=scrub(proc.stdout or "", known),
            duration_s=round(time.monotonic() - started, 3),
        )
        if check and proc.returncode != 0:
            raise LocalClusterError(
                f"{shown[0]} failed (exit {proc.returncode}): {result.output.strip()[-2000:]}"
            )
        return result

    # -- internals -----------------------------------------------------------------------------
    def save(self) -> None:
        state = ClusterState(
            bindir=str(self.bindir),
            run_as=self.run_as.user,
            nodes=[n._state for n in self._nodes.values()],
        )
        tmp = self.base_dir / (STATE_FILE + ".tmp")
        tmp.write_text(state.model_dump_json(indent=2) + "\n")
        tmp.replace(self.base_dir / STATE_FILE)

    def _new_node(self, name: str) -> PostgresNode:
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]{0,40}", name):
            raise LocalClusterError(f"node name {name!r}: use letters, digits, '-' and '_'")
        if name in self._nodes:
            raise LocalClusterError(f"node {name!r} already exists in {self.base_dir}")
        node = PostgresNode(self, NodeState(name=name, port=free_port()))
        node.node_dir.mkdir(mode=0o700)
        self.run_as.chown(node.node_dir)
        self._nodes[name] = node
        self.save()
        return node

    def _start_on_free_port(self, node: PostgresNode, timeout: float, attempts: int = 3) -> None:
        """Start, choosing a new port if another process grabbed ours since free_port()."""
        for attempt in range(attempts):
            try:
                node.start(timeout=timeout)
                return
            except LocalClusterError as exc:
                if attempt == attempts - 1 or "could not bind" not in str(exc):
                    raise
                node._state.port = free_port()
                self.save()

    def _load_or_create_secrets(self) -> dict[str, str]:
        path = self.base_dir / "secrets.json"
        if path.exists():
            data: dict[str, str] = json.loads(path.read_text())
        else:
            data = {
                SUPERUSER: secrets.token_urlsafe(18),
                REPLICATION_USER: secrets.token_urlsafe(18),
            }
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                json.dump(data, fh)
        # libpq's password file: walreceivers (run as the server user) read it, so it is theirs.
        # https://www.postgresql.org/docs/15/libpq-pgpass.html
        lines = "".join(f"{HOST}:*:*:{user}:{pw}\n" for user, pw in data.items())
        fd = os.open(self.passfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(lines)
        self.run_as.chown(self.passfile)
        return data


def _quote_setting(value: str) -> str:
    """A postgresql.conf string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def _alive(pid: int) -> bool:
    """Alive and not a zombie (PID 1 here may not reap the postmaster pg_ctl left behind)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def _group_members(pgid: int) -> list[int]:
    """Live processes of process group ``pgid`` (backends that outlive a SIGKILLed postmaster)."""
    members: list[int] = []
    for entry in _proc_pids():
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] not in ("Z", "X") and int(fields[2]) == pgid:
            members.append(entry)
    return members


def _proc_pids() -> Iterator[int]:
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            yield int(entry)
