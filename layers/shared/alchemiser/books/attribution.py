"""Turn each netted order's execution into fills of the books that wanted it.

For one symbol with a broker order (see netting):

* **Crosses** complete whatever the market did, at the order's average fill price, or
  at its reference price when nothing filled. The seller book records a SELL and the
  buyer book a BUY of the crossed quantity, at the same price, so no cash is created.
* **The market fill** belongs to the books on the order's side, pro rata to what each
  still needed from the market (its allocation minus what it received by crossing),
  each share rounded down to the asset's precision; the rounding remainder goes to
  the largest need first, never beyond any book's need (``split_pro_rata``). The
  market quantities add up exactly to ``filled_qty``.
* Books on the other side were crossed completely at planning time; the crosses must
  say so, or the inputs are inconsistent and a ValueError says how.

A crossed symbol without an order (the books' trades cancelled out, or the net rounded
to zero) completes its crosses at the reference price.

Fill ids are deterministic so recording them twice is a no-op (``Ledger.record_fills``):
``{client_order_id}:{book_id}`` for market fills and
``{run_id}:X:{symbol}:{seller}->{buyer}:s`` / ``...:b`` for the seller's and the
buyer's side of a cross (one cross yields two fills, and fill ids are unique).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal

from alchemiser.books.netting import split_pro_rata
from alchemiser.broker.models import OrderSide
from alchemiser.cycle.models import Cross, NetOrder, OrderPlan, OrderResult
from alchemiser.errors import DataError
from alchemiser.ledger.models import FillRecord, FillSource
from alchemiser.money import ZERO

FRACTIONAL_PLACES = 9  # the broker's finest quantity precision (AssetInfo.qty_places max)


def cross_fills(
    run_id: str, trading_date: date, crosses: Sequence[Cross], price: Decimal
) -> list[FillRecord]:
    """Return both sides of each cross (all of one symbol) as fills at ``price``."""
    if not price > 0:
        raise ValueError(f"a cross price must be > 0, was {price}")
    symbols = sorted({c.symbol for c in crosses})
    if len(symbols) > 1:
        raise ValueError(f"crosses at one price must share a symbol, found {symbols}")
    fills: list[FillRecord] = []
    for cross in crosses:
        base = f"{run_id}:X:{cross.symbol}:{cross.seller}->{cross.buyer}"
        for book_id, side in ((cross.seller, OrderSide.SELL), (cross.buyer, OrderSide.BUY)):
            fills.append(
                FillRecord(
                    fill_id=f"{base}:{side.value[0]}",
                    run_id=run_id,
                    trading_date=trading_date,
                    book_id=book_id,
                    symbol=cross.symbol,
                    side=side,
                    qty=cross.qty,
                    price=price,
                    source=FillSource.CROSS,
                )
            )
    return fills


def _market_needs(order: NetOrder, crosses: Sequence[Cross]) -> dict[str, Decimal]:
    """Return what each book on the order's side needed from the market; check the rest."""
    received: dict[str, Decimal] = {}
    for cross in crosses:
        book = cross.buyer if order.side is OrderSide.BUY else cross.seller
        other = cross.seller if order.side is OrderSide.BUY else cross.buyer
        received[book] = received.get(book, ZERO) + cross.qty
        received[other] = received.get(other, ZERO) - cross.qty
    needs: dict[str, Decimal] = {}
    problems: list[str] = []
    for allocation in order.allocations:
        got = received.pop(allocation.book_id, ZERO)
        if allocation.side is order.side:
            needs[allocation.book_id] = allocation.qty - got
            if got < 0 or got > allocation.qty:
                problems.append(f"{allocation.book_id} crossed {got} of its {allocation.qty}")
        elif -got != allocation.qty:
            problems.append(f"{allocation.book_id} crossed {-got} of its {allocation.qty}")
    problems += [
        f"{book} crossed {abs(got)} without an allocation" for book, got in received.items()
    ]
    if problems:
        raise ValueError(
            f"order {order.client_order_id} ({order.side.value} {order.symbol}) expects the "
            f"other side crossed completely and its own side at most its allocation: {'; '.join(problems)}"
        )
    return needs


def attribute_fills(
    order: NetOrder,
    filled_qty: Decimal,
    avg_price: Decimal | None,
    crosses: Sequence[Cross],
    *,
    qty_places: int | None = None,
) -> list[FillRecord]:
    """Return the per-book fills of one netted order: its market fill shares and its crosses.

    ``crosses`` may be the whole plan's; only the order's symbol is used. ``qty_places``
    is the asset's quantity precision (default: 9 when fractionable, else whole shares).
    """
    if not ZERO <= filled_qty <= order.qty:
        raise ValueError(f"filled_qty must be within [0, {order.qty}], was {filled_qty}")
    if filled_qty > 0 and (avg_price is None or not avg_price > 0):
        raise ValueError(f"a fill of {filled_qty} needs an average price > 0, was {avg_price}")
    mine = [c for c in crosses if c.symbol == order.symbol]
    needs = _market_needs(order, mine)
    if filled_qty > sum(needs.values(), ZERO):
        raise ValueError(
            f"filled_qty {filled_qty} exceeds what the books needed from the market: {needs}"
        )
    places = (
        qty_places if qty_places is not None else (FRACTIONAL_PLACES if order.fractionable else 0)
    )
    price = avg_price if filled_qty > 0 and avg_price is not None else order.ref_price
    fills = [
        FillRecord(
            fill_id=f"{order.client_order_id}:{book_id}",
            run_id=order.run_id,
            trading_date=order.trading_date,
            book_id=book_id,
            symbol=order.symbol,
            side=order.side,
            qty=qty,
            price=price,
            source=FillSource.MARKET,
            client_order_id=order.client_order_id,
        )
        for book_id, qty in sorted(split_pro_rata(filled_qty, needs, places).items())
        if qty > 0
    ]
    return fills + cross_fills(order.run_id, order.trading_date, mine, price)


def attribute_order_plan(
    plan: OrderPlan, results: Sequence[OrderResult], prices: Mapping[str, Decimal]
) -> list[FillRecord]:
    """Return every book fill of a run: each order's result (none: nothing filled) and crosses.

    ``prices`` gives the reference price of crossed symbols that had no broker order.
    """
    by_id = {r.client_order_id: r for r in results}
    fills: list[FillRecord] = []
    ordered: set[str] = set()
    for order in plan.sell_orders + plan.buy_orders:
        result = by_id.get(order.client_order_id)
        filled = result.filled_qty if result is not None else ZERO
        avg = result.avg_price if result is not None else None
        fills += attribute_fills(order, filled, avg, plan.crosses)
        ordered.add(order.symbol)
    unordered = [c for c in plan.crosses if c.symbol not in ordered]
    return fills + attribute_crosses(plan.run_id, plan.trading_date, unordered, prices)


def attribute_crosses(
    run_id: str, trading_date: date, crosses: Sequence[Cross], prices: Mapping[str, Decimal]
) -> list[FillRecord]:
    """Return the fills of crosses whose symbol had no broker order, at ``prices[symbol]``."""
    missing = sorted({c.symbol for c in crosses if not prices.get(c.symbol, ZERO) > 0})
    if missing:
        raise DataError(
            f"crossed symbols without an order need a reference price, missing {missing}"
        )
    fills: list[FillRecord] = []
    for symbol in sorted({c.symbol for c in crosses}):
        mine = [c for c in crosses if c.symbol == symbol]
        fills += cross_fills(run_id, trading_date, mine, prices[symbol])
    return fills
