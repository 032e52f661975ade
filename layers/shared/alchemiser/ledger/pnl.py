"""Profit and loss of a book (from its lots) and of the account (the sum of its books).

``realised`` is cumulative since the book opened (the ledger accumulates it fill by
fill); ``unrealised = sum((price - cost_price) * qty)`` over the open lots at the
given prices; ``total = realised + unrealised``. Per-book figures add up exactly to
the account's: the account is never computed some other way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

from alchemiser.cycle.models import Pnl
from alchemiser.errors import DataError
from alchemiser.ledger.models import Lot

ZERO = Decimal(0)


def unrealised_pnl(lots: Iterable[Lot], prices: Mapping[str, Decimal]) -> Decimal:
    """Sum ``(price - cost_price) * qty`` over the open lots.

    Raises:
        DataError: a symbol held in a lot has no price (fail closed: no guessed value).
    """
    total = ZERO
    for lot in lots:
        price = prices.get(lot.symbol)
        if price is None:
            raise DataError(
                f"expected a price for {lot.symbol} held by book {lot.book_id!r} "
                f"(lot {lot.lot_id!r}), found prices only for {sorted(prices)}"
            )
        total += (price - lot.cost_price) * lot.qty
    return total


def book_pnl(lots: Iterable[Lot], realised: Decimal, prices: Mapping[str, Decimal]) -> Pnl:
    """Return one book's P&L: its cumulative realised P&L plus its open lots marked at ``prices``."""
    unrealised = unrealised_pnl(lots, prices)
    return Pnl(realised=realised, unrealised=unrealised, total=realised + unrealised)


def account_pnl(book_pnls: Iterable[Pnl]) -> Pnl:
    """Sum the books' P&L into the account's (every component is a plain sum)."""
    realised = ZERO
    unrealised = ZERO
    for pnl in book_pnls:
        realised += pnl.realised
        unrealised += pnl.unrealised
    return Pnl(realised=realised, unrealised=unrealised, total=realised + unrealised)
