"""Execute one netted order: walk the book with limit orders, then a market order.

For step ``k`` of ``settings.limit_steps`` (fractions of the half-spread, mid -> far
side) the walk fetches a fresh quote, prices a DAY limit order at
``mid + f * (ask - mid)`` for a buy (``mid - f * (mid - bid)`` for a sell) rounded
onto the asset's tick toward the far side, submits it for the remaining quantity
under client id ``step_client_order_id(base, k)``, polls it until it is done or
``step_timeout_s`` has passed, cancels the rest and waits until the broker confirms.
Partial fills carry forward; a market order for what is left comes last, under the
id of step ``len(limit_steps)``.

Re-runs are safe: before any submit the step's client id is looked up at the broker,
and an order found there is used (polled to its original deadline, then canceled)
instead of being placed again. The ledger record is rewritten after every step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from alchemiser.books.client_ids import step_client_order_id
from alchemiser.broker.errors import BrokerError, OrderRejectedError
from alchemiser.broker.models import (
    AssetInfo,
    LimitOrderRequest,
    MarketOrderRequest,
    Order,
    OrderRequest,
    OrderSide,
    OrderStatus,
    Quote,
)
from alchemiser.broker.port import Broker
from alchemiser.cycle.models import ExecuteOrderRequest, NetOrder, OrderResult
from alchemiser.execution.clock import Clock
from alchemiser.execution.limits import kill_switch_reason
from alchemiser.ledger.models import OrderRecord, OrderState
from alchemiser.ledger.port import Ledger
from alchemiser.money import ZERO, round_down, to_tick
from alchemiser.settings import Settings

MAX_QUOTE_AGE = timedelta(seconds=60)  # default; Settings.max_quote_age_s sets it per run
MAX_QUOTE_LEAD = timedelta(seconds=5)  # a quote further in the future means the clocks disagree


def walk_client_order_ids(base: str, limit_steps: int) -> tuple[str, ...]:
    """Return the client ids of every broker order of one walk: the limit steps, then market."""
    return tuple(step_client_order_id(base, k) for k in range(limit_steps + 1))


def quote_problem(
    quote: Quote, symbol: str, now: datetime, max_age: timedelta = MAX_QUOTE_AGE
) -> str:
    """Return why ``quote`` must not be traded on at ``now``, or "" when it is usable."""
    if quote.symbol != symbol:
        return f"asked for a {symbol} quote, the broker answered for {quote.symbol}"
    if quote.bid <= 0 or quote.ask <= 0:
        return f"one-sided {symbol} quote (bid {quote.bid}, ask {quote.ask}): no order on it"
    if quote.ask < quote.bid:
        return f"crossed {symbol} quote (bid {quote.bid} > ask {quote.ask}): no order on it"
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


def limit_price(side: OrderSide, quote: Quote, fraction: Decimal, tick: Decimal) -> Decimal:
    """Price ``fraction`` of the way from mid to the far side, on the tick grid toward it."""
    mid = quote.mid
    if side is OrderSide.BUY:
        return to_tick(mid + fraction * (quote.ask - mid), tick, up=True)
    return to_tick(mid - fraction * (mid - quote.bid), tick, up=False)


def execute_order(
    request: ExecuteOrderRequest, broker: Broker, ledger: Ledger, settings: Settings, clock: Clock
) -> OrderResult:
    """Walk the book for one netted order and return what filled.

    A rejection or a bad quote ends the order (FAILED or PARTIALLY_FILLED, with the
    reason); the kill switch skips it. ``TransientBrokerError`` propagates: re-running
    the step is safe because every step's client id is looked up before any submit.
    """
    return _Walker(request, broker, ledger, settings, clock).run()


class _End(StrEnum):
    """Why the walk stopped; with the fills it decides the order's final state."""

    DONE = "done"  # nothing left to trade
    DUST = "dust"  # what is left is smaller than the broker's smallest order
    HALTED = "halted"  # deliberately not traded: kill switch, cash cap
    FAILED = "failed"  # rejected, bad quote, broker disagreement, market order unfilled


