"""Daily return series and allocation histories: the inputs of every metric and page.

A return series is one number per trading day: ``returns[i]`` is the fractional change
of the value from the close before ``dates[i]`` to the close of ``dates[i]``. Its
wealth curve starts at 1.0 just before the first day, so ``wealth[i] = prod(1 + r[:i+1])``.
A backtest's first day is the day it buys at the close (its return is minus the cost
of that trade); a book's first day is its first day with a NAV change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
DateArray = npt.NDArray[np.datetime64]


def as_date(day: np.datetime64) -> date:
    """Return a ``datetime64`` day as a ``datetime.date``."""
    value = day.astype("datetime64[D]").item()
    if not isinstance(value, date):
        raise ValueError(f"expected a calendar date, found {day!r}")
    return value


def _check_dates(dates: DateArray, what: str) -> None:
    if dates.ndim != 1:
        raise ValueError(f"{what}: dates must be one-dimensional, were {dates.ndim}-dimensional")
    if len(dates) > 1 and not bool(np.all(dates[1:] > dates[:-1])):
        row = int(np.flatnonzero(dates[1:] <= dates[:-1])[0]) + 1
        raise ValueError(
            f"{what}: dates must be strictly ascending, found {dates[row]} after {dates[row - 1]}"
        )


@dataclass(frozen=True)
class ReturnSeries:
    """One daily return per trading day (see the module docstring); read-only arrays."""

    name: str
    dates: DateArray
    returns: FloatArray

    def __post_init__(self) -> None:
        dates = np.asarray(self.dates, dtype="datetime64[D]")
        returns = np.asarray(self.returns, dtype=np.float64)
        _check_dates(dates, self.name)
        if returns.shape != dates.shape:
            raise ValueError(
                f"{self.name}: expected one return per date ({len(dates)}), found {returns.shape}"
            )
        if len(returns) == 0:
            raise ValueError(f"{self.name}: a return series needs at least one day, found none")
        bad = ~np.isfinite(returns) | (returns < -1.0)
        if bool(bad.any()):
            row = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"{self.name}: daily returns must be finite and >= -1 (a loss of at most 100 %), "
                f"found {returns[row]} on {dates[row]}"
            )
        dates.setflags(write=False)
        returns.setflags(write=False)
        object.__setattr__(self, "dates", dates)
        object.__setattr__(self, "returns", returns)

    @property
    def start(self) -> date:
        return as_date(self.dates[0])

    @property
    def end(self) -> date:
        return as_date(self.dates[-1])

    @property
    def days(self) -> int:
        return len(self.returns)

    def wealth(self) -> FloatArray:
        """Return the value after each day of 1.0 held just before the first day."""
        return np.cumprod(1.0 + self.returns)


def benchmark_returns(
    name: str, dates: DateArray, values_dates: DateArray, values: FloatArray, start_value: float
) -> ReturnSeries:
    """Return a benchmark's daily returns on exactly ``dates`` from its value curve.

    ``values`` is the benchmark's value (a price, or a backtest's equity) on
    ``values_dates``; ``start_value`` is its value just before ``dates[0]`` (the close
    price itself for a ticker bought at that close, 1.0 for an equity curve). Days of
    the benchmark that are not in ``dates`` are compounded into the next date; a date
    the benchmark does not have is an error naming it.
    """
    _check_dates(values_dates, name)
    rows = np.searchsorted(values_dates, dates)
    inside = rows < len(values_dates)
    found = np.zeros(len(dates), dtype=bool)
    found[inside] = values_dates[rows[inside]] == dates[inside]
    picked = np.full(len(dates), np.nan)
    picked[found] = values[rows[found]]
    missing = ~found | ~np.isfinite(picked) | (picked <= 0.0)
    if bool(missing.any()):
        first = dates[int(np.flatnonzero(missing)[0])]
        have = values_dates[np.isfinite(values) & (values > 0.0)]
        span = f"it has values from {have[0]} to {have[-1]}" if len(have) else "it has no values"
        raise ValueError(
            f"benchmark {name} has no value on {first}, a day of the strategy "
            f"({int(missing.sum())} such day(s); {span}): choose a start on or after its "
            "first day, or another benchmark"
        )
    previous = np.concatenate(([start_value], picked[:-1]))
    return ReturnSeries(name, dates, picked / previous - 1.0)


@dataclass(frozen=True)
class WeightHistory:
    """Portfolio weights after each close: ``weights[i, j]`` of ``labels[j]`` on ``dates[i]``.

    Weights are fractions of the portfolio's value; what they leave to 1.0 is cash.
    """

    dates: DateArray
    labels: tuple[str, ...]
    weights: FloatArray

    def __post_init__(self) -> None:
        dates = np.asarray(self.dates, dtype="datetime64[D]")
        weights = np.asarray(self.weights, dtype=np.float64)
        _check_dates(dates, "weights")
        if weights.shape != (len(dates), len(self.labels)):
            raise ValueError(
                f"weights must be {len(dates)}x{len(self.labels)} (dates x labels), "
                f"was {'x'.join(str(n) for n in weights.shape)}"
            )
        if not bool(np.all(np.isfinite(weights))):
            raise ValueError("weights must be finite (0 for a label not held)")
        dates.setflags(write=False)
        weights.setflags(write=False)
        object.__setattr__(self, "dates", dates)
        object.__setattr__(self, "weights", weights)

    @classmethod
    def from_rows(cls, dates: Sequence[date], rows: Sequence[dict[str, float]]) -> WeightHistory:
        """Build a history from one ``{label: weight}`` mapping per date."""
        labels = tuple(sorted({label for row in rows for label in row}))
        column = {label: j for j, label in enumerate(labels)}
        weights = np.zeros((len(rows), len(labels)))
        for i, row in enumerate(rows):
            for label, weight in row.items():
                weights[i, column[label]] = weight
        return cls(np.array(dates, dtype="datetime64[D]"), labels, weights)
