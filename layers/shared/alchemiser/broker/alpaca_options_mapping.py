"""Alpaca option wire shapes <-> the option models, converted once here.

Documented shapes this reads (alpaca-py 0.44 parses them into its models first):

* ``GET /v2/options/contracts`` -> ``{"option_contracts": [...], "next_page_token"}``;
  a contract has ``strike_price``, ``size``, ``open_interest`` (strings), ``type``,
  ``expiration_date``, ``status`` and ``tradable``. No quotes, no greeks.
* ``GET /v1beta1/options/snapshots/{underlying}`` -> ``{"snapshots": {symbol:
  {"latestQuote": {"bp", "ap", "t", ...}, "greeks": {...}, "impliedVolatility"}},
  "next_page_token"}``; a snapshot may lack its quote, greeks or IV.
* Orders: a simple option order has ``symbol``, ``side``, ``position_intent``; an
  ``mleg`` order has empty top-level ``symbol``/``side`` and ``legs`` with
  ``symbol``, ``side``, ``position_intent``, ``ratio_qty`` and each leg's fills; the
  parent's ``filled_avg_price`` is the net price per unit (a debit is positive).
* Positions: ``asset_class`` ``us_option``, ``qty`` in contracts (negative short).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from alpaca.data.models.snapshots import OptionsSnapshot
from alpaca.trading.models import OptionContract as AlpacaContract
from alpaca.trading.models import Order as AlpacaOrder
from alpaca.trading.models import Position as AlpacaPosition

from alchemiser.broker.alpaca_mapping import as_utc, order_status
from alchemiser.broker.errors import BrokerError
from alchemiser.broker.models import OrderSide
from alchemiser.broker.options_models import (
    Greeks,
    OptionContract,
    OptionLegFill,
    OptionOrder,
    OptionOrderRequest,
    OptionPosition,
    OptionRight,
    OptionSnapshot,
    PositionIntent,
)
from alchemiser.money import to_decimal


def contract_from_alpaca(contract: AlpacaContract) -> OptionContract:
    interest = contract.open_interest
    return OptionContract(
        symbol=contract.symbol,
        underlying=contract.underlying_symbol,
        expiry=contract.expiration_date,
        strike=to_decimal(contract.strike_price),
        right=OptionRight(contract.type.value),
        multiplier=int(Decimal(contract.size)),
        tradable=bool(contract.tradable) and contract.status.value == "active",
        open_interest=int(Decimal(interest)) if interest not in (None, "") else None,
        open_interest_date=contract.open_interest_date,
    )


def snapshot_from_alpaca(symbol: str, snapshot: OptionsSnapshot) -> OptionSnapshot | None:
    """Map a snapshot; None without a latest quote (nothing to trade on)."""
    quote = snapshot.latest_quote
    if quote is None:
        return None
    greeks = snapshot.greeks
    return OptionSnapshot(
        symbol=symbol,
        bid=max(to_decimal(quote.bid_price), Decimal(0)),
        ask=max(to_decimal(quote.ask_price), Decimal(0)),
        quote_time=as_utc(quote.timestamp),
        implied_vol=snapshot.implied_volatility,
        greeks=(
            Greeks(delta=greeks.delta, gamma=greeks.gamma, theta=greeks.theta, vega=greeks.vega)
            if greeks is not None
            else None
        ),
    )


def _contracts(value: str | float | None, what: str) -> int:
    """Return a whole number of contracts; refuse fractions (options trade whole)."""
    if value is None or value == "":
        return 0
    number = Decimal(value) if isinstance(value, str) else to_decimal(value)
    if number != number.to_integral_value():
        raise BrokerError(f"{what} is {number} contracts: options trade in whole contracts")
    return int(number)


def _price(value: str | float | None) -> Decimal | None:
    if value is None or value == "":
        return None
    return Decimal(value) if isinstance(value, str) else to_decimal(value)


def _leg(order: AlpacaOrder, ratio: int) -> OptionLegFill:
    if order.symbol is None or order.side is None:
        raise BrokerError(f"option order {order.id} has a leg without a symbol or side")
    filled = _contracts(order.filled_qty, f"leg {order.symbol} filled_qty")
    intent = order.position_intent
    return OptionLegFill(
        symbol=order.symbol,
        side=OrderSide(order.side.value),
        intent=PositionIntent(intent.value) if intent is not None else None,
        ratio=ratio,
        filled_qty=filled,
        filled_avg_price=_price(order.filled_avg_price) if filled else None,
    )


def option_order_from_alpaca(order: AlpacaOrder) -> OptionOrder:
    """Map an option order (simple or mleg); refuse anything else."""
    qty = _contracts(order.qty, f"order {order.id} qty")
    if order.order_class.value == "mleg":
        if not order.legs:
            raise BrokerError(f"mleg order {order.id} came without its legs")
        legs = tuple(_leg(leg, _contracts(leg.ratio_qty, "ratio_qty") or 1) for leg in order.legs)
    else:
        if order.asset_class is not None and order.asset_class.value != "us_option":
            raise BrokerError(
                f"order {order.id} is a {order.asset_class.value} order, not an option order"
            )
        legs = (_leg(order, 1),)
    limit = _price(order.limit_price)
    if limit is None:
        raise BrokerError(
            f"option order {order.id} has no limit price: the hedge only places limits"
        )
    filled = _contracts(order.filled_qty, f"order {order.id} filled_qty")
    return OptionOrder(
        id=str(order.id),
        client_order_id=order.client_order_id,
        legs=legs,
        qty=qty,
        limit_price=limit,
        status=order_status(order.status.value, filled == qty),
        filled_qty=filled,
        filled_avg_price=_price(order.filled_avg_price) if filled else None,
        submitted_at=as_utc(order.submitted_at),
        updated_at=as_utc(order.updated_at),
    )


def option_position_from_alpaca(position: AlpacaPosition) -> OptionPosition | None:
    """Map a position; None for anything but an option."""
    if position.asset_class.value != "us_option":
        return None
    qty = _contracts(position.qty, f"position {position.symbol}")
    if position.side is not None and position.side.value == "short" and qty > 0:
        qty = -qty
    return OptionPosition(
        symbol=position.symbol.strip(),
        qty=qty,
        avg_entry_price=Decimal(position.avg_entry_price),
        current_price=_price(position.current_price),
    )


def option_order_body(request: OptionOrderRequest) -> Mapping[str, object]:
    """Return the JSON body of ``POST /v2/orders``: a simple order, or ONE mleg order."""
    body: dict[str, object] = {
        "qty": str(request.qty),
        "type": "limit",
        "time_in_force": "day",
        "limit_price": format(request.limit_price, "f"),
        "client_order_id": request.client_order_id,
    }
    if not request.multi_leg:
        leg = request.legs[0]
        body |= {"symbol": leg.symbol, "side": leg.side.value, "position_intent": leg.intent.value}
        return body
    body["order_class"] = "mleg"
    body["legs"] = [
        {
            "symbol": leg.symbol,
            "ratio_qty": str(leg.ratio),
            "side": leg.side.value,
            "position_intent": leg.intent.value,
        }
        for leg in request.legs
    ]
    return body
