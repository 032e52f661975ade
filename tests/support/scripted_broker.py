"""An in-memory Broker whose behaviour each test scripts (a test double, not an adapter).

What a test can script, per client order id:

* ``fill(cid, qty, price=..., after_polls=n)`` — how much of the order fills (in all), at what
  price, and on which ``get_order`` poll the fill becomes visible (0: at once).
  Unscripted limit orders fill nothing; unscripted market orders fill completely at
  the ask (buys) or the bid (sells) of the last quote served.
* ``reject(cid, reason, on_submit=True)`` — the POST is refused (``OrderRejectedError``),
  or (``on_submit=False``) accepted and then rejected (status ``rejected``).
* ``fail_transiently(cid, after_post=...)`` — one ``TransientBrokerError``, raised
  before the order exists (the POST never arrived) or after it was created (the
  response was lost).
* ``crash_when_polled(cid, poll)`` — one ``InjectedCrashError`` on that poll: the process
  dies mid-walk with the order still open.
* ``ignore_cancel(cid)`` — cancels of that order never complete (``pending_cancel``).
* ``fill_before_cancel(cid, qty)`` — the cancel race: the order's fills reach ``qty`` (a
  total) after the walk's last poll, just before its cancel arrives. If that completes the order, the cancel is
  refused with ``OrderNotCancelableError`` (Alpaca's 422); if not, the cancel goes
  through and only a later look-up shows the fill.
* ``set_market(is_open=..., closes_in=...)`` — what ``clock()`` says (default: open,
  closing in an hour).

Quotes come from ``set_quotes(symbol, QuoteSpec, ...)``: each ``latest_quote`` call
takes the next one, and the last one repeats; timestamps are the clock's time minus
the spec's age. Like Alpaca, a second POST with a used client id is refused, and a
cancel of an order that can no longer fill (filled, canceled, rejected) raises
``OrderNotCancelableError``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from alchemiser.broker.errors import (
    BrokerError,
    OrderNotCancelableError,
    OrderRejectedError,
    TransientBrokerError,
)
from alchemiser.broker.models import (
    Account,
    AssetInfo,
    CashActivity,
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
from alchemiser.errors import InjectedCrashError
from alchemiser.execution.clock import Clock


@dataclass(frozen=True)
class QuoteSpec:
    bid: Decimal
    ask: Decimal
    age: timedelta = timedelta(0)  # negative: stamped in the future
    symbol: str | None = None  # None: the symbol asked for


@dataclass(frozen=True)
class FillScript:
    qty: Decimal
    price: Decimal | None = None
    after_polls: int = 0


@dataclass
class _Live:
    """The broker's private view of one order: the public Order plus what is scripted."""

    order: Order
    pending: FillScript | None
    polls: int = 0


