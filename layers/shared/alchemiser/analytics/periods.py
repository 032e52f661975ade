"""Calendar figures of a daily return series: trailing returns, months, years, best and worst.

Definitions (``W`` is the wealth curve: 1.0 before the first day, ``W[i]`` after day i):

* **Trailing return** over a window ending on the last day ``E``: ``W[E] / W[A] - 1``
  where ``A`` is the last day of the series on or before the window's anchor date.
  Anchors: MTD — the last calendar day of the previous month; YTD — 31 December of the
  previous year; 1M, 3M, 1Y — ``E`` minus 1, 3 or 12 calendar months (the 31st of a
  month minus one month is the last day of the shorter month). A window whose anchor
  is before the series' first day is not covered and its return is None (the series
  cannot say what happened before it started); "since inception" is the total return.
* **Month and year returns** compound the daily returns of the days dated in that
  calendar month or year: ``prod(1 + r) - 1``. The first and last are partial when
  the series starts or ends inside them.
* **Best / worst day** is the largest / smallest daily return, with its date;
  **best / worst month** the same over month returns (ties: the earliest).
* **Win rate** is the fraction of days with a positive return among the days whose
  return is not exactly 0 (a day flat in cash is neither a win nor a loss); None
  when every day is flat.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from alchemiser.analytics.returns import DateArray, FloatArray, as_date


@dataclass(frozen=True)
class DatedValue:
    """A value and the day (or the first day of the month) it belongs to."""

    day: date
    value: float


@dataclass(frozen=True)
class TrailingReturns:
    """Returns over the windows ending on ``end`` (None: the series does not cover it)."""

    end: date
    mtd: float | None
    one_month: float | None
    three_months: float | None
    ytd: float | None
    one_year: float | None
    inception: float

    def rows(self) -> tuple[tuple[str, float | None], ...]:
        """Return (label, value) pairs in the order a table shows them."""
        return (
            ("MTD", self.mtd),
            ("1M", self.one_month),
            ("3M", self.three_months),
            ("YTD", self.ytd),
            ("1Y", self.one_year),
            ("Since inception", self.inception),
        )


@dataclass(frozen=True)
class PeriodReturns:
    """Compounded returns per calendar period; ``starts`` are the periods' first days."""

    starts: tuple[date, ...]
    returns: FloatArray


@dataclass(frozen=True)
class PeriodStats:
    """Best and worst day and month, and the win rate (see the module docstring)."""

    best_day: DatedValue
    worst_day: DatedValue
    best_month: DatedValue
    worst_month: DatedValue
    win_rate: float | None


def months_before(day: date, months: int) -> date:
    """Return ``day`` minus a number of calendar months, clipped to the month's length."""
    index = day.year * 12 + (day.month - 1) - months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def trailing_return(dates: DateArray, wealth: FloatArray, anchor: date) -> float | None:
    """Return ``W[last] / W[A] - 1`` for the last day ``A`` on or before ``anchor``."""
    row = int(np.searchsorted(dates, np.datetime64(anchor, "D"), side="right")) - 1
    if row < 0:
        return None
    return float(wealth[-1] / wealth[row] - 1.0)


def trailing_returns(dates: DateArray, returns: FloatArray) -> TrailingReturns:
    """Return MTD, 1M, 3M, YTD, 1Y and since-inception returns ending on the last day."""
    wealth = np.cumprod(1.0 + returns)
    end = as_date(dates[-1])
    month_start = end.replace(day=1)
    return TrailingReturns(
        end=end,
        mtd=trailing_return(dates, wealth, month_start - timedelta(days=1)),
        one_month=trailing_return(dates, wealth, months_before(end, 1)),
        three_months=trailing_return(dates, wealth, months_before(end, 3)),
        ytd=trailing_return(dates, wealth, date(end.year - 1, 12, 31)),
        one_year=trailing_return(dates, wealth, months_before(end, 12)),
        inception=float(wealth[-1] - 1.0),
    )


def _period_returns(periods: DateArray, returns: FloatArray) -> PeriodReturns:
    """Compound ``returns`` over runs of equal ``periods`` (ascending)."""
    starts = np.flatnonzero(np.concatenate(([True], periods[1:] != periods[:-1])))
    growth = np.multiply.reduceat(1.0 + returns, starts) - 1.0
    days = tuple(as_date(p) for p in periods[starts].astype("datetime64[D]"))
    return PeriodReturns(days, growth)


def monthly_returns(dates: DateArray, returns: FloatArray) -> PeriodReturns:
    """Return the compounded return of each calendar month the series has days in."""
    return _period_returns(dates.astype("datetime64[M]"), returns)


def yearly_returns(dates: DateArray, returns: FloatArray) -> PeriodReturns:
    """Return the compounded return of each calendar year the series has days in."""
    return _period_returns(dates.astype("datetime64[Y]"), returns)


def win_rate(returns: FloatArray) -> float | None:
    """Return the share of winning days among the days that are not flat."""
    moved = int(np.count_nonzero(returns))
    if moved == 0:
        return None
    return int(np.count_nonzero(returns > 0.0)) / moved


def period_stats(dates: DateArray, returns: FloatArray) -> PeriodStats:
    """Return the best and worst day and month, and the win rate."""
    months = monthly_returns(dates, returns)
    best, worst = int(np.argmax(returns)), int(np.argmin(returns))
    best_month, worst_month = int(np.argmax(months.returns)), int(np.argmin(months.returns))
    return PeriodStats(
        best_day=DatedValue(as_date(dates[best]), float(returns[best])),
        worst_day=DatedValue(as_date(dates[worst]), float(returns[worst])),
        best_month=DatedValue(months.starts[best_month], float(months.returns[best_month])),
        worst_month=DatedValue(months.starts[worst_month], float(months.returns[worst_month])),
        win_rate=win_rate(returns),
    )
