"""Rebalance schedules and the day-by-day evolution of holdings weights.

Timing — which close a signal uses and which it trades at:

* ``targets[t]`` is the allocation computed from closes up to and including
  ``dates[t]``. It is traded at that same close and earns the returns of ``t+1`` onward.
* ``holdings[t]`` are the weights held *after* the close of ``dates[t]`` (after any
  trade). Before ``start`` everything is cash: holdings are all zero.
* Between trades weights drift with the assets' close-to-close returns
  ``r[t, j] = closes[t, j] / closes[t-1, j] - 1``:
  ``drift[t] = h[t-1] * (1 + r[t]) / sum(h[t-1] * (1 + r[t]))``.
* Row ``start`` always trades, from cash to ``targets[start]``. Target rows from
  ``start`` on must be finite, non-negative and sum to 1 within 1e-6; they are
  rescaled to sum to exactly 1 so rounding never leaks into returns.
* A later row ``t`` is a *candidate* when it is a scheduled day of the frequency (see
  :func:`scheduled_days`); with ``none`` and a threshold every day is a candidate, with
  ``none`` and no threshold no day is (buy at ``start`` and hold). On a candidate day
  the book trades to ``targets[t]`` — unconditionally without a threshold, and with one
  only when ``max_j |drift[t, j] - targets[t, j]| > threshold`` (strictly greater; a
  change of target, such as switching assets, counts as drift).
* ``traded[t] = sum_j |h[t, j] - drift[t, j]|`` is the **two-sided** traded fraction of
  the portfolio: buys plus sells. A full switch from one asset to another is 2.0; the
  first buy from cash is 1.0.
* ``gross_returns[t] = sum_j h[t-1, j] * r[t, j]`` is the return earned on day ``t`` by
  the weights held over the previous close, before trading costs.

A NaN return counts as zero when the ticker is not held (it is not listed yet). A NaN
return on a held ticker means the inputs are broken and raises ``ValueError``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from alchemiser.dsl.ast import RebalanceFrequency

__all__ = [
    "HoldingsPath",
    "RebalanceFrequency",
    "candidate_days",
    "scheduled_days",
    "simulate_holdings",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
DateArray = npt.NDArray[np.datetime64]

# Target rows must sum to 1 within this tolerance (they are sums of float fractions).
_WEIGHT_SUM_TOLERANCE = 1e-6


@dataclass(frozen=True)
class HoldingsPath:
    """The simulated book, one row per input day (zeros/False before ``start``).

    ``holdings[t]``: weights after the close of day ``t``; ``rebalanced[t]``: a trade to
    the targets happened at that close; ``traded[t]``: two-sided traded fraction of that
    trade; ``gross_returns[t]``: return of day ``t`` before costs.
    """

    holdings: FloatArray
    rebalanced: BoolArray
    traded: FloatArray
    gross_returns: FloatArray

    def __post_init__(self) -> None:
        for array in (self.holdings, self.rebalanced, self.traded, self.gross_returns):
            array.setflags(write=False)


def _period_keys(dates: DateArray, frequency: RebalanceFrequency) -> npt.NDArray[np.int64]:
    """Return an integer per day that changes exactly when a new period begins."""
    if frequency is RebalanceFrequency.WEEKLY:
        days = dates.astype("datetime64[D]").astype(np.int64)
        # Day 0 (1970-01-01) was a Thursday, so (days + 3) // 7 counts Monday-to-Sunday
        # weeks: one key per ISO week, with no special case at year ends.
        return (days + 3) // 7
    if frequency is RebalanceFrequency.MONTHLY:
        return dates.astype("datetime64[M]").astype(np.int64)
    if frequency is RebalanceFrequency.QUARTERLY:
        # Month 0 is January 1970, so quarters start at multiples of three.
        return dates.astype("datetime64[M]").astype(np.int64) // 3
    if frequency is RebalanceFrequency.YEARLY:
        return dates.astype("datetime64[Y]").astype(np.int64)
    raise ValueError(f"frequency {frequency.value!r} has no calendar periods")


def scheduled_days(dates: DateArray, frequency: RebalanceFrequency) -> BoolArray:
    """Mark the days on which a scheduled rebalance may happen.

    ``daily``: every day. ``weekly``/``monthly``/``quarterly``/``yearly``: the first
    trading day of each ISO week / month / quarter / year, i.e. a day whose period
    differs from the previous trading day's (the first row counts as a new period).
    ``none``: no day (the first trade of a backtest happens regardless).
    """
    n_days = len(dates)
    if frequency is RebalanceFrequency.DAILY:
        return np.ones(n_days, dtype=np.bool_)
    if frequency is RebalanceFrequency.NONE:
        return np.zeros(n_days, dtype=np.bool_)
    keys = _period_keys(dates, frequency)
    new_period = np.ones(n_days, dtype=np.bool_)
    new_period[1:] = keys[1:] != keys[:-1]
    return new_period


def candidate_days(
    dates: DateArray, frequency: RebalanceFrequency, threshold: float | None
) -> BoolArray:
    """Mark the days on which a rebalance is considered (scheduled, or daily checks).

    With ``none`` and a threshold the corridor is checked every day.
    """
    if frequency is RebalanceFrequency.NONE and threshold is not None:
        return np.ones(len(dates), dtype=np.bool_)
    return scheduled_days(dates, frequency)


def _describe_column(column: int, tickers: Sequence[str] | None) -> str:
    if tickers is None:
        return f"column {column}"
    return f"column {column} ({tickers[column]})"


def _validate_inputs(
    dates: DateArray,
    targets: FloatArray,
    returns: FloatArray,
    start: int,
    threshold: float | None,
) -> None:
    if targets.ndim != 2 or targets.shape != returns.shape:
        raise ValueError(
            f"targets and returns must both be days x tickers, were {targets.shape} "
            f"and {returns.shape}"
        )
    if len(dates) != targets.shape[0]:
        raise ValueError(f"expected {targets.shape[0]} dates (one per row), found {len(dates)}")
    if not 0 <= start < len(dates):
        raise ValueError(f"start must be a row in [0, {len(dates)}), was {start}")
    if len(dates) > 1 and not bool(np.all(dates[1:] > dates[:-1])):
        raise ValueError("dates must be strictly ascending")
    if threshold is not None and not (np.isfinite(threshold) and threshold >= 0):
        raise ValueError(f"threshold must be a finite weight >= 0 or None, was {threshold}")
    live = targets[start:]
    bad_rows = ~np.isfinite(live).all(axis=1) | (live < 0).any(axis=1)
    bad_rows |= np.abs(live.sum(axis=1) - 1.0) > _WEIGHT_SUM_TOLERANCE
    if bool(bad_rows.any()):
        row = start + int(np.argmax(bad_rows))
        raise ValueError(
            "target weights must be finite, >= 0 and sum to 1 on every day from start; "
            f"on {dates[row]} they were {targets[row].tolist()}"
        )


def simulate_holdings(
    dates: DateArray,
    targets: FloatArray,
    returns: FloatArray,
    start: int,
    frequency: RebalanceFrequency,
    threshold: float | None = None,
    *,
    tickers: Sequence[str] | None = None,
) -> HoldingsPath:
    """Simulate the holdings weights day by day under a rebalance schedule.

    ``returns[t, j]`` is ticker ``j``'s close-to-close return on ``dates[t]`` (NaN where
    it has no price). ``tickers`` only serves to name columns in error messages.
    """
    _validate_inputs(dates, targets, returns, start, threshold)
    n_days, n_assets = targets.shape
    # Rows are within tolerance of 1; make them exact so no rounding leaks into returns.
    weights = np.zeros_like(targets)
    weights[start:] = targets[start:] / targets[start:].sum(axis=1, keepdims=True)
    may_trade = candidate_days(dates, frequency, threshold).tolist()
    missing = np.isnan(returns)
    has_gap = missing.any(axis=1).tolist()
    growth = np.where(missing, 1.0, 1.0 + returns)

    holdings = np.zeros((n_days, n_assets))
    rebalanced = np.zeros(n_days, dtype=np.bool_)
    traded = np.zeros(n_days)
    gross = np.zeros(n_days)

    held = weights[start]
    holdings[start] = held
    rebalanced[start] = True
    traded[start] = float(held.sum())
    for t in range(start + 1, n_days):
        if has_gap[t]:
            _require_prices_for_held(held, missing[t], dates[t], tickers)
        value = held * growth[t]
        total = float(value.sum())
        if total <= 0.0:
            raise ValueError(f"portfolio value must stay positive, fell to {total} on {dates[t]}")
        gross[t] = total - 1.0
        held = value / total
        if may_trade[t]:
            gap = np.abs(weights[t] - held)
            if threshold is None or float(gap.max()) > threshold:
                traded[t] = float(gap.sum())
                rebalanced[t] = True
                held = weights[t]
        holdings[t] = held
    return HoldingsPath(
        holdings=holdings, rebalanced=rebalanced, traded=traded, gross_returns=gross
    )


def _require_prices_for_held(
    held: FloatArray,
    missing: BoolArray,
    day: np.datetime64,
    tickers: Sequence[str] | None,
) -> None:
    unpriced = np.flatnonzero(missing & (held != 0.0))
    if unpriced.size:
        column = int(unpriced[0])
        raise ValueError(
            f"{_describe_column(column, tickers)} is held at weight {held[column]:.6g} "
            f"but has no return on {day}: expected a close on that day and the one before"
        )
