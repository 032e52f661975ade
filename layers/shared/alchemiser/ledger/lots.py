"""FIFO lots: how fills become a book's open positions and its realised P&L.

Pure functions over immutable :class:`Lot` records; both ledger adapters call them,
so the accounting is written (and tested) once.

FIFO order: a sell consumes the book's oldest lots of the symbol first, oldest by
trading day; lots opened on the same day are taken in ``lot_id`` order. Fill ids
are deterministic, so every adapter, and every re-run, consumes the same lots.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal

from alchemiser.broker.models import OrderSide
from alchemiser.ledger.models import FillRecord, Lot

ZERO = Decimal(0)


class OversellError(Exception):
    """A sell asks for more shares than the book holds: the ledger and the fill disagree."""

    def __init__(self, fill: FillRecord, held: Decimal) -> None:
        self.book_id = fill.book_id
        self.symbol = fill.symbol
        self.held = held
        self.asked = fill.qty
        super().__init__(
            f"book {fill.book_id!r} cannot sell {fill.qty} {fill.symbol} (fill {fill.fill_id!r} "
            f"on {fill.trading_date}): it holds {held} in lots opened on or before that day; "
            "a book never sells another book's shares"
        )


class FillConflictError(Exception):
    """Two different fills share one fill id (fill ids must identify one fill, ledger-wide)."""


def fifo_key(lot: Lot) -> tuple[str, str, date, str]:
    """Order lots by book, symbol, then FIFO (oldest day first, then lot id)."""
    return (lot.book_id, lot.symbol, lot.opened_on, lot.lot_id)


def apply_fill(lots: Sequence[Lot], fill: FillRecord) -> tuple[list[Lot], Decimal]:
    """Apply one fill to the lots; return the lots after it and the P&L it realises.

    A buy opens a lot (``lot_id`` = ``fill_id``) at the fill price and realises
    nothing. A sell consumes the book's oldest lots of the symbol first and
    realises ``sum((sell price - lot cost) * qty consumed)``; a partly consumed lot
    keeps its remainder. Lots of other books and symbols are returned unchanged.
    The result is in :func:`fifo_key` order.

    Raises:
        OversellError: the sell asks for more than the book's lots opened on or
            before the fill's trading day hold.
        FillConflictError: the buy's lot id is already open in the book.
    """
    if fill.side is OrderSide.BUY:
        clash = [lot for lot in lots if lot.book_id == fill.book_id and lot.lot_id == fill.fill_id]
        if clash:
            raise FillConflictError(
                f"fill {fill.fill_id!r} would open lot {fill.fill_id!r} in book {fill.book_id!r}, "
                f"expected a new lot id, found it open already: {clash[0].model_dump(mode='json')}"
            )
        opened = Lot(
            book_id=fill.book_id,
            symbol=fill.symbol,
            lot_id=fill.fill_id,
            opened_on=fill.trading_date,
            qty=fill.qty,
            cost_price=fill.price,
        )
        return sorted([*lots, opened], key=fifo_key), ZERO
    return _sell(lots, fill)


def _sell(lots: Sequence[Lot], fill: FillRecord) -> tuple[list[Lot], Decimal]:
    def is_sold(lot: Lot) -> bool:
        return lot.book_id == fill.book_id and lot.symbol == fill.symbol

    others = [lot for lot in lots if not is_sold(lot)]
    held = sorted((lot for lot in lots if is_sold(lot)), key=fifo_key)
    eligible = sum((lot.qty for lot in held if lot.opened_on <= fill.trading_date), ZERO)
    if fill.qty > eligible:
        raise OversellError(fill, eligible)

    remaining_to_sell = fill.qty
    realised = ZERO
    kept: list[Lot] = []
    for lot in held:
        if remaining_to_sell == ZERO or lot.opened_on > fill.trading_date:
            kept.append(lot)
            continue
        consumed = min(lot.qty, remaining_to_sell)
        realised += (fill.price - lot.cost_price) * consumed
        remaining_to_sell -= consumed
        if consumed < lot.qty:
            kept.append(lot.model_copy(update={"qty": lot.qty - consumed}))
    return sorted([*others, *kept], key=fifo_key), realised


def apply_fills(lots: Sequence[Lot], fills: Iterable[FillRecord]) -> tuple[list[Lot], Decimal]:
    """Apply fills in order; return the final lots and the total P&L they realise."""
    current = list(lots)
    realised = ZERO
    for fill in fills:
        current, gained = apply_fill(current, fill)
        realised += gained
    return current, realised


def positions_of(lots: Iterable[Lot]) -> dict[str, Decimal]:
    """Sum the open quantity per symbol (over every lot given)."""
    positions: dict[str, Decimal] = {}
    for lot in lots:
        positions[lot.symbol] = positions.get(lot.symbol, ZERO) + lot.qty
    return positions


def cost_basis(lots: Iterable[Lot]) -> Decimal:
    """Sum ``qty * cost_price`` over the lots: what the open shares cost."""
    return sum((lot.qty * lot.cost_price for lot in lots), ZERO)


def ensure_same_fill(recorded: FillRecord, fill: FillRecord) -> None:
    """Accept a fill seen before only if it is the very same fill (fail closed otherwise).

    Raises:
        FillConflictError: the recorded fill with this id differs.
    """
    # A fill booked before books kept their own cash has none: the same fill otherwise.
    if recorded != fill and recorded != fill.model_copy(update={"cash": recorded.cash}):
        raise FillConflictError(
            f"fill {fill.fill_id!r} is already recorded as {recorded.model_dump(mode='json')}, "
            f"expected the same fill, found {fill.model_dump(mode='json')}"
        )
