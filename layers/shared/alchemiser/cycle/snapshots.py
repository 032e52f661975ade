"""End-of-day snapshots of each book and of the account, with their daily returns.

A book's NAV is its own cash (``Ledger.cash_accounts``) plus its lots at the day's
marks; the account's is the pool plus every book that is not a shadow (retired books
included: their positions and cash are still the account's) plus the hedge book's NAV
(its cash and its contracts at the day's mids, ``alchemiser.cycle.hedge_book``). Marks are the day's
closes exactly as the market data gives them (the simulated broker marks holdings at
the same closes), and the account values each symbol's total quantity once, rounded to
the cent as the broker does, so on the simulated broker ``broker equity = account NAV``
to the cent (``AccountSnapshot.difference`` is 0); per book, NAVs are rounded to the
cent each. Returns: ``alchemiser.books.returns``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal

from alchemiser.books.returns import (
    account_flows,
    book_flows,
    chain,
    day_return,
    is_upgrade_day,
)
from alchemiser.ledger.lots import positions_of
from alchemiser.ledger.models import POOL, AccountSnapshot, HedgeBookDay, Transfer
from alchemiser.ledger.port import Ledger
from alchemiser.money import ZERO, to_cents, to_decimal
from alchemiser.runtime import Dependencies


def marks(symbols: set[str], day: date, deps: Dependencies) -> dict[str, Decimal]:
    """Return each symbol's close on ``day`` (its last close up to ``day``), unrounded."""
    if not symbols:
        return {}
    ordered = sorted(symbols)
    history = deps.market.history(ordered, day)
    last = len(history.dates) - 1
    return {s: to_decimal(float(history.column(s)[last])) for s in ordered}


def market_value(positions: Mapping[str, Decimal], prices: Mapping[str, Decimal]) -> Decimal:
    return sum((q * prices[s] for s, q in positions.items()), ZERO)


def book_returns(
    ledger: Ledger, book_id: str, day: date, nav: Decimal, transfers: Sequence[Transfer]
) -> tuple[Decimal, Decimal | None, Decimal | None]:
    """Return the book's (capital moved today, twr_day, twr_inception) for a NAV of ``nav``."""
    start, end = book_flows(book_id, transfers)
    previous = ledger.latest_snapshot(book_id, day - timedelta(days=1))
    if previous is not None and previous.twr_inception is None:
        return start + end, None, ZERO  # upgraded: its returns begin at today's close
    previous_nav = previous.equity if previous is not None else ZERO
    today = day_return(previous_nav, nav, start, end)
    inception = chain(previous.twr_inception if previous is not None else None, today)
    return start + end, today, inception


def account_snapshot(
    run_id: str,
    day: date,
    deps: Dependencies,
    transfers: Sequence[Transfer],
    rebalanced: bool,
    shadow: frozenset[str] = frozenset(),
    hedge: HedgeBookDay | None = None,
) -> AccountSnapshot:
    """Value the account (pool + every non-shadow book + the hedge book) as the broker
    does; with returns."""
    ledger = deps.ledger
    accounts = ledger.cash_accounts()
    totals: dict[str, Decimal] = {}
    cash = accounts.get(POOL, ZERO)
    for book in ledger.book_ids():
        if book in shadow:
            continue
        cash += accounts.get(book, ZERO)
        for symbol, qty in positions_of(ledger.open_lots(book)).items():
            totals[symbol] = totals.get(symbol, ZERO) + qty
    prices = marks(set(totals), day, deps)
    nav = cash + sum((to_cents(q * prices[s]) for s, q in totals.items()), ZERO)
    nav += hedge.nav if hedge is not None else ZERO
    equity = deps.broker.account().equity
    flows = account_flows(transfers)
    history = [s for s in ledger.account_snapshots() if s.trading_date < day]
    previous = history[-1] if history else None
    if previous is None and is_upgrade_day(transfers):
        today, inception = None, ZERO  # the account's returns begin at the upgrade's close
    else:
        today = day_return(previous.nav if previous is not None else ZERO, nav, flows)
        inception = chain(previous.twr_inception if previous is not None else None, today)
    last_rebalance = previous.last_rebalance if previous is not None else None
    return AccountSnapshot(
        trading_date=day,
        run_id=run_id,
        pool=accounts.get(POOL, ZERO),
        nav=nav,
        broker_equity=equity,
        difference=equity - nav,
        flows=flows,
        twr_day=today,
        twr_inception=inception,
        last_rebalance=day if rebalanced else last_rebalance,
        hedge=hedge,
    )
