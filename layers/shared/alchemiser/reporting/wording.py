"""Words for outcomes that mean what they say: a book's status after the day, an order's fill.

Both rules compare what filled with what was planned, in the unit the trade was capped
in. A buy is capped in dollars (its planned notional), and is deliberately left a little
short of it: its quantity was sized at the reference close while it fills at the ask
plus slippage, and the walk's market step keeps ``market_buy_buffer_bps`` (20 bps by
default) back for a slipped fill. So a buy is complete when the dollars it spent are
within ``BUY_SIZING_TOLERANCE`` (1 %) of its planned notional plus
``SMALLEST_ORDER_NOTIONAL``; a buy scaled down by the BUY gate or halted is not. A sell
is complete when what is left unsold is worth less than ``SMALLEST_ORDER_NOTIONAL``.
Anything less is partial, and says by how much.

* A book after Reconcile: ``traded`` (every planned trade complete), ``partially_traded``
  (some filled, not all), ``not_traded`` (trades were wanted, none filled: blocked,
  failed, or every trade held), ``on_target`` (nothing to trade); ``held`` and
  ``failed`` as planned. Never ``planned`` once the day is reconciled.
* An order: ``filled``, ``41.8 % filled``, or why nothing filled (``failed``,
  ``skipped``, ``not executed``).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_DOWN, Decimal

from alchemiser.broker.models import OrderSide
from alchemiser.cycle.models import BookPlan, BookStatus, BookTrade
from alchemiser.ledger.models import FillRecord, OrderState

SMALLEST_ORDER_NOTIONAL = Decimal("1")  # Alpaca's smallest fractional order, in dollars
BUY_SIZING_TOLERANCE = Decimal("0.01")  # > spread + slippage + market_buy_buffer_bps (tested)
_ZERO = Decimal(0)
_NOTHING_FILLED = {
    OrderState.PLANNED: "not executed",
    OrderState.SUBMITTED: "submitted, nothing filled",
    OrderState.FILLED: "filled nothing",  # not produced by the walk; said plainly if it were
    OrderState.PARTIALLY_FILLED: "filled nothing",
    OrderState.FAILED: "failed",
    OrderState.SKIPPED: "skipped",
}


def trade_complete(
    side: OrderSide, qty: Decimal, notional: Decimal, filled_qty: Decimal, spent: Decimal
) -> bool:
    """Say whether a trade of ``qty`` (planned at ``notional``) is done by what filled."""
    if filled_qty >= qty:
        return True
    if filled_qty <= 0:
        return False
    if side is OrderSide.BUY:
        return notional - spent < SMALLEST_ORDER_NOTIONAL + notional * BUY_SIZING_TOLERANCE
    return (qty - filled_qty) * (spent / filled_qty) < SMALLEST_ORDER_NOTIONAL


def settled_book_status(plan: BookPlan | None, run_fills: Sequence[FillRecord]) -> BookStatus:
    """Return a book's status once its day is reconciled, from its plan and the run's fills."""
    if plan is None:
        return BookStatus.FAILED
    if plan.status is not BookStatus.PLANNED:
        return plan.status
    if not plan.trades:
        return BookStatus.NOT_TRADED if plan.held else BookStatus.ON_TARGET
    fills = [f for f in run_fills if f.book_id == plan.book_id]
    done = [_trade_done(trade, fills) for trade in plan.trades]
    if all(complete for complete, _ in done):
        return BookStatus.TRADED
    if any(filled > 0 for _, filled in done):
        return BookStatus.PARTIALLY_TRADED
    return BookStatus.NOT_TRADED


def _trade_done(trade: BookTrade, fills: Sequence[FillRecord]) -> tuple[bool, Decimal]:
    mine = [f for f in fills if f.symbol == trade.symbol and f.side is trade.side]
    filled = sum((f.qty for f in mine), _ZERO)
    spent = sum((f.qty * f.price for f in mine), _ZERO)
    return trade_complete(trade.side, trade.qty, trade.notional, filled, spent), filled


def order_outcome(
    side: OrderSide,
    qty: Decimal,
    ref_price: Decimal | None,
    filled_qty: Decimal,
    avg_price: Decimal | None,
    state: OrderState,
) -> str:
    """Return what happened to an order in words that agree with its quantity and fill."""
    if filled_qty <= 0:
        return _NOTHING_FILLED[state]
    spent = filled_qty * (avg_price or _ZERO)
    notional = qty * ref_price if ref_price is not None else qty * (avg_price or _ZERO)
    if trade_complete(side, qty, notional, filled_qty, spent):
        return "filled"
    share = (filled_qty / qty * 100).quantize(Decimal("0.1"), rounding=ROUND_DOWN)
    return f"{share} % filled" if share > 0 else "under 0.1 % filled"
