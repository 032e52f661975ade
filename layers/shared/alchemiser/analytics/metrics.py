"""Headline performance metrics of a daily return series: the one definition of each.

Backtests, tearsheets and (later) the books' pages all call these functions. Every
value is a fraction (0.32 means 32 %); ``r`` is the series of daily returns.

* A year has 252 trading days. ``days`` is the number of daily returns.
* ``total_return = prod(1 + r) - 1`` (cumulative return).
* ``annualized_return = (1 + total_return) ** (252 / days) - 1`` (CAGR over trading
  days; -1 after a total loss). Over a few days it is mechanically huge: read it only
  over long spans.
* ``volatility = stdev(r, ddof=1) * sqrt(252)`` — the sample standard deviation;
  None with fewer than two returns.
* ``sharpe = mean(r) / stdev(r, ddof=1) * sqrt(252)`` with a risk-free rate of 0;
  None with fewer than two returns or zero volatility.
* ``sortino = mean(r) * 252 / (downside * sqrt(252))`` where
  ``downside = sqrt(mean(min(r, 0) ** 2))`` over *all* days (up days count as 0, target
  return 0); None when no day lost money.
* ``max_drawdown`` is the largest fall of the equity curve from its running peak, as a
  positive fraction. The curve starts at 1.0 before the first return, so a loss on the
  first day is a drawdown. ``max_drawdown_peak`` is the last day the curve stood at that
  peak (the first day when the peak is the starting capital), ``max_drawdown_trough``
  the day of the low, ``max_drawdown_recovery`` the first later day the curve is back at
  or above the peak (None if it never is). With no drawdown all three are None.
* ``calmar = annualized_return / max_drawdown``; None when there is no drawdown.
* ``turnover = mean(traded / 2) * 252``: the input is the two-sided traded fraction per
  day (buys plus sells); half of it is the one-way fraction (for a fully invested book,
  buys = sells), so 1.0 means the whole portfolio is replaced once a year. None when
  no trades are known (a benchmark's price series).

These are the conventions of empyrical (``annual_return``, ``annual_volatility``,
``sharpe_ratio``, ``sortino_ratio``, ``max_drawdown``, ``calmar_ratio``) and of
quantstats with ``periods=252``; the tests check both on real series. Period figures
(trailing returns, best and worst day and month, win rate) are in
:mod:`alchemiser.analytics.periods`, the figures against a benchmark in
:mod:`alchemiser.analytics.relative`, rolling series in :mod:`alchemiser.analytics.rolling`.

``Metrics.to_json_dict`` never emits NaN or infinity: such values become None.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import numpy as np

from alchemiser.analytics.returns import DateArray, FloatArray, as_date

TRADING_DAYS_PER_YEAR = 252
ROOT_YEAR = math.sqrt(TRADING_DAYS_PER_YEAR)
# A sample stdev of daily returns below this is rounding noise of a constant series.
ZERO_STDEV = 1e-12


@dataclass(frozen=True)
class DrawdownSpan:
    """Dates of the largest drawdown: the peak, the low, and the recovery (if any)."""

    peak: date
    trough: date
    recovery: date | None


@dataclass(frozen=True)
class Metrics:
    """Summary statistics of one return series (see the module docstring for definitions)."""

    start: date
    end: date
    days: int
    total_return: float
    annualized_return: float
    volatility: float | None
    sharpe: float | None
    sortino: float | None
    max_drawdown: float
    max_drawdown_peak: date | None
    max_drawdown_trough: date | None
    max_drawdown_recovery: date | None
    calmar: float | None
    turnover: float | None

    @property
    def max_drawdown_dates(self) -> DrawdownSpan | None:
        """Return the peak, trough and recovery dates of the largest drawdown, if any."""
        if self.max_drawdown_peak is None or self.max_drawdown_trough is None:
            return None
        return DrawdownSpan(
            self.max_drawdown_peak, self.max_drawdown_trough, self.max_drawdown_recovery
        )

    def to_json_dict(self) -> dict[str, str | int | float | None]:
        """Return the headline metrics as JSON-safe values (ISO dates, no NaN/inf)."""
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "days": self.days,
            "total_return": json_float(self.total_return),
            "annualized_return": json_float(self.annualized_return),
            "volatility": json_float(self.volatility),
            "sharpe": json_float(self.sharpe),
            "sortino": json_float(self.sortino),
            "max_drawdown": json_float(self.max_drawdown),
            "calmar": json_float(self.calmar),
            "turnover": json_float(self.turnover),
        }


def json_float(value: float | None) -> float | None:
    """Return ``value`` as a float, or None for None, NaN and infinity."""
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def total_return(returns: FloatArray) -> float:
    """Return the compounded return ``prod(1 + r) - 1``."""
    return float(np.prod(1.0 + returns) - 1.0)


def annualized_return(total_return: float, days: int) -> float:
    """Return ``(1 + total_return) ** (252 / days) - 1`` (-1 after a total loss)."""
    growth = 1.0 + total_return
    if growth <= 0.0:
        return -1.0
    try:
        return float(growth ** (TRADING_DAYS_PER_YEAR / days) - 1.0)
    except OverflowError:
        return math.inf


def daily_stdev(returns: FloatArray) -> float | None:
    """Return the sample stdev (ddof 1) of daily returns; 0 for a constant series."""
    if len(returns) < 2:
        return None
    stdev = float(np.std(returns, ddof=1))
    return 0.0 if stdev < ZERO_STDEV else stdev


def annual_volatility(returns: FloatArray) -> float | None:
    """Return ``stdev(r, ddof=1) * sqrt(252)``; None with fewer than two returns."""
    stdev = daily_stdev(returns)
    return None if stdev is None else stdev * ROOT_YEAR


def sharpe_ratio(returns: FloatArray) -> float | None:
    """Return ``mean(r) / stdev(r, ddof=1) * sqrt(252)`` (risk-free rate 0)."""
    return ratio(float(np.mean(returns)) * ROOT_YEAR, daily_stdev(returns))


def sortino_ratio(returns: FloatArray) -> float | None:
    """Return ``mean(r) * 252 / (sqrt(mean(min(r, 0)^2)) * sqrt(252))``."""
    downside = float(np.sqrt(np.mean(np.minimum(returns, 0.0) ** 2)))
    return ratio(float(np.mean(returns)) * TRADING_DAYS_PER_YEAR, downside * ROOT_YEAR)


def max_drawdown(dates: DateArray, returns: FloatArray) -> tuple[float, DrawdownSpan | None]:
    """Return the largest drawdown of the equity curve (a positive fraction) and its dates."""
    # wealth[0] is the starting capital; wealth[i] is the value at the close of dates[i-1].
    wealth = np.concatenate(([1.0], np.cumprod(1.0 + returns)))
    peaks = np.maximum.accumulate(wealth)
    drawdowns = 1.0 - wealth / np.where(peaks > 0.0, peaks, 1.0)
    trough = int(np.argmax(drawdowns))
    depth = float(drawdowns[trough])
    if depth <= 0.0:
        return 0.0, None
    peak_value = peaks[trough]
    peak = int(np.flatnonzero(wealth[: trough + 1] == peak_value)[-1])
    recovered = np.flatnonzero(wealth[trough + 1 :] >= peak_value)
    recovery = None if recovered.size == 0 else as_date(dates[trough + int(recovered[0])])
    span = DrawdownSpan(
        peak=as_date(dates[max(peak - 1, 0)]),
        trough=as_date(dates[trough - 1]),
        recovery=recovery,
    )
    return depth, span


def annual_turnover(traded: FloatArray) -> float:
    """Return ``mean(traded / 2) * 252`` for two-sided traded fractions per day."""
    return float(np.mean(traded)) / 2.0 * TRADING_DAYS_PER_YEAR


def ratio(numerator: float, denominator: float | None) -> float | None:
    """Return ``numerator / denominator``, None when the denominator is None or 0."""
    if denominator is None or denominator == 0.0:
        return None
    return numerator / denominator


def check_returns(dates: DateArray, daily_returns: FloatArray) -> None:
    """Raise ValueError unless there is one finite return >= -1 per date, at least one."""
    if len(daily_returns) == 0:
        raise ValueError("metrics need at least one daily return, found none")
    if len(dates) != len(daily_returns):
        raise ValueError(
            f"dates and returns must have one entry per day, found {len(dates)} "
            f"and {len(daily_returns)}"
        )
    if not bool(np.all(np.isfinite(daily_returns))) or bool(np.any(daily_returns < -1.0)):
        raise ValueError("daily returns must be finite and >= -1 (a loss of at most 100 %)")


def compute_metrics(
    dates: DateArray, daily_returns: FloatArray, turnover: FloatArray | None = None
) -> Metrics:
    """Summarise a daily return series; ``turnover`` is the two-sided traded fraction per day."""
    check_returns(dates, daily_returns)
    days = len(daily_returns)
    if turnover is not None and len(turnover) != days:
        raise ValueError(
            f"dates, returns and turnover must have one entry per day, found "
            f"{len(dates)}, {days} and {len(turnover)}"
        )
    total = total_return(daily_returns)
    annual = annualized_return(total, days)
    depth, span = max_drawdown(dates, daily_returns)
    return Metrics(
        start=as_date(dates[0]),
        end=as_date(dates[-1]),
        days=days,
        total_return=total,
        annualized_return=annual,
        volatility=annual_volatility(daily_returns),
        sharpe=sharpe_ratio(daily_returns),
        sortino=sortino_ratio(daily_returns),
        max_drawdown=depth,
        max_drawdown_peak=None if span is None else span.peak,
        max_drawdown_trough=None if span is None else span.trough,
        max_drawdown_recovery=None if span is None else span.recovery,
        calmar=None if span is None else annual / depth,
        turnover=None if turnover is None else annual_turnover(turnover),
    )
