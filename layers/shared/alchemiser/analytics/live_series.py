"""The live account's history, read from the ledger and the stored run outputs: the one
place the dashboard, the email and live-vs-backtest read NAVs and daily returns from.

Books own their cash (issue 8): the ledger keeps each book's and the account's daily
NAV, capital flows and time-weighted return (:mod:`alchemiser.books.returns`), and the
returns, flows and NAVs here are those, so a capital transfer is never performance.

Runs of a ledger from before that (upgraded homes keep them) have no recorded returns;
for those days this module reconstructs them from the share rule of the time, when a
book's capital was re-derived every run as the account's equity times its share:

* a book's flow is ``plan.cash - yesterday's cash`` (the re-split at the run's prices);
  its daily return ``(equity - flow) / yesterday's equity - 1``, on its first day
  ``equity / capital - 1``;
* the account's NAV is the books' equity plus what no book owned, its return
  ``NAV / yesterday's NAV - 1``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cached_property

import numpy as np

from alchemiser.analytics.returns import ReturnSeries
from alchemiser.books.returns import DailyPoint, account_series, book_series
from alchemiser.cycle.artifacts import RunArtifacts
from alchemiser.cycle.models import BookPlan, BookStatus, CyclePlan, ReconcileResult
from alchemiser.dsl.trace import render_trace
from alchemiser.ledger.models import FillRecord, OrderRecord, RunRecord
from alchemiser.ledger.port import Ledger
from alchemiser.storage.port import ObjectStore

_READERS = 16  # runs read in parallel (object-store latency dominates a long history)
ZERO = Decimal(0)


@dataclass(frozen=True)
class BookDay:
    """One book on one trading day: what it wanted, what it held and what it was worth."""

    book_id: str
    strategy: str
    status: str
    reason: str
    capital: Decimal  # its capital when the run planned (account equity x share)
    plan_cash: Decimal  # its cash when the run planned (capital less its positions)
    equity: Decimal  # its NAV after the day's trades, at the day's prices
    cash: Decimal  # its cash after the day's trades
    positions: Mapping[str, Decimal]
    prices: Mapping[str, Decimal]  # the run's reference prices (the day's closes)
    target_weights: Mapping[str, Decimal]
    trace: str  # the decision trace as text ('' when none was stored)


@dataclass(frozen=True)
class RunDay:
    """One traded (or blocked) run: its books, its orders and the account's NAV."""

    run_id: str
    trading_date: date
    status: str
    message: str
    account_equity: Decimal  # the broker's equity when the run planned
    books: tuple[BookDay, ...]
    orders: tuple[OrderRecord, ...]
    fills: tuple[FillRecord, ...]  # per book
    warnings: tuple[str, ...]
    account_nav: Decimal | None = None  # live NAVs + hedge + pool, from Reconcile
    hedge_options: Decimal = ZERO  # the hedge book's contracts at mid (in account_nav)

    @property
    def nav(self) -> Decimal:
        """The account after the run: the books' equity plus what no book owns."""
        if self.account_nav is not None:
            return self.account_nav
        unallocated = self.account_equity - sum((b.capital for b in self.books), ZERO)
        return sum((b.equity for b in self.books), ZERO) + unallocated

    @cached_property
    def _by_id(self) -> dict[str, BookDay]:
        return {b.book_id: b for b in self.books}

    def book(self, book_id: str) -> BookDay | None:
        return self._by_id.get(book_id)


@dataclass(frozen=True)
class LiveHistory:
    """Every reconciled run of one stage, oldest first."""

    stage: str
    days: tuple[RunDay, ...]
    # The ledger's own daily NAV/flow/TWR series (books that own their cash); empty for a
    # ledger whose runs predate them, which the share rule below then reconstructs.
    account_points: tuple[DailyPoint, ...] = ()
    book_points: Mapping[str, tuple[DailyPoint, ...]] = field(default_factory=dict)

    @property
    def book_ids(self) -> list[str]:
        return sorted({b.book_id for day in self.days for b in day.books})

    def account_returns(self) -> ReturnSeries | None:
        """Return the account's daily returns (None before the first reconciled run)."""
        recorded = _returns("Account", self.account_points)
        if recorded is not None:
            return recorded
        if not self.days:
            return None
        navs = [float(d.nav) for d in self.days]
        start = float(self.days[0].account_equity)
        values = np.array(navs) / np.array([start, *navs[:-1]]) - 1.0
        return ReturnSeries("Account", _dates(self.days), values)

    def book_returns(self, book_id: str) -> ReturnSeries | None:
        """Return the book's daily time-weighted returns over the days it existed."""
        recorded = _returns(book_id, self.book_points.get(book_id, ()))
        if recorded is not None:
            return recorded
        days, values = [], []
        previous: BookDay | None = None
        for day in self.days:
            book = day.book(book_id)
            if book is None or book.capital <= 0:
                previous = None
                continue
            if previous is None or previous.equity <= 0:
                value = book.equity / book.capital - 1
            else:
                flow = book.plan_cash - previous.cash
                value = (book.equity - flow) / previous.equity - 1
            days.append(day)
            values.append(float(value))
            previous = book
        if not days:
            return None
        return ReturnSeries(book_id, _dates(days), np.array(values))

    def book_flows(self, book_id: str) -> list[tuple[date, Decimal]]:
        """Return the capital moved into (+) or out of (-) the book, day by day."""
        if self.book_points.get(book_id):
            return [(p.day, p.flows) for p in self.book_points[book_id] if p.flows != 0]
        flows = []
        previous: BookDay | None = None
        for day in self.days:
            book = day.book(book_id)
            if book is not None and previous is not None:
                flows.append((day.trading_date, book.plan_cash - previous.cash))
            previous = book
        return flows


