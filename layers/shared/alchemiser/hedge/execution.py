"""Execute one option order: limit orders walking from mid toward the far side.

Prices are **signed net prices per share of one unit**: what the account pays for the
unit (its legs bought at +price, sold at -price, times their ratios), so a net credit
is negative. For step ``k`` of ``steps`` (fractions of the way mid -> far side) the walk
reads a fresh snapshot of every leg, refuses on a missing, stale, one-sided or crossed
quote, prices ``mid + f x (far - mid)`` rounded up to the cent, never above the plan's
``max_price`` (the sizing's cap, or mid + ``max_slippage`` x |mid| of the first
quote), and submits a DAY limit for what is left: one leg as a simple order, several
legs as ONE multi-leg order with one net limit, never leg by leg.

Client order ids are ``step_client_order_id(hedge_order_id(run, tag), k)``: a re-run
looks each one up before submitting and carries on with the order it finds. Each
order is polled until its deadline, canceled, and read back until the broker confirms.
Partial fills are kept; a walk that ends unfilled is an outcome (``UNFILLED``), not an
error. Quantities are whole contracts.

Like the equity walk (``execution.walk``), an option walk given the broker's market clock
(``MarketHours``) sends nothing when the market is closed or closes within
``close_margin_s`` (``REFUSED``, with the clock's times), and otherwise ends every step
that long before the close.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, Decimal
from enum import StrEnum

from alchemiser.books.client_ids import step_client_order_id
from alchemiser.broker.errors import OrderNotCancelableError, OrderRejectedError
from alchemiser.broker.models import CLIENT_ORDER_ID_MAX, MarketClock, OrderStatus
from alchemiser.broker.options_models import (
    OptionLeg,
    OptionOrder,
    OptionOrderRequest,
    OptionSnapshot,
)
from alchemiser.broker.options_port import OptionsBroker
from alchemiser.execution.clock import Clock
from alchemiser.execution.deadline import Deadline, close_deadline, earliest, market_problem
from alchemiser.hedge.chain import quote_problem
from alchemiser.hedge.policy import HedgeLimits
from alchemiser.money import CENT

DEFAULT_STEPS = (Decimal(0), Decimal("0.25"), Decimal("0.5"), Decimal("0.75"), Decimal(1))
_STEP_SUFFIX = 2  # room for ".k"; step_client_order_id hashes a base that leaves less
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def hedge_order_id(run_id: str, tag: str) -> str:
    """Return the base client order id of a hedge order of ``run_id`` (``tag`` says which)."""
    readable = f"{run_id}-h-{tag}"
    if len(readable) <= CLIENT_ORDER_ID_MAX - _STEP_SUFFIX:
        return readable
    found = _DATE.search(run_id)
    head = found.group(0) if found else run_id[:10]
    return f"{head}-h-{hashlib.sha256(readable.encode()).hexdigest()[:16]}"


class Outcome(StrEnum):
    FILLED = "filled"
    PARTIAL = "partially_filled"
    UNFILLED = "unfilled"  # walked to the last step (or the price cap) without a fill
    REFUSED = "refused"  # bad quote or price cap before anything filled: nothing sent
    REJECTED = "rejected"  # the broker refused the order


@dataclass(frozen=True)
class OptionOrderPlan:
    run_id: str
    tag: str
    legs: tuple[OptionLeg, ...]
    qty: int
    max_price: Decimal | None = None  # signed net per share; None: from max_slippage
    liquidity_checks: bool = True  # False for closes: a wide spread must not trap a hedge


@dataclass(frozen=True)
class WalkSettings:
    steps: tuple[Decimal, ...] = DEFAULT_STEPS
    step_timeout_s: float = 20.0
    poll_interval_s: float = 1.0


@dataclass(frozen=True)
class MarketHours:
    """The broker's market clock, and how long before the close no order may go out."""

    clock: Callable[[], MarketClock]
    close_margin: timedelta


