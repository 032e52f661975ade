"""Backtest a stage of ``books.yaml``: evaluate every symphony, simulate the account, measure.

Each book's symphony is evaluated over the whole calendar of the data (every book's
tickers together); its targets, warm-up and rebalance rules feed
:func:`alchemiser.backtest.portfolio.simulate_portfolio`. The results are return
series with the analytics' metrics: the account's and every book's (from the day it
joined), plus who joined when, the capital decisions and the final shares.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from alchemiser.analytics.metrics import Metrics, compute_metrics
from alchemiser.analytics.returns import FloatArray, ReturnSeries, WeightHistory, as_date
from alchemiser.backtest.portfolio import simulate_portfolio
from alchemiser.backtest.portfolio_models import BookSchedule, PortfolioPath, PortfolioSettings
from alchemiser.books.capital_policy import CapitalDecision
from alchemiser.books.config import BookConfig
from alchemiser.dsl.engine import evaluate_history
from alchemiser.dsl.evaluator import Progress
from alchemiser.dsl.program import Program
from alchemiser.market.history import PriceHistory

POOL = "pool (cash)"


@dataclass(frozen=True)
class BookResult:
    """One book over the backtest: when it joined, its series and its figures."""

    config: BookConfig
    name: str  # the symphony's name
    valid_from: date | None  # its symphony's first valid day in the data (None: never)
    valid_reason: str  # why it becomes valid then (the engine's warm-up reason)
    joined: date | None  # the day it was funded (None: never within the window)
    returns: ReturnSeries | None
    weights: WeightHistory | None
    traded: FloatArray | None  # two-sided traded fraction per day, first day 0
    metrics: Metrics | None
    final_share: float  # of the account on the last day

    def to_json_dict(self) -> dict[str, object]:
        """Return the book's figures (as plain ``backtest --json``) and when it joined."""
        figures = self.metrics.to_json_dict() if self.metrics is not None else {}
        return {
            "strategy": self.config.strategy,
            "share": float(self.config.share),
            "joined": self.joined.isoformat() if self.joined else None,
            "final_share": self.final_share,
            **figures,
        }


@dataclass(frozen=True)
class PortfolioBacktest:
    """The account and its books over the window."""

    stage: str
    settings: PortfolioSettings
    path: PortfolioPath
    account: ReturnSeries
    account_traded: FloatArray  # net orders' two-sided fraction per day, first day 0
    metrics: Metrics
    books: tuple[BookResult, ...]
    synthetic: frozenset[str]

    @property
    def decisions(self) -> tuple[CapitalDecision, ...]:
        return self.path.decisions

    @property
    def rebalances(self) -> tuple[date, ...]:
        """Return the days the capital policy rebalanced (the first funding excluded)."""
        return tuple(d.day for d in self.decisions[1:] if d.rebalanced)

    def book_shares(self) -> WeightHistory:
        """Return each book's share of the account after every close (the pool: the rest)."""
        shares = self.path.nav / self.path.value[:, None]
        return WeightHistory(self.path.dates, tuple(b.config.id for b in self.books), shares)

    def to_json_dict(self) -> dict[str, object]:
        """Return the account's figures (keys of plain ``backtest --json``) plus per book."""
        return {
            **self.metrics.to_json_dict(),
            "stage": self.stage,
            "capital": {
                "policy": self.settings.policy.describe(),
                "rebalances": len(self.rebalances),
                "transfers": sum(len(d.transfers) for d in self.decisions),
                "final_pool_share": float(self.path.pool[-1] / self.path.value[-1]),
            },
            "books": {b.config.id: b.to_json_dict() for b in self.books},
        }


def schedule_book(config: BookConfig, program: Program, history: PriceHistory) -> BookSchedule:
    """Evaluate the book's symphony on every day of ``history``: its targets and its rules."""
    allocations = evaluate_history(program, history)
    return BookSchedule(
        book_id=config.id,
        share=config.share,
        tickers=allocations.tickers,
        weights=allocations.weights,
        start=allocations.start,
        frequency=program.symphony.frequency,
        threshold=program.symphony.meta.rebalance_threshold,
        reason=allocations.start_reason,
    )


def _book_result(
    config: BookConfig,
    program: Program,
    schedule: BookSchedule,
    path: PortfolioPath,
    index: int,
    history: PriceHistory,
) -> BookResult:
    valid = history.day(schedule.start) if schedule.start < len(history.dates) else None
    joined_row = path.joined[index]
    final_share = float(path.nav[-1, index] / path.value[-1])
    if joined_row is None:
        return BookResult(
            config, program.symphony.name, valid, schedule.reason, None, None, None, None, None, 0.0
        )
    rows = slice(joined_row, None)
    dates = path.dates[rows]
    returns = ReturnSeries(config.id, dates, path.book_returns[rows, index])
    own = path.slots.book == index
    with np.errstate(divide="ignore", invalid="ignore"):
        holdings = path.values[rows][:, own] / path.nav[rows, index][:, None]
    weights = WeightHistory(dates, schedule.tickers, holdings)
    traded = path.book_traded[rows, index].copy()
    traded[0] = 0.0  # deploying its first capital is not turnover
    metrics = compute_metrics(dates, returns.returns, traded)
    return BookResult(
        config,
        program.symphony.name,
        valid,
        schedule.reason,
        as_date(dates[0]),
        returns,
        weights,
        traded,
        metrics,
        final_share,
    )


def schedule_books(
    books: Sequence[tuple[BookConfig, Program]],
    history: PriceHistory,
    progress: Progress | None = None,
) -> list[BookSchedule]:
    """Evaluate every book's symphony on ``history`` (``progress``: books done of all)."""
    schedules = []
    for number, (config, program) in enumerate(books, start=1):
        schedules.append(schedule_book(config, program, history))
        if progress is not None:
            progress(number, len(books))
    return schedules


def backtest_portfolio(
    books: Sequence[tuple[BookConfig, Program]],
    history: PriceHistory,
    settings: PortfolioSettings,
    *,
    stage: str = "",
    start: date | None = None,
    end: date | None = None,
    progress: Progress | None = None,
    inspect: Collection[date] = (),
    schedules: Sequence[BookSchedule] | None = None,
) -> PortfolioBacktest:
    """Backtest the books together in one account over ``[start, end]`` of ``history``.

    ``schedules``: the books' evaluations on ``history`` when the caller already has them
    (:func:`schedule_books`); ``end`` must then be None.
    """
    if end is not None:
        if schedules is not None:
            raise ValueError("pass schedules evaluated on the history, without an end")
        history = history.truncate(end)
    if len(history.dates) == 0:
        raise ValueError(f"the data has no day on or before {end}")
    if schedules is None:
        schedules = schedule_books(books, history, progress)
    symbols = sorted({t for s in schedules for t in s.tickers})
    closes = history.select(symbols).closes
    path = simulate_portfolio(
        history.dates, symbols, closes, schedules, settings, first_day=start, inspect=inspect
    )
    returns = path.account_returns(float(settings.capital))
    traded = path.account_traded.copy()
    traded[0] = 0.0  # deploying the starting cash is not turnover
    results = tuple(
        _book_result(config, program, schedules[i], path, i, history)
        for i, (config, program) in enumerate(books)
    )
    used = {t for b in books for t in b[1].tickers}
    return PortfolioBacktest(
        stage=stage,
        settings=settings,
        path=path,
        account=ReturnSeries("account", path.dates, returns),
        account_traded=traded,
        metrics=compute_metrics(path.dates, returns, traded),
        books=results,
        synthetic=frozenset(history.synthetic & used),
    )
