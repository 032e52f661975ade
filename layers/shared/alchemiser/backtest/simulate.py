"""Run a backtest: target weights per day in, daily returns, holdings and metrics out.

Timing — the allocation for day d (``targets[d]``, computed from closes up to and
including d) is traded at d's close and earns the returns of d+1 onward:

* The first trade day is ``max(start, first_day)``: the book goes from cash to that
  day's targets at its close. Nothing trades before it.
* The return of a later day t is earned by the holdings after the close of t-1:
  ``gross[t] = sum_j h[t-1, j] * r[t, j]`` with ``r[t, j] = closes[t, j] / closes[t-1, j] - 1``.
  Rebalance rules are in :mod:`alchemiser.backtest.rebalance`.
* Slippage is charged on the day the trade happens, on the traded notional:
  ``cost[t] = slippage_bps / 1e4 * traded[t]`` where ``traded[t] = sum_j |h_after - h_before|``
  is the two-sided traded fraction (buys plus sells, so switching all of A into B is
  2.0 and the first buy from cash is 1.0). Because the trade happens at t's close, the
  cost is a fraction of the portfolio value at that close, after the day's return:
  ``net[t] = (1 + gross[t]) * (1 - cost[t]) - 1``, which is ``gross[t] - cost[t]`` up to
  the second-order term ``gross[t] * cost[t]``. The first day's return is ``-cost``.
* ``equity[i]`` is the value at the close of ``dates[i]`` of 1.0 held in cash just
  before the first trade, so ``equity[0] = 1 - cost`` of the initial buy.
* Metrics ``turnover`` counts rebalancing only: the initial deployment of cash is
  charged slippage and appears in ``BacktestResult.turnover`` but not in the metric.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt

from alchemiser.analytics.metrics import Metrics, compute_metrics
from alchemiser.backtest.rebalance import RebalanceFrequency, simulate_holdings

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
DateArray = npt.NDArray[np.datetime64]

BASIS_POINT = 1e-4


@dataclass(frozen=True)
class BacktestResult:
    """One simulated book, one row per day from the first trade to the last day.

    ``returns``: net daily returns (after slippage); ``equity``: value of 1.0 invested
    just before the first trade; ``holdings``: weights after each close (columns follow
    ``tickers``); ``rebalanced``: a trade to the targets happened at that close;
    ``turnover``: two-sided traded fraction per day, including the initial buy;
    ``costs``: slippage per day as a fraction of the portfolio value.
    """

    tickers: tuple[str, ...]
    dates: DateArray
    returns: FloatArray
    equity: FloatArray
    holdings: FloatArray
    rebalanced: BoolArray
    turnover: FloatArray
    costs: FloatArray
    metrics: Metrics
    frequency: RebalanceFrequency
    threshold: float | None
    slippage_bps: float

    def __post_init__(self) -> None:
        for array in (
            self.dates,
            self.returns,
            self.equity,
            self.holdings,
            self.rebalanced,
            self.turnover,
            self.costs,
        ):
            array.setflags(write=False)


def _window_rows(
    dates: DateArray, start: int, first_day: date | None, last_day: date | None
) -> tuple[int, int]:
    """Return the first trade row and the last row (inclusive) of the backtest window."""
    first = start
    if first_day is not None:
        first = max(first, int(np.searchsorted(dates, np.datetime64(first_day, "D"), "left")))
    last = len(dates) - 1
    if last_day is not None:
        last = int(np.searchsorted(dates, np.datetime64(last_day, "D"), "right")) - 1
    if first > last:
        raise ValueError(
            f"backtest window is empty: the first trade day (row {first}, on or after "
            f"start row {start} and {first_day}) comes after the last day ({last_day})"
        )
    return first, last


def _validate(
    targets: FloatArray,
    closes: FloatArray,
    start: int,
    slippage_bps: float,
    tickers: Sequence[str],
) -> None:
    if closes.shape != targets.shape:
        raise ValueError(
            f"closes must have the shape of targets {targets.shape}, was {closes.shape}"
        )
    if len(tickers) != targets.shape[1]:
        raise ValueError(
            f"expected {targets.shape[1]} tickers (one per column), found {len(tickers)}"
        )
    if not 0 <= start < targets.shape[0]:
        raise ValueError(f"start must be a row in [0, {targets.shape[0]}), was {start}")
    if not (np.isfinite(slippage_bps) and slippage_bps >= 0):
        raise ValueError(f"slippage_bps must be finite and >= 0, was {slippage_bps}")


def _require_closes_for_targets(
    dates: DateArray, targets: FloatArray, closes: FloatArray, tickers: Sequence[str]
) -> None:
    unpriced = (targets > 0.0) & np.isnan(closes)
    if bool(unpriced.any()):
        row, column = (int(i) for i in np.argwhere(unpriced)[0])
        raise ValueError(
            f"target weight {targets[row, column]:.6g} on {tickers[column]} on {dates[row]}, "
            "but it has no close that day: expected targets only on priced tickers"
        )


def _daily_returns(closes: FloatArray) -> FloatArray:
    """Return close-to-close returns; row 0 (no previous close) is NaN."""
    returns = np.full(closes.shape, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        returns[1:] = closes[1:] / closes[:-1] - 1.0
    return returns


def run_backtest(
    dates: DateArray,
    targets: FloatArray,
    closes: FloatArray,
    start: int,
    frequency: RebalanceFrequency,
    threshold: float | None,
    slippage_bps: float,
    tickers: Sequence[str],
    *,
    first_day: date | None = None,
    last_day: date | None = None,
) -> BacktestResult:
    """Simulate trading ``targets`` at each close and measure the result.

    ``start`` is the first valid row (warm-up done); ``first_day``/``last_day`` narrow
    the window to ``[max(start, first_day), last_day]``.
    """
    _validate(targets, closes, start, slippage_bps, tickers)
    first, last = _window_rows(dates, start, first_day, last_day)
    window = slice(first, last + 1)
    days, window_targets, window_closes = dates[window], targets[window], closes[window]
    _require_closes_for_targets(days, window_targets, window_closes, tickers)

    path = simulate_holdings(
        days,
        window_targets,
        _daily_returns(window_closes),
        0,
        frequency,
        threshold,
        tickers=tickers,
    )
    costs = slippage_bps * BASIS_POINT * path.traded
    returns = (1.0 + path.gross_returns) * (1.0 - costs) - 1.0
    rebalancing_turnover = path.traded.copy()
    rebalancing_turnover[0] = 0.0  # deploying the starting cash is not turnover
    return BacktestResult(
        tickers=tuple(tickers),
        dates=days.copy(),
        returns=returns,
        equity=np.cumprod(1.0 + returns),
        holdings=path.holdings.copy(),
        rebalanced=path.rebalanced.copy(),
        turnover=path.traded.copy(),
        costs=costs,
        metrics=compute_metrics(days, returns, rebalancing_turnover),
        frequency=frequency,
        threshold=threshold,
        slippage_bps=slippage_bps,
    )
