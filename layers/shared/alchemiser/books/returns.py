"""Daily time-weighted returns of each book and of the account, and their series.

A day's return takes the capital moved in or out as a flow, not as performance:

    r_t = (NAV_t - flows at the end of the day) / (NAV_{t-1} + flows at the start) - 1

A capital transfer decided by the cycle before it trades (a new book's funding, a
capital rebalance, the opening of the books' cash) is a start-of-day flow; a retired
book giving its cash back to the pool after it is flat is an end-of-day flow. The hedge
book's funding (``HEDGE``: decided in PlanCycle) is a start-of-day flow of the books
that pay it and of the hedge book: a book's NAV falls by its part of the hedge's cost,
and that is not its strategy's performance; the hedge's premium and proceeds
(``OPTION``) are the hedge book's performance. A **dividend** paid to a book on what it
held is its **performance**, never a flow: it earned it. For the account, deposits and
withdrawals are the flows (start of day: the cycle reads them before it trades); fees,
interest and dividends are performance. Every transfer reason is exactly one of these
to a book (``BOOK_FLOWS``, ``BOOK_PERFORMANCE``, or ``POOL_ONLY``: moves that never
touch a book). The return since inception chains the daily returns:
``prod(1 + r_t) - 1``.

Returns begin when a book (or the account) first has a base: a new book on the day it
is funded; a book of a ledger upgraded from before books kept their own cash on the day
after the upgrade (its earlier snapshots hold no returns). A day whose base is not
positive (a book with nothing) has no return (None) and leaves the chain unchanged.

For the dashboard and the portfolio backtest: :func:`book_series` and
:func:`account_series` read the daily NAV and TWR series from the ledger.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from alchemiser.ledger.models import EXTERNAL, POOL, Transfer, TransferReason
from alchemiser.ledger.port import Ledger
from alchemiser.money import ZERO

RETURN_PLACES = Decimal("1e-12")
START_OF_DAY = frozenset(
    {
        TransferReason.OPENING,
        TransferReason.FUND,
        TransferReason.SCHEDULED,
        TransferReason.DRIFT,
        TransferReason.HEDGE,
    }
)
END_OF_DAY = frozenset({TransferReason.RETIRE})
BOOK_FLOWS = START_OF_DAY | END_OF_DAY
BOOK_PERFORMANCE = frozenset({TransferReason.DIVIDEND, TransferReason.OPTION})
POOL_ONLY = frozenset(
    {
        TransferReason.DEPOSIT,
        TransferReason.WITHDRAWAL,
        TransferReason.FEE,
        TransferReason.INTEREST,
        TransferReason.UNEXPLAINED,
    }
)
ACCOUNT_FLOWS = frozenset(
    {TransferReason.OPENING, TransferReason.DEPOSIT, TransferReason.WITHDRAWAL}
)


def day_return(
    previous_nav: Decimal, nav: Decimal, start_flows: Decimal, end_flows: Decimal = ZERO
) -> Decimal | None:
    """Return the day's time-weighted return (None when the day has no positive base)."""
    base = previous_nav + start_flows
    if not base > 0:
        return None
    return ((nav - end_flows) / base - 1).quantize(RETURN_PLACES)


def chain(inception: Decimal | None, day: Decimal | None) -> Decimal:
    """Return the return since inception after one more day (None so far: 0)."""
    before = inception if inception is not None else ZERO
    if day is None:
        return before
    return ((1 + before) * (1 + day) - 1).quantize(RETURN_PLACES)


def book_flows(book_id: str, transfers: Iterable[Transfer]) -> tuple[Decimal, Decimal]:
    """Return a book's (start-of-day, end-of-day) capital flows among ``transfers``."""
    start, end = ZERO, ZERO
    for t in transfers:
        signed = t.amount if t.destination == book_id else -t.amount
        if book_id not in (t.source, t.destination):
            continue
        if t.reason in START_OF_DAY:
            start += signed
        elif t.reason in END_OF_DAY:
            end += signed
        # else a dividend or an option cash flow (BOOK_PERFORMANCE): in the NAV, not a flow
    return start, end


def account_flows(transfers: Iterable[Transfer]) -> Decimal:
    """Return the day's deposits less withdrawals (the opening counts as a deposit)."""
    total = ZERO
    for t in transfers:
        if t.reason not in ACCOUNT_FLOWS:
            continue
        if t.source == EXTERNAL and t.destination != EXTERNAL:
            total += t.amount
        elif t.destination == EXTERNAL and t.source != EXTERNAL:
            total -= t.amount
    return total


def is_upgrade_day(transfers: Iterable[Transfer]) -> bool:
    """Tell whether these transfers open the cash of books that already existed."""
    return any(
        t.reason is TransferReason.OPENING
        and POOL in (t.source, t.destination)
        and not {t.source, t.destination} <= {POOL, EXTERNAL}
        for t in transfers
    )


@dataclass(frozen=True)
class DailyPoint:
    """One day of a NAV and return series."""

    day: date
    nav: Decimal
    flows: Decimal  # capital in (< 0: out) that day
    twr_day: Decimal | None
    twr_inception: Decimal | None


def book_series(ledger: Ledger, book_id: str) -> list[DailyPoint]:
    """Return a book's daily NAV, capital flows and TWR series, oldest first."""
    return [
        DailyPoint(s.trading_date, s.equity, s.transfers, s.twr_day, s.twr_inception)
        for s in ledger.snapshots(book_id)
    ]


def account_series(ledger: Ledger) -> list[DailyPoint]:
    """Return the account's daily NAV (pool + live books), flows and TWR series, oldest first."""
    return [
        DailyPoint(s.trading_date, s.nav, s.flows, s.twr_day, s.twr_inception)
        for s in ledger.account_snapshots()
    ]
