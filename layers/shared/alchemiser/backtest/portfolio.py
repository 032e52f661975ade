"""The portfolio backtest: every book of a stage in one account, day by day.

Timing and order of events at each close ``t`` (the single backtest's timing: targets
decided with the closes of ``t`` trade at that close and earn from ``t+1``):

1. Positions move with the day's returns; each book's NAV is its cash plus its
   positions at the close. The pool (unallocated cash) earns nothing.
2. The capital policy (:func:`alchemiser.books.capital_policy.decide_capital`) moves
   cash between the pool and the books that take part: every book whose symphony is
   valid by ``t`` (its warm-up done, its data started). A book joins on its first
   valid day (or the first day of the window) and is funded from the pool then; until
   it joins, its share waits in the pool.
3. Each book plans like the live planner (:mod:`.portfolio_rules`): on its first day,
   and on any day its capital changed by a transfer, it trades to its targets; otherwise
   on the candidate days of its symphony's ``:rebalance-frequency`` when its largest
   drift passes ``:rebalance-threshold`` (every candidate day without one).
4. The trades are netted per symbol and settled at the net order's fill price (the
   simulated broker's market price); costs come out of each book's cash, which can
   therefore dip below zero by at most that day's costs.

Returns: the account's is its value (NAVs + pool) over the previous close. A book's
is time-weighted: ``(NAV before the transfer / previous NAV) x (NAV after trading /
(NAV before the transfer + transfer)) - 1``, so capital moved in or out is not
performance; its first day's return is the cost of its first purchase.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import numpy as np

from alchemiser.analytics.returns import as_date
from alchemiser.backtest.portfolio_models import (
    BookSchedule,
    DateArray,
    DayInspection,
    PortfolioPath,
    PortfolioSettings,
)
from alchemiser.backtest.portfolio_rules import (
    BoolArray,
    Fills,
    FloatArray,
    Slots,
    corridor_drift,
    net_and_fill,
    rebalance_trades,
)
from alchemiser.backtest.rebalance import candidate_days
from alchemiser.books.capital_policy import CapitalDecision, capital_may_move, decide_capital
from alchemiser.money import to_decimal


def build_slots(books: Sequence[BookSchedule], symbols: Sequence[str]) -> Slots:
    """Lay the books' tickers out as contiguous slots over the columns ``symbols``."""
    column = {s: j for j, s in enumerate(symbols)}
    book = np.concatenate([np.full(len(b.tickers), i, dtype=np.intp) for i, b in enumerate(books)])
    symbol = np.array([column[t] for b in books for t in b.tickers], dtype=np.intp)
    first = np.cumsum([0] + [len(b.tickers) for b in books[:-1]]).astype(np.intp)
    return Slots(book=book, symbol=symbol, first=first, books=len(books), symbols=len(symbols))


