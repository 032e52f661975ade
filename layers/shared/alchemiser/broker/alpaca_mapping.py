"""Alpaca's wire rules and the one place alpaca-py models become spine models.

alpaca-py hands back floats (quotes), strings (money and quantities), UUIDs, naive
Eastern-time datetimes (calendar) and its own enums. Each is converted here exactly
once: strings straight to Decimal (fractional quantities stay exact), floats through
``alchemiser.money.to_decimal``, times to timezone-aware UTC.

The simulated broker applies the same rules (``tick_for_price``, ``order_matches``) so
that both adapters accept and refuse the same orders.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from alpaca.data.models import Quote as AlpacaQuote
from alpaca.trading.models import Asset as AlpacaAsset
from alpaca.trading.models import Calendar as AlpacaCalendar
from alpaca.trading.models import Clock as AlpacaClock
from alpaca.trading.models import Order as AlpacaOrder
from alpaca.trading.models import Position as AlpacaPosition
from alpaca.trading.models import TradeAccount

from alchemiser.broker.errors import BrokerError
from alchemiser.broker.models import (
    Account,
    AssetInfo,
    LimitOrderRequest,
    MarketClock,
    Order,
    OrderRequest,
    OrderSide,
    OrderStatus,
    OrderType,
    Position,
    Quote,
    TradingSession,
)
from alchemiser.market.symbols import alpaca_symbol
from alchemiser.money import to_decimal

NEW_YORK = ZoneInfo("America/New_York")
QTY_PLACES = 9  # Alpaca accepts fractional quantities to 9 decimal places

# Alpaca statuses the spine does not name, mapped by what they mean for an executor:
# still working (wait, then cancel) or done for the day.
_WORKING = {"pending_replace", "pending_review", "accepted_for_bidding", "stopped", "held"}
_DONE = {"calculated"}


def order_matches(order: Order, request: OrderRequest) -> bool:
    """Return True when ``order`` is what ``request`` asks for (same id, same order)."""
    limit = request.limit_price if isinstance(request, LimitOrderRequest) else None
    return (
        order.client_order_id == request.client_order_id
        and order.symbol == request.symbol
        and order.side == request.side
        and order.type == request.type
        and order.qty == request.qty
        and order.limit_price == limit
    )


def submit_body(request: OrderRequest) -> dict[str, str]:
    """Return the JSON body of ``POST /v2/orders`` with exact decimal strings.

    alpaca-py's request models carry qty and limit_price as floats; posting strings
    (which the API documents) keeps a 9-decimal fractional quantity exact.
    """
    body = {
        "symbol": alpaca_symbol(request.symbol),
        "qty": _plain(request.qty),
        "side": request.side.value,
        "type": request.type.value,
        "time_in_force": request.time_in_force.value,
        "client_order_id": request.client_order_id,
    }
    if isinstance(request, LimitOrderRequest):
        body["limit_price"] = _plain(request.limit_price)
    return body


def account_from_alpaca(account: TradeAccount) -> Account:
    """Map an account; buying power never includes margin (the system does not borrow)."""
    cash = _required(account.cash, "account cash")
    powers = [Decimal(p) for p in (account.buying_power, account.non_marginable_buying_power) if p]
    return Account(
        equity=_required(account.equity, "account equity"),
        cash=cash,
        buying_power=min(powers, default=cash),
        trading_blocked=bool(account.trading_blocked or account.account_blocked),
        currency=account.currency or "USD",
    )


def position_from_alpaca(position: AlpacaPosition) -> Position:
    return Position(
        symbol=position.symbol.strip(),
        qty=Decimal(position.qty),
        market_value=_required(position.market_value, f"market value of {position.symbol}"),
        avg_entry_price=Decimal(position.avg_entry_price),
        current_price=_required(position.current_price, f"current price of {position.symbol}"),
    )


def clock_from_alpaca(clock: AlpacaClock) -> MarketClock:
    return MarketClock(
        timestamp=as_utc(clock.timestamp),
        is_open=clock.is_open,
        next_open=as_utc(clock.next_open),
        next_close=as_utc(clock.next_close),
    )


def session_from_alpaca(day: AlpacaCalendar) -> TradingSession:
    """Map a calendar day; alpaca-py parses its "HH:MM" Eastern times as naive datetimes."""
    return TradingSession(
        day=day.date,
        open=_eastern_to_utc(day.open),
        close=_eastern_to_utc(day.close),
    )


def asset_from_alpaca(asset: AlpacaAsset, price_tick: Decimal) -> AssetInfo:
    return AssetInfo(
        symbol=asset.symbol,
        tradable=bool(asset.tradable) and asset.status.value == "active",
        fractionable=bool(asset.fractionable),
        qty_places=QTY_PLACES,
        price_tick=price_tick,
    )


def quote_from_alpaca(symbol: str, quote: AlpacaQuote) -> Quote:
    """Map a latest quote (alpaca-py floats, converted once via their shortest repr)."""
    return Quote(
        symbol=symbol,
        bid=to_decimal(quote.bid_price),
        ask=to_decimal(quote.ask_price),
        timestamp=as_utc(quote.timestamp),
    )


def order_from_alpaca(order: AlpacaOrder) -> Order:
    """Map an order; refuse kinds the system never places (notional, stop, multi-leg)."""
    if order.symbol is None or order.side is None or order.type is None:
        raise BrokerError(f"order {order.id} is a multi-leg order: expected a simple order")
    if order.type.value not in {t.value for t in OrderType}:
        raise BrokerError(f"order {order.id} has type {order.type.value}: expected market or limit")
    if order.qty is None:
        raise BrokerError(f"order {order.id} was placed by notional: expected a quantity")
    filled_qty = _quantity(order.filled_qty) if order.filled_qty is not None else Decimal(0)
    return Order(
        id=str(order.id),
        client_order_id=order.client_order_id,
        symbol=order.symbol,
        side=OrderSide(order.side.value),
        type=OrderType(order.type.value),
        qty=_quantity(order.qty),
        limit_price=_quantity(order.limit_price) if order.limit_price is not None else None,
        status=order_status(order.status.value, filled_qty == _quantity(order.qty)),
        filled_qty=filled_qty,
        # Alpaca may report "0" before any fill: only a filled order has an average price.
        filled_avg_price=(
            _quantity(order.filled_avg_price)
            if filled_qty > 0 and order.filled_avg_price is not None
            else None
        ),
        submitted_at=as_utc(order.submitted_at),
        updated_at=as_utc(order.updated_at),
    )


def calendar_bounds(start: date, end: date) -> None:
    if start > end:
        raise ValueError(f"calendar start must be on or before end, was {start} > {end}")


def order_status(value: str, fully_filled: bool) -> OrderStatus:
    if value in _WORKING:
        return OrderStatus.ACCEPTED
    if value in _DONE:
        return OrderStatus.FILLED if fully_filled else OrderStatus.DONE_FOR_DAY
    try:
        return OrderStatus(value)
    except ValueError as error:
        raise BrokerError(f"unknown Alpaca order status {value!r}") from error


def _quantity(value: str | float) -> Decimal:
    return Decimal(value) if isinstance(value, str) else to_decimal(value)


def _required(value: str | None, what: str) -> Decimal:
    if value is None or value == "":
        raise BrokerError(f"Alpaca sent no {what}: expected a decimal string")
    return Decimal(value)


def _plain(value: Decimal) -> str:
    return format(value, "f")


def as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise BrokerError(f"Alpaca sent a timestamp without a timezone: {moment.isoformat()}")
    return moment.astimezone(UTC)


def _eastern_to_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=NEW_YORK).astimezone(UTC)
