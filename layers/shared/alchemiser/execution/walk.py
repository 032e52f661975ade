"""Execute one netted order: walk the book with limit orders, then a market order.

For step ``k`` of ``settings.limit_steps`` (fractions of the half-spread, mid -> far
side) the walk fetches a fresh quote (refused when stale or implausible: ``quotes``),
prices a DAY limit order at ``mid + f * (ask - mid)`` for a buy (``mid - f * (mid -
bid)`` for a sell) rounded onto the asset's tick toward the far side, submits it for the
remaining quantity under client id ``step_client_order_id(base, k)``, polls it until it
is done or its wait is over, cancels the rest and waits until the broker confirms.
Partial fills carry forward; a market order for what is left comes last, under the id
of step ``len(limit_steps)``.

Time (``deadline``): the walk reads the broker's clock once per order; no order goes out
when the market is closed or about to close, and the walk ends by the earlier of the
close less ``close_margin_s`` and the deadline it is given (the Lambda's remaining time
less a margin). Each step's wait is shortened to fit; limit steps that no longer fit
are skipped for the market step, and a market step that no longer fits is not placed.

Cancel race: an order may fill between the last poll and the cancel; the broker then
refuses the cancel (``OrderNotCancelableError``, Alpaca's 422), and the walk looks the
order up and counts what it filled.

Re-runs are safe: before any submit the step's client id is looked up at the broker,
and an order found there is used (polled to its original deadline, then canceled)
instead of being placed again. The ledger record is rewritten after every step.
"""

from __future__ import annotations

import contextlib
import math
from datetime import datetime, timedelta
from decimal import Decimal

from alchemiser.books.client_ids import step_client_order_id
from alchemiser.broker.errors import BrokerError, OrderNotCancelableError, OrderRejectedError
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
from alchemiser.broker.ticks import PENNY, SUB_PENNY
from alchemiser.cycle.models import ExecuteOrderRequest, OrderResult
from alchemiser.execution.clock import Clock
from alchemiser.execution.deadline import (
    Deadline,
    StepTimes,
    close_deadline,
    earliest,
    fill_wait,
    market_problem,
)
from alchemiser.execution.limits import kill_switch_reason
from alchemiser.execution.quotes import BPS, QuoteRules, limit_price, quote_problem
from alchemiser.execution.walk_fills import WalkEnd, WalkFills
from alchemiser.ledger.port import Ledger
from alchemiser.money import ZERO, round_down, to_tick
from alchemiser.settings import Settings


def walk_client_order_ids(base: str, limit_steps: int) -> tuple[str, ...]:
    """Return the client ids of every broker order of one walk: the limit steps, then market."""
    return tuple(step_client_order_id(base, k) for k in range(limit_steps + 1))


