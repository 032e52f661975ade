"""Series drawn over time: the drawdown curve and rolling volatility and Sharpe.

* ``drawdown_curve[i] = W[i] / max(1, W[0..i]) - 1``: how far the wealth curve is
  below its running peak after day i (0 at a new high, -0.25 when 25 % below). The
  starting capital counts as the first peak, as in :func:`metrics.max_drawdown`; the
  largest value of ``-drawdown_curve`` is the max drawdown.
* ``rolling_volatility[i]`` and ``rolling_sharpe[i]`` apply the definitions of
  :mod:`alchemiser.analytics.metrics` to the ``window`` daily returns ending on day i
  (sample stdev, ddof 1, annualised with sqrt(252), risk-free rate 0). The first
  ``window - 1`` days are NaN; a window with no volatility has a NaN Sharpe.
  ``DEFAULT_WINDOW`` is 126 trading days (six months).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from alchemiser.analytics.metrics import ROOT_YEAR, ZERO_STDEV
from alchemiser.analytics.returns import FloatArray

DEFAULT_WINDOW = 126


def drawdown_curve(returns: FloatArray) -> FloatArray:
    """Return the fall below the running peak after each day (<= 0)."""
    wealth = np.cumprod(1.0 + returns)
    peaks = np.maximum.accumulate(np.maximum(wealth, 1.0))
    return wealth / peaks - 1.0


def _windows(returns: FloatArray, window: int) -> tuple[FloatArray, FloatArray]:
    """Return the mean and sample stdev of each full window, aligned to its last day."""
    if window < 2:
        raise ValueError(f"a rolling window needs at least 2 days, was {window}")
    means = np.full(len(returns), np.nan)
    stdevs = np.full(len(returns), np.nan)
    if len(returns) >= window:
        view = sliding_window_view(returns, window)
        means[window - 1 :] = view.mean(axis=1)
        stdevs[window - 1 :] = view.std(axis=1, ddof=1)
    return means, stdevs


def rolling_volatility(returns: FloatArray, window: int = DEFAULT_WINDOW) -> FloatArray:
    """Return the annualised volatility of each trailing ``window`` of days."""
    _, stdevs = _windows(returns, window)
    stdevs[stdevs < ZERO_STDEV] = 0.0
    return stdevs * ROOT_YEAR


def rolling_sharpe(returns: FloatArray, window: int = DEFAULT_WINDOW) -> FloatArray:
    """Return the annualised Sharpe ratio of each trailing ``window`` of days."""
    means, stdevs = _windows(returns, window)
    flat = ~(stdevs >= ZERO_STDEV)
    stdevs[flat] = np.nan
    with np.errstate(invalid="ignore"):
        return means / stdevs * ROOT_YEAR
