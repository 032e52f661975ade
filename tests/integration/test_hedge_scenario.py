"""Sixty trading days of the hedge book on a synthetic path with a -20 % fall.

Synthetic prices (the values do not matter, the sequence does): a quiet market whose
daily moves alternate around +/-0.7 % (a year of warm-up for the vols, then January
and February, in which the tail hedge is bought and rolled at its DTE threshold),
then a two-day fall that takes the underlying 20 % below the spot at which the
rolled-in hedge was sized. Every day is run twice (a re-run, as after a
redrive): the second run places nothing. The caps hold every day, and when the fall
completes the rolled-in hedge is worth within 10 % of what its sizing promised.

Every day drives ``run_hedge_day`` directly with the ledger's hedge store (SQLite): the
book, its IV history and the order journal are loaded before and saved after each day,
as the cycle's Hedge step does; the re-run reads the book back from the store. The
full state machine runs the hedge on three real days in
``tests/workflow/test_hedge_cycle.py`` (too slow for sixty).

The account is one simulated account (stocks and options in one file) with a ledger: a
book ``qqq`` holds its $1M, the hedge book is funded from it every day by PlanCycle's
``fund_hedge`` and spends no more than that, and every day, after the hedge, Reconcile's
``hedge_book_day`` and ``account_snapshot`` find the broker's equity equal to the books,
the hedge book and the pool to the cent, through the roll, the fall and the expiries.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from alchemiser.books.capital_policy import CapitalPolicy, CapitalRebalance
from alchemiser.books.config import BookConfig, StageConfig
from alchemiser.broker.alpaca_mapping import NEW_YORK
from alchemiser.broker.simulated import SimulatedBroker, SimulationConfig
from alchemiser.broker.simulated_options import SimulatedOptionsBroker
from alchemiser.broker.simulated_options_market import SimulatedOptionsMarket
from alchemiser.cycle.hedge_book import hedge_book_day
from alchemiser.cycle.hedge_funding import HedgeFunding, fund_hedge
from alchemiser.cycle.snapshots import account_snapshot
from alchemiser.execution.clock import InstantClock
from alchemiser.hedge.book import EventKind, HedgeBookState, HedgeRecord
from alchemiser.hedge.daily import HedgeDayInputs, HedgeDayReport, HedgePorts, run_hedge_day
from alchemiser.hedge.exposure import daily_returns, estimate_exposure
from alchemiser.hedge.iv_regime import IvHistory
from alchemiser.hedge.journal import OrderIntent
from alchemiser.hedge.policy import Budget, HedgePolicy, HedgeTemplate, HedgeUnderlying, Protect
from alchemiser.ledger.hedge_store import HedgeBookRecord, SQLiteHedgeStore
from alchemiser.ledger.models import (
    EXTERNAL,
    HEDGE,
    POOL,
    AccountSnapshot,
    Transfer,
    TransferReason,
)
from alchemiser.ledger.sqlite import SQLiteLedger
from alchemiser.market.history import PriceHistory
from alchemiser.settings import Settings

WARMUP, QUIET, FALL, AFTER = 300, 51, 2, 7  # trading days; QUIET + FALL + AFTER = 60
OPENING = Decimal(1_000_000)
POLICY = HedgePolicy(
    underlying=HedgeUnderlying.AUTO, template=HedgeTemplate.TAIL,
    protect=Protect(move=Decimal("-0.20"), payoff=Decimal("0.08")),
    budget=Budget(monthly=Decimal("0.005"), yearly=Decimal("0.04")),
)  # fmt: skip


def synthetic(qqq_returns: np.ndarray) -> PriceHistory:
    """Return QQQ from its returns and an SPY that follows it at 0.8 with noise."""
    rng = np.random.default_rng(11)
    spy_returns = 0.8 * qqq_returns + rng.normal(0, 0.003, len(qqq_returns))
    dates = pd.bdate_range(end="2025-01-02", periods=WARMUP + 1)
    dates = dates.append(pd.bdate_range("2025-01-03", periods=len(qqq_returns) - WARMUP - 1))
    closes = np.column_stack([100 * np.cumprod(1 + qqq_returns), 80 * np.cumprod(1 + spy_returns)])
    return PriceHistory(
        dates.values.astype("datetime64[D]"), ("QQQ", "SPY"), closes, frozenset({"QQQ", "SPY"})
    )


STAGE = StageConfig(
    name="dev", books=(BookConfig(id="qqq", strategy="qqq.clj", share=Decimal(1)),),
    hedge=POLICY, capital=CapitalPolicy(rebalance=CapitalRebalance.NONE),
)  # fmt: skip


class Closes:
    """The market data port on one price history (closes up to a day)."""

    def __init__(self, history: PriceHistory) -> None:
        self.prices = history

    def history(self, tickers: list[str], day: date) -> PriceHistory:
        return self.prices.select(tickers).truncate(day)


class Account:
    """$1M in the underlying plus the hedge book, run day by day through ``run_hedge_day``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.store = SQLiteHedgeStore(folder / "ledger.sqlite3")
        self.ledger = SQLiteLedger(folder / "ledger.sqlite3")
        self.accounts: list[AccountSnapshot] = []
        self.fundings: list[HedgeFunding] = []
        self.state = HedgeBookState()
        self.risky = Decimal(1_000_000)
        self.hedge_value = Decimal(0)
        self.reports: list[HedgeDayReport] = []
        self.navs: list[Decimal] = []

    def open(
        self, history: PriceHistory
    ) -> tuple[SimulatedOptionsMarket, SimulatedOptionsBroker, InstantClock]:
        """Return the market on ``history`` and the account's broker file (kept between phases)."""
        market = SimulatedOptionsMarket(history)
        clock = InstantClock(datetime.combine(history.day(WARMUP), time(15, 45), NEW_YORK))
        account = self.folder / "broker.sqlite3"
        stocks = SimulatedBroker(account, history, SimulationConfig(initial_cash=OPENING))
        options = SimulatedOptionsBroker(account, market, clock=clock)
        settings = Settings.model_validate({"home": self.folder})
        self.deps = SimpleNamespace(
            ledger=self.ledger, broker=stocks, hedge_store=self.store, options=options,
            settings=settings, market=Closes(history),
        )  # fmt: skip
        if not self.ledger.cash_accounts():
            self.ledger.record_transfers([
                Transfer(transfer_id="open", trading_date=history.day(WARMUP), source=EXTERNAL,
                         destination=POOL, amount=OPENING, reason=TransferReason.OPENING),
                Transfer(transfer_id="fund", trading_date=history.day(WARMUP), source=POOL,
                         destination="qqq", amount=OPENING, reason=TransferReason.FUND),
            ])  # fmt: skip
        return market, options, clock

    def run(
        self,
        history: PriceHistory,
        row: int,
        desk: tuple[SimulatedOptionsMarket, SimulatedOptionsBroker, InstantClock],
    ) -> None:
        market, broker, clock = desk
        day = history.day(row)
        clock.advance(datetime.combine(day, time(15, 45), NEW_YORK) - clock.now())
        self.deps.broker.set_session(day, clock.now())
        broker.set_day(day)
        funding = fund_hedge(f"cycle-{day}-dev", day, STAGE, self.deps)  # PlanCycle's
        assert funding is not None
        self.fundings.append(funding)
        self.risky *= 1 + Decimal(repr(float(daily_returns(history.column("QQQ"))[row])))
        events = len(self.state.events)
        spot = Decimal(repr(float(history.column("QQQ")[row])))
        nav = self.risky + self._marked(broker)
        returns = {u: daily_returns(history.column(u)) for u in ("QQQ", "SPY")}
        held = self.state.hedges[0].underlying if self.state.hedges else None
        exposure = estimate_exposure(
            {"qqq": returns["QQQ"]},
            {"qqq": self.risky},
            returns,
            row,
            POLICY.underlying,
            current=held,
        )
        inputs = HedgeDayInputs(
            run_id=f"cycle-{day}-dev", today=day, policy=POLICY, nav=nav, underlying=exposure.underlying,
            equity_delta=exposure.equity_delta, spot=spot, state=self.store.load_book().state,
            cash=funding.spendable, cash_events=funding.events,
        )  # fmt: skip
        report = self._day(inputs, broker, clock, market)
        orders = len(broker.orders())
        rerun = self._day(
            replace(inputs, state=self.store.load_book().state), broker, clock, market
        )
        assert len(broker.orders()) == orders, f"the re-run of {day} placed orders"
        assert rerun.actions == []
        assert self.store.load_book().state == report.state
        self.state = report.state
        self.risky += sum((e.amount for e in self.state.events[events:]), Decimal(0))
        self.reports.append(report)
        self.navs.append(nav)
        self.reconcile(day)

    def reconcile(self, day: date) -> None:
        """Do what Reconcile does for the hedge and the account; check they add up."""
        run_id = f"cycle-{day}-dev"
        hedge, warnings = hedge_book_day(run_id, day, self.deps)  # type: ignore[arg-type]
        assert warnings == [] and hedge is not None
        transfers = self.ledger.transfers_on(day)
        snapshot = account_snapshot(run_id, day, self.deps, transfers, False, hedge=hedge)  # type: ignore[arg-type]
        self.ledger.put_account_snapshot(snapshot)
        self.accounts.append(snapshot)
        assert snapshot.difference == 0, (day, snapshot)
        assert hedge.cash >= 0, (day, hedge)

    def _day(
        self,
        inputs: HedgeDayInputs,
        broker: SimulatedOptionsBroker,
        clock: InstantClock,
        market: SimulatedOptionsMarket,
    ) -> HedgeDayReport:
        """Run one day from the stored book and save what it did, as the Hedge step does."""
        book = self.store.load_book()
        iv = IvHistory({u: dict(days) for u, days in book.iv.items()})
        pending: list[OrderIntent] = []

        def journal(intent: OrderIntent) -> None:
            pending.append(intent)
            self.store.save_book(book.model_copy(update={"pending": tuple(pending)}))

        ports = HedgePorts(
            broker, clock, iv, close_of=lambda u, d: Decimal(repr(market.spot(u, d))),
            journal=journal,
        )  # fmt: skip
        report = run_hedge_day(inputs, ports)
        self.store.save_book(HedgeBookRecord(state=report.state, iv=iv.days()))
        return report

    def _marked(self, broker: SimulatedOptionsBroker) -> Decimal:
        return sum(
            ((p.current_price or Decimal(0)) * p.qty * 100 for p in broker.option_positions()),
            Decimal(0),
        )

    def value_of(self, record: HedgeRecord, history: PriceHistory, row: int) -> Decimal:
        market = SimulatedOptionsMarket(history)
        total = Decimal(0)
        for leg in record.legs:
            quote = market.quote(leg.symbol, history.day(row))
            assert quote is not None
            total += Decimal(repr(quote.mid)) * leg.qty * 100
        return total


