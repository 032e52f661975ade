"""Backtest a symphony: evaluate every date once, then trade the allocations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from alchemiser.backtest.simulate import BacktestResult, run_backtest
from alchemiser.dsl.ast import Symphony
from alchemiser.dsl.engine import AllocationHistory, evaluate_history
from alchemiser.dsl.evaluator import Progress
from alchemiser.dsl.program import Program, compile_symphony
from alchemiser.market.history import PriceHistory

CASH = "$CASH"


@dataclass(frozen=True)
class SymphonyBacktest:
    allocations: AllocationHistory
    result: BacktestResult


def backtest_symphony(
    symphony: Symphony | Program,
    history: PriceHistory,
    *,
    start: date | None = None,
    end: date | None = None,
    slippage_bps: float = 0.0,
    progress: Progress | None = None,
) -> SymphonyBacktest:
    """Evaluate the symphony on every date and simulate trading it at each close.

    The symphony's own ``:rebalance-frequency`` and ``:rebalance-threshold`` apply. A day
    on which the symphony holds nothing is held in cash (the ``$CASH`` column, 0 %
    return). Data after ``end`` is never read, so it cannot leak into the result.
    """
    program = symphony if isinstance(symphony, Program) else compile_symphony(symphony)
    if end is not None:
        history = history.truncate(end)
    if len(history.dates) == 0:
        raise ValueError(f"the data has no day on or before {end}")
    last = history.day(len(history.dates) - 1)
    if start is not None and start > last:
        raise ValueError(f"the backtest starts on {start}, after the last day in the data ({last})")
    allocations = evaluate_history(program, history, progress=progress)
    if allocations.start >= len(history.dates):
        raise ValueError(
            f"{program.symphony.name!r} never gets past its warm-up in this data: {allocations.start_reason}"
        )
    targets = allocations.weights
    closes = history.select(allocations.tickers).closes
    tickers = list(allocations.tickers)
    empty = targets.sum(axis=1) == 0
    empty[: allocations.start] = False
    if empty.any():
        cash = empty.astype(np.float64)[:, None]
        targets = np.hstack([targets, cash])
        closes = np.hstack([closes, np.ones((len(history.dates), 1))])
        tickers.append(CASH)
    result = run_backtest(
        history.dates,
        targets,
        closes,
        allocations.start,
        program.symphony.frequency,
        program.symphony.meta.rebalance_threshold,
        slippage_bps,
        tickers,
        first_day=start,
    )
    return SymphonyBacktest(allocations, result)
