"""Limit price increments (Reg NMS rule 612, as Alpaca applies it), without alpaca-py.

Its own module so that the walk can round prices without importing alpaca-py, which
imports pandas: ExecuteOrder's handler loads it only with the Alpaca adapter, and
Notify, which shares the library, never.
"""

from __future__ import annotations

from decimal import Decimal

PENNY = Decimal("0.01")
SUB_PENNY = Decimal("0.0001")


def tick_for_price(price: Decimal) -> Decimal:
    """Return the limit price increment at ``price``: a cent, a hundredth of one under $1.

    Alpaca (like Reg NMS rule 612) refuses sub-penny limit prices at or above $1.00 and
    accepts four decimals below it.
    """
    return SUB_PENNY if price < 1 else PENNY