def quiet_days(count: int, rng: np.random.Generator) -> np.ndarray:
    """Return daily returns alternating around +/-0.7 % (about 11 % a year, no trend)."""
    signs = np.where(np.arange(count) % 2 == 0, 1.0, -1.0)
    return signs * 0.007 + rng.normal(0.0, 0.001, count)


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> tuple[Account, PriceHistory, HedgeRecord]:
    rng = np.random.default_rng(2025)
    quiet = np.concatenate(([0.0], quiet_days(WARMUP + QUIET - 1, rng)))
    account = Account(tmp_path_factory.mktemp("hedge"))
    first = synthetic(quiet)
    desk = account.open(first)
    for row in range(WARMUP, WARMUP + QUIET):
        account.run(first, row, desk)
    rolled = next(r for r in account.reports if any("rolled at 30" in a.reason for a in r.actions))
    hedge = next(h for h in account.state.hedges if h.opened_on == rolled.day)
    # The fall: two equal days to 80 % of the spot the rolled-in hedge was sized at
    last = float(first.column("QQQ")[-1])
    step = (0.8 * float(hedge.spot_at_open) / last) ** 0.5 - 1
    tail = np.concatenate(([step] * FALL, rng.normal(0.0, 0.01, AFTER)))
    full = synthetic(np.concatenate((quiet, tail)))
    assert np.array_equal(full.closes[: len(first.dates)], first.closes)  # no look-ahead
    desk = account.open(full)  # a new market on the longer data, the same broker file
    for row in range(WARMUP + QUIET, WARMUP + QUIET + FALL + AFTER):
        if row == WARMUP + QUIET + FALL - 1:
            account.worth_at_bottom = account.value_of(hedge, full, row)  # type: ignore[attr-defined]
        account.run(full, row, desk)
    return account, full, hedge