@dataclass
class OptionExecution:
    """What one walk did: its broker orders (latest state), fills and how it ended."""

    plan: OptionOrderPlan
    orders: dict[str, OptionOrder] = field(default_factory=dict)
    outcome: Outcome | None = None
    reason: str = ""

    @property
    def filled_qty(self) -> int:
        return sum(o.filled_qty for o in self.orders.values())

    @property
    def avg_price(self) -> Decimal | None:
        """Return the signed net price per share paid on average (None before a fill)."""
        filled = self.filled_qty
        if filled == 0:
            return None
        paid = sum(
            (
                _signed_fill(o, self.plan) * o.filled_qty
                for o in self.orders.values()
                if o.filled_qty
            ),
            Decimal(0),
        )
        return paid / filled

    def leg_prices(self) -> dict[str, Decimal]:
        """Return each leg's average fill price per share (unsigned) over the walk."""
        totals: dict[str, tuple[int, Decimal]] = {}
        for order in self.orders.values():
            for leg in order.legs:
                if leg.filled_qty and leg.filled_avg_price is not None:
                    n, v = totals.get(leg.symbol, (0, Decimal(0)))
                    totals[leg.symbol] = (
                        n + leg.filled_qty,
                        v + leg.filled_qty * leg.filled_avg_price,
                    )
        return {s: v / n for s, (n, v) in totals.items()}


def _signed_fill(order: OptionOrder, plan: OptionOrderPlan) -> Decimal:
    price = order.filled_avg_price or Decimal(0)
    single_sell = len(plan.legs) == 1 and plan.legs[0].side.value == "sell"
    return -price if single_sell else price


def _net(legs: tuple[OptionLeg, ...], quotes: dict[str, OptionSnapshot]) -> tuple[Decimal, Decimal]:
    """Return the unit's signed mid and far-side prices per share."""
    mid = far = Decimal(0)
    for leg in legs:
        quote = quotes[leg.symbol]
        sign = leg.ratio if leg.side.value == "buy" else -leg.ratio
        mid += sign * quote.mid
        far += sign * (quote.ask if sign > 0 else quote.bid)
    return mid, far


def execute_option_order(
    plan: OptionOrderPlan,
    broker: OptionsBroker,
    clock: Clock,
    limits: HedgeLimits,
    settings: WalkSettings | None = None,
    deadline: Deadline | None = None,
    market: MarketHours | None = None,
) -> OptionExecution:
    """Walk the book for one option order; return its fills and outcome (no fill is no error).

    With a ``deadline`` no step starts unless its wait and its cancel fit before it; with
    ``market`` the close less its margin is a deadline too, and a closed or closing market
    sends nothing.
    """
    walk = _Walk(plan, broker, clock, limits, settings or WalkSettings(), deadline)
    if market is not None and not walk.read_market(market):
        return walk.result
    return walk.run()


