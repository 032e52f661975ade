"""Performance metrics of a daily return series.

Conventions (every value is a fraction: 0.32 means 32 %):

* A year has 252 trading days. ``days`` is the number of daily returns.
* ``total_return = prod(1 + r) - 1``.
* ``annualized_return = (1 + total_return) ** (252 / days) - 1`` (geometric; -1 after a
  total loss). Over a few days it is mechanically huge: read it only over long spans.
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
  buys = sells), so 1.0 means the whole portfolio is replaced once a year.

``Metrics.to_json_dict`` never emits NaN or infinity: such values become None.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
DateArray = npt.NDArray[np.datetime64]

TRADING_DAYS_PER_YEAR = 252
# A sample stdev of daily returns below this is rounding noise of a constant series.
_ZERO_STDEV = 1e-12


@dataclass(frozen=True)
class DrawdownSpan:
    """Dates of the largest drawdown: the peak, the low, and the recovery (if any)."""

    peak: date
    trough: date
    recovery: date | None


@dataclass(frozen=True)
class Metrics:
    """Summary statistics of one backtest (see the module docstring for definitions)."""

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
    turnover: float

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
            "total_return": _json_float(self.total_return),
            "annualized_return": _json_float(self.annualized_return),
            "volatility": _json_float(self.volatility),
            "sharpe": _json_float(self.sharpe),
            "sortino": _json_float(self.sortino),
            "max_drawdown": _json_float(self.max_drawdown),
            "calmar": _json_float(self.calmar),
            "turnover": _json_float(self.turnover),
        }


def _json_float(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def _as_date(day: np.datetime64) -> date:
    value = day.astype("datetime64[D]").item()
    if not isinstance(value, date):
        raise ValueError(f"expected a calendar date, found {day!r}")
    return value


def annualized_return(total_return: float, days: int) -> float:
    """Return ``(1 + total_return) ** (252 / days) - 1`` (-1 after a total loss)."""
    growth = 1.0 + total_return
    if growth <= 0.0:
        return -1.0
    try:
        return float(growth ** (TRADING_DAYS_PER_YEAR / days) - 1.0)
    except OverflowError:
        return math.inf


def _drawdown(dates: DateArray, returns: FloatArray) -> tuple[float, DrawdownSpan | None]:
    """Return the largest drawdown of the equity curve and its dates."""
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
    recovery = None if recovered.size == 0 else _as_date(dates[trough + int(recovered[0])])
    span = DrawdownSpan(
        peak=_as_date(dates[max(peak - 1, 0)]),
        trough=_as_date(dates[trough - 1]),
        recovery=recovery,
    )
    return depth, span


def _ratio(numerator: float, denominator: float | None) -> float | None:
    if denominator is None or denominator == 0.0:
        return None
    return numerator / denominator


def compute_metrics(dates: DateArray, daily_returns: FloatArray, turnover: FloatArray) -> Metrics:
    """Summarise a daily return series; ``turnover`` is the two-sided traded fraction per day."""
    days = len(daily_returns)
    if days == 0:
        raise ValueError("metrics need at least one daily return, found none")
    if len(dates) != days or len(turnover) != days:
        raise ValueError(
            f"dates, returns and turnover must have one entry per day, found "
            f"{len(dates)}, {days} and {len(turnover)}"
        )
    if not bool(np.all(np.isfinite(daily_returns))) or bool(np.any(daily_returns < -1.0)):
        raise ValueError("daily returns must be finite and >= -1 (a loss of at most 100 %)")

    total = float(np.prod(1.0 + daily_returns) - 1.0)
    annual = annualized_return(total, days)
    mean = float(np.mean(daily_returns))
    root_year = math.sqrt(TRADING_DAYS_PER_YEAR)

    stdev: float | None = None
    if days >= 2:
        stdev = float(np.std(daily_returns, ddof=1))
        stdev = 0.0 if stdev < _ZERO_STDEV else stdev
    downside = float(np.sqrt(np.mean(np.minimum(daily_returns, 0.0) ** 2)))

    depth, span = _drawdown(dates, daily_returns)
    sharpe = _ratio(mean * root_year, stdev)
    return Metrics(
        start=_as_date(dates[0]),
        end=_as_date(dates[-1]),
        days=days,
        total_return=total,
        annualized_return=annual,
        volatility=None if stdev is None else stdev * root_year,
        sharpe=sharpe,
        sortino=_ratio(mean * TRADING_DAYS_PER_YEAR, downside * root_year),
        max_drawdown=depth,
        max_drawdown_peak=None if span is None else span.peak,
        max_drawdown_trough=None if span is None else span.trough,
        max_drawdown_recovery=None if span is None else span.recovery,
        calmar=None if span is None else annual / depth,
        turnover=float(np.mean(turnover)) / 2.0 * TRADING_DAYS_PER_YEAR,
    )
