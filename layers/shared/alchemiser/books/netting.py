"""Net the books' trades into one broker order per symbol, keeping who wanted what.

Per symbol, over the books whose plan is PLANNED (held and failed books add nothing):

* ``net = sum(buys) - sum(sells)``. A positive net is one BUY order, a negative one
  one SELL order, zero no order at all. The order quantity is ``|net|`` rounded DOWN
  to the asset's precision (whole shares when not fractionable); whatever rounding
  leaves out stays untraded and is reported in ``warnings`` (when the whole net rounds
  to zero there is no order).
* The smaller side is passed to the larger side inside the account (``Cross``): every
  book on the smaller side is crossed completely, and the crossed quantity is spread
  over the larger side's books pro rata to their quantities (``split_pro_rata``), so a
  partial market fill later hits those books in the same proportion. Sellers are then
  matched to buyers in book-id order; each (seller, buyer) pair appears at most once.
* Every book's intended trade stays on the order as a ``BookAllocation`` (both sides),
  so ``sum(signed allocations) == signed net``, and crosses add zero.
* Books never share cash: each book's buys were capped by its own cash when planned;
  netting only moves shares between books, at one price per symbol (the order's
  average fill price, or the reference price when nothing fills; see attribution).

``notional_saved`` = sum of the books' trade notionals - sum of the orders' notionals.
"""

from __future__ import annotations

import decimal
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal

from alchemiser.books.client_ids import client_order_id
from alchemiser.books.planning import trade_notional
from alchemiser.broker.models import AssetInfo, OrderSide
from alchemiser.cycle.models import (
    BookPlan,
    BookStatus,
    BookTrade,
    Cross,
    NetOrder,
    NettingSummary,
    OrderPlan,
)
from alchemiser.errors import DataError
from alchemiser.ledger.models import BookAllocation, OrderPhase
from alchemiser.money import ZERO, round_down


def split_pro_rata(total: Decimal, caps: Mapping[str, Decimal], places: int) -> dict[str, Decimal]:
    """Split ``total`` over ``caps`` pro rata, each share rounded down to ``places``.

    The rounding remainder goes to the largest cap (ties: the smallest key), then, if it
    would pass that cap, on to the next largest: shares add up exactly to ``total`` and
    none exceeds its cap. Requires ``0 <= total <= sum(caps)``.
    """
    whole = sum(caps.values(), ZERO)
    if any(c < 0 for c in caps.values()) or not ZERO <= total <= whole:
        raise ValueError(
            f"expected 0 <= total <= sum of caps >= 0, found {total} over {dict(caps)}"
        )
    if total == whole:
        return dict(caps)
    with decimal.localcontext(rounding=decimal.ROUND_DOWN):
        shares = {k: min(round_down(total * c / whole, places), c) for k, c in caps.items()}
    remainder = total - sum(shares.values(), ZERO)
    for key in sorted(caps, key=lambda k: (-caps[k], k)):
        if remainder <= 0:
            break
        extra = min(remainder, caps[key] - shares[key])
        shares[key] += extra
        remainder -= extra
    return shares


def reference_prices(plans: Sequence[BookPlan]) -> dict[str, Decimal]:
    """Return the price each traded symbol was planned at; books must agree on it."""
    seen: dict[str, dict[str, Decimal]] = {}
    for trade in _planned_trades(plans):
        seen.setdefault(trade.symbol, {})[trade.book_id] = trade.price
    disagree = {s: by_book for s, by_book in seen.items() if len(set(by_book.values())) > 1}
    if disagree:
        raise DataError(f"books must plan a symbol at one reference price, found {disagree}")
    return {s: next(iter(by_book.values())) for s, by_book in sorted(seen.items())}


def _planned_trades(plans: Sequence[BookPlan]) -> list[BookTrade]:
    return [t for p in plans if p.status is BookStatus.PLANNED for t in p.trades]


def _check_plans(run_id: str, plans: Sequence[BookPlan]) -> None:
    ids = [p.book_id for p in plans]
    duplicates = sorted({b for b in ids if ids.count(b) > 1})
    foreign = sorted({p.run_id for p in plans} - {run_id})
    misfiled = [(p.book_id, t.book_id) for p in plans for t in p.trades if t.book_id != p.book_id]
    pairs = [(t.book_id, t.symbol) for t in _planned_trades(plans)]
    repeated = sorted({pair for pair in pairs if pairs.count(pair) > 1})
    problems = [
        f"one plan per book, found duplicates {duplicates}" if duplicates else "",
        f"plans of run {run_id}, found runs {foreign}" if foreign else "",
        f"trades filed under their own book, found (plan, trade) {misfiled}" if misfiled else "",
        f"one trade per book and symbol, found repeats {repeated}" if repeated else "",
    ]
    if any(problems):
        raise ValueError("netting expects " + "; ".join(p for p in problems if p))


def _market_inputs(
    symbols: list[str], assets: Mapping[str, AssetInfo], prices: Mapping[str, Decimal]
) -> None:
    no_price = [s for s in symbols if not prices.get(s, ZERO) > 0]
    no_asset = [s for s in symbols if s not in assets]
    if no_price or no_asset:
        raise DataError(
            "every traded symbol needs a positive reference price and asset details; "
            f"missing prices for {no_price}, asset details for {no_asset}"
        )


