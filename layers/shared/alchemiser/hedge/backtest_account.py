"""The account a hedge backtest protects: the stage's books combined by their shares.

Each book's symphony is backtested on its own (its rebalance rules, ``slippage_bps``); the
account earns ``sum_i share_i x r_i(t)`` every day, the rest of the capital in cash at
0 %: the books are rebalanced back to their shares daily (a simplification of the live
capital policy). The account starts at the close of the first day every book trades
(or ``start``), so every book is invested from then on.

The exposure estimate reads the account's **target-allocation** stream (the books'
streams combined by share, see ``hedge.exposure``); by linearity its beta to the
underlying is the share-weighted beta of the books, as in the live estimate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from alchemiser.analytics.returns import DateArray, FloatArray
from alchemiser.backtest.symphony import backtest_symphony
from alchemiser.books.config import BookConfig
from alchemiser.dsl.evaluator import Progress
from alchemiser.dsl.program import Program
from alchemiser.hedge.exposure import allocation_stream
from alchemiser.market.history import PriceHistory


@dataclass(frozen=True)
class CombinedAccount:
    """The account on rows ``first..last`` of the history (``returns[0]`` is 0: the start)."""

    first: int
    dates: DateArray
    returns: FloatArray
    turnover: FloatArray
    target_stream: FloatArray  # over every row of the history (NaN before valid)
    shares: tuple[tuple[str, float], ...]


def combine_books(
    books: Sequence[tuple[BookConfig, Program]],
    history: PriceHistory,
    *,
    start: date | None = None,
    slippage_bps: float = 0.0,
    progress: Progress | None = None,
) -> CombinedAccount:
    """Backtest each book and combine them by share; raise ValueError when they never overlap."""
    if not books:
        raise ValueError("the stage has no books to backtest")
    rows = len(history.dates)
    returns = np.zeros(rows)
    turnover = np.zeros(rows)
    stream = np.zeros(rows)
    first = 0
    for config, program in books:
        run = backtest_symphony(program, history, slippage_bps=slippage_bps, progress=progress)
        share = float(config.share)
        offset = rows - len(run.result.dates)
        first = max(first, offset)
        returns[offset:] += share * run.result.returns
        turnover[offset:] += share * run.result.turnover
        stream += share * allocation_stream(run.allocations, history)
    if start is not None:
        row = int(np.searchsorted(history.dates, np.datetime64(start, "D")))
        if row >= rows:
            raise ValueError(f"the backtest starts on {start}, after the last day in the data")
        first = max(first, row)
    if first >= rows - 1:
        raise ValueError("the books never trade together long enough to backtest a hedge")
    combined = returns[first:].copy()
    combined[0] = 0.0  # the account starts at this close, fully invested
    return CombinedAccount(
        first=first,
        dates=history.dates[first:],
        returns=combined,
        turnover=turnover[first:],
        target_stream=stream,
        shares=tuple((c.id, float(c.share)) for c, _ in books),
    )


@dataclass(frozen=True)
class Drawdown:
    depth: float  # positive fraction
    peak: date
    trough: date
    recovery: date | None


def _day(value: np.datetime64) -> date:
    return date.fromisoformat(str(value.astype("datetime64[D]")))


def worst_drawdowns(dates: DateArray, equity: FloatArray, count: int = 3) -> list[Drawdown]:
    """Return the ``count`` deepest drawdown episodes (peak -> trough -> recovery), deepest first.

    An episode runs from a running peak until the curve is back at that peak; each
    episode counts once, at its deepest point.
    """
    episodes: list[Drawdown] = []
    peak_row = 0
    trough_row, depth = 0, 0.0
    for row in range(1, len(equity)):
        if equity[row] >= equity[peak_row]:
            if depth > 0:
                episodes.append(
                    Drawdown(
                        depth, _day(dates[peak_row]), _day(dates[trough_row]), _day(dates[row])
                    )
                )
            peak_row, depth = row, 0.0
            continue
        fall = 1.0 - equity[row] / equity[peak_row]
        if fall > depth:
            trough_row, depth = row, fall
    if depth > 0:
        episodes.append(Drawdown(depth, _day(dates[peak_row]), _day(dates[trough_row]), None))
    return sorted(episodes, key=lambda d: -d.depth)[:count]
