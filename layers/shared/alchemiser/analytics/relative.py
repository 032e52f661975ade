"""Figures of a strategy against a benchmark, on the same days.

``r`` are the strategy's daily returns and ``b`` the benchmark's on the same days
(SPY by default; any ticker, or another symphony's backtest). With ``n`` days:

* ``beta = cov(r, b) / var(b)`` — the slope of the least-squares line of r on b.
* ``alpha = (mean(r) - beta * mean(b)) * 252`` — the intercept of that line (Jensen's
  alpha with a risk-free rate of 0), annualised arithmetically (quantstats' ``greeks``).
* ``correlation`` is Pearson's ``cov(r, b) / (stdev(r) * stdev(b))`` and
  ``r_squared = correlation ** 2`` (the share of r's variance the line explains).
* ``tracking_error = stdev(r - b, ddof=1) * sqrt(252)``.
* ``information_ratio = mean(r - b) / stdev(r - b, ddof=1) * sqrt(252)``.

Each is None when it is undefined: fewer than two days, a benchmark that never moves
(beta, alpha, correlation, R²), a strategy that never moves (correlation, R²), or a
strategy identical to the benchmark (information ratio).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from alchemiser.analytics.metrics import (
    ROOT_YEAR,
    TRADING_DAYS_PER_YEAR,
    ZERO_STDEV,
    daily_stdev,
    ratio,
)
from alchemiser.analytics.returns import FloatArray


@dataclass(frozen=True)
class RelativeMetrics:
    """A strategy against its benchmark (see the module docstring for definitions)."""

    benchmark: str
    days: int
    alpha: float | None
    beta: float | None
    correlation: float | None
    r_squared: float | None
    tracking_error: float | None
    information_ratio: float | None


def relative_metrics(name: str, returns: FloatArray, benchmark: FloatArray) -> RelativeMetrics:
    """Compare ``returns`` with ``benchmark`` (same days, same order)."""
    if returns.shape != benchmark.shape:
        raise ValueError(
            f"strategy and benchmark {name} need returns on the same days, found "
            f"{len(returns)} and {len(benchmark)}"
        )
    days = len(returns)
    if days < 2:
        return RelativeMetrics(name, days, None, None, None, None, None, None)
    stdev_r, stdev_b = daily_stdev(returns), daily_stdev(benchmark)
    covariance = float(np.cov(returns, benchmark, ddof=1)[0, 1])
    variance_b = None if not stdev_b else stdev_b**2
    beta = ratio(covariance, variance_b)
    alpha = None
    if beta is not None:
        intercept = float(np.mean(returns)) - beta * float(np.mean(benchmark))
        alpha = intercept * TRADING_DAYS_PER_YEAR
    correlation = None
    if stdev_r and stdev_b:
        # Clipped: rounding can push the ratio of a perfectly related pair past 1.
        correlation = float(np.clip(covariance / (stdev_r * stdev_b), -1.0, 1.0))
    active = returns - benchmark
    active_stdev = daily_stdev(active)
    tracking = None if active_stdev is None else active_stdev * ROOT_YEAR
    information = None
    if active_stdev is not None and active_stdev >= ZERO_STDEV:
        information = float(np.mean(active)) / active_stdev * ROOT_YEAR
    return RelativeMetrics(
        benchmark=name,
        days=days,
        alpha=alpha,
        beta=beta,
        correlation=correlation,
        r_squared=None if correlation is None else correlation**2,
        tracking_error=tracking,
        information_ratio=information,
    )
