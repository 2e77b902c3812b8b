"""Fixtures for integration tests against real local services on 127.0.0.1.

PostgreSQL: ``pg_pair`` gives a fresh primary + streaming standby (Debian ``postgresql`` binaries,
initdb/pg_ctl in a temp directory, free ports), stopped and deleted after the test.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dr.database_errors import PostgresNotInstalledError
from dr.lab.postgres import LocalPostgresCluster, PostgresNode, find_pg_bindir


@pytest.fixture(scope="session")
def pg_bindir() -> str:
    """The PostgreSQL bin directory; skips locally (fails in CI) when the package is missing."""
    try:
        return str(find_pg_bindir())
    except PostgresNotInstalledError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI must install PostgreSQL: {exc}")
        pytest.skip(str(exc))


def _processes_under(directory: Path) -> list[int]:
    needle = str(directory).encode()
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if needle in (proc / "cmdline").read_bytes() and _alive(int(proc.name)):
                    found.append(int(proc.name))
            except OSError:
                continue
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


@dataclass
class PgPair:
    cluster: LocalPostgresCluster
    primary: PostgresNode
    standby: PostgresNode


@pytest.fixture(scope="session")
def pg_template(pg_bindir: str) -> Iterator[PostgresNode]:
    """One initdb per session; primaries are copies of it (about a second faster each)."""
    with LocalPostgresCluster(bindir=pg_bindir) as cluster:
        yield cluster.init_node("template")


@pytest.fixture
def pg_cluster(pg_bindir: str) -> Iterator[LocalPostgresCluster]:
    """An empty local cluster; every server it started is stopped (by PID) after the test."""
    with LocalPostgresCluster(bindir=pg_bindir) as cluster:
        yield cluster
        pids = {n.name: n.pid for n in cluster.nodes.values() if n.pid is not None}
    leftovers = {name: pid for name, pid in pids.items() if _alive(pid)}
    assert not leftovers, f"servers still running after cleanup: {leftovers}"
    # Also by data directory: a server restarted through another handle must not escape either.
    strays = _processes_under(cluster.base_dir)
    assert not strays, f"processes still running from {cluster.base_dir}: {strays}"
    assert not cluster.base_dir.exists(), "the temporary cluster directory was not removed"


@pytest.fixture
def pg_pair(pg_cluster: LocalPostgresCluster, pg_template: PostgresNode) -> PgPair:
    """A primary and a streaming standby (physical slot), both running."""
    primary = pg_cluster.create_primary("primary", template=pg_template)
    standby = pg_cluster.create_standby("standby", primary=primary)
    return PgPair(cluster=pg_cluster, primary=primary, standby=standby)
