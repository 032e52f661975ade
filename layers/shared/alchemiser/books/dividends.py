"""A dividend goes to the books that held the symbol, by their shares, to the cent.

The broker pays a dividend on the shares the account held at the ex-date. The books
entitled are those that held the symbol going into the activity's date: each live or
retired book's positions in its latest snapshot before that date (shadow books hold
nothing at the broker and get nothing). The cash (a withholding adjustment: a negative
amount, taken back the same way) is split by the **largest remainder**
(``alchemiser.books.cash.largest_remainder``) over

* each book's shares, and
* the pool's: the shares the broker was paid on (the activity's ``qty``) that no book
  held (the broker had more than the books), said in a warning.

When no book held the symbol, the whole dividend goes to the pool, said in a warning.
When the books held more than the broker was paid on, the cash is split over the books'
shares (each gets a little less than its shares x the rate), said in a warning.

Each part is a transfer with reason ``dividend`` (``activity:<id>:<book>`` to a book,
``activity:<id>`` to the pool), so each activity is credited once. A dividend is a
book's performance, never a flow (``alchemiser.books.returns``).

Alpaca's dividend activity names one date (``date``: when it occurred or settled, the
pay date in practice), not the ex-date: a book that traded the symbol between the
ex-date and that date is read as it stood the day before it, and the mismatch with the
broker's shares shows in the warning.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from decimal import Decimal

from alchemiser.books.cash import largest_remainder
from alchemiser.broker.models import CashActivity
from alchemiser.ledger.models import EXTERNAL, POOL, Transfer, TransferReason
from alchemiser.ledger.port import Ledger
from alchemiser.money import ZERO


def positions_before(
    ledger: Ledger, day: date, books: Iterable[str]
) -> dict[str, dict[str, Decimal]]:
    """Return each of ``books``' positions at its last snapshot before ``day`` (a book
    with none: left out)."""
    found: dict[str, dict[str, Decimal]] = {}
    for book in books:
        snapshot = ledger.latest_snapshot(book, day - timedelta(days=1))
        if snapshot is not None and snapshot.positions:
            found[book] = dict(snapshot.positions)
    return found


def holders(positions: Mapping[str, Mapping[str, Decimal]], symbol: str) -> dict[str, Decimal]:
    """Return the books of ``positions`` that hold ``symbol``, with their shares."""
    return {b: p[symbol] for b, p in positions.items() if p.get(symbol, ZERO) > 0}


def dividend_transfers(
    run_id: str, day: date, activity: CashActivity, held: Mapping[str, Decimal]
) -> tuple[list[Transfer], list[str]]:
    """Return the transfers that pay ``activity`` to the books in ``held`` and the pool,
    and the warnings that say where the books' shares and the broker's differ."""
    books = {b: q for b, q in held.items() if q > 0}
    held_total = sum(books.values(), ZERO)
    paid_on = activity.qty if activity.qty is not None and activity.qty > 0 else held_total
    name = f"{activity.broker_type or 'dividend'} {activity.id} of {activity.symbol}"
    warnings: list[str] = []
    weights = dict(books)
    if held_total == 0:
        weights = {POOL: Decimal(1)}
        warnings.append(
            f"{name} (${activity.amount:,.2f}): no book held {activity.symbol} before "
            f"{activity.day}; it goes to the pool"
        )
    elif paid_on > held_total:
        weights[POOL] = paid_on - held_total
        warnings.append(
            f"{name}: the broker was paid on {paid_on} shares, the books held {held_total}; "
            f"the pool gets the part of the {paid_on - held_total} shares no book held"
        )
    elif paid_on < held_total:
        warnings.append(
            f"{name}: the books held {held_total} shares, the broker was paid on {paid_on}; "
            "split over the books' shares"
        )
    parts = largest_remainder(abs(activity.amount), weights)
    rate = f", ${activity.per_share} a share" if activity.per_share is not None else ""
    of = f"{name} on {activity.day} (${activity.amount:,.2f}{rate})"
    transfers = [
        _part(
            run_id,
            day,
            activity,
            account,
            amount,
            f"{of}: {books[account]} of {paid_on} shares"
            if account in books
            else f"{of}: the shares no book held",
        )
        for account, amount in sorted(parts.items())
        if amount > 0
    ]
    return transfers, warnings


def _part(
    run_id: str, day: date, activity: CashActivity, account: str, amount: Decimal, detail: str
) -> Transfer:
    inward = activity.amount > 0
    return Transfer(
        transfer_id=(
            f"activity:{activity.id}" if account == POOL else f"activity:{activity.id}:{account}"
        ),
        trading_date=day,
        source=EXTERNAL if inward else account,
        destination=account if inward else EXTERNAL,
        amount=amount,
        reason=TransferReason.DIVIDEND,
        detail=detail,
        run_id=run_id,
    )
