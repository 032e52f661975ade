"""The market side of the simulated broker: its config, session hours, quotes and fills.

Sessions: XNYS hours from ``exchange_calendars`` (early closes included) for days XNYS
knows as sessions, else 09:30-16:00 America/New_York (synthetic weekday calendars).

Prices, from one day's close (the mark), all on Alpaca's tick grid:
- half spread h = mark x spread_bps / 2e4; bid = mark - h rounded down, ask = mark + h
  rounded up;
- a market buy fills at ask x (1 + slippage_bps/1e4) rounded up, a market sell at
  bid x (1 - slippage_bps/1e4) rounded down;
- a limit buy fills when limit >= mid + threshold x (ask - mid), at the lower of its
  limit and the market buy price; a limit sell when limit <= mid - threshold x
  (mid - bid), at the higher of its limit and the market sell price.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, cast

import exchange_calendars as xcals
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from alchemiser.broker.alpaca_mapping import NEW_YORK, QTY_PLACES
from alchemiser.broker.models import LimitOrderRequest, OrderRequest, OrderSide, TradingSession
from alchemiser.broker.ticks import tick_for_price
from alchemiser.money import to_tick
from alchemiser.settings import Settings

_BPS = Decimal(10_000)
_REGULAR_HOURS = (time(9, 30), time(16, 0))


class SimulationConfig(BaseModel):
    """How the simulated broker prices, fills and (for drills) fails."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    initial_cash: Decimal = Field(Decimal("100000"), ge=0)
    spread_bps: Decimal = Field(Decimal("2"), ge=0)  # full quoted spread around the close
    slippage_bps: Decimal = Field(Decimal("1"), ge=0)  # extra cost of a market fill
    fill_threshold: Decimal = Field(Decimal("0.5"), ge=0, le=1)  # of the half spread
    partial_fill_ratio: Decimal = Field(Decimal("1"), gt=0, le=1)
    non_fractionable: frozenset[str] = frozenset()
    reject_symbols: frozenset[str] = frozenset()
    fail_submit_times: int = Field(0, ge=0)  # first N submits raise, no order created
    fail_after_submit_times: int = Field(0, ge=0)  # first N new orders are created, then raise
    busy_timeout_s: float = Field(30.0, gt=0)

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: object) -> SimulationConfig:
        """Return the config of ``settings`` (its sim_* fields) with ``overrides`` applied."""
        values: dict[str, object] = {
            "initial_cash": settings.sim_initial_cash,
            "spread_bps": settings.sim_spread_bps,
            "slippage_bps": settings.sim_slippage_bps,
            "reject_symbols": settings.sim_reject_symbols,
            "non_fractionable": settings.sim_non_fractionable,
        }
        return cls.model_validate(values | overrides)


@dataclass(frozen=True)
class PriceBook:
    """One symbol's prices for one day."""

    mark: Decimal  # the day's close
    tick: Decimal
    bid: Decimal
    ask: Decimal
    buy_fill: Decimal  # where a market buy fills
    sell_fill: Decimal  # where a market sell fills

    @property
    def mid(self) -> Decimal:
        return (self.bid + self.ask) / 2


def price_book(mark: Decimal, config: SimulationConfig) -> PriceBook:
    """Return the quote and market fill prices around ``mark``."""
    tick = tick_for_price(mark)
    half = mark * config.spread_bps / _BPS / 2
    bid, ask = to_tick(mark - half, tick, up=False), to_tick(mark + half, tick, up=True)
    slip = config.slippage_bps / _BPS
    buy_fill = to_tick(ask * (1 + slip), tick, up=True)
    sell_fill = to_tick(bid * (1 - slip), tick, up=False)
    return PriceBook(mark, tick, bid, ask, buy_fill, sell_fill)


def fill_price(request: OrderRequest, book: PriceBook, threshold: Decimal) -> Decimal | None:
    """Return where ``request`` fills now, or None when a limit is not marketable enough."""
    buy = request.side is OrderSide.BUY
    if not isinstance(request, LimitOrderRequest):
        return book.buy_fill if buy else book.sell_fill
    limit = request.limit_price
    if buy:
        marketable = limit >= book.mid + threshold * (book.ask - book.mid)
        return min(limit, book.buy_fill) if marketable else None
    marketable = limit <= book.mid - threshold * (book.mid - book.bid)
    return max(limit, book.sell_fill) if marketable else None


def order_refusal(
    request: OrderRequest, book: PriceBook | None, config: SimulationConfig, day: date
) -> str | None:
    """Return why Alpaca's rules refuse ``request`` whatever the account holds, or None."""
    symbol, qty = request.symbol, request.qty
    limit = request.limit_price if isinstance(request, LimitOrderRequest) else None
    whole = qty == qty.to_integral_value()
    if symbol in config.reject_symbols:
        return f"{symbol} refuses orders (simulation config reject_symbols)"
    if book is None:
        return f"{symbol} is not tradable on {day}: no close in the simulated market"
    if _decimal_places(qty) > QTY_PLACES:
        return f"qty must have at most {QTY_PLACES} decimal places, was {qty}"
    if symbol in config.non_fractionable and not whole:
        return f"{symbol} is not fractionable: qty must be whole shares, was {qty}"
    if limit is not None and limit % tick_for_price(limit) != 0:
        return f"limit price must be a multiple of {tick_for_price(limit)}, was {limit}"
    if not whole and qty * book.mark < 1:
        return f"a fractional order must be worth at least $1, was {qty} x {book.mark}"
    return None


def _decimal_places(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def trading_session(day: date) -> TradingSession:
    """Return ``day``'s session: XNYS hours where XNYS knows it, else 09:30-16:00 ET."""
    known = _xnys_session(day)
    if known is not None:
        return TradingSession(day=day, open=known[0], close=known[1])
    opens, closes = (datetime.combine(day, t, NEW_YORK).astimezone(UTC) for t in _REGULAR_HOURS)
    return TradingSession(day=day, open=opens, close=closes)


def next_exchange_day(day: date) -> date:
    """Return the XNYS session after ``day`` where XNYS knows it, else the next weekday."""
    following = day + timedelta(days=1)
    while following.weekday() >= 5 or (_xnys_knows(following) and not _xnys_session(following)):
        following += timedelta(days=1)
    return following


@functools.cache
def _xnys() -> Any:
    # Built on first use, never at import time, then shared (about 0.15 s to build).
    return xcals.get_calendar("XNYS", start="1990-01-02")


def _xnys_knows(day: date) -> bool:
    return bool(_xnys().first_session <= pd.Timestamp(day) <= _xnys().last_session)


def _xnys_session(day: date) -> tuple[datetime, datetime] | None:
    stamp = pd.Timestamp(day)
    if not _xnys_knows(day) or not _xnys().is_session(stamp):
        return None
    opens = cast(datetime, _xnys().session_open(stamp).to_pydatetime())
    closes = cast(datetime, _xnys().session_close(stamp).to_pydatetime())
    return opens.astimezone(UTC), closes.astimezone(UTC)