def execute_order(
    request: ExecuteOrderRequest,
    broker: Broker,
    ledger: Ledger,
    settings: Settings,
    clock: Clock,
    deadline: Deadline | None = None,
) -> OrderResult:
    """Walk the book for one netted order and return what filled.

    ``deadline`` is when the walk must be done (``deadline.walk_deadline`` from the
    Lambda's remaining time); None leaves only the close and the steps' own timeouts.
    A rejection, a bad quote, a closed market or no time left ends the order (FAILED or
    PARTIALLY_FILLED, with the reason); the kill switch skips it. ``TransientBrokerError``
    propagates: re-running the step is safe because every step's client id is looked up
    before any submit.
    """
    return _Walker(request, broker, ledger, settings, clock, deadline).run()


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
        deadline: Deadline | None,
    ) -> None:
        self.request, self.order = request, request.order
        self.broker, self.ledger, self.settings, self.clock = broker, ledger, settings, clock
        self.fills = WalkFills(request.order)
        self.times = StepTimes.from_settings(settings)
        self.quote_rules = QuoteRules.from_settings(settings)
        self.deadline = deadline
        self.halt = ""  # why no new order may go out: the market is closed or closing
        self.patient = True  # False when nothing new may go out: open orders are canceled at once
        self.capped = ""  # set when max_notional bound a step's quantity
        self.min_notional = Decimal(1)  # the asset's smallest order, read when the walk starts
        self.skipped: list[str] = []  # limit steps that did not fit before the deadline
        self.skip_reason = ""

    def run(self) -> OrderResult:
        self.fills.resume(self.ledger.get_order(self.order.run_id, self.order.client_order_id))
        self._read_market()
        if kill_switch_reason(self.settings, self.ledger.kill_switch()):
            self.patient = False
        asset = self.broker.asset(self.order.symbol)
        self.min_notional = asset.min_notional
        places = asset.qty_places if asset.fractionable and self.order.fractionable else 0
        steps: list[Decimal | None] = [*self.settings.limit_steps, None]  # None: market
        ids = walk_client_order_ids(self.order.client_order_id, len(self.settings.limit_steps))
        for step_id, fraction in zip(ids, steps, strict=True):
            if self.fills.remaining <= 0 or self.fills.end is not None:
                break
            self._step(step_id, fraction, asset, places)
        if self.skipped:
            self.fills.note(f"limit steps {', '.join(self.skipped)} skipped: {self.skip_reason}")
        self._finish(places)
        self.ledger.put_order(self.fills.record())
        return self.fills.result()

    def _read_market(self) -> None:
        """Check the broker's clock: stop new orders, or end the walk before the close."""
        market = self.broker.clock()
        margin = timedelta(seconds=self.settings.close_margin_s)
        self.halt = market_problem(market, margin)
        if self.halt:
            self.patient = False
            return
        closing = close_deadline(market, self.clock.now(), margin)
        self.deadline = earliest(self.deadline, closing)

    def _step(self, step_id: str, fraction: Decimal | None, asset: AssetInfo, places: int) -> None:
        now = self.clock.now()
        placed = self.broker.order_by_client_id(step_id)
        if placed is not None:  # placed by an earlier attempt: keep its original deadline
            started = min(now, _aware(placed.submitted_at, "order submitted_at"))
            wait_until = min(started + self.times.step, self._latest_fill_wait(fraction))
        else:
            wait = fill_wait(now, self.deadline, self.times, market_step=fraction is None)
            placed = self._place(step_id, fraction, asset, places, wait)
            if placed is None:
                return
            wait_until = now + wait
        mismatch = self._mismatch(step_id, placed)
        if mismatch:
            self.fills.stop(WalkEnd.FAILED, mismatch)
            return
        self.fills.see(placed)
        self.ledger.put_order(self.fills.record())
        settled = self._settle(placed, wait_until if self.patient else self.clock.now())
        self.fills.see(settled)
        self.ledger.put_order(self.fills.record())
        if settled.status is OrderStatus.REJECTED:
            why = settled.reject_reason or "no reason given"
            self.fills.stop(WalkEnd.FAILED, f"broker rejected {step_id}: {why}")
        elif not settled.status.terminal:
            self.fills.stop(
                WalkEnd.FAILED,
                f"cancel of broker order {settled.id} ({step_id}) not confirmed within "
                f"{self.settings.cancel_timeout_s:g}s (status {settled.status.value}): "
                "walk stopped so nothing can fill twice",
            )

    def _latest_fill_wait(self, fraction: Decimal | None) -> datetime:
        """The last moment an adopted step may wait for fills and still end by the deadline."""
        now = self.clock.now()
        return now + fill_wait(now, self.deadline, self.times, market_step=fraction is None)

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
        self,
        step_id: str,
        fraction: Decimal | None,
        asset: AssetInfo,
        places: int,
        wait: timedelta,
    ) -> Order | None:
        """Submit the step's order, or skip the step / stop the walk and return None."""
        o = self.order
        halt = kill_switch_reason(self.settings, self.ledger.kill_switch())
        if halt or self.halt or not asset.tradable:
            self.fills.stop(
                WalkEnd.HALTED if halt else WalkEnd.FAILED,
                halt or self.halt or f"{o.symbol} is not tradable at the broker",
            )
            return None
        if wait < self.times.poll:
            self._out_of_time(step_id, fraction)
            return None
        quote = self.broker.latest_quote(o.symbol)
        problem = quote_problem(quote, o.symbol, self.clock.now(), self.quote_rules, o.ref_price)
        price = None
        if not problem and fraction is not None:
            price = limit_price(o.side, quote, fraction, asset.price_tick)
            if price <= 0:
                problem = f"limit price for {o.symbol} rounds to {price} on tick {asset.price_tick}"
        if problem:
            self.fills.stop(WalkEnd.FAILED, problem)
            return None
        self.fills.arrive(quote)
        qty = self._step_qty(quote, price, asset, places)
        if qty is None:
            return None
        try:
            return self.broker.submit_order(self._request(step_id, qty, price))
        except OrderRejectedError as exc:
            self.fills.stop(WalkEnd.FAILED, f"broker rejected {step_id}: {exc.reason}")
            return None

    def _out_of_time(self, step_id: str, fraction: Decimal | None) -> None:
        """Skip a limit step that does not fit before the deadline; refuse a market step."""
        times, deadline = self.times, self.deadline
        left = (
            "no time"
            if deadline is None
            else f"{(deadline.at - self.clock.now()).total_seconds():.0f}s"
        )
        before = deadline.describe() if deadline is not None else "the deadline"
        if fraction is not None:
            self.skipped.append(step_id)
            needs = times.poll + times.cancel + times.market_step_needs()
            self.skip_reason = (
                f"{left} left before {before}; a limit step and the market step need "
                f"{needs.total_seconds():g}s"
            )
            return
        self.fills.stop(
            WalkEnd.FAILED,
            f"{self.fills.remaining} {self.order.symbol} not traded: {left} left before "
            f"{before}; the market step needs {(times.poll + times.cancel).total_seconds():g}s "
            "(one poll and a cancel)",
        )

    def _step_qty(
        self, quote: Quote, price: Decimal | None, asset: AssetInfo, places: int
    ) -> Decimal | None:
        """Return the step's quantity: what is left, within the cash cap and the position."""
        o, fills = self.order, self.fills
        qty = round_down(fills.remaining, places)
        if qty <= 0:
            fills.stop(WalkEnd.DUST, self._dust(places))
            return None
        if o.side is OrderSide.BUY and self.request.max_notional is not None:
            worst = max(price, quote.ask) if price is not None else self._market_buy_bound(quote)
            qty = self._cap(qty, worst, places)
            if qty <= 0:
                fills.stop(self._capped_end(), self.capped)
                return None
        elif o.side is OrderSide.SELL:
            held = sum((p.qty for p in self.broker.positions() if p.symbol == o.symbol), ZERO)
            if qty > held:
                fills.stop(
                    WalkEnd.FAILED,
                    f"selling {qty} {o.symbol} exceeds the broker position of {held}: "
                    "it would open a short",
                )
                return None
        value = qty * (price or quote.mid)
        if qty != qty.to_integral_value() and value < asset.min_notional:
            fills.stop(
                WalkEnd.DUST,
                f"remainder {qty} {o.symbol} (${value:.2f}) is below the broker's smallest "
                f"fractional order of ${asset.min_notional}",
            )
            return None
        return qty

    def _market_buy_bound(self, quote: Quote) -> Decimal:
        """Size a market buy at the ask plus ``market_buy_buffer_bps``: it may fill above the ask."""
        buffer = self.settings.market_buy_buffer_bps / BPS
        return to_tick(quote.ask * (1 + buffer), PENNY if quote.ask >= 1 else SUB_PENNY, up=True)

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

    def _capped_end(self) -> WalkEnd:
        """A buy is complete when its cash cap leaves less than the asset's smallest order
        plus what the market step keeps back for slippage (``market_buy_buffer_bps``)."""
        cap = self.request.max_notional or ZERO
        kept_back = cap * self.settings.market_buy_buffer_bps / BPS
        left = cap - self.fills.spent
        complete = self.fills.filled > 0 and left < self.min_notional + kept_back
        return WalkEnd.DONE if complete else WalkEnd.HALTED

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

    def _settle(self, placed: Order, wait_until: datetime) -> Order:
        """Poll until done or ``wait_until``; then cancel and wait for the broker to confirm."""
        current = self._poll(placed, wait_until)
        if current.status.terminal:
            return current
        # It may have filled (or ended) after the last poll: the look-up below counts it.
        with contextlib.suppress(OrderNotCancelableError):
            self.broker.cancel_order(current.id)
        return self._poll(self.broker.get_order(current.id), self._cancel_until())

    def _cancel_until(self) -> datetime:
        """How long a cancel may take: its timeout, within the deadline (one poll at least)."""
        now = self.clock.now()
        until = now + self.times.cancel
        if self.deadline is not None:
            until = min(until, max(self.deadline.at, now + self.times.poll))
        return until

    def _poll(self, order: Order, deadline: datetime) -> Order:
        current = order
        span = (deadline - self.clock.now()) / self.times.poll
        for _ in range(
            max(0, math.ceil(span)) + 1
        ):  # the deadline ends it; the count bounds a stuck clock
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
            fills.stop(WalkEnd.DONE, "")
        elif self.capped:
            fills.stop(self._capped_end(), self.capped)
        elif round_down(fills.remaining, places) <= 0:
            fills.stop(WalkEnd.DUST, self._dust(places))
        else:
            last = next(reversed(fills.legs), "none")
            fills.stop(
                WalkEnd.FAILED,
                f"{fills.remaining} {self.order.symbol} still unfilled after the market order "
                f"(broker order {last})",
            )