def _growth(closes: FloatArray) -> FloatArray:
    growth = np.full(closes.shape, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        growth[1:] = closes[1:] / closes[:-1]
    return growth


@dataclass
class _State:
    """What the day loop carries from one close to the next."""

    values: FloatArray  # per slot
    cash: FloatArray  # per book
    funded: BoolArray  # per book
    nav_end: FloatArray  # per book, previous close
    pool: Decimal
    last_rebalance: date | None = None


class _Simulation:
    """The day loop over the window; one instance per backtest."""

    def __init__(
        self,
        dates: DateArray,
        symbols: Sequence[str],
        closes: FloatArray,
        books: Sequence[BookSchedule],
        settings: PortfolioSettings,
    ) -> None:
        self.dates, self.symbols, self.closes = dates, tuple(symbols), closes
        self.books, self.settings = tuple(books), settings
        self.slots = build_slots(books, symbols)
        self.weights = np.hstack([b.weights for b in books])
        self.growth = _growth(closes)
        self.candidates = np.column_stack(
            [candidate_days(dates, b.frequency, b.threshold) for b in books]
        )
        self.thresholds = np.array([np.inf if b.threshold is None else b.threshold for b in books])
        self.has_threshold = np.array([b.threshold is not None for b in books])
        self.starts = np.array([b.start for b in books])
        self.share_values = np.array([float(b.share) for b in books])
        self.book_index = {b.book_id: i for i, b in enumerate(books)}

    def _grow(self, state: _State, t: int) -> None:
        growth = self.growth[t, self.slots.symbol]
        held = state.values != 0.0
        unpriced = held & ~np.isfinite(growth)
        if bool(unpriced.any()):
            slot = int(np.flatnonzero(unpriced)[0])
            book = self.books[int(self.slots.book[slot])]
            raise ValueError(
                f"book {book.book_id} holds {self.symbols[int(self.slots.symbol[slot])]} on "
                f"{self.dates[t]} but it has no close that day and the one before"
            )
        state.values = np.where(held, state.values * growth, 0.0)

    def _capital(self, state: _State, t: int, nav: FloatArray) -> CapitalDecision | None:
        """Return the capital policy's decision, or None when it surely moves nothing."""
        day = as_date(self.dates[t])
        taking_part = self.starts <= t
        funded = state.funded
        capital = float(nav[funded & taking_part].sum()) + float(state.pool)
        drifts = np.abs(nav / capital - self.share_values)[funded & taking_part]
        if not capital_may_move(
            self.settings.policy,
            day,
            state.last_rebalance,
            joining=bool((taking_part & ~funded).any()),
            largest_drift=float(drifts.max()) if drifts.size else 0.0,
        ):
            return None
        navs = {b.book_id: to_decimal(float(nav[i])) for i, b in enumerate(self.books) if funded[i]}
        targets = {b.book_id: b.share for i, b in enumerate(self.books) if taking_part[i]}
        decision = decide_capital(
            self.settings.policy, day, navs, state.pool, targets, state.last_rebalance
        )
        if decision.rebalanced:
            state.last_rebalance = day
        return decision

    def _received(self, decision: CapitalDecision | None) -> FloatArray:
        received = np.zeros(len(self.books))
        if decision is not None:
            for transfer in decision.transfers:
                received[self.book_index[transfer.book_id]] += float(transfer.amount)
        return received

    def _trading(self, t: int, values: FloatArray, nav: FloatArray, forced: BoolArray) -> BoolArray:
        deployment = float(self.settings.planning.deployment_pct)
        drift = corridor_drift(self.slots, values, self.weights[t], nav, deployment)
        corridor = ~self.has_threshold | (drift > self.thresholds)
        active: BoolArray = self.starts <= t
        trading: BoolArray = active & (forced | (self.candidates[t] & corridor))
        return trading

    def _check_targets_priced(self, t: int) -> None:
        unpriced = (self.weights[t] > 0.0) & ~np.isfinite(self.closes[t, self.slots.symbol])
        if bool(unpriced.any()):
            slot = int(np.flatnonzero(unpriced)[0])
            book = self.books[int(self.slots.book[slot])]
            raise ValueError(
                f"book {book.book_id} targets {self.symbols[int(self.slots.symbol[slot])]} on "
                f"{self.dates[t]}, which has no close that day"
            )

    def _step(self, state: _State, t: int, out: _Records, inspect: bool) -> None:
        """Run one close: returns, capital policy, plans, netting; record the day."""
        self._check_targets_priced(t)
        nav_pre = state.cash + self.slots.per_book(state.values)
        decision = self._capital(state, t, nav_pre)
        received = self._received(decision)
        if decision is not None:
            state.pool += decision.pool_change
        forced = received != 0.0
        was_funded = state.funded.copy()
        state.cash = state.cash + received
        state.funded = was_funded | forced
        nav = nav_pre + received
        trading = self._trading(t, state.values, nav, forced)
        if bool(trading.any()):
            trades = rebalance_trades(
                self.slots,
                state.values,
                self.weights[t],
                state.cash,
                nav,
                trading,
                self.settings.planning,
            )
            fills = net_and_fill(self.slots, trades, self.closes[t], self.settings.costs)
        else:  # most days: nobody rebalances, so nothing to plan or net
            trades = np.zeros(len(state.values))
            fills = None
        if inspect:
            out.inspect(self, t, state, nav, trading, forced, trades)
        state.values = state.values + trades
        if fills is not None:
            state.cash = state.cash + self.slots.per_book(fills.cash_change())
        out.record(
            self, t, state, _Day(nav_pre, nav, received, was_funded, trades, fills, decision)
        )

    def run(self, first: int, inspect: Collection[date]) -> PortfolioPath:
        """Simulate rows ``first..`` of the calendar; keep the state of the ``inspect`` days."""
        n_books, n_slots = len(self.books), len(self.slots.book)
        state = _State(
            values=np.zeros(n_slots),
            cash=np.zeros(n_books),
            funded=np.zeros(n_books, dtype=np.bool_),
            nav_end=np.zeros(n_books),
            pool=self.settings.capital,
        )
        out = _Records(first, len(self.dates) - first, n_books, n_slots)
        for t in range(first, len(self.dates)):
            if t > first:
                self._grow(state, t)
            self._step(state, t, out, as_date(self.dates[t]) in inspect)
        return out.path(self)


@dataclass(frozen=True)
class _Day:
    """One close's intermediate results, handed to the records."""

    nav_pre: FloatArray  # per book, before transfers and trades
    nav: FloatArray  # per book, after transfers, before trades
    received: FloatArray  # per book
    was_funded: BoolArray  # per book, before today
    trades: FloatArray  # per slot, dollars at the close
    fills: Fills | None  # None: no trade that day
    decision: CapitalDecision | None  # None: the policy surely moved nothing


class _Records:
    """The day-by-day arrays of a simulation, filled as the loop runs."""

    def __init__(self, first: int, rows: int, books: int, slots: int) -> None:
        self.first = first
        self.value = np.zeros(rows)
        self.pool = np.zeros(rows)
        self.nav = np.zeros((rows, books))
        self.transfers = np.zeros((rows, books))
        self.returns = np.zeros((rows, books))
        self.traded = np.zeros((rows, books))
        self.costs = np.zeros((rows, books))
        self.account_traded = np.zeros(rows)
        self.values = np.zeros((rows, slots))
        self.joined: list[int | None] = [None] * books
        self.decisions: list[CapitalDecision] = []
        self.inspections: dict[date, DayInspection] = {}

    def record(self, sim: _Simulation, t: int, state: _State, day: _Day) -> None:
        i = t - self.first
        slots = sim.slots
        nav_end = state.cash + slots.per_book(state.values)
        funded = state.funded
        broke = funded & ~(nav_end > 0.0)
        if bool(broke.any()):
            book = sim.books[int(np.flatnonzero(broke)[0])].book_id
            raise ValueError(f"book {book} lost all its capital on {sim.dates[t]}: NAV {nav_end}")
        with np.errstate(divide="ignore", invalid="ignore"):
            market = np.where(day.was_funded, day.nav_pre / state.nav_end, 1.0)
            after = nav_end / (day.nav_pre + day.received)
            self.traded[i] = np.where(funded, slots.per_book(np.abs(day.trades)) / day.nav, 0.0)
        self.returns[i] = np.where(funded, market * after - 1.0, 0.0)
        for b in np.flatnonzero(funded & ~day.was_funded):
            self.joined[int(b)] = i
        if day.fills is not None:
            self._costs(sim, i, t, float(day.nav.sum()) + float(state.pool), day.fills)
        self.nav[i], self.transfers[i], self.values[i] = nav_end, day.received, state.values
        self.pool[i] = float(state.pool)
        self.value[i] = float(nav_end.sum()) + float(state.pool)
        state.nav_end = nav_end
        if day.decision is not None and (day.decision.transfers or day.decision.rebalanced):
            self.decisions.append(day.decision)

    def _costs(self, sim: _Simulation, i: int, t: int, value_before: float, fills: Fills) -> None:
        closes = np.where(np.isfinite(sim.closes[t]), sim.closes[t], 0.0)
        price_gap = fills.price - closes[sim.slots.symbol]
        self.costs[i] = sim.slots.per_book(fills.qty * price_gap)
        self.account_traded[i] = float(np.abs(fills.order_qty) @ closes) / value_before

    def inspect(
        self,
        sim: _Simulation,
        t: int,
        state: _State,
        nav: FloatArray,
        trading: BoolArray,
        forced: BoolArray,
        trades: FloatArray,
    ) -> None:
        day = as_date(sim.dates[t])
        self.inspections[day] = DayInspection(
            day=day,
            values=state.values.copy(),
            cash=state.cash.copy(),
            nav=nav.copy(),
            weights=sim.weights[t].copy(),
            closes=sim.closes[t].copy(),
            trading=trading.copy(),
            forced=forced.copy(),
            scheduled=sim.candidates[t].copy(),
            trades=trades.copy(),
        )

    def path(self, sim: _Simulation) -> PortfolioPath:
        return PortfolioPath(
            first=self.first,
            dates=sim.dates[self.first :],
            value=self.value,
            pool=self.pool,
            nav=self.nav,
            transfers=self.transfers,
            book_returns=self.returns,
            joined=tuple(self.joined),
            book_traded=self.traded,
            book_costs=self.costs,
            account_traded=self.account_traded,
            values=self.values,
            slots=sim.slots,
            decisions=tuple(self.decisions),
            inspections=self.inspections,
        )


def simulate_portfolio(
    dates: DateArray,
    symbols: Sequence[str],
    closes: FloatArray,
    books: Sequence[BookSchedule],
    settings: PortfolioSettings,
    *,
    first_day: date | None = None,
    inspect: Collection[date] = (),
) -> PortfolioPath:
    """Simulate the account from its first day: the first row any book is valid on or
    after ``first_day``; raise ValueError when no book ever is.

    ``closes`` is days x ``symbols`` (every ticker a book can hold); ``inspect`` names
    days whose pre-trade state is kept (``PortfolioPath.inspections``).
    """
    if not books:
        raise ValueError("the stage has no books to backtest")
    if closes.shape != (len(dates), len(symbols)):
        raise ValueError(f"closes must be {len(dates)}x{len(symbols)}, was {closes.shape}")
    for book in books:
        if book.weights.shape != (len(dates), len(book.tickers)):
            raise ValueError(
                f"book {book.book_id}: weights must be {len(dates)}x{len(book.tickers)}, "
                f"was {book.weights.shape}"
            )
    floor = 0 if first_day is None else int(np.searchsorted(dates, np.datetime64(first_day, "D")))
    first = max(floor, min(b.start for b in books))
    if first >= len(dates):
        raise ValueError(
            "no book can trade in the window: every symphony's first valid day comes after "
            f"the last day ({dates[-1] if len(dates) else 'no data'})"
        )
    return _Simulation(dates, symbols, closes, books, settings).run(first, set(inspect))
