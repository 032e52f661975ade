"""Forty trading days of books that own their capital, on real prices (issue 8's proof).

Three live books and one shadow book from the first day (capital policy ``none``:
books keep what they earn), a deposit before day 10, a book removed from books.yaml on
day 20 and a new one added on day 25. Every day, on the simulated broker:

* the broker's cash is the pool plus the books' cash, to the cent; the broker's equity
  is the account's NAV to the cent (each symbol marked once, as the broker marks it),
  and the books' NAVs plus the pool are within half a cent per position of it;
* each book's NAV and time-weighted return equal a recomputation in this test from the
  book's own fills (their cash and quantities), its transfers and the day's closes;
* the deposit goes to the pool and changes no book's return;
* the removed book is exited by its own fills in one run, is flat and its cash is in
  the pool after that run; no other book sells or is given its positions;
* the new book is funded from the pool on the day it joins;
* the shadow book trades every day on virtual capital and never reaches the broker: no
  broker order is allocated to it, its fills are all virtual, and its cash and
  positions are outside the account's.
"""

from __future__ import annotations

import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from alchemiser.broker.models import OrderSide
from alchemiser.broker.simulated import SimulatedBroker
from alchemiser.cycle.faults import FaultPlan
from alchemiser.ledger.lots import positions_of
from alchemiser.ledger.models import POOL, FillSource, TransferReason
from alchemiser.ledger.sqlite import SQLiteLedger
from alchemiser.local.cycle_runner import run_cycle
from alchemiser.money import ZERO, to_decimal
from tests.conftest import REPO_ROOT
from tests.workflow.conftest import all_prices, make_settings

START = date(2024, 1, 2)
DEPOSIT_DAY, REMOVE_DAY, ADD_DAY, DAYS = 10, 20, 25, 40
DEPOSIT = Decimal("25000.00")
BOOKS = {
    "nuclear": ("nuclear_energy_rotation.clj", "0.3"),
    "tech": ("tech_momentum_guarded.clj", "0.3"),
    "klm": ("klm_ensemble.clj", "0.3"),
    "trial": ("tech_momentum_guarded.clj", "0.5 shadow"),
}
SHADOW = "trial"
NEW_BOOK = ("nuclear-two", "nuclear_energy_rotation.clj", "0.2")


def write_books(folder: Path, books: dict[str, tuple[str, str]]) -> None:
    lines = ["stages:", "  dev:", "    capital-rebalance: none", "    books:"]
    for book, (strategy, share) in books.items():
        lines += [f"      - id: {book}", f"        strategy: {strategy}"]
        lines += [f"        share: {share.split()[0]}"]
        lines += ["        mode: shadow"] if share.endswith("shadow") else []
    (folder / "books.yaml").write_text("\n".join(lines) + "\n")


def trading_days() -> list[date]:
    prices = all_prices()
    days = [prices.day(i) for i in range(len(prices.dates))]
    return [d for d in days if d >= START][:DAYS]


def close(symbol: str, day: date) -> Decimal:
    prices = all_prices()
    row = int(np.searchsorted(prices.dates, np.datetime64(day, "D")))
    return to_decimal(float(prices.column(symbol)[row]))


class Recomputed:
    """Each book's NAV and TWR, recomputed from its own fills, transfers and the closes."""

    def __init__(self) -> None:
        self.cash: dict[str, Decimal] = {}
        self.qty: dict[str, dict[str, Decimal]] = {}
        self.nav: dict[str, Decimal] = {}
        self.growth: dict[str, Decimal] = {}

    def day(self, ledger: SQLiteLedger, day: date, run_ids: list[str]) -> dict[str, Decimal]:
        """Apply the day's transfers and fills; return each book's TWR since inception."""
        start: dict[str, Decimal] = {}
        end: dict[str, Decimal] = {}
        for t in ledger.transfers_on(day):
            for book, sign in ((t.destination, 1), (t.source, -1)):
                if book.startswith("_"):
                    continue
                self.cash[book] = self.cash.get(book, ZERO) + sign * t.amount
                flows = end if t.reason is TransferReason.RETIRE else start
                flows[book] = flows.get(book, ZERO) + sign * t.amount
        for run_id in run_ids:
            for f in ledger.fills(run_id):
                assert f.cash is not None
                self.cash[f.book_id] = self.cash.get(f.book_id, ZERO) + f.cash
                held = self.qty.setdefault(f.book_id, {})
                signed = f.qty if f.side is OrderSide.BUY else -f.qty
                held[f.symbol] = held.get(f.symbol, ZERO) + signed
        returns: dict[str, Decimal] = {}
        for book in self.cash:
            value = sum((q * close(s, day) for s, q in self.qty.get(book, {}).items()), ZERO)
            nav = (self.cash[book] + value).quantize(Decimal("0.01"))
            base = self.nav.get(book, ZERO) + start.get(book, ZERO)
            if base > 0:
                r = (nav - end.get(book, ZERO)) / base
                self.growth[book] = self.growth.get(book, Decimal(1)) * r
            self.nav[book] = nav
            returns[book] = self.growth.get(book, Decimal(1)) - 1
        return returns


