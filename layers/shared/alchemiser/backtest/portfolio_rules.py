"""The live planner's and netting's rules on arrays: one day, every book at once.

The portfolio backtest cannot call :func:`alchemiser.books.planning.plan_book_rebalance`
(Decimal, one book at a time) for sixteen books over fifteen years in seconds, so this
module applies the same rules to float arrays. A test checks it against the planner on
sampled days of a real backtest.

Every book owns a contiguous run of **slots**, one per ticker its symphony can hold;
``values[s]`` is the dollar value of slot ``s`` at today's close and ``weights[s]`` its
target weight. For a book that trades today (rules of ``books.planning``):

* ``target = weight x NAV x deployment_pct``; a slot held but no longer targeted is
  **exited** whole, never held back for being small;
* other sells are the excess ``value - target`` when positive, held when smaller than
  ``min(min_trade_notional, min_trade_fraction x NAV)``;
* buys want ``target - value`` when positive; when they add up to more than the book's
  cash plus its sell proceeds they are all scaled by the same factor; a scaled buy
  smaller than the minimum is held (and with nothing to spend every buy is held).

Quantities are not rounded to the broker's nine decimal places (a difference below a
billionth of a share). Netting (``books.netting``): per symbol, the books' quantities
add up to one order; the order fills at the simulated broker's market price (the
close plus half the spread, then the slippage, for a buy; minus for a sell) and
**every** book's trade in that symbol settles at that one price, the crossed part
included, so the account pays the costs of the net order only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from alchemiser.books.planning import PlanningSettings

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.intp]

BASIS_POINT = 1e-4


@dataclass(frozen=True)
class CostModel:
    """The simulated broker's market-order price: close +/- half the spread, then slippage.

    ``spread_bps`` is the full quoted spread around the close, ``slippage_bps`` the extra
    cost of a market fill (``SimulationConfig``). Ticks are not rounded to.
    """

    spread_bps: float = 2.0
    slippage_bps: float = 1.0

    def __post_init__(self) -> None:
        for name, value in (("spread_bps", self.spread_bps), ("slippage_bps", self.slippage_bps)):
            if not (np.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be finite and >= 0, was {value}")

    @property
    def buy_factor(self) -> float:
        """Return a market buy's fill price as a multiple of the close."""
        return (1.0 + self.spread_bps * BASIS_POINT / 2) * (1.0 + self.slippage_bps * BASIS_POINT)

    @property
    def sell_factor(self) -> float:
        """Return a market sell's fill price as a multiple of the close."""
        return (1.0 - self.spread_bps * BASIS_POINT / 2) * (1.0 - self.slippage_bps * BASIS_POINT)

    def describe(self) -> str:
        return (
            f"spread {self.spread_bps:g} bps, slippage {self.slippage_bps:g} bps "
            f"(a buy fills {(self.buy_factor - 1) / BASIS_POINT:.2f} bps above the close)"
        )


@dataclass(frozen=True)
class Slots:
    """Which book and which symbol each slot belongs to; a book's slots are contiguous."""

    book: IntArray  # book index of each slot
    symbol: IntArray  # symbol (column of the closes) of each slot
    first: IntArray  # first slot of each book
    books: int
    symbols: int

    def __post_init__(self) -> None:
        counts = np.bincount(self.book, minlength=self.books)
        if self.books and not bool((counts > 0).all()):
            raise ValueError("every book needs at least one slot (a ticker it can hold)")
        if len(self.book) > 1 and not bool(np.all(np.diff(self.book) >= 0)):
            raise ValueError("a book's slots must be contiguous, in book order")

    def per_book(self, values: FloatArray) -> FloatArray:
        """Return the sum of ``values`` over each book's slots."""
        return np.bincount(self.book, weights=values, minlength=self.books)

    def per_symbol(self, values: FloatArray) -> FloatArray:
        """Return the sum of ``values`` over each symbol's slots (all books)."""
        return np.bincount(self.symbol, weights=values, minlength=self.symbols)


def corridor_drift(
    slots: Slots, values: FloatArray, weights: FloatArray, nav: FloatArray, deployment: float
) -> FloatArray:
    """Return each book's largest ``|value / NAV - weight x deployment_pct|`` over its slots."""
    with np.errstate(divide="ignore", invalid="ignore"):
        gaps = np.abs(values / nav[slots.book] - weights * deployment)
    return np.maximum.reduceat(gaps, slots.first)


def rebalance_trades(
    slots: Slots,
    values: FloatArray,
    weights: FloatArray,
    cash: FloatArray,
    nav: FloatArray,
    trading: BoolArray,
    limits: PlanningSettings,
) -> FloatArray:
    """Return each slot's trade in dollars at the close (+ buy, - sell) for the trading books."""
    in_trade = trading[slots.book]
    book_nav = nav[slots.book]
    target = weights * book_nav * float(limits.deployment_pct)
    minimum = np.minimum(float(limits.min_trade_notional), float(limits.min_trade_fraction) * nav)[
        slots.book
    ]
    held = values > 0.0
    exits = in_trade & held & (weights <= 0.0)
    excess = values - target
    sells = np.where(exits, values, 0.0)
    trimmed = in_trade & held & ~exits & (excess > 0.0) & (excess >= minimum)
    sells = np.where(trimmed, excess, sells)
    budget = cash + slots.per_book(sells)
    wanted = np.where(in_trade & (weights > 0.0) & (target > values), target - values, 0.0)
    total = slots.per_book(wanted)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(total > budget, np.maximum(budget, 0.0) / total, 1.0)
    buys = wanted * scale[slots.book]
    buys = np.where((buys >= minimum) & (buys > 0.0), buys, 0.0)
    return buys - sells


@dataclass(frozen=True)
class Fills:
    """The day's trades after netting: per slot quantity and price; per symbol the order."""

    qty: FloatArray  # shares per slot (+ buy, - sell)
    price: FloatArray  # settlement price per slot (the symbol's order fill, or the close)
    order_qty: FloatArray  # net shares per symbol sent to the broker (+ buy, - sell)

    def cash_change(self) -> FloatArray:
        return -self.qty * self.price


def net_and_fill(slots: Slots, trades: FloatArray, closes: FloatArray, costs: CostModel) -> Fills:
    """Net the slots' trades into one order per symbol and settle every slot at its fill."""
    slot_close = closes[slots.symbol]
    with np.errstate(divide="ignore", invalid="ignore"):
        qty = np.where(trades != 0.0, trades / slot_close, 0.0)
    order = slots.per_symbol(qty)
    factor = np.where(order > 0.0, costs.buy_factor, np.where(order < 0.0, costs.sell_factor, 1.0))
    fill = np.where(np.isfinite(closes), closes, 0.0) * factor
    return Fills(qty=qty, price=fill[slots.symbol], order_qty=order)