def _returns(name: str, points: Sequence[DailyPoint]) -> ReturnSeries | None:
    """Return the recorded daily TWRs as a series (None when none is recorded)."""
    kept = [p for p in points if p.twr_day is not None]
    if not kept:
        return None
    days = np.array([p.day for p in kept], dtype="datetime64[D]")
    return ReturnSeries(name, days, np.array([float(p.twr_day or 0) for p in kept]))


def _dates(days: Sequence[RunDay]) -> np.ndarray:
    return np.array([d.trading_date for d in days], dtype="datetime64[D]")


def load_history(ledger: Ledger, store: ObjectStore, stage: str) -> LiveHistory:
    """Read every run of ``stage`` that was reconciled (traded or blocked), oldest first."""
    runs = ledger.runs(stage)
    with ThreadPoolExecutor(max_workers=min(_READERS, max(1, len(runs)))) as pool:
        loaded = list(pool.map(lambda run: _load_run(run, ledger, store), runs))
    days = tuple(day for day in loaded if day is not None)
    book_ids = sorted({b.book_id for day in days for b in day.books})
    return LiveHistory(
        stage,
        days,
        account_points=tuple(account_series(ledger)),
        book_points={b: tuple(book_series(ledger, b)) for b in book_ids},
    )


def _load_run(run: RunRecord, ledger: Ledger, store: ObjectStore) -> RunDay | None:
    artifacts = RunArtifacts(store, run.run_id)
    plan = artifacts.find_day()
    reconciled = artifacts.reconcile()
    if plan is None or reconciled is None:
        return None  # failed before Reconcile: nothing was booked
    plans = {p.book_id: p for p in artifacts.book_plans([t.book_id for t in plan.books])}
    books = tuple(_book_day(plan, reconciled, plans, b.book_id, store) for b in reconciled.books)
    return RunDay(
        run_id=run.run_id,
        trading_date=run.trading_date,
        status=run.status.value,
        message=run.message,
        account_equity=plan.account_equity,
        books=books,
        orders=tuple(ledger.orders(run.run_id)),
        fills=tuple(ledger.fills(run.run_id)),
        warnings=tuple(reconciled.warnings),
        account_nav=reconciled.account.nav if reconciled.account is not None else None,
        hedge_options=_hedge_options(reconciled),
    )


def _hedge_options(reconciled: ReconcileResult) -> Decimal:
    account = reconciled.account
    return account.hedge.options if account is not None and account.hedge is not None else ZERO


def _book_day(
    plan: CyclePlan,
    reconciled: ReconcileResult,
    plans: Mapping[str, BookPlan],
    book_id: str,
    store: ObjectStore,
) -> BookDay:
    outcome = next(b for b in reconciled.books if b.book_id == book_id)
    task = next(t for t in plan.books if t.book_id == book_id)
    capital = (task.account_equity * task.share).quantize(Decimal("0.01"))
    book_plan = plans.get(book_id)
    planned = book_plan is not None and book_plan.status is not BookStatus.FAILED
    return BookDay(
        book_id=book_id,
        strategy=outcome.strategy,
        status=outcome.status.value,
        reason=outcome.reason,
        capital=capital,
        # A book that failed to plan traded nothing: its cash is what the run started it with.
        plan_cash=book_plan.cash if book_plan is not None and planned else outcome.cash,
        equity=outcome.equity,
        cash=outcome.cash,
        positions=dict(outcome.positions),
        prices=dict(book_plan.prices) if book_plan is not None else {},
        target_weights=dict(outcome.target_weights),
        trace=_trace(store, book_plan),
    )


def _trace(store: ObjectStore, plan: BookPlan | None) -> str:
    if plan is None or plan.trace_key is None:
        return ""
    try:
        return render_trace(json.loads(store.get_bytes(plan.trace_key)))
    except FileNotFoundError:
        return ""
