"""Option models shared by every options adapter (Alpaca and the simulated market).

Money (strikes, quotes, limits, fill prices) is Decimal; greeks and implied vols are
floats (model outputs, not money). Quantities are whole contracts. Symbols are OCC
symbols without padding, as Alpaca writes them: ``QQQ260918P00440000`` is the QQQ
put expiring 2026-09-18 at strike 440.000 (strike x 1000 in eight digits).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator

from alchemiser.broker.models import CLIENT_ORDER_ID_MAX, OrderSide, OrderStatus

CONTRACT_MULTIPLIER = 100  # shares per listed US equity option contract
MAX_LEGS = 4  # Alpaca's limit for an mleg order
_OCC = re.compile(r"^(?P<root>[A-Z]{1,6})(?P<date>\d{6})(?P<right>[CP])(?P<strike>\d{8})$")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class OptionRight(StrEnum):
    CALL = "call"
    PUT = "put"


class PositionIntent(StrEnum):
    BUY_TO_OPEN = "buy_to_open"
    BUY_TO_CLOSE = "buy_to_close"
    SELL_TO_OPEN = "sell_to_open"
    SELL_TO_CLOSE = "sell_to_close"

    @property
    def side(self) -> OrderSide:
        return OrderSide.BUY if self.value.startswith("buy") else OrderSide.SELL

    @property
    def opens(self) -> bool:
        return self.value.endswith("open")


class OccSymbol(_Frozen):
    """The parts of an OCC option symbol."""

    underlying: str
    expiry: date
    right: OptionRight
    strike: Decimal

    @property
    def symbol(self) -> str:
        return occ_symbol(self.underlying, self.expiry, self.right, self.strike)


def occ_symbol(underlying: str, expiry: date, right: OptionRight, strike: Decimal) -> str:
    """Return the OCC symbol of a contract (strike to a tenth of a cent)."""
    thousandths = strike * 1000
    if thousandths != thousandths.to_integral_value() or not 0 < thousandths < 10**8:
        raise ValueError(f"strike must be in (0, 100000) to 0.001, was {strike}")
    if not re.fullmatch(r"[A-Z]{1,6}", underlying):
        raise ValueError(f"underlying must be 1-6 capital letters, was {underlying!r}")
    return f"{underlying}{expiry:%y%m%d}{right.value[0].upper()}{int(thousandths):08d}"


def parse_occ(symbol: str) -> OccSymbol:
    """Return the parts of an OCC symbol; raise ValueError naming what is wrong."""
    found = _OCC.fullmatch(symbol)
    if found is None:
        raise ValueError(f"expected an OCC option symbol like QQQ260918P00440000, found {symbol!r}")
    text = found["date"]
    expiry = date(2000 + int(text[:2]), int(text[2:4]), int(text[4:]))
    right = OptionRight.CALL if found["right"] == "C" else OptionRight.PUT
    strike = Decimal(int(found["strike"])) / 1000  # exact: 440000 -> 440, 612500 -> 612.5
    return OccSymbol(underlying=found["root"], expiry=expiry, right=right, strike=strike)


class OptionContract(_Frozen):
    """A listed contract as the contracts endpoint knows it (no quotes, no greeks)."""

    symbol: str
    underlying: str
    expiry: date
    strike: Decimal = Field(gt=0)
    right: OptionRight
    multiplier: int = Field(CONTRACT_MULTIPLIER, gt=0)
    tradable: bool = True
    open_interest: int | None = Field(None, ge=0)
    open_interest_date: date | None = None


class Greeks(_Frozen):
    delta: float
    gamma: float
    theta: float
    vega: float


class OptionSnapshot(_Frozen):
    """The latest quote, implied volatility and greeks of one contract."""

    symbol: str
    bid: Decimal = Field(ge=0)
    ask: Decimal = Field(ge=0)
    quote_time: datetime
    implied_vol: float | None = None
    greeks: Greeks | None = None

    @property
    def mid(self) -> Decimal:
        return (self.bid + self.ask) / 2


class OptionLeg(_Frozen):
    """One leg of an option order: ``ratio`` contracts per unit of the order's quantity."""

    symbol: str = Field(min_length=1, max_length=21)
    intent: PositionIntent
    ratio: int = Field(1, ge=1)

    @property
    def side(self) -> OrderSide:
        return self.intent.side


