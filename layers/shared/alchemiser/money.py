"""Decimal money and quantities: conversions happen once, at the boundaries."""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal

CENT = Decimal("0.01")
ZERO = Decimal(0)


def to_decimal(value: float | int | str | Decimal) -> Decimal:
    """Convert an SDK/engine number to Decimal via its shortest repr (never binary noise)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"expected a finite number, found {value}")
        return Decimal(repr(value))
    return Decimal(value)


def round_down(value: Decimal, places: int) -> Decimal:
    """Round toward zero to ``places`` decimals (quantities: never sell or buy more than meant)."""
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_DOWN)


def to_cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_EVEN)


def to_tick(price: Decimal, tick: Decimal, *, up: bool) -> Decimal:
    """Round a price onto the tick grid, up (buys) or down (sells), so it stays marketable."""
    steps = (price / tick).to_integral_value(rounding="ROUND_CEILING" if up else "ROUND_FLOOR")
    return (steps * tick).quantize(tick)
