"""Drift: the broker's positions against the sum of every book's lots."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from alchemiser.broker.models import OrderSide, Position
from alchemiser.cycle.models import DriftLine
from alchemiser.ledger.lots import positions_of
from alchemiser.ledger.port import Ledger
from alchemiser.money import to_cents


def books_total(ledger: Ledger, exclude: frozenset[str] = frozenset()) -> dict[str, Decimal]:
    """Return, per symbol, the quantity all books hold together (their open lots).

    ``exclude``: books whose positions the broker does not hold (shadow books).
    """
    total: dict[str, Decimal] = {}
    for book_id in ledger.book_ids():
        if book_id in exclude:
            continue
        for symbol, qty in positions_of(ledger.open_lots(book_id)).items():
            total[symbol] = total.get(symbol, Decimal(0)) + qty
    return total


def with_unreconciled_fills(
    expected: dict[str, Decimal], ledger: Ledger, run_id: str
) -> dict[str, Decimal]:
    """Add the fills of this run's orders that Reconcile has not yet put into the books."""
    out = dict(expected)
    reconciled = {f.client_order_id for f in ledger.fills(run_id)}
    for order in ledger.orders(run_id):
        if order.filled_qty and order.client_order_id not in reconciled:
            signed = order.filled_qty if order.side is OrderSide.BUY else -order.filled_qty
            out[order.symbol] = out.get(order.symbol, Decimal(0)) + signed
    return out


def measure_drift(
    expected: Mapping[str, Decimal], positions: list[Position], tolerance: Decimal = Decimal(0)
) -> list[DriftLine]:
    """Return every symbol whose broker quantity differs from ``expected`` by more than ``tolerance`` ($)."""
    actual = {p.symbol: p for p in positions}
    lines: list[DriftLine] = []
    for symbol in sorted(set(expected) | set(actual)):
        held = actual[symbol].qty if symbol in actual else Decimal(0)
        price = actual[symbol].current_price if symbol in actual else Decimal(0)
        books = expected.get(symbol, Decimal(0))
        diff = held - books
        if diff and (price == 0 or abs(diff * price) > tolerance):
            lines.append(
                DriftLine(
                    symbol=symbol, broker_qty=held, books_qty=books, notional=to_cents(diff * price)
                )
            )
    return lines