class _Walk:
    def __init__(
        self,
        plan: OptionOrderPlan,
        broker: OptionsBroker,
        clock: Clock,
        limits: HedgeLimits,
        settings: WalkSettings,
        deadline: Deadline | None = None,
    ) -> None:
        if plan.qty <= 0:
            raise ValueError(f"an option order needs at least one contract, was {plan.qty}")
        self.plan, self.broker, self.clock = plan, broker, clock
        self.limits, self.settings = limits, settings
        self.result = OptionExecution(plan)
        self.cap = plan.max_price
        self.last_limit: Decimal | None = None
        self.timeout = timedelta(seconds=settings.step_timeout_s)
        self.max_polls = math.ceil(settings.step_timeout_s / settings.poll_interval_s) + 1
        self.base = hedge_order_id(plan.run_id, plan.tag)
        self.deadline = deadline

    def run(self) -> OptionExecution:
        for step, fraction in enumerate(self.settings.steps):
            if self.result.outcome is not None or self._left() <= 0:
                break
            if self._out_of_time(step):
                break
            self._step(step_client_order_id(self.base, step), fraction)
        self._finish()
        return self.result

    def read_market(self, market: MarketHours) -> bool:
        """Bring the deadline forward to the close less its margin; False: send nothing."""
        hours = market.clock()
        problem = market_problem(hours, market.close_margin)
        if problem:
            self._stop(Outcome.REFUSED, problem)
            return False
        closing = close_deadline(hours, self.clock.now(), market.close_margin)
        self.deadline = earliest(self.deadline, closing)
        return True

    def _out_of_time(self, step: int) -> bool:
        """Stop before a step whose wait and cancel (two step timeouts) pass the deadline."""
        if self.deadline is None or self.clock.now() + 2 * self.timeout <= self.deadline.at:
            return False
        outcome = Outcome.PARTIAL if self.result.filled_qty else Outcome.UNFILLED
        self._stop(outcome, f"stopped before step {step}: {self.deadline.describe()}")
        return True

    def _left(self) -> int:
        return self.plan.qty - self.result.filled_qty

    def _stop(self, outcome: Outcome, reason: str) -> None:
        self.result.outcome, self.result.reason = outcome, reason

    def _step(self, cid: str, fraction: Decimal) -> None:
        now = self.clock.now()
        placed = self.broker.option_order_by_client_id(cid)
        if placed is not None:
            wanted = {leg.symbol for leg in self.plan.legs}
            if {leg.symbol for leg in placed.legs} != wanted or placed.qty != self._left():
                self._stop(
                    Outcome.REJECTED,
                    f"client id {cid} already names another order ({placed.qty} of "
                    f"{', '.join(leg.symbol for leg in placed.legs)}), not {self._left()} of "
                    f"{', '.join(sorted(wanted))}: nothing placed",
                )
                return
            deadline = min(now, placed.submitted_at) + self.timeout
        else:
            placed = self._place(cid, fraction)
            if placed is None:
                return
            deadline = now + self.timeout
        self.result.orders[placed.id] = placed
        settled = self._settle(placed, deadline)
        self.result.orders[settled.id] = settled
        if settled.status is OrderStatus.REJECTED:
            self._stop(
                Outcome.REJECTED,
                f"broker rejected {cid}: {settled.reject_reason or 'no reason given'}",
            )
        elif not settled.status.terminal:
            self._stop(
                Outcome.REJECTED,
                f"cancel of {cid} not confirmed (status {settled.status.value}): "
                "walk stopped so nothing fills twice",
            )

    def _quotes(self) -> dict[str, OptionSnapshot] | None:
        symbols = [leg.symbol for leg in self.plan.legs]
        quotes = self.broker.option_snapshots(symbols)
        now = self.clock.now()
        for symbol in symbols:
            problem = quote_problem(
                quotes.get(symbol), now, self.limits, liquidity=self.plan.liquidity_checks
            )
            if problem is not None:
                self._refuse(f"{symbol}: {problem.text}: no order on it")
                return None
        return quotes

    def _refuse(self, reason: str) -> None:
        self._stop(Outcome.REFUSED if self.result.filled_qty == 0 else Outcome.PARTIAL, reason)

    def _place(self, cid: str, fraction: Decimal) -> OptionOrder | None:
        quotes = self._quotes()
        if quotes is None:
            return None
        mid, far = _net(self.plan.legs, quotes)
        if self.cap is None:
            self.cap = (mid + self.limits.max_slippage * abs(mid)).quantize(
                CENT, rounding=ROUND_CEILING
            )
        limit = min((mid + fraction * (far - mid)).quantize(CENT, rounding=ROUND_CEILING), self.cap)
        if mid > self.cap:
            self._refuse(
                f"mid {mid:.4f} is above the most this order may pay ({self.cap}): no order"
            )
            return None
        if limit == self.last_limit:
            return None  # the cap stops the walk here; the step would repeat the last price
        wire = (
            -limit if len(self.plan.legs) == 1 and self.plan.legs[0].side.value == "sell" else limit
        )
        if len(self.plan.legs) == 1 and wire <= 0:
            self._refuse(
                f"{self.plan.legs[0].symbol} has no bid worth selling at ({wire}): no order"
            )
            return None
        self.last_limit = limit
        request = OptionOrderRequest(
            client_order_id=cid, legs=self.plan.legs, qty=self._left(), limit_price=wire
        )
        try:
            return self.broker.submit_option_order(request)
        except OrderRejectedError as error:
            self._stop(Outcome.REJECTED, f"broker rejected {cid}: {error.reason}")
            return None

    def _settle(self, placed: OptionOrder, deadline: datetime) -> OptionOrder:
        current = self._poll(placed, deadline)
        if current.status.terminal:
            return current
        try:
            self.broker.cancel_option_order(current.id)
        except OrderNotCancelableError:
            # A cancel races a fill (Alpaca answers 422): read the order; only a still
            # open order is a real failure.
            current = self.broker.get_option_order(current.id)
            if not current.status.terminal:
                raise
            return current
        return self._poll(self.broker.get_option_order(current.id), self.clock.now() + self.timeout)

    def _poll(self, order: OptionOrder, deadline: datetime) -> OptionOrder:
        current = order
        for _ in range(self.max_polls):
            left = (deadline - self.clock.now()).total_seconds()
            if current.status.terminal or left <= 0:
                break
            self.clock.sleep(min(self.settings.poll_interval_s, left))
            current = self.broker.get_option_order(current.id)
        return current

    def _finish(self) -> None:
        filled, qty = self.result.filled_qty, self.plan.qty
        if filled == qty:
            self._stop(Outcome.FILLED, "")
        elif self.result.outcome is None:
            outcome = Outcome.PARTIAL if filled else Outcome.UNFILLED
            self._stop(
                outcome,
                f"{qty - filled} of {qty} unfilled after walking to {self.last_limit} "
                f"(cap {self.cap})",
            )
