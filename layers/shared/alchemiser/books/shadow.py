"""Shadow books: planned like live books, filled virtually, never sent to the broker.

A book with ``mode: shadow`` in books.yaml is how a strategy is trialled before it is
given money (or run beside Composer). Every day it is evaluated and planned exactly like
a live book, on its own NAV; its planned trades are left out of netting, and Reconcile
fills them **virtually**: the whole quantity at the reference price through the
simulated broker's cost model (a buy at its ask plus slippage, a sell at its bid less
slippage: ``alchemiser.broker.simulated_market.price_book``), cash to the cent; on a day
the kill switch or drift blocks, nothing is filled, as for a live book. It is
funded once, on its first day, with **virtual capital** (its share of the account's
capital that day) from the outside, never from the pool.

Its NAV and returns are its own; it is excluded from drift (the broker never holds its
positions), from the account's NAV and from the capital policy, and reported apart.
The ledger remembers a shadow book by its snapshots' ``mode``, so a shadow book removed
from books.yaml is dropped, never "retired" through the broker.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from alchemiser.broker.models import OrderSide
from alchemiser.broker.simulated_market import SimulationConfig, price_book
from alchemiser.cycle.models import BookPlan, BookStatus
from alchemiser.ledger.models import FillRecord, FillSource
from alchemiser.ledger.port import Ledger
from alchemiser.money import to_cents

SHADOW = "shadow"


def virtual_fills(plan: BookPlan, trading_date: date, config: SimulationConfig) -> list[FillRecord]:
    """Return a shadow plan's trades filled in full at the simulated broker's prices."""
    if plan.status is not BookStatus.PLANNED:
        return []
    fills: list[FillRecord] = []
    for trade in plan.trades:
        book = price_book(trade.price, config)
        price = book.buy_fill if trade.side is OrderSide.BUY else book.sell_fill
        amount = to_cents(trade.qty * price)
        fills.append(
            FillRecord(
                fill_id=f"{plan.run_id}:V:{plan.book_id}:{trade.symbol}:{trade.side.value}",
                run_id=plan.run_id,
                trading_date=trading_date,
                book_id=plan.book_id,
                symbol=trade.symbol,
                side=trade.side,
                qty=trade.qty,
                price=price,
                source=FillSource.VIRTUAL,
                cash=-amount if trade.side is OrderSide.BUY else amount,
            )
        )
    return fills


def shadow_books(ledger: Ledger, configured: Iterable[str] = ()) -> frozenset[str]:
    """Return the configured shadow books and every book the ledger snapshotted as one."""
    found = set(configured)
    for book in ledger.book_ids():
        if book in found:
            continue
        last = ledger.latest_snapshot(book, date.max)
        if last is not None and last.mode == SHADOW:
            found.add(book)
    return frozenset(found)