def _crosses(
    symbol: str, sells: dict[str, Decimal], buys: dict[str, Decimal], places: int
) -> list[Cross]:
    """Cross the smaller side completely against the larger side, pro rata over its books."""
    crossed = min(sum(sells.values(), ZERO), sum(buys.values(), ZERO))
    if crossed == 0:
        return []
    if sum(buys.values(), ZERO) >= sum(sells.values(), ZERO):
        sells, buys = dict(sells), split_pro_rata(crossed, buys, places)
    else:
        sells, buys = split_pro_rata(crossed, sells, places), dict(buys)
    sellers = [(b, q) for b, q in sorted(sells.items()) if q > 0]
    buyers = [(b, q) for b, q in sorted(buys.items()) if q > 0]
    seller_left = [q for _, q in sellers]
    buyer_left = [q for _, q in buyers]
    crosses: list[Cross] = []
    i = j = 0
    while i < len(sellers) and j < len(buyers):
        qty = min(seller_left[i], buyer_left[j])
        crosses.append(Cross(symbol=symbol, qty=qty, seller=sellers[i][0], buyer=buyers[j][0]))
        seller_left[i] -= qty
        buyer_left[j] -= qty
        if seller_left[i] == 0:
            i += 1
        if buyer_left[j] == 0:
            j += 1
    return crosses


def _order(
    run_id: str,
    trading_date: date,
    symbol: str,
    trades: list[BookTrade],
    asset: AssetInfo,
    price: Decimal,
) -> tuple[NetOrder | None, list[str]]:
    """Return the symbol's net broker order (None when nothing goes to market) and warnings."""
    net = sum((t.qty if t.side is OrderSide.BUY else -t.qty for t in trades), ZERO)
    if net == 0:
        return None, []
    side = OrderSide.BUY if net > 0 else OrderSide.SELL
    places = asset.qty_places if asset.fractionable else 0
    qty = round_down(abs(net), places)
    unit = "whole shares" if places == 0 else f"{places} decimal places"
    books = ", ".join(sorted(t.book_id for t in trades if t.side is side))
    if qty == 0:
        return None, [
            f"{symbol}: net {side.value} of {abs(net)} rounds to 0 {unit}: no order; "
            f"{abs(net)} stays untraded for books {books}"
        ]
    warnings = []
    if qty < abs(net):
        warnings.append(
            f"{symbol}: net {side.value} of {abs(net)} rounded down to {qty} ({unit}); "
            f"{abs(net) - qty} stays untraded for books {books}"
        )
    if qty != qty.to_integral_value() and qty * price < asset.min_notional:
        warnings.append(
            f"{symbol}: fractional {side.value} of ${qty * price:.2f} is below the broker's "
            f"minimum of ${asset.min_notional}; the broker may reject it"
        )
    phase = OrderPhase.BUY if side is OrderSide.BUY else OrderPhase.SELL
    allocations = [BookAllocation(book_id=t.book_id, side=t.side, qty=t.qty) for t in trades]
    order = NetOrder(
        client_order_id=client_order_id(run_id, phase, symbol, side),
        run_id=run_id,
        trading_date=trading_date,
        phase=phase,
        symbol=symbol,
        side=side,
        qty=qty,
        ref_price=price,
        fractionable=asset.fractionable,
        allocations=sorted(allocations, key=lambda a: a.book_id),
    )
    return order, warnings


def net_book_trades(
    run_id: str,
    trading_date: date,
    plans: Sequence[BookPlan],
    assets: Mapping[str, AssetInfo],
    prices: Mapping[str, Decimal],
    *,
    blocked_reason: str = "",
) -> OrderPlan:
    """Net the planned books' trades into SELL and BUY phase orders, with crosses and allocations."""
    _check_plans(run_id, plans)
    trades = _planned_trades(plans)
    by_symbol: dict[str, list[BookTrade]] = {}
    for trade in sorted(trades, key=lambda t: (t.symbol, t.book_id)):
        by_symbol.setdefault(trade.symbol, []).append(trade)
    book_notional = sum((t.notional for t in trades), ZERO)
    if blocked_reason:
        summary = NettingSummary(book_trades=len(trades), orders=0, notional_saved=ZERO)
        return OrderPlan(
            run_id=run_id, trading_date=trading_date, netting=summary, blocked_reason=blocked_reason
        )
    _market_inputs(sorted(by_symbol), assets, prices)
    orders: list[NetOrder] = []
    crosses: list[Cross] = []
    warnings: list[str] = []
    for symbol, symbol_trades in by_symbol.items():
        asset = assets[symbol]
        order, notes = _order(run_id, trading_date, symbol, symbol_trades, asset, prices[symbol])
        sells = {t.book_id: t.qty for t in symbol_trades if t.side is OrderSide.SELL}
        buys = {t.book_id: t.qty for t in symbol_trades if t.side is OrderSide.BUY}
        crosses += _crosses(symbol, sells, buys, asset.qty_places if asset.fractionable else 0)
        orders += [order] if order is not None else []
        warnings += notes
    order_notional = sum((trade_notional(o.qty, o.ref_price) for o in orders), ZERO)
    return OrderPlan(
        run_id=run_id,
        trading_date=trading_date,
        sell_orders=[o for o in orders if o.phase is OrderPhase.SELL],
        buy_orders=[o for o in orders if o.phase is OrderPhase.BUY],
        crosses=crosses,
        netting=NettingSummary(
            book_trades=len(trades),
            orders=len(orders),
            notional_saved=book_notional - order_notional,
        ),
        warnings=warnings,
    )
