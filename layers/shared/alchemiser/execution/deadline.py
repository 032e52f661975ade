"""When a walk must be done, and how long each of its steps may wait for fills.

Two things end a walk, whichever comes first:

- the Lambda's time: ``walk_deadline`` turns ``context.get_remaining_time_in_millis()``
  into a time on the walk's clock, less ``walk_margin_s`` to record the result. The walk
  never relies on the function's Timeout: it reads the time it is given.
- the market's close: ``close_deadline`` reads the broker's clock; no order goes out
  when the market is closed or closes within ``close_margin_s``, and every step ends
  that long before the close.

``fill_wait`` fits each step into what is left: a limit step waits at most
``step_timeout_s``, less whatever its own cancel (``cancel_timeout_s``) and the whole
market step after it need; a step that cannot wait even one poll is skipped, and a
market step that cannot is not placed (the remainder is reported unfilled, with why).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from alchemiser.broker.models import MarketClock
from alchemiser.settings import Settings


@dataclass(frozen=True)
class Deadline:
    """A time the walk must be done by, on the walk's clock, and what sets it."""

    at: datetime
    why: str

    def describe(self) -> str:
        return f"{self.why} ({self.at.isoformat(timespec='seconds')})"


def walk_deadline(now: datetime, remaining_ms: int, settings: Settings) -> Deadline:
    """Return when the walk must be done: ``remaining_ms`` from ``now``, less the margin."""
    margin = settings.walk_margin_s
    return Deadline(
        now + timedelta(milliseconds=remaining_ms) - timedelta(seconds=margin),
        f"the Lambda's remaining {remaining_ms / 1000:.0f}s less walk_margin_s {margin:g}s",
    )


def earliest(first: Deadline | None, second: Deadline | None) -> Deadline | None:
    """Return the earlier of two deadlines (either may be None: no deadline)."""
    if first is None or second is None:
        return first or second
    return first if first.at <= second.at else second


def market_problem(market: MarketClock, margin: timedelta) -> str:
    """Return why no order may go out on ``market``'s clock, or "" when one may."""
    stamp = market.timestamp.isoformat(timespec="seconds")
    if not market.is_open:
        return (
            f"the market is closed (broker clock {stamp}, next open "
            f"{market.next_open.isoformat(timespec='seconds')}): no order placed"
        )
    left = market.next_close - market.timestamp
    if left <= margin:
        return (
            f"the market closes at {market.next_close.isoformat(timespec='seconds')}, "
            f"{left.total_seconds():.0f}s after the broker clock's {stamp}, within "
            f"close_margin_s {margin.total_seconds():g}s: no order placed"
        )
    return ""


def close_deadline(market: MarketClock, now: datetime, margin: timedelta) -> Deadline:
    """Return ``margin`` before the close, on our clock (the broker's clock may differ)."""
    close = market.next_close.isoformat(timespec="seconds")
    return Deadline(
        now + (market.next_close - market.timestamp) - margin,
        f"close_margin_s {margin.total_seconds():g}s before the {close} close",
    )


@dataclass(frozen=True)
class StepTimes:
    """How long a step waits for fills, for a cancel, and between polls."""

    step: timedelta
    cancel: timedelta
    poll: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> StepTimes:
        return cls(
            timedelta(seconds=settings.step_timeout_s),
            timedelta(seconds=settings.cancel_timeout_s),
            timedelta(seconds=settings.poll_interval_s),
        )

    def market_step_needs(self) -> timedelta:
        """The whole market step at full length: its fill wait, then a cancel."""
        return self.step + self.cancel


def fill_wait(
    now: datetime, deadline: Deadline | None, times: StepTimes, *, market_step: bool
) -> timedelta:
    """Return how long a new step may wait for fills so the walk still ends by ``deadline``.

    The result is below ``times.poll`` when the step does not fit at all.
    """
    if deadline is None:
        return times.step
    after = times.cancel + (timedelta(0) if market_step else times.market_step_needs())
    return min(times.step, deadline.at - now - after)