@dataclass
class _Fills:
    """The broker orders of one walk, as last seen, and how the walk ended."""

    order: NetOrder
    legs: dict[str, Order] = field(default_factory=dict)  # broker order id -> latest state
    end: _End | None = None
    reason: str = ""

    def see(self, placed: Order) -> None:
        if placed.filled_qty > 0 and placed.filled_avg_price is None:
            raise BrokerError(
                f"broker order {placed.id} ({placed.client_order_id}) filled {placed.filled_qty} "
                "but reports no average fill price"
            )
        self.legs[placed.id] = placed

    def stop(self, end: _End, reason: str) -> None:
        self.end, self.reason = end, reason

    @property
    def filled(self) -> Decimal:
        return sum((o.filled_qty for o in self.legs.values()), ZERO)

    @property
    def spent(self) -> Decimal:
        return sum((o.filled_qty * (o.filled_avg_price or ZERO) for o in self.legs.values()), ZERO)

    @property
    def remaining(self) -> Decimal:
        return self.order.qty - self.filled

    def avg_price(self) -> Decimal | None:
        filled = self.filled
        return self.spent / filled if filled > 0 else None

    def state(self) -> OrderState:
        filled = self.filled
        if self.end is None:  # still walking
            return OrderState.PARTIALLY_FILLED if filled > 0 else OrderState.SUBMITTED
        if filled > 0:
            complete = self.end in (_End.DONE, _End.DUST)
            return OrderState.FILLED if complete else OrderState.PARTIALLY_FILLED
        return OrderState.SKIPPED if self.end in (_End.DUST, _End.HALTED) else OrderState.FAILED

    def record(self) -> OrderRecord:
        o = self.order
        return OrderRecord(
            client_order_id=o.client_order_id,
            run_id=o.run_id,
            trading_date=o.trading_date,
            phase=o.phase,
            symbol=o.symbol,
            side=o.side,
            qty=o.qty,
            ref_price=o.ref_price,
            state=self.state(),
            filled_qty=self.filled,
            avg_fill_price=self.avg_price(),
            broker_order_ids=tuple(self.legs),
            allocations=tuple(o.allocations),
            reason=self.reason,
        )

    def result(self) -> OrderResult:
        o = self.order
        return OrderResult(
            client_order_id=o.client_order_id,
            run_id=o.run_id,
            phase=o.phase,
            symbol=o.symbol,
            side=o.side,
            requested_qty=o.qty,
            filled_qty=self.filled,
            avg_price=self.avg_price(),
            state=self.state(),
            broker_order_ids=list(self.legs),
            reason=self.reason,
        )


def _aware(moment: datetime, what: str) -> datetime:
    if moment.utcoffset() is None:
        raise BrokerError(f"expected a timezone-aware {what}, found naive {moment.isoformat()}")
    return moment