@dataclass
class ScriptedBroker:
    time: Clock  # stamps quotes and orders (``clock`` is the Broker method)
    cash: Decimal = Decimal("100000")
    assets: dict[str, AssetInfo] = field(default_factory=dict)
    holdings: dict[str, Decimal] = field(default_factory=dict)
    attempts: list[OrderRequest] = field(default_factory=list)  # every submit_order call
    submitted: list[OrderRequest] = field(default_factory=list)  # POSTs that created an order
    cancels: list[str] = field(default_factory=list)  # client ids whose cancel was asked
    refused_cancels: list[str] = field(default_factory=list)  # ... and refused (not cancelable)
    clock_reads: int = 0
    market_open: bool = True
    closes_in: timedelta = timedelta(hours=1)
    _quotes: dict[str, list[QuoteSpec]] = field(default_factory=dict)
    _last_quote: dict[str, Quote] = field(default_factory=dict)
    _orders: dict[str, _Live] = field(default_factory=dict)  # by broker order id
    _by_client_id: dict[str, str] = field(default_factory=dict)
    _fills: dict[str, FillScript] = field(default_factory=dict)
    _rejections: dict[str, tuple[str, bool]] = field(default_factory=dict)
    _transient: dict[str, bool] = field(default_factory=dict)  # cid -> after_post
    _crashes: dict[str, int] = field(default_factory=dict)
    _stuck_cancels: set[str] = field(default_factory=set)
    _racing_fills: dict[str, FillScript] = field(default_factory=dict)

    # -- scripting ----------------------------------------------------------------------

    def add_asset(
        self,
        symbol: str,
        *,
        fractionable: bool = True,
        qty_places: int = 9,
        price_tick: Decimal = Decimal("0.01"),
        min_notional: Decimal = Decimal("1"),
        tradable: bool = True,
    ) -> None:
        self.assets[symbol] = AssetInfo(
            symbol=symbol,
            tradable=tradable,
            fractionable=fractionable,
            qty_places=qty_places,
            price_tick=price_tick,
            min_notional=min_notional,
        )

    def set_quotes(self, symbol: str, *specs: QuoteSpec) -> None:
        if not specs:
            raise ValueError("set_quotes needs at least one QuoteSpec")
        self._quotes[symbol] = list(specs)

    def set_position(self, symbol: str, qty: Decimal) -> None:
        self.holdings[symbol] = qty

    def fill(
        self, cid: str, qty: Decimal, *, price: Decimal | None = None, after_polls: int = 0
    ) -> None:
        self._fills[cid] = FillScript(qty, price, after_polls)

    def reject(self, cid: str, reason: str, *, on_submit: bool = True) -> None:
        self._rejections[cid] = (reason, on_submit)

    def fail_transiently(self, cid: str, *, after_post: bool) -> None:
        self._transient[cid] = after_post

    def crash_when_polled(self, cid: str, poll: int) -> None:
        self._crashes[cid] = poll

    def ignore_cancel(self, cid: str) -> None:
        self._stuck_cancels.add(cid)

    def fill_before_cancel(self, cid: str, qty: Decimal, *, price: Decimal | None = None) -> None:
        self._racing_fills[cid] = FillScript(qty, price)

    def set_market(
        self, *, is_open: bool = True, closes_in: timedelta = timedelta(hours=1)
    ) -> None:
        self.market_open, self.closes_in = is_open, closes_in

    # -- what a test reads --------------------------------------------------------------

    def submissions_per_client_id(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for request in self.submitted:
            counts[request.client_order_id] = counts.get(request.client_order_id, 0) + 1
        return counts

    def order(self, cid: str) -> Order:
        return self._orders[self._by_client_id[cid]].order

    # -- the Broker protocol ------------------------------------------------------------

    def account(self) -> Account:
        return Account(equity=self.cash, cash=self.cash, buying_power=self.cash)

    def positions(self) -> list[Position]:
        return [
            Position(
                symbol=s,
                qty=q,
                market_value=q * self._mark(s),
                avg_entry_price=self._mark(s),
                current_price=self._mark(s),
            )
            for s, q in self.holdings.items()
            if q != 0
        ]

    def clock(self) -> MarketClock:
        self.clock_reads += 1
        now = self.time.now()
        return MarketClock(
            timestamp=now,
            is_open=self.market_open,
            next_open=now + timedelta(hours=17),
            next_close=now + self.closes_in if self.market_open else now + timedelta(days=1),
        )

    def calendar(self, start: date, end: date) -> list[TradingSession]:
        return []

    def latest_quote(self, symbol: str) -> Quote:
        specs = self._quotes.get(symbol)
        if not specs:
            raise BrokerError(f"no quote scripted for {symbol}")
        spec = specs.pop(0) if len(specs) > 1 else specs[0]
        quote = Quote(
            symbol=spec.symbol or symbol,
            bid=spec.bid,
            ask=spec.ask,
            timestamp=self.time.now() - spec.age,
        )
        self._last_quote[symbol] = quote
        return quote

    def asset(self, symbol: str) -> AssetInfo:
        if symbol not in self.assets:
            raise BrokerError(f"no asset scripted for {symbol}")
        return self.assets[symbol]

    def submit_order(self, request: OrderRequest) -> Order:
        cid = request.client_order_id
        self.attempts.append(request)
        if self._transient.get(cid) is False:
            del self._transient[cid]
            raise TransientBrokerError(f"timeout before {cid} reached the broker")
        if cid in self._by_client_id:
            raise OrderRejectedError(cid, "client_order_id must be unique")
        reason, on_submit = self._rejections.get(cid, ("", False))
        if reason and on_submit:
            raise OrderRejectedError(cid, reason)
        live = self._create(request, reject_reason=reason)
        if self._transient.pop(cid, None) is True:
            raise TransientBrokerError(f"timeout after {cid} was created")
        return live.order

    def order_by_client_id(self, client_order_id: str) -> Order | None:
        order_id = self._by_client_id.get(client_order_id)
        return None if order_id is None else self._orders[order_id].order

    def get_order(self, order_id: str) -> Order:
        live = self._live(order_id)
        live.polls += 1
        cid = live.order.client_order_id
        if self._crashes.get(cid) == live.polls:
            del self._crashes[cid]
            raise InjectedCrashError(f"crash while polling {cid}")
        if live.pending is not None and live.polls >= live.pending.after_polls:
            self._apply_fill(live)
        return live.order

    def cash_activities(self, since: date | None = None) -> list[CashActivity]:
        return []

    def cancel_order(self, order_id: str) -> None:
        live = self._live(order_id)
        cid = live.order.client_order_id
        self.cancels.append(cid)
        racing = self._racing_fills.pop(cid, None)
        if racing is not None:  # the fill beat the cancel to the exchange
            live.pending = racing
            self._apply_fill(live)
        if live.order.status.terminal:
            self.refused_cancels.append(cid)
            raise OrderNotCancelableError(order_id, "order is not cancelable")
        stuck = live.order.client_order_id in self._stuck_cancels
        live.pending = None
        status = OrderStatus.PENDING_CANCEL if stuck else OrderStatus.CANCELED
        self._update(live, status=status)

    # -- internals ----------------------------------------------------------------------

    def _create(self, request: OrderRequest, *, reject_reason: str) -> _Live:
        now = self.time.now()
        order = Order(
            id=f"broker-{len(self._orders) + 1}",
            client_order_id=request.client_order_id,
            symbol=request.symbol,
            side=request.side,
            type=request.type,
            qty=request.qty,
            limit_price=getattr(request, "limit_price", None),
            status=OrderStatus.REJECTED if reject_reason else OrderStatus.NEW,
            submitted_at=now,
            updated_at=now,
            reject_reason=reject_reason or None,
        )
        script = None if reject_reason else self._script_for(request)
        live = _Live(order, script)
        self._orders[order.id] = live
        self._by_client_id[request.client_order_id] = order.id
        self.submitted.append(request)
        if script is not None and script.after_polls == 0:
            self._apply_fill(live)
        return live

    def _script_for(self, request: OrderRequest) -> FillScript | None:
        scripted = self._fills.get(request.client_order_id)
        if scripted is not None:
            return scripted
        if request.type is OrderType.MARKET:
            return FillScript(request.qty)
        return None

    def _apply_fill(self, live: _Live) -> None:
        """Bring the order's filled quantity up to the script's (a total, not an increment)."""
        script, order = live.pending, live.order
        live.pending = None
        if script is None or script.qty <= order.filled_qty:
            return
        qty = min(script.qty, order.qty)
        added = qty - order.filled_qty
        price = script.price or order.limit_price or self._far_side(order)
        spent = order.filled_qty * (order.filled_avg_price or Decimal(0)) + added * price
        status = OrderStatus.FILLED if qty == order.qty else OrderStatus.PARTIALLY_FILLED
        self._update(live, status=status, filled_qty=qty, filled_avg_price=spent / qty)
        signed = added if order.side is OrderSide.BUY else -added
        self.holdings[order.symbol] = self.holdings.get(order.symbol, Decimal(0)) + signed
        self.cash -= signed * price

    def _far_side(self, order: Order) -> Decimal:
        quote = self._last_quote[order.symbol]
        return quote.ask if order.side is OrderSide.BUY else quote.bid

    def _mark(self, symbol: str) -> Decimal:
        quote = self._last_quote.get(symbol)
        return quote.mid if quote is not None else Decimal(1)

    def _update(self, live: _Live, **changes: object) -> None:
        live.order = live.order.model_copy(update={**changes, "updated_at": self.time.now()})

    def _live(self, order_id: str) -> _Live:
        if order_id not in self._orders:
            raise BrokerError(f"no order {order_id} at the broker")
        return self._orders[order_id]
