"""The embedded SQLite files (ledger, idempotency store, simulated broker): one way to open
them and one way to wait for the write lock.

Each call opens its own connection (handlers run on many threads at once) in autocommit
mode, so transactions are exactly the BEGIN/COMMIT issued here. A lock held by another
writer past the busy timeout is a TransientError: the state machine retries the step.

The files run in WAL mode with ``synchronous=NORMAL``: a commit is durable the moment it
returns against a process killed at any point (``kill -9`` included: the kill drill
tests it) and reaches the disk at the next checkpoint; an operating system crash or a
power cut may lose the last commits, and a re-run then finds any order the broker
already has by its client id.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alchemiser.errors import TransientError

BUSY_CODES = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})


def connect(path: Path, busy_timeout_s: float) -> sqlite3.Connection:
    """Open ``path`` in autocommit mode, waiting up to ``busy_timeout_s`` for locks."""
    conn = sqlite3.connect(path, timeout=busy_timeout_s, isolation_level=None)
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


def execute_waiting(conn: sqlite3.Connection, sql: str, what: str, *, script: bool = False) -> None:
    """Run a statement that may wait for the write lock; a lock outlasting the timeout is transient."""
    try:
        if script:
            conn.executescript(sql)
        else:
            conn.execute(sql)
    except sqlite3.OperationalError as error:
        if error.sqlite_errorcode & 0xFF in BUSY_CODES:
            raise TransientError(
                f"{what} stayed locked by another writer past the busy timeout "
                f"({sql.split(';')[0].strip()!r}); retry the step"
            ) from error
        raise


def enable_wal(conn: sqlite3.Connection, what: str, timeout_s: float) -> None:
    """Switch the file to WAL mode, waiting up to ``timeout_s`` for other connections.

    The switch needs the file to itself, and SQLite answers "locked" at once instead of
    waiting when another connection is opening the same new file (threads creating one
    store together), so this retries until the deadline; the switch is then permanent.
    """
    deadline = time.monotonic() + timeout_s
    pause = 0.005
    while True:
        try:
            execute_waiting(conn, "PRAGMA journal_mode=WAL", what)
            return
        except TransientError:
            if time.monotonic() + pause > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.25)


@contextmanager
def transaction(
    conn: sqlite3.Connection, what: str, begin: str = "BEGIN IMMEDIATE"
) -> Iterator[sqlite3.Connection]:
    """Run the block in one transaction: committed on success, rolled back on any exception.

    ``BEGIN IMMEDIATE`` (the default) takes the write lock up front: no lock-upgrade
    deadlocks under WAL. Use ``BEGIN`` for a consistent read.
    """
    execute_waiting(conn, begin, what)
    committed = False
    try:
        yield conn
        execute_waiting(conn, "COMMIT", what)
        committed = True
    finally:
        if not committed:
            conn.execute("ROLLBACK")
