"""Broker-side models: what any broker adapter returns and accepts.

Money and quantities are Decimal; an adapter converts its SDK's floats/strings once.
Enums are ``str`` enums with Alpaca's wire values.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Qty = Annotated[Decimal, Field(gt=0)]
Price = Annotated[Decimal, Field(gt=0)]
CLIENT_ORDER_ID_MAX = 48


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class OrderSide(StrEnum):
    BUY = "buy"
    SELL = "sell"


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"


class TimeInForce(StrEnum):
    DAY = "day"


class OrderStatus(StrEnum):
    NEW = "new"
    PENDING_NEW = "pending_new"
    ACCEPTED = "accepted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    DONE_FOR_DAY = "done_for_day"
    PENDING_CANCEL = "pending_cancel"
    CANCELED = "canceled"
    EXPIRED = "expired"
    REPLACED = "replaced"
    REJECTED = "rejected"
    SUSPENDED = "suspended"

    @property
    def terminal(self) -> bool:
        """Return True when the order can no longer fill."""
        return self in _TERMINAL


_TERMINAL = frozenset(
    {
        OrderStatus.FILLED,
        OrderStatus.CANCELED,
        OrderStatus.EXPIRED,
        OrderStatus.REPLACED,
        OrderStatus.REJECTED,
        OrderStatus.DONE_FOR_DAY,
    }
)


class Account(_Frozen):
    equity: Decimal
    cash: Decimal
    buying_power: Decimal
    trading_blocked: bool = False
    currency: str = "USD"


class CashActivityKind(StrEnum):
    """A cash move of the account that is not a trade (Alpaca's non-trade activities)."""

    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"
    FEE = "fee"
    INTEREST = "interest"
    DIVIDEND = "dividend"
    OTHER = "other"  # a type the books do not account for: left in the "unexplained" line


class CashActivity(_Frozen):
    """One non-trade cash move: ``amount`` signed (a withdrawal or a fee is < 0), in cents.

    A dividend names its ``symbol`` and, when the broker says, the ``qty`` of shares it
    was paid on and the ``per_share`` amount. ``broker_type`` is the broker's own code
    (Alpaca's ``activity_type``, e.g. ``DIVCGL``), empty on the simulated broker.
    """

    id: str
    day: date
    kind: CashActivityKind
    amount: Decimal
    symbol: str = ""  # a dividend's symbol
    qty: Decimal | None = None
    per_share: Decimal | None = None
    broker_type: str = ""


class Position(_Frozen):
    symbol: str
    qty: Decimal
    market_value: Decimal
    avg_entry_price: Decimal
    current_price: Decimal


class Quote(_Frozen):
    symbol: str
    bid: Decimal
    ask: Decimal
    timestamp: datetime

    @property
    def mid(self) -> Decimal:
        return (self.bid + self.ask) / 2

    @property
    def usable(self) -> bool:
        """Return True for a two-sided, uncrossed quote."""
        return self.bid > 0 and self.ask > 0 and self.ask >= self.bid


class AssetInfo(_Frozen):
    symbol: str
    tradable: bool
    fractionable: bool
    qty_places: int = Field(9, ge=0, le=9)  # fractional share precision the broker accepts
    price_tick: Decimal = Decimal("0.01")  # limit price increment (0.0001 under $1)
    min_notional: Decimal = Decimal("1")  # smallest fractional order the broker accepts


class MarketClock(_Frozen):
    timestamp: datetime
    is_open: bool
    next_open: datetime
    next_close: datetime


class TradingSession(_Frozen):
    """One trading day with its (timezone-aware) open and close; early closes included."""

    day: date
    open: datetime
    close: datetime


class _OrderRequest(_Frozen):
    symbol: str = Field(min_length=1, max_length=16)
    side: OrderSide
    qty: Qty
    client_order_id: str = Field(min_length=1, max_length=CLIENT_ORDER_ID_MAX)
    time_in_force: TimeInForce = TimeInForce.DAY


class MarketOrderRequest(_OrderRequest):
    type: Literal[OrderType.MARKET] = OrderType.MARKET


class LimitOrderRequest(_OrderRequest):
    type: Literal[OrderType.LIMIT] = OrderType.LIMIT
    limit_price: Price


OrderRequest = Annotated[MarketOrderRequest | LimitOrderRequest, Field(discriminator="type")]


class Order(_Frozen):
    """An order as the broker knows it now."""

    id: str
    client_order_id: str
    symbol: str
    side: OrderSide
    type: OrderType
    qty: Decimal
    limit_price: Decimal | None = None
    status: OrderStatus
    filled_qty: Decimal = Decimal(0)
    filled_avg_price: Decimal | None = None
    submitted_at: datetime
    updated_at: datetime
    reject_reason: str | None = None

    @model_validator(mode="after")
    def _fills_within_quantity(self) -> Order:
        if not Decimal(0) <= self.filled_qty <= self.qty:
            raise ValueError(f"filled_qty must be within [0, {self.qty}], was {self.filled_qty}")
        return self

    @property
    def remaining(self) -> Decimal:
        return self.qty - self.filled_qty
