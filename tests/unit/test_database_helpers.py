"""Pure helpers of the database steps: DSN redaction, LSN arithmetic, lag rules, lab lookups."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from psycopg.conninfo import make_conninfo

from dr import database as db
from dr.database_errors import DatabaseError, PostgresNotInstalledError
from dr.errors import HybridOpsError
from dr.lab.postgres import find_pg_bindir, slot_name_for

SECRET = "s3cr3t-P@ss word"


@pytest.mark.parametrize(
    ("dsn", "expected"),
    [
        (
            "host=db-01 port=5432 user=dr password=hunter2 dbname=app",
            "host=db-01 port=5432 dbname=app user=dr password=***",
        ),
        (
            "postgresql://dr:hunter2@db-01:5433/app?sslmode=require",
            "host=db-01 port=5433 dbname=app user=dr password=*** sslmode=require",
        ),
        ("host=db-01 user=dr sslpassword=keypass", "host=db-01 user=dr sslpassword=***"),
        ("host=db-01 user=dr", "host=db-01 user=dr"),
    ],
)
def test_redact_dsn(dsn: str, expected: str) -> None:
    """Passwords become *** in both conninfo and URI forms; nothing else changes."""
    assert db.redact_dsn(dsn) == expected


def test_redact_dsn_never_echoes_an_unparseable_dsn() -> None:
    """libpq's parse errors quote the string; we return a placeholder instead."""
    assert db.redact_dsn(f"host=db-01 password='{SECRET}") == "<unparseable DSN>"
    assert db.endpoint(f"password {SECRET}") == "<unparseable DSN>"
    with pytest.raises(DatabaseError) as exc:
        db.split_password(f"password {SECRET}")
    assert SECRET not in str(exc.value)


def test_redact_dsn_quoted_password() -> None:
    """A password with spaces and quotes is still removed whole."""
    dsn = make_conninfo("", host="db-01", password=SECRET)
    assert SECRET.replace(" ", "\\ ") in dsn or SECRET in dsn
    redacted = db.redact_dsn(dsn)
    assert SECRET not in redacted
    assert "password=***" in redacted


@pytest.mark.parametrize(
    ("dsn", "expected"),
    [
        ("host=db-01 port=6432 dbname=app user=dr password=x", "db-01:6432/app"),
        ("postgresql://dr:x@10.0.0.5/app", "10.0.0.5:5432/app"),
        ("hostaddr=127.0.0.1 user=dr", "127.0.0.1:5432/dr"),
        ("", "localhost:5432/postgres"),
    ],
)
def test_endpoint(dsn: str, expected: str) -> None:
    """Servers are named host:port/dbname with libpq's defaults filled in."""
    assert db.endpoint(dsn) == expected


def test_split_password_moves_the_password_out_of_the_dsn() -> None:
    """pg_rewind/pg_basebackup get the password through PGPASSWORD, not argv."""
    conninfo, password = db.split_password("host=h port=1 user=u password=pw dbname=d")
    assert (conninfo, password) == ("host=h port=1 dbname=d user=u", "pw")
    assert db.split_password("host=h") == ("host=h", None)


def test_scrub_removes_known_and_shaped_secrets() -> None:
    """Known values, password=... pairs and user:pw@ in URIs are all masked."""
    text = (
        f"failed with {SECRET}; primary_conninfo='host=h password=abc user=u' "
        "url postgresql://dr:pw123@db/app"
    )
    out = db.scrub(text, [SECRET])
    assert SECRET not in out and "abc" not in out and "pw123" not in out
    assert out == (
        "failed with ***; primary_conninfo='host=h password=*** user=u' url postgresql://dr:***@db/app"
    )
    assert db.dsn_secrets("host=h password=a sslpassword=b", "host=i") == ["a", "b"]


@pytest.mark.parametrize(
    ("lsn", "position"),
    [("0/0", 0), ("0/3000060", 0x3000060), ("16/B374D848", (0x16 << 32) | 0xB374D848)],
)
def test_parse_and_format_lsn(lsn: str, position: int) -> None:
    """pg_lsn text is two 32-bit hex halves; formatting matches PostgreSQL's spelling."""
    assert db.parse_lsn(lsn) == position
    assert db.format_lsn(position) == lsn


@given(st.integers(min_value=0, max_value=(1 << 64) - 1))
def test_lsn_round_trip(position: int) -> None:
    """Every 64-bit position survives format -> parse."""
    assert db.parse_lsn(db.format_lsn(position)) == position


@given(st.integers(0, (1 << 63) - 1), st.integers(0, (1 << 63) - 1))
def test_lsn_diff_is_pg_wal_lsn_diff(a: int, b: int) -> None:
    """lsn_diff(a, b) is the signed byte distance, like pg_wal_lsn_diff."""
    assert db.lsn_diff(db.format_lsn(a), db.format_lsn(b)) == a - b


@pytest.mark.parametrize("bad", ["", "0", "0/", "/0", "G/0", "123456789/0", "1/2/3"])
def test_parse_lsn_rejects_garbage(bad: str) -> None:
    """Anything that is not a pg_lsn is a ValueError."""
    with pytest.raises(ValueError):
        db.parse_lsn(bad)


def test_lag_seconds_rules() -> None:
    """Caught up is 0 s however old the last commit; behind is the last commit's age; else unknown."""
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    old = now - timedelta(minutes=10)
    assert db.replay_lag_seconds(0, now, old) == 0.0
    assert db.replay_lag_seconds(0, now, None) == 0.0
    assert db.replay_lag_seconds(8192, now, old) == 600.0
    assert db.replay_lag_seconds(8192, now, None) is None
    assert db.replay_lag_seconds(None, now, old) is None
    assert db.replay_lag_seconds(8192, now, now + timedelta(seconds=1)) == 0.0  # clock skew


def test_database_errors_are_hybridops_errors() -> None:
    """The CLI maps every database error to exit code 1."""
    assert issubclass(PostgresNotInstalledError, DatabaseError)
    assert issubclass(DatabaseError, HybridOpsError)
    assert DatabaseError.exit_code == 1


def test_find_pg_bindir_override_names_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bin directory without the server binaries tells the user what to install."""
    monkeypatch.setenv("HYBRIDOPS_PG_BINDIR", str(tmp_path))
    with pytest.raises(PostgresNotInstalledError, match="install the Debian package postgresql"):
        find_pg_bindir()


def test_slot_name_for() -> None:
    """Slot names are lower-case identifiers derived from the standby's name."""
    assert slot_name_for("standby") == "hybridops_standby"
    assert slot_name_for("db-01.Cloud") == "hybridops_db_01_cloud"
