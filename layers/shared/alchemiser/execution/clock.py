"""Time for the execution code: the real clock, and an instant one for replays and tests.

Execution never calls ``time`` or ``datetime.now`` directly: every wait is a
``clock.sleep`` toward a deadline computed from ``clock.now()``, so a local replay
(or a test) can run a whole walk of the book without waiting for anything.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Aware-UTC time and sleeping."""

    def now(self) -> datetime: ...

    def sleep(self, seconds: float) -> None: ...


def _check_seconds(seconds: float) -> None:
    if not seconds >= 0:  # also rejects NaN
        raise ValueError(f"sleep seconds must be >= 0, was {seconds}")


class SystemClock:
    """Real time: ``now`` is the system's UTC time and ``sleep`` blocks."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        _check_seconds(seconds)
        time.sleep(seconds)


class InstantClock:
    """A clock whose ``sleep`` advances its own time at once (local replay, tests).

    Thread-safe: concurrent Map items may share one clock; each sleep advances the
    shared time, which only brings every waiter's deadline closer.
    """

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None or start.utcoffset() is None:
            raise ValueError(f"start must be timezone-aware, was naive {start.isoformat()}")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()
        self.elapsed = timedelta(
            0
        )  # total time advanced: lets a test check deadlines were honoured

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        _check_seconds(seconds)
        self.advance(timedelta(seconds=seconds))

    def advance(self, delta: timedelta) -> None:
        """Move time forward by ``delta`` without sleeping."""
        if delta < timedelta(0):
            raise ValueError(f"time only moves forward, was asked to move by {delta}")
        with self._lock:
            self._now += delta
            self.elapsed += delta
