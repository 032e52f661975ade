"""Each book's cash: its share of every broker fill, to the cent, summing to the broker's.

A book's cash is a ledger of cash movements, never account equity x share: its fills
(``FillRecord.cash``), its crosses with other books, and the transfers between it, the
pool and the outside (``alchemiser.ledger.models.Transfer``). This module says what
each fill is worth in cash:

* **A market fill**: the broker books each of its orders in cents (the simulated broker
  rounds each fill's qty x price half-even; ``OrderRecord.notional`` sums them over a
  walk's broker orders). The order's cents are split over its books pro rata to their
  filled quantities by the **largest remainder**: each book gets the floor of its exact
  share in cents, and the cents left over go one each to the largest fractional parts
  (ties: the book id). The books' amounts add up to the broker's exactly, so the cash
  of the books plus the pool always equals the broker's cash.
* **A cross**: the buyer pays and the seller receives ``qty x price`` rounded to the
  cent (half-even), the same amount on both sides: no cash is created or lost.

A buy's cash is negative, a sell's positive.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_FLOOR, Decimal

from alchemiser.broker.models import OrderSide
from alchemiser.ledger.models import FillRecord, FillSource
from alchemiser.money import CENT, ZERO, to_cents


def largest_remainder(total: Decimal, weights: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """Split ``total`` (cents, >= 0) over ``weights`` (>= 0, not all 0) to the cent, exactly.

    Each key gets the floor of its exact share; the cents left go one each to the
    largest fractional parts (ties: the smallest key).
    """
    if total < 0 or total != total.quantize(CENT):
        raise ValueError(f"expected a total >= 0 in whole cents, found {total}")
    whole = sum(weights.values(), ZERO)
    if any(w < 0 for w in weights.values()) or not whole > 0:
        raise ValueError(f"expected weights >= 0 with a positive sum, found {dict(weights)}")
    cents = int(total / CENT)
    exact = {k: Decimal(cents) * w / whole for k, w in weights.items()}
    floors = {k: int(v.to_integral_value(rounding=ROUND_FLOOR)) for k, v in exact.items()}
    left = cents - sum(floors.values())
    for key in sorted(exact, key=lambda k: (-(exact[k] - floors[k]), k))[:left]:
        floors[key] += 1
    return {k: Decimal(n) * CENT for k, n in floors.items()}


def cross_cash(qty: Decimal, price: Decimal) -> Decimal:
    """Return what one side of a cross is worth, in cents (the same for both sides)."""
    return to_cents(qty * price)


def with_cash(fills: Sequence[FillRecord], order_notional: Decimal | None) -> list[FillRecord]:
    """Return ``fills`` (one order's, or crosses only) each with its signed cash.

    The market fills share ``order_notional`` (the broker's cents for the order; None:
    their quantity x price rounded to the cent, for records made before the broker's
    cents were kept) by the largest remainder over their quantities.
    """
    market = [f for f in fills if f.source is FillSource.MARKET]
    amounts: dict[str, Decimal] = {}
    if market:
        total = (
            order_notional
            if order_notional is not None
            else to_cents(sum((f.qty * f.price for f in market), ZERO))
        )
        amounts = largest_remainder(total, {f.fill_id: f.qty for f in market})
    priced: list[FillRecord] = []
    for fill in fills:
        unsigned = amounts.get(fill.fill_id)
        if unsigned is None:
            unsigned = cross_cash(fill.qty, fill.price)
        signed = -unsigned if fill.side is OrderSide.BUY else unsigned
        priced.append(fill.model_copy(update={"cash": signed}))
    return priced
