"""One local execution per home directory, and recovery from one that died.

`home_lock` holds an exclusive ``flock`` on ``<home>/.lock`` for the whole run and
writes its holder (pid, start time) into the file; a second ``alchemiser run`` on the
same home is refused at once, naming the holder. The kernel releases the lock when
its process ends, however it ends (``kill -9`` included), and a clean end empties the
file, so a new holder that finds a previous holder's line knows that run died.

Because no other execution can be running under the lock, every step record still
IN PROGRESS in the home's idempotency store was left by a dead process: `recover`
expires them at once (Powertools would otherwise refuse the step until the dead
invocation's deadline, up to its function's timeout) and says so.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from alchemiser.ledger.idempotency import SQLitePersistenceLayer

LOCK_FILE = ".lock"


class HomeInUseError(RuntimeError):
    """Another local run holds this home directory."""


@dataclass(frozen=True)
class HomeLock:
    home: Path
    previous_holder: str  # the line a run that died left behind ('' after a clean end)


@contextmanager
def home_lock(home: Path) -> Iterator[HomeLock]:
    """Hold ``home`` for one run; raise `HomeInUseError` when another run holds it."""
    home.mkdir(parents=True, exist_ok=True)
    path = home / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read(fd) or "another process"
            raise HomeInUseError(
                f"{home} is in use by another alchemiser run ({holder}): wait for it to end, "
                "or give this run another --home"
            ) from None
        previous = _read(fd)
        _write(fd, f"pid {os.getpid()}, started {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC")
        try:
            yield HomeLock(home, previous)
        finally:
            _write(fd, "")
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def recover(lock: HomeLock) -> list[str]:
    """Expire the step records a dead run left IN PROGRESS; return what was done, for people."""
    store = lock.home / "idempotency.sqlite3"
    expired = SQLitePersistenceLayer(store).expire_in_progress() if store.exists() else []
    if not expired and not lock.previous_holder:
        return []
    died = f"the previous run on this home ({lock.previous_holder}) ended without finishing"
    if not expired:
        return [f"{died}; it left no step in progress"]
    steps = ", ".join(sorted({key.split("#", 1)[0].rsplit(".", 1)[-1] for key in expired}))
    return [
        f"{died if lock.previous_holder else 'a run on this home died'}: expired {len(expired)} "
        f"step record(s) it left in progress ({steps}) so this run can redo them"
    ]


def _read(fd: int) -> str:
    os.lseek(fd, 0, os.SEEK_SET)
    return os.read(fd, 4096).decode("utf-8", "replace").strip()


def _write(fd: int, text: str) -> None:
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, f"{text}\n".encode() if text else b"")
    os.fsync(fd)
