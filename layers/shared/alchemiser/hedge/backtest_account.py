"""The account a hedge backtest protects: the stage's books in one account.

The account is the portfolio backtest's (:mod:`alchemiser.backtest.portfolio`): every
book by its symphony's rules, the stage's capital policy, netting, the simulated
broker's costs and the planner's minimum trade sizes. It starts at the close of the
first day every book trades (or ``start``), invested from then on; its first return
is 0 (the hedge backtest measures from there).

The exposure estimate reads the account's **target-allocation** stream (the books'
streams combined by share, see ``hedge.exposure``); by linearity its beta to the
underlying is the share-weighted beta of the books, as in the live estimate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from alchemiser.analytics.returns import DateArray, FloatArray, as_date
from alchemiser.backtest.portfolio_models import PortfolioSettings
from alchemiser.backtest.portfolio_run import backtest_portfolio, schedule_books
from alchemiser.books.config import BookConfig
from alchemiser.dsl.evaluator import Progress
from alchemiser.dsl.program import Program
from alchemiser.hedge.exposure import target_stream
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
    settings: PortfolioSettings,
    *,
    start: date | None = None,
    progress: Progress | None = None,
) -> CombinedAccount:
    """Backtest the books in one account; raise ValueError when they never overlap."""
    if not books:
        raise ValueError("the stage has no books to backtest")
    schedules = schedule_books(books, history, progress)
    rows = len(history.dates)
    first = max(s.start for s in schedules)
    if start is not None:
        row = int(np.searchsorted(history.dates, np.datetime64(start, "D")))
        if row >= rows:
            raise ValueError(f"the backtest starts on {start}, after the last day in the data")
        first = max(first, row)
    if first >= rows - 1:
        raise ValueError("the books never trade together long enough to backtest a hedge")
    backtest = backtest_portfolio(
        books, history, settings, start=as_date(history.dates[first]), schedules=schedules
    )
    returns = backtest.account.returns.copy()
    returns[0] = 0.0  # the account starts at this close, fully invested
    stream = np.zeros(rows)
    for (config, _), schedule in zip(books, schedules, strict=True):
        weights, tickers = schedule.weights, schedule.tickers
        stream += float(config.share) * target_stream(weights, tickers, schedule.start, history)
    return CombinedAccount(
        first=backtest.path.first,
        dates=backtest.path.dates,
        returns=returns,
        turnover=backtest.account_traded,
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
