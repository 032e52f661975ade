"""Live against backtest, per book: did the book earn what its symphony's backtest did over
the same days, and if not, why.

The backtest (``backtest_symphony``, no slippage) starts with the book, trading at the
close of the book's first run, so both begin from the same NAV. Each day ``t`` the
difference of the daily returns ``live[t] - backtest[t]`` is split three ways:

* **execution cost**: what the book's fills of day ``t`` paid against the day's
  reference closes, ``sum(side * (fill - close) * qty)``, as a fraction of the book's
  NAV before the day (counted as a loss);
* **allocation**: on the day after a *mismatch day* (a day the live target weights
  differed from the backtest's by more than ``WEIGHT_TOLERANCE``), what is left of the
  difference after execution cost: the book held something else than the backtest;
* **residual**: the rest (cash kept back, rounding to whole shares or fractions, the
  rebalance corridor, a day the live book was held or failed).

The three add up to the difference every day. Mismatch days keep both decision traces.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import numpy as np

from alchemiser.analytics import charts
from alchemiser.analytics.live_series import BookDay, LiveHistory
from alchemiser.analytics.page import Block, Cell, Chart, Table, Text
from alchemiser.analytics.returns import FloatArray, ReturnSeries, as_date
from alchemiser.analytics.tearsheet import percent
from alchemiser.backtest.symphony import CASH, backtest_symphony
from alchemiser.broker.models import OrderSide
from alchemiser.dsl.engine import AllocationHistory, evaluate_on
from alchemiser.dsl.parser import load_symphony
from alchemiser.dsl.program import Program, compile_symphony
from alchemiser.dsl.trace import render_trace
from alchemiser.ledger.models import FillRecord
from alchemiser.market.history import PriceHistory
from alchemiser.market.port import MarketData

WEIGHT_TOLERANCE = 1e-4  # one basis point of the book: less is rounding
TRACED_MISMATCHES = 5  # the latest mismatch days keep both traces (each costs an evaluation)


@dataclass(frozen=True)
class Mismatch:
    """A day the live targets differed from the backtest's, with both decisions."""

    day: date
    live: Mapping[str, float]
    backtest: Mapping[str, float]
    live_trace: str
    backtest_trace: str


@dataclass(frozen=True)
class BookComparison:
    """One book's live returns against its backtest, the difference split per day."""

    book_id: str
    live: ReturnSeries
    backtest: ReturnSeries
    execution: FloatArray
    allocation: FloatArray
    residual: FloatArray
    mismatch_days: tuple[date, ...]
    mismatches: tuple[Mismatch, ...]  # the latest TRACED_MISMATCHES, with their traces

    @property
    def difference(self) -> FloatArray:
        return np.asarray(self.live.returns - self.backtest.returns)


def _weights(values: Mapping[str, object]) -> dict[str, float]:
    return {s: float(str(w)) for s, w in values.items() if float(str(w)) and s != CASH}


def _differ(live: Mapping[str, float], backtest: Mapping[str, float]) -> bool:
    symbols = set(live) | set(backtest)
    return any(abs(live.get(s, 0.0) - backtest.get(s, 0.0)) > WEIGHT_TOLERANCE for s in symbols)


def _execution_cost(history: LiveHistory, book_id: str, live: ReturnSeries) -> FloatArray:
    """Return each day's fills against the reference closes, as a return (a cost is < 0)."""
    costs = np.zeros(live.days)
    previous: Decimal | None = None
    for i, day64 in enumerate(live.dates):
        book, fills = _book_on(history, book_id, as_date(day64))
        if book is None:
            continue  # a return the ledger recorded with no run to show: no fill to cost
        paid = Decimal(0)
        for fill in fills:
            close = book.prices.get(fill.symbol)
            if close is not None:
                sign = 1 if fill.side is OrderSide.BUY else -1
                paid += sign * (fill.price - close) * fill.qty
        start = previous if previous is not None else book.capital
        costs[i] = -float(paid / start) if start > 0 else 0.0
        previous = book.equity
    return costs


def _book_on(
    history: LiveHistory, book_id: str, day: date
) -> tuple[BookDay | None, list[FillRecord]]:
    """Return the book as the day's runs last showed it, and its fills of every run that day.

    A day has more than one run when failed books were retried (``-r2``...): each run
    shows only its own books, and the retried book's first run shows it failed, without
    prices. The latest run that priced the book wins.
    """
    runs = [d for d in history.days if d.trading_date == day]
    shown = [b for d in runs if (b := d.book(book_id)) is not None]
    priced = [b for b in shown if b.prices]
    candidates = priced or shown
    book = candidates[-1] if candidates else None
    fills = [f for d in runs for f in d.fills if f.book_id == book_id]
    return book, fills