class OptionOrderRequest(_Frozen):
    """A DAY limit order for one contract or one multi-leg combination (never market).

    ``limit_price`` is per share of one unit: for one leg the contract's price (> 0);
    for several legs the net price of the combination, positive for a net debit and
    negative for a net credit (Alpaca's mleg convention).
    """

    client_order_id: str = Field(min_length=1, max_length=CLIENT_ORDER_ID_MAX)
    legs: tuple[OptionLeg, ...] = Field(min_length=1, max_length=MAX_LEGS)
    qty: int = Field(gt=0)
    limit_price: Decimal

    @model_validator(mode="after")
    def _valid_combination(self) -> OptionOrderRequest:
        symbols = [leg.symbol for leg in self.legs]
        if len(set(symbols)) != len(symbols):
            raise ValueError(f"legs must name distinct contracts, were {symbols}")
        if len(self.legs) == 1:
            if self.legs[0].ratio != 1:
                raise ValueError("a single-leg order has ratio 1; put the size in qty")
            if self.limit_price <= 0:
                raise ValueError(f"a single-leg limit price must be > 0, was {self.limit_price}")
        return self

    @property
    def multi_leg(self) -> bool:
        return len(self.legs) > 1


class OptionLegFill(_Frozen):
    """What one leg of an order filled (contracts, average price per share)."""

    symbol: str
    side: OrderSide
    intent: PositionIntent | None = None  # Alpaca may leave it out
    ratio: int = Field(ge=1)
    filled_qty: int = Field(ge=0)
    filled_avg_price: Decimal | None = None


ContractCount = Annotated[int, Field(ge=0)]


class _HasSide(Protocol):
    @property
    def side(self) -> OrderSide: ...


def option_debit(legs: Sequence[_HasSide], units: int, limit_price: Decimal) -> Decimal:
    """Return the most cash ``units`` of an order can pay at ``limit_price`` (0: a credit).

    One leg pays when it buys; several legs pay when their net limit is a debit (> 0).
    """
    single = len(legs) == 1
    paying = legs[0].side is OrderSide.BUY if single else limit_price > 0
    if not paying or units <= 0:
        return Decimal(0)
    return (abs(limit_price) * units * CONTRACT_MULTIPLIER).quantize(Decimal("0.01"))


class OptionOrder(_Frozen):
    """An option order as the broker knows it now.

    ``filled_qty`` counts units of the order (spreads for a multi-leg order) and
    ``filled_avg_price`` is the net price per share of one unit, signed like
    ``limit_price``.
    """

    id: str
    client_order_id: str
    legs: tuple[OptionLegFill, ...] = Field(min_length=1, max_length=MAX_LEGS)
    qty: int = Field(gt=0)
    limit_price: Decimal
    status: OrderStatus
    filled_qty: ContractCount = 0
    filled_avg_price: Decimal | None = None
    submitted_at: datetime
    updated_at: datetime
    reject_reason: str | None = None

    @model_validator(mode="after")
    def _fills_within_quantity(self) -> OptionOrder:
        if self.filled_qty > self.qty:
            raise ValueError(f"filled_qty must be at most {self.qty}, was {self.filled_qty}")
        return self

    @property
    def remaining(self) -> int:
        return self.qty - self.filled_qty

    def matches(self, request: OptionOrderRequest) -> bool:
        """Return True when this order is what ``request`` asks for."""
        legs = tuple((leg.symbol, leg.side, leg.ratio) for leg in self.legs)
        wanted = tuple((leg.symbol, leg.side, leg.ratio) for leg in request.legs)
        return (
            self.client_order_id == request.client_order_id
            and sorted(legs) == sorted(wanted)
            and self.qty == request.qty
            and self.limit_price == request.limit_price
        )


class OptionPosition(_Frozen):
    """A held contract: ``qty`` > 0 long, < 0 short; prices per share."""

    symbol: str
    qty: int
    avg_entry_price: Decimal
    current_price: Decimal | None = None