def test_the_hedge_is_bought_on_the_first_day_and_rolled_at_the_dte_threshold(
    scenario: tuple[Account, PriceHistory, HedgeRecord],
) -> None:
    account, _, hedge = scenario
    assert len(account.reports) == 60
    assert account.reports[0].decision == "hedged"
    rolls = [
        a
        for r in account.reports
        for a in r.actions
        if a.kind == "close" and "rolled at 30" in a.reason
    ]
    assert rolls, "no hedge was rolled at its DTE threshold"
    roll_day = next(r for r in account.reports if any(a in rolls for a in r.actions))
    assert "30 days to expiry" in rolls[0].reason or "29 days to expiry" in rolls[0].reason
    assert any(a.kind == "open" and a.execution.filled_qty > 0 for a in roll_day.actions)
    assert hedge.opened_on == roll_day.day


def test_the_hedge_pays_off_within_10_percent_of_its_promise(
    scenario: tuple[Account, PriceHistory, HedgeRecord],
) -> None:
    account, _, hedge = scenario
    worth = account.worth_at_bottom  # type: ignore[attr-defined]
    assert hedge.promised_payoff > 0
    assert abs(worth - hedge.promised_payoff) <= Decimal("0.10") * hedge.promised_payoff, (
        worth,
        hedge.promised_payoff,
    )


