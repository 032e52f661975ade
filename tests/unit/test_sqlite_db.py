"""The embedded SQLite files: transactions commit or roll back, and a held lock is transient."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from alchemiser.errors import TransientError
from alchemiser.sqlite_db import connect, transaction


def insert_then_fail(conn: sqlite3.Connection) -> None:
    with transaction(conn, "test db"):
        conn.execute("INSERT INTO t VALUES (2)")
        raise ZeroDivisionError


def test_a_transaction_commits_on_success_and_rolls_back_on_error(tmp_path: Path) -> None:
    with closing(connect(tmp_path / "db.sqlite3", 1)) as conn:
        conn.execute("CREATE TABLE t (x INTEGER)")
        with transaction(conn, "test db"):
            conn.execute("INSERT INTO t VALUES (1)")
        with pytest.raises(ZeroDivisionError):
            insert_then_fail(conn)
        assert conn.execute("SELECT x FROM t").fetchall() == [(1,)]


def test_a_write_lock_held_past_the_busy_timeout_is_a_transient_error_naming_the_file(
    tmp_path: Path,
) -> None:
    # Given one connection holding the write lock, and another that waits only 50 ms
    path = tmp_path / "db.sqlite3"
    with closing(connect(path, 1)) as holder, closing(connect(path, 0.05)) as waiter:
        holder.execute("PRAGMA journal_mode=WAL")
        expected = r"simulated broker .*db\.sqlite3 stayed locked"
        # When the second tries to write, Then it gets a retryable error naming the file
        with (
            transaction(holder, "holder"),
            pytest.raises(TransientError, match=expected),
            transaction(waiter, f"simulated broker {path}"),
        ):
            pass