def compare_book(
    history: LiveHistory, book_id: str, strategies_dir: Path, market: MarketData
) -> BookComparison | None:
    """Return the book's live-vs-backtest comparison (None before its first return)."""
    live = history.book_returns(book_id)
    if live is None:
        return None
    strategy = next(b.strategy for d in history.days for b in d.books if b.book_id == book_id)
    program = compile_symphony(load_symphony(strategies_dir / strategy))
    prices = market.history(list(program.tickers), live.end)
    run = backtest_symphony(program, prices, start=live.start, end=live.end)
    rows = np.searchsorted(run.result.dates, live.dates)
    backtest = ReturnSeries(f"{book_id} backtest", live.dates, run.result.returns[rows])
    mismatch_days = _mismatch_days(history, book_id, live, run.allocations)
    execution = _execution_cost(history, book_id, live)
    after = np.zeros(live.days, dtype=bool)
    mismatch_rows = [int(np.searchsorted(live.dates, np.datetime64(d, "D"))) for d in mismatch_days]
    for row in mismatch_rows:
        if row + 1 < live.days:
            after[row + 1] = True
    difference = live.returns - backtest.returns
    allocation = np.where(after, difference - execution, 0.0)
    residual = difference - execution - allocation
    traced = tuple(
        _mismatch(history, book_id, day, program, prices)
        for day in mismatch_days[-TRACED_MISMATCHES:]
    )
    return BookComparison(
        book_id, live, backtest, execution, allocation, residual, tuple(mismatch_days), traced
    )


def _mismatch_days(
    history: LiveHistory, book_id: str, live: ReturnSeries, allocations: AllocationHistory
) -> list[date]:
    days = []
    for day in history.days:
        book = day.book(book_id)
        if book is None or not book.target_weights or day.trading_date < live.start:
            continue  # a failed evaluation has no target to compare
        row = allocations.row_of(day.trading_date)
        if _differ(_weights(book.target_weights), _weights(allocations.weights_at(row))):
            days.append(day.trading_date)
    return days


def _mismatch(
    history: LiveHistory,
    book_id: str,
    day: date,
    program: Program,
    prices: PriceHistory,
) -> Mismatch:
    book, _ = _book_on(history, book_id, day)
    assert book is not None  # a mismatch day is a day the book was shown with its targets
    decided = evaluate_on(program, prices, day, trace=True)
    return Mismatch(
        day=day,
        live=_weights(book.target_weights),
        backtest=_weights(decided.weights),
        live_trace=book.trace,
        backtest_trace=render_trace(decided.trace) if decided.trace else "",
    )


def comparison_blocks(comparison: BookComparison) -> list[Block]:
    """Return the book page's live-vs-backtest section: figures, chart, mismatch days."""
    c = comparison
    rows: tuple[tuple[Cell, ...], ...] = (
        ("Live return", percent(float(c.live.wealth()[-1] - 1))),
        ("Backtest return", percent(float(c.backtest.wealth()[-1] - 1))),
        ("Sum of daily differences", percent(float(c.difference.sum()), 3)),
        ("of which execution cost", percent(float(c.execution.sum()), 3)),
        ("of which allocation mismatches", percent(float(c.allocation.sum()), 3)),
        ("of which residual", percent(float(c.residual.sum()), 3)),
        ("Mismatch days", str(len(c.mismatch_days))),
    )
    note = (
        "The backtest of the book's symphony over the same days, from the same NAV, "
        "trading at each close without costs. Execution: fills against the reference "
        "closes; allocation: the day after the live target differed from the backtest's; "
        "residual: cash, rounding, the rebalance corridor."
    )
    blocks: list[Block] = [
        Table("Live vs backtest", ("Figure", "Value"), rows, note=note),
        Chart("Live vs backtest: growth of 10,000", charts.equity_chart(c.live, c.backtest)),
    ]
    if c.mismatches:
        table_rows = tuple(
            (m.day.isoformat(), _describe(m.live), _describe(m.backtest))
            for m in reversed(c.mismatches)
        )
        blocks.append(
            Table(
                "Mismatch days",
                ("Day", "Live target", "Backtest target"),
                table_rows,
                note=f"The latest {len(c.mismatches)} of {len(c.mismatch_days)}.",
            )
        )
        for m in reversed(c.mismatches):
            blocks.append(Text(f"Live decision on {m.day}", m.live_trace or "(no trace stored)"))
            blocks.append(Text(f"Backtest decision on {m.day}", m.backtest_trace))
    return blocks


def _describe(weights: Mapping[str, float]) -> str:
    return ", ".join(f"{s} {w:.1%}" for s, w in sorted(weights.items())) or "cash"