def test_the_premium_caps_hold_on_every_purchase(
    scenario: tuple[Account, PriceHistory, HedgeRecord],
) -> None:
    # A cap is a fraction of the NAV on the day of a purchase: after each purchase the
    # premium of the month and of the last 12 months is within it
    account, _, _ = scenario
    buys = 0
    for report, nav in zip(account.reports, account.navs, strict=True):
        if any(a.kind == "open" and a.execution.filled_qty for a in report.actions):
            buys += 1
            assert report.spent_month <= POLICY.budget.monthly * nav, report.day
            assert report.spent_year <= POLICY.budget.yearly * nav, report.day
    opened = [e for e in account.state.events if e.kind is EventKind.OPEN]
    assert len(opened) == buys >= 2
    # the ledger holds the book the caps read, one ATM IV a day, and no order left journaled
    stored = account.store.load_book()
    assert stored.state == account.state and stored.pending == ()
    assert len(stored.iv["QQQ"]) == 60


def test_the_account_adds_up_to_the_cent_every_day_through_the_fall(
    scenario: tuple[Account, PriceHistory, HedgeRecord],
) -> None:
    # Every day (asserted as each day ran): broker equity = book + hedge + pool exactly,
    # and the hedge's cash never went below zero (it never spends more than it holds)
    account, _, _ = scenario
    assert len(account.accounts) == 60
    assert all(a.difference == 0 and a.hedge is not None for a in account.accounts)
    # The hedge was funded by the book (the pool was empty), each purchase within its cash
    first = account.ledger.transfers_on(account.accounts[0].trading_date)
    funding = [t for t in first if t.reason is TransferReason.HEDGE]
    assert [(t.source, t.destination) for t in funding] == [("qqq", HEDGE)]
    for report, funded in zip(account.reports, account.fundings, strict=True):
        opened = [
            e for e in report.state.events if e.kind is EventKind.OPEN and e.day == report.day
        ]
        assert sum(-e.amount for e in opened) <= funded.spendable + sum(
            e.amount for e in report.state.events[funded.events :] if e.kind is not EventKind.OPEN
        ), report.day
    # The fall: the hedge's NAV jumps, its payoff beyond a month's budget goes to the pool
    hedge_navs = [a.hedge.nav for a in account.accounts if a.hedge is not None]
    assert max(hedge_navs) > 8 * hedge_navs[0]
    returned = [
        t
        for a in account.accounts
        for t in account.ledger.transfers_on(a.trading_date)
        if t.reason is TransferReason.HEDGE and t.destination == POOL
    ]
    assert returned and max(t.amount for t in returned) > 10_000
    assert account.accounts[-1].pool > 10_000