@pytest.mark.slow
def test_forty_days_of_books_with_their_own_capital(tmp_path: Path) -> None:
    folder = tmp_path / "strategies"
    shutil.copytree(REPO_ROOT / "strategies", folder)
    write_books(folder, BOOKS)
    home = tmp_path / "home"
    settings = make_settings(home, strategies_dir=folder)
    recomputed = Recomputed()
    tech_lots_before: dict[str, Decimal] = {}
    shadow_fills = 0
    for n, day in enumerate(trading_days(), start=1):
        if n == DEPOSIT_DAY:
            SimulatedBroker(home / "broker.sqlite3", all_prices()).deposit(DEPOSIT)
        if n == REMOVE_DAY:
            write_books(folder, {b: v for b, v in BOOKS.items() if b != "tech"})
            tech_lots_before = positions_of(SQLiteLedger(home / "ledger.sqlite3").open_lots("tech"))
            assert tech_lots_before, "the removed book must hold something to exit"
        if n == ADD_DAY:
            kept = {b: v for b, v in BOOKS.items() if b != "tech"}
            write_books(folder, kept | {NEW_BOOK[0]: (NEW_BOOK[1], NEW_BOOK[2])})
        local = run_cycle(settings, REPO_ROOT, day=day, faults=FaultPlan())
        assert local.execution.status == "SUCCEEDED", (day, local.execution.error)
        ledger = SQLiteLedger(home / "ledger.sqlite3")
        broker = SimulatedBroker(home / "broker.sqlite3", all_prices())
        run_id = f"cycle-{day}-dev"
        check_the_account_adds_up(ledger, broker, day)
        check_the_shadow_book_never_reached_the_broker(ledger, run_id)
        shadow_fills += sum(f.book_id == SHADOW for f in ledger.fills(run_id))
        returns = recomputed.day(ledger, day, [run_id])
        for book, twr in returns.items():
            snapshot = ledger.latest_snapshot(book, day)
            if snapshot is None or snapshot.trading_date != day:
                continue  # a retired book once settled is no longer snapshotted
            assert snapshot.equity == recomputed.nav[book], (day, book)
            assert snapshot.twr_inception is not None
            assert abs(snapshot.twr_inception - twr) < Decimal("1e-9"), (day, book)
        if n == DEPOSIT_DAY:
            deposit = [t for t in ledger.transfers_on(day) if t.reason is TransferReason.DEPOSIT]
            assert [(t.destination, t.amount) for t in deposit] == [(POOL, DEPOSIT)]
            assert ledger.account_snapshots()[-1].flows == DEPOSIT
        if n == REMOVE_DAY:
            check_the_removed_book_was_exited_by_itself(ledger, run_id, tech_lots_before)
        if n == ADD_DAY:
            funded = [t for t in ledger.transfers_on(day) if t.destination == NEW_BOOK[0]]
            assert [(t.source, t.reason) for t in funded] == [(POOL, TransferReason.FUND)]
            assert ledger.latest_snapshot(NEW_BOOK[0], day) is not None
    assert shadow_fills > 0, "the shadow book must have traded (virtually)"


def check_the_shadow_book_never_reached_the_broker(ledger: SQLiteLedger, run_id: str) -> None:
    assert all(a.book_id != SHADOW for o in ledger.orders(run_id) for a in o.allocations)
    fills = [f for f in ledger.fills(run_id) if f.book_id == SHADOW]
    assert all(f.source is FillSource.VIRTUAL and f.client_order_id is None for f in fills)


def check_the_account_adds_up(ledger: SQLiteLedger, broker: SimulatedBroker, day: date) -> None:
    account = broker.account()
    cash = {b: c for b, c in ledger.cash_accounts().items() if b != SHADOW}
    assert account.cash == sum(cash.values(), ZERO), day
    snapshot = ledger.account_snapshots()[-1]
    assert snapshot.trading_date == day
    assert snapshot.broker_equity == account.equity and snapshot.difference == 0, day
    navs = [ledger.latest_snapshot(b, day) for b in ledger.book_ids() if b != SHADOW]
    today = [s for s in navs if s is not None and s.trading_date == day]
    positions = sum(len(s.positions) for s in today)
    total = cash.get(POOL, ZERO) + sum((s.equity for s in today), ZERO)
    assert abs(account.equity - total) <= Decimal("0.005") * max(1, positions), day


def check_the_removed_book_was_exited_by_itself(
    ledger: SQLiteLedger, run_id: str, held: dict[str, Decimal]
) -> None:
    fills = ledger.fills(run_id)
    sold = {f.symbol: f.qty for f in fills if f.book_id == "tech"}
    assert all(f.side is OrderSide.SELL for f in fills if f.book_id == "tech")
    assert sold == held  # every share, by its own fills
    assert positions_of(ledger.open_lots("tech")) == {}
    assert ledger.cash_accounts().get("tech", ZERO) == 0
    retired = [t for t in ledger.transfers_on(fills[0].trading_date) if t.source == "tech"]
    assert [t.reason for t in retired] == [TransferReason.RETIRE]
