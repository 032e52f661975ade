"""Keep Alpaca requests under its rate limits, and wait as long as Alpaca asks when throttled.

Alpaca allows 200 requests a minute per account on the trading API, and 200 a minute on
the market data API's free plan. Every answer carries ``X-RateLimit-Limit``,
``X-RateLimit-Remaining`` and ``X-RateLimit-Reset`` (epoch seconds); past the limit it
answers HTTP 429. Two defences, per process:

- ``RequestBudget``, a token bucket per API: at most ``per_minute`` requests in any 60 s
  (a burst of ``burst``, the rest spread evenly). The Lambda processes that call Alpaca
  at the same time (at most the largest MaxConcurrency of the state machine) each take
  a share of the account's 200: ``Settings.alpaca_requests_per_minute``.
- what Alpaca says, which covers every process of the account: an answer with no
  requests remaining, or a 429, pauses the budget until ``Retry-After`` (seconds or an
  HTTP date) or else ``X-RateLimit-Reset``.

The budget only counts; the caller sleeps with its own clock. No wait is unbounded: a
wait longer than ``max_wait_s`` raises ``TransientBrokerError`` without taking a token,
and the step is retried by the state machine.

pyrate-limiter was considered: its blocking wait calls ``time.sleep`` itself and leaks
through a background thread, so it can be neither driven by the adapter's injectable
sleep nor paused by Alpaca's headers.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from alchemiser.broker.errors import TransientBrokerError

ALPACA_REQUESTS_PER_MINUTE = 200  # per account, per API (trading; market data on the free plan)
MAX_BURST = 5


class RequestBudget:
    """A thread-safe token bucket: no 60 s window holds more than ``per_minute`` requests.

    Kept as the time its next token is due (GCRA): each request is sent at
    ``max(now, due - tolerance, pause end)`` and moves ``due`` one interval past that, so
    n requests span at least ``(n - burst)`` intervals whatever the pauses.
    """

    def __init__(self, per_minute: int, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        if not 2 <= per_minute <= ALPACA_REQUESTS_PER_MINUTE:
            raise ValueError(
                f"per_minute must be in [2, {ALPACA_REQUESTS_PER_MINUTE}], was {per_minute}"
            )
        self.per_minute = per_minute
        # burst + 60 s / interval == per_minute: the bound holds for every window
        self.burst = max(1, min(MAX_BURST, per_minute // 4))
        self.interval_s = 60.0 / (per_minute - self.burst)
        self._tolerance_s = (self.burst - 1) * self.interval_s
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._due = -math.inf
        self._paused_until = -math.inf

    def reserve(self, max_wait_s: float, what: str) -> float:
        """Take the token of one request and return how long to wait before sending it.

        Raise TransientBrokerError, taking nothing, when that wait exceeds ``max_wait_s``.
        """
        with self._lock:
            now = self._monotonic()
            for_token = max(now, self._due - self._tolerance_s)
            send_at = max(for_token, self._paused_until)
            wait = send_at - now
            if wait > max_wait_s:
                paused = self._paused_until > for_token
                why = "Alpaca asked to wait" if paused else "this process's request budget needs"
                raise TransientBrokerError(
                    f"{what}: Alpaca rate limit: {why} {wait:.1f}s, more than the "
                    f"{max_wait_s:g}s allowed (alpaca_max_rate_wait_s); retry the step later"
                )
            self._due = max(self._due, send_at) + self.interval_s
            return wait

    def pause_for(self, seconds: float) -> None:
        """Send nothing more for ``seconds`` (Alpaca said the account has no requests left)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._monotonic() + max(0.0, seconds))

    def observe(self, status: int, headers: Mapping[str, str], wall_now: float) -> None:
        """Pause when an answer says the account is throttled (429) or has no requests left."""
        lowered = {k.lower(): v for k, v in headers.items()}
        remaining = _number(lowered.get("x-ratelimit-remaining"))
        if status != 429 and remaining != 0:
            return
        wait = server_wait_s(lowered, wall_now)
        if wait is not None:
            self.pause_for(wait)


def server_wait_s(headers: Mapping[str, str], wall_now: float) -> float | None:
    """Return how long Alpaca asks us to wait: ``Retry-After``, else until ``X-RateLimit-Reset``.

    ``Retry-After`` is seconds or an HTTP date; ``X-RateLimit-Reset`` is epoch seconds.
    None when neither header is there or readable. Never negative.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    retry_after = lowered.get("retry-after")
    if retry_after is not None:
        seconds = _number(retry_after)
        if seconds is None:
            try:
                seconds = parsedate_to_datetime(retry_after).timestamp() - wall_now
            except (TypeError, ValueError):
                seconds = None
        if seconds is not None:
            return max(0.0, seconds)
    reset = _number(lowered.get("x-ratelimit-reset"))
    return None if reset is None else max(0.0, reset - wall_now)


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


@dataclass(frozen=True)
class AlpacaBudgets:
    """The request budgets of Alpaca's two APIs (each has its own 200 a minute)."""

    trading: RequestBudget
    data: RequestBudget
    max_wait_s: float = 60.0

    @classmethod
    def private(
        cls,
        per_minute: int,
        max_wait_s: float = 60.0,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> AlpacaBudgets:
        """Return budgets of one adapter alone (tests, scripts)."""
        return cls(
            RequestBudget(per_minute, monotonic=monotonic),
            RequestBudget(per_minute, monotonic=monotonic),
            max_wait_s,
        )

    @classmethod
    def shared(cls, per_minute: int, max_wait_s: float = 60.0) -> AlpacaBudgets:
        """Return this process's budgets: every adapter built with the same numbers shares them."""
        key = (per_minute, max_wait_s)
        with _shared_lock:
            if key not in _shared:
                _shared[key] = cls.private(per_minute, max_wait_s)
            return _shared[key]


_shared_lock = threading.Lock()
_shared: dict[tuple[int, float], AlpacaBudgets] = {}
