"""What a quote must look like before an order is priced on it, and where each step prices.

A quote is refused (the order fails closed, with the reason) when it is for another
symbol, one-sided, crossed, without a timezone, stale, stamped in the future, or
implausible: its spread wider than ``max_spread_bps`` of its mid, or its mid further
than ``max_deviation_bps`` from the order's reference price (the price it was planned
at). A bid of 0.01 against an ask of 1000 is refused on both counts, so it can never
price a 0.01 sell, nor let a market order hit it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from alchemiser.broker.models import OrderSide, Quote
from alchemiser.money import to_tick
from alchemiser.settings import Settings

BPS = Decimal(10_000)
MAX_QUOTE_AGE = timedelta(seconds=60)  # default; Settings.max_quote_age_s sets it per run
MAX_QUOTE_LEAD = timedelta(seconds=5)  # a quote further in the future means the clocks disagree


@dataclass(frozen=True)
class QuoteRules:
    """The limits a quote must be within; the defaults are the settings' defaults."""

    max_age: timedelta = MAX_QUOTE_AGE
    max_spread_bps: Decimal = Decimal("100")
    max_deviation_bps: Decimal = Decimal("500")

    @classmethod
    def from_settings(cls, settings: Settings) -> QuoteRules:
        return cls(
            max_age=timedelta(seconds=settings.max_quote_age_s),
            max_spread_bps=settings.max_spread_bps,
            max_deviation_bps=settings.max_quote_deviation_bps,
        )


def quote_problem(
    quote: Quote,
    symbol: str,
    now: datetime,
    rules: QuoteRules = QuoteRules(),  # frozen: one shared default is safe
    reference: Decimal | None = None,
) -> str:
    """Return why ``quote`` must not be traded on at ``now``, or "" when it is usable.

    ``reference`` is the price the order was planned at; None skips the distance check.
    """
    if quote.symbol != symbol:
        return f"asked for a {symbol} quote, the broker answered for {quote.symbol}"
    if quote.bid <= 0 or quote.ask <= 0:
        return f"one-sided {symbol} quote (bid {quote.bid}, ask {quote.ask}): no order on it"
    if quote.ask < quote.bid:
        return f"crossed {symbol} quote (bid {quote.bid} > ask {quote.ask}): no order on it"
    return _timing_problem(quote, symbol, now, rules.max_age) or _price_problem(
        quote, symbol, rules, reference
    )


def _timing_problem(quote: Quote, symbol: str, now: datetime, max_age: timedelta) -> str:
    if quote.timestamp.utcoffset() is None:
        return f"{symbol} quote time {quote.timestamp.isoformat()} has no timezone: no order on it"
    age = now - quote.timestamp
    if age > max_age:
        return (
            f"stale {symbol} quote: {age.total_seconds():.0f}s old at {now.isoformat()}, "
            f"expected at most {max_age.total_seconds():.0f}s"
        )
    if -age > MAX_QUOTE_LEAD:
        return (
            f"{symbol} quote is stamped {(-age).total_seconds():.0f}s after {now.isoformat()}: "
            "the broker's clock and ours disagree"
        )
    return ""


def _price_problem(quote: Quote, symbol: str, rules: QuoteRules, reference: Decimal | None) -> str:
    mid = quote.mid
    ref = "none" if reference is None else f"{reference}"
    seen = f"implausible {symbol} quote (bid {quote.bid}, ask {quote.ask}, reference price {ref})"
    spread_bps = (quote.ask - quote.bid) / mid * BPS
    if spread_bps > rules.max_spread_bps:
        return (
            f"{seen}: spread {spread_bps:.0f} bps of the mid {mid} exceeds max_spread_bps "
            f"{rules.max_spread_bps}: no order on it"
        )
    if reference is not None and reference > 0:
        distance_bps = abs(mid - reference) / reference * BPS
        if distance_bps > rules.max_deviation_bps:
            return (
                f"{seen}: mid {mid} is {distance_bps:.0f} bps from the reference price, more "
                f"than max_quote_deviation_bps {rules.max_deviation_bps}: no order on it"
            )
    return ""


def limit_price(side: OrderSide, quote: Quote, fraction: Decimal, tick: Decimal) -> Decimal:
    """Price ``fraction`` of the way from mid to the far side, on the tick grid toward it."""
    mid = quote.mid
    if side is OrderSide.BUY:
        return to_tick(mid + fraction * (quote.ask - mid), tick, up=True)
    return to_tick(mid - fraction * (mid - quote.bid), tick, up=False)