class _Walker:
    """One execution of one order; holds the ports so the steps read as a story."""

    def __init__(
        self,
        request: ExecuteOrderRequest,
        broker: Broker,
        ledger: Ledger,
        settings: Settings,
        clock: Clock,
    ) -> None:
        self.request, self.order = request, request.order
        self.broker, self.ledger, self.settings, self.clock = broker, ledger, settings, clock
        self.fills = _Fills(request.order)
        self.timeout = timedelta(seconds=settings.step_timeout_s)
        self.max_polls = math.ceil(settings.step_timeout_s / settings.poll_interval_s) + 1
        self.patient = True  # False under the kill switch: open orders are canceled at once
        self.capped = ""  # set when max_notional bound a step's quantity
        self.min_notional = Decimal(1)  # the asset's smallest order, read when the walk starts

    def run(self) -> OrderResult:
        self.patient = not kill_switch_reason(self.settings, self.ledger.kill_switch())
        asset = self.broker.asset(self.order.symbol)
        self.min_notional = asset.min_notional
        places = asset.qty_places if asset.fractionable and self.order.fractionable else 0
        steps: list[Decimal | None] = [*self.settings.limit_steps, None]  # None: market
        ids = walk_client_order_ids(self.order.client_order_id, len(self.settings.limit_steps))
        for step_id, fraction in zip(ids, steps, strict=True):
            if self.fills.remaining <= 0 or self.fills.end is not None:
                break
            self._step(step_id, fraction, asset, places)
        self._finish(places)
        self.ledger.put_order(self.fills.record())
        return self.fills.result()

    def _step(self, step_id: str, fraction: Decimal | None, asset: AssetInfo, places: int) -> None:
        now = self.clock.now()
        placed = self.broker.order_by_client_id(step_id)
        if placed is not None:  # placed by an earlier attempt: keep its original deadline
            deadline = min(now, _aware(placed.submitted_at, "order submitted_at")) + self.timeout
        else:
            placed = self._place(step_id, fraction, asset, places)
            if placed is None:
                return
            deadline = now + self.timeout
        mismatch = self._mismatch(step_id, placed)
        if mismatch:
            self.fills.stop(_End.FAILED, mismatch)
            return
        self.fills.see(placed)
        self.ledger.put_order(self.fills.record())
        settled = self._settle(placed, deadline if self.patient else self.clock.now())
        self.fills.see(settled)
        self.ledger.put_order(self.fills.record())
        if settled.status is OrderStatus.REJECTED:
            why = settled.reject_reason or "no reason given"
            self.fills.stop(_End.FAILED, f"broker rejected {step_id}: {why}")
        elif not settled.status.terminal:
            self.fills.stop(
                _End.FAILED,
                f"cancel of broker order {settled.id} ({step_id}) not confirmed within "
                f"{self.settings.step_timeout_s}s (status {settled.status.value}): "
                "walk stopped so nothing can fill twice",
            )

    def _mismatch(self, step_id: str, placed: Order) -> str:
        o = self.order
        if placed.symbol != o.symbol or placed.side is not o.side:
            return (
                f"broker order {placed.id} under client id {step_id} is {placed.side.value} "
                f"{placed.symbol}, expected {o.side.value} {o.symbol}"
            )
        if placed.qty > self.fills.remaining:
            return (
                f"broker order {placed.id} under client id {step_id} is for {placed.qty}, "
                f"more than the {self.fills.remaining} left to trade"
            )
        return ""

    def _place(
        self, step_id: str, fraction: Decimal | None, asset: AssetInfo, places: int
    ) -> Order | None:
        """Submit the step's order, or stop the walk and return None."""
        o = self.order
        halt = kill_switch_reason(self.settings, self.ledger.kill_switch())
        if halt or not asset.tradable:
            self.fills.stop(
                _End.HALTED if halt else _End.FAILED,
                halt or f"{o.symbol} is not tradable at the broker",
            )
            return None
        quote = self.broker.latest_quote(o.symbol)
        problem = quote_problem(
            quote, o.symbol, self.clock.now(), timedelta(seconds=self.settings.max_quote_age_s)
        )
        price = None
        if not problem and fraction is not None:
            price = limit_price(o.side, quote, fraction, asset.price_tick)
            if price <= 0:
                problem = f"limit price for {o.symbol} rounds to {price} on tick {asset.price_tick}"
        if problem:
            self.fills.stop(_End.FAILED, problem)
            return None
        qty = self._step_qty(quote, price, asset, places)
        if qty is None:
            return None
        try:
            return self.broker.submit_order(self._request(step_id, qty, price))
        except OrderRejectedError as exc:
            self.fills.stop(_End.FAILED, f"broker rejected {step_id}: {exc.reason}")
            return None

    def _step_qty(
        self, quote: Quote, price: Decimal | None, asset: AssetInfo, places: int
    ) -> Decimal | None:
        """Return the step's quantity: what is left, within the cash cap and the position."""
        o, fills = self.order, self.fills
        qty = round_down(fills.remaining, places)
        if qty <= 0:
            fills.stop(_End.DUST, self._dust(places))
            return None
        if o.side is OrderSide.BUY and self.request.max_notional is not None:
            qty = self._cap(qty, quote.ask if price is None else max(price, quote.ask), places)
            if qty <= 0:
                fills.stop(self._capped_end(), self.capped)
                return None
        elif o.side is OrderSide.SELL:
            held = sum((p.qty for p in self.broker.positions() if p.symbol == o.symbol), ZERO)
            if qty > held:
                fills.stop(
                    _End.FAILED,
                    f"selling {qty} {o.symbol} exceeds the broker position of {held}: "
                    "it would open a short",
                )
                return None
        value = qty * (price or quote.mid)
        if qty != qty.to_integral_value() and value < asset.min_notional:
            fills.stop(
                _End.DUST,
                f"remainder {qty} {o.symbol} (${value:.2f}) is below the broker's smallest "
                f"fractional order of ${asset.min_notional}",
            )
            return None
        return qty

    def _cap(self, qty: Decimal, unit_price: Decimal, places: int) -> Decimal:
        """Limit a buy to what is left of ``max_notional`` at ``unit_price`` (>= the ask)."""
        cap = self.request.max_notional or ZERO
        budget = cap - self.fills.spent
        affordable = round_down(budget / unit_price, places) if budget > 0 else ZERO
        if affordable >= qty:
            return qty
        buys = (
            f" buys {affordable:f} {self.order.symbol} at ${unit_price}"
            if affordable > 0
            else " buys nothing more"
        )
        self.capped = f"capped by max_notional ${cap:,.2f}: ${max(budget, ZERO):,.2f} left{buys}"
        return affordable

    def _capped_end(self) -> _End:
        """A buy is complete when its cash cap leaves less than the asset's smallest order."""
        left = (self.request.max_notional or ZERO) - self.fills.spent
        return _End.DONE if self.fills.filled > 0 and left < self.min_notional else _End.HALTED

    def _dust(self, places: int) -> str:
        left = self.fills.remaining
        return f"remainder {left} {self.order.symbol} rounds to zero at {places} decimal places"

    def _request(self, step_id: str, qty: Decimal, price: Decimal | None) -> OrderRequest:
        o = self.order
        if price is None:
            return MarketOrderRequest(
                symbol=o.symbol, side=o.side, qty=qty, client_order_id=step_id
            )
        return LimitOrderRequest(
            symbol=o.symbol, side=o.side, qty=qty, client_order_id=step_id, limit_price=price
        )

    def _settle(self, placed: Order, deadline: datetime) -> Order:
        """Poll until done or ``deadline``; then cancel and wait for the broker to confirm."""
        current = self._poll(placed, deadline)
        if current.status.terminal:
            return current
        self.broker.cancel_order(current.id)
        return self._poll(self.broker.get_order(current.id), self.clock.now() + self.timeout)

    def _poll(self, order: Order, deadline: datetime) -> Order:
        current = order
        for _ in range(self.max_polls):  # the deadline ends it; the count bounds a stuck clock
            left = (deadline - self.clock.now()).total_seconds()
            if current.status.terminal or left <= 0:
                break
            self.clock.sleep(min(self.settings.poll_interval_s, left))
            current = self.broker.get_order(current.id)
        return current

    def _finish(self, places: int) -> None:
        fills = self.fills
        if fills.end is not None:
            return
        if fills.remaining <= 0:
            fills.stop(_End.DONE, "")
        elif self.capped:
            fills.stop(self._capped_end(), self.capped)
        elif round_down(fills.remaining, places) <= 0:
            fills.stop(_End.DUST, self._dust(places))
        else:
            last = next(reversed(fills.legs), "none")
            fills.stop(
                _End.FAILED,
                f"{fills.remaining} {self.order.symbol} still unfilled after the market order "
                f"(broker order {last})",
            )
