"""The simulated options broker: ``OptionsBroker`` over ``SimulatedOptionsMarket``, in SQLite.

Quotes are the market model's for the current day (prices do not move within a day).
Orders (DAY limits only, whole contracts, one leg or a 2-4 leg combination):

* A buy (net debit) is marketable when its limit reaches ``mid + fill_threshold x
  (far - mid)``, where, per unit, ``mid`` is the sum over legs of +/- ratio x leg mid and
  ``far`` the same with each bought leg at its ask and each sold leg at its bid. It
  fills at ``min(limit, far)``; each leg at ``mid + f x (far side - mid)`` with the one
  ``f`` that makes the legs add up to the net price. A resting order stays ``new``
  until canceled or the day moves on (then ``expired``).
* ``partial_fill_ratio`` < 1 fills that share of the contracts (rounded down) at once.
* Refused (recorded as ``rejected``, raising OrderRejectedError): a contract not
  quoted today (unknown, expired, no data), a limit off the cent, a single-leg
  ``sell_to_open`` (no naked shorts), a close of more than is held, a symbol in
  ``reject_symbols``, a debit beyond the account's buying power (its cash less what
  open stock buys and option debits hold, as Alpaca's options buying power).
* Moving to a later day settles every contract that expired before it at intrinsic
  value on its expiry day's close (cash in for longs, out for shorts).

The options live in the simulated account's file (``path``: the stock broker's
``broker.sqlite3``): premium and settlements move the one account's cash, and the
account's equity counts the option positions at the day's mids
(``SimulatedBroker.account``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from uuid import NAMESPACE_URL, uuid5

from pydantic import BaseModel, ConfigDict, Field

from alchemiser.broker.alpaca_mapping import NEW_YORK
from alchemiser.broker.errors import BrokerError, OrderNotCancelableError, OrderRejectedError
from alchemiser.broker.models import OrderStatus
from alchemiser.broker.option_marks import quote_mid
from alchemiser.broker.options_models import (
    OptionContract,
    OptionLegFill,
    OptionOrder,
    OptionOrderRequest,
    OptionPosition,
    OptionRight,
    OptionSnapshot,
    PositionIntent,
    option_debit,
    parse_occ,
)
from alchemiser.broker.simulated import TimeSource
from alchemiser.broker.simulated_options_market import ModelQuote, SimulatedOptionsMarket
from alchemiser.broker.simulated_options_store import (
    DEFAULT_CASH,
    OptionCashFlow,
    OptionsStore,
    OptionsTransaction,
)
from alchemiser.money import CENT

_ID_NAMESPACE = uuid5(NAMESPACE_URL, "alchemiser/simulated-options/orders")
_LEG_PLACES = Decimal("0.0001")


class OptionsSimulationConfig(BaseModel):
    """How the simulated options broker fills and refuses."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    fill_threshold: Decimal = Field(Decimal("0.5"), ge=0, le=1)  # of the way mid -> far side
    partial_fill_ratio: Decimal = Field(Decimal("1"), gt=0, le=1)
    reject_symbols: frozenset[str] = frozenset()


class SimulatedOptionsBroker:
    """An ``OptionsBroker`` on one SQLite file, quoting ``market`` on the current day."""

    def __init__(
        self,
        path: Path,
        market: SimulatedOptionsMarket,
        config: OptionsSimulationConfig | None = None,
        *,
        clock: TimeSource | None = None,
        initial_cash: Decimal = DEFAULT_CASH,
    ) -> None:
        """Open the options of the simulated account at ``path`` (created with
        ``initial_cash`` when no broker opened it first)."""
        self.market = market
        self.config = config or OptionsSimulationConfig()
        self._clock = clock
        self._store = OptionsStore(Path(path), initial_cash)

    # -- the day ----------------------------------------------------------------------------

    def set_day(self, day: date) -> list[OptionCashFlow]:
        """Move to ``day``: expire older open orders, settle contracts expired before it.

        Return the settlements made. Moving back before the current day is refused.
        """
        self.market.row(day)
        settled: list[OptionCashFlow] = []
        with self._store.write() as tx:
            current = tx.day()
            if current is not None and day < current:
                raise BrokerError(
                    f"cannot move the simulated options market back to {day} from {current}"
                )
            for order, placed in tx.open_orders():
                if placed != day:
                    tx.update_order(_with(order, status=OrderStatus.EXPIRED, at=self._now(day)))
            for position in tx.positions():
                expiry = parse_occ(position.symbol).expiry
                if expiry < day:
                    settled.append(self._settle(tx, position, expiry))
            tx.set_day(day)
        return settled

    def day(self) -> date:
        with self._store.read() as tx:
            current = tx.day()
        if current is None:
            raise BrokerError("the simulated options market has no day yet: call set_day first")
        return current

    def cash_flows(self) -> list[OptionCashFlow]:
        with self._store.read() as tx:
            return tx.cash_flows()

    def orders(self) -> list[OptionOrder]:
        with self._store.read() as tx:
            return tx.orders()

    # -- market data ------------------------------------------------------------------------

    def option_contracts(
        self,
        underlying: str,
        first_expiry: date,
        last_expiry: date,
        right: OptionRight,
        strikes: tuple[Decimal, Decimal] | None = None,
    ) -> list[OptionContract]:
        return self.market.contracts(
            underlying, self.day(), first_expiry, last_expiry, right, strikes
        )

    def option_chain(
        self,
        underlying: str,
        first_expiry: date,
        last_expiry: date,
        right: OptionRight,
        strikes: tuple[Decimal, Decimal] | None = None,
    ) -> dict[str, OptionSnapshot]:
        day = self.day()
        listed = self.market.contracts(underlying, day, first_expiry, last_expiry, right, strikes)
        now = self._now(day)
        found = {c.symbol: self.market.snapshot(c.symbol, day, now) for c in listed}
        return {s: snap for s, snap in found.items() if snap is not None}

    def option_snapshots(self, symbols: Sequence[str]) -> dict[str, OptionSnapshot]:
        day = self.day()
        now = self._now(day)
        found = {s: self.market.snapshot(s, day, now) for s in symbols}
        return {s: snap for s, snap in found.items() if snap is not None}

    def option_positions(self) -> list[OptionPosition]:
        day = self.day()
        with self._store.read() as tx:
            held = tx.positions()
        marked = []
        for position in held:
            quote = self.market.quote(position.symbol, day)
            price = quote_mid(quote.bid, quote.ask) if quote else None
            marked.append(position.model_copy(update={"current_price": price}))
        return marked

    # -- orders -----------------------------------------------------------------------------

    def submit_option_order(self, request: OptionOrderRequest) -> OptionOrder:
        """Place an order, or return the identical one already placed under its client id."""
        with self._store.write() as tx:
            existing = tx.order_by_client_id(request.client_order_id)
            if existing is not None:
                if not existing.matches(request):
                    raise BrokerError(
                        f"client_order_id {request.client_order_id!r} already names a "
                        "different option order: client order ids must be unique"
                    )
                return existing
            order = self._place(tx, request)
        if order.status is OrderStatus.REJECTED:
            raise OrderRejectedError(order.client_order_id, order.reject_reason or "rejected")
        return order

    def option_order_by_client_id(self, client_order_id: str) -> OptionOrder | None:
        with self._store.read() as tx:
            return tx.order_by_client_id(client_order_id)

    def get_option_order(self, order_id: str) -> OptionOrder:
        with self._store.read() as tx:
            order = tx.order(order_id)
        if order is None:
            raise BrokerError(f"no option order with id {order_id!r} at the simulated broker")
        return order

    def cancel_option_order(self, order_id: str) -> None:
        with self._store.write() as tx:
            order = tx.order(order_id)
            if order is None:
                raise BrokerError(f"cannot cancel option order {order_id!r}: no such order")
            if order.status.terminal:
                # Alpaca answers 422 "order is not cancelable" for a filled or final order
                raise OrderNotCancelableError(
                    order_id, f"it is {order.status.value}, only open orders can be canceled"
                )
            day = tx.day() or self.market.history.day(0)
            tx.update_order(_with(order, status=OrderStatus.CANCELED, at=self._now(day)))

    # -- placing and filling ----------------------------------------------------------------

    def _place(self, tx: OptionsTransaction, request: OptionOrderRequest) -> OptionOrder:
        day = tx.day()
        if day is None:
            raise BrokerError("the simulated options market has no day yet: call set_day first")
        now = self._now(day)
        quotes = {leg.symbol: self.market.quote(leg.symbol, day) for leg in request.legs}
        refusal = self._refusal(tx, request, quotes, day)
        order = _new_order(request, now)
        if refusal:
            order = _with(order, status=OrderStatus.REJECTED, at=now, reason=refusal)
            tx.insert_order(order, day)
            return order
        ready = {s: q for s, q in quotes.items() if q is not None}
        price, legs = _fill(request, ready, self.config.fill_threshold)
        units = 0 if price is None else self._units(request.qty)
        if units > 0 and price is not None:
            status = OrderStatus.FILLED if units == request.qty else OrderStatus.PARTIALLY_FILLED
            order = _with(order, status=status, at=now, filled=units, price=price, legs=legs)
            tx.insert_order(order, day)
            for leg, leg_price in zip(request.legs, legs, strict=True):
                signed = units * leg.ratio * (1 if leg.side.value == "buy" else -1)
                tx.book_trade(leg.symbol, signed, leg_price, day, order.id)
            return order
        tx.insert_order(order, day)
        return order

    def _refusal(
        self,
        tx: OptionsTransaction,
        request: OptionOrderRequest,
        quotes: dict[str, ModelQuote | None],
        day: date,
    ) -> str:
        if request.limit_price % CENT != 0:
            return f"option limit prices are in whole cents, was {request.limit_price}"
        for leg in request.legs:
            if leg.symbol in self.config.reject_symbols:
                return f"{leg.symbol} refuses orders (simulation config reject_symbols)"
            if quotes[leg.symbol] is None:
                return f"{leg.symbol} is not quoted on {day} (unknown, expired or no data)"
            contracts = request.qty * leg.ratio
            held = tx.held(leg.symbol)
            if leg.intent is PositionIntent.SELL_TO_OPEN and not request.multi_leg:
                return f"sell_to_open {leg.symbol} alone would be a naked short option"
            if leg.intent is PositionIntent.SELL_TO_CLOSE and contracts > held:
                return f"cannot sell_to_close {contracts} {leg.symbol}: {max(held, 0)} held long"
            if leg.intent is PositionIntent.BUY_TO_CLOSE and contracts > -held:
                return f"cannot buy_to_close {contracts} {leg.symbol}: {max(-held, 0)} held short"
        return self._buying_power_refusal(tx, request)

    def _buying_power_refusal(self, tx: OptionsTransaction, request: OptionOrderRequest) -> str:
        """Refuse a debit beyond the cash that open orders do not hold ("" when it fits)."""
        debit = option_debit(request.legs, request.qty, request.limit_price)
        if debit == 0:
            return ""
        reserved, cash = self._store.reserved_and_cash(tx)
        power = cash - reserved
        if debit <= power:
            return ""
        legs = ", ".join(leg.symbol for leg in request.legs)
        return (
            f"insufficient options buying power for {request.qty} x {legs} at "
            f"{request.limit_price}: needs ${debit:,.2f}, has ${power:,.2f}"
        )

    def _units(self, qty: int) -> int:
        return int((Decimal(qty) * self.config.partial_fill_ratio).to_integral_value(ROUND_FLOOR))

    def _settle(
        self, tx: OptionsTransaction, position: OptionPosition, expiry: date
    ) -> OptionCashFlow:
        row = self.market.history.index_on_or_before(expiry)
        value = self.market.settlement_value(position.symbol, self.market.history.day(row))
        tx.book_trade(position.symbol, -position.qty, value, expiry, None)
        return tx.cash_flows()[-1]

    def _now(self, day: date) -> datetime:
        if self._clock is not None:
            return self._clock.now().astimezone(UTC)
        return datetime.combine(day, time(15, 45), NEW_YORK).astimezone(UTC)


def _fill(
    request: OptionOrderRequest, quotes: dict[str, ModelQuote], threshold: Decimal
) -> tuple[Decimal | None, list[Decimal]]:
    """Return the net fill price (None: not marketable) and each leg's price per share."""
    mids, fars, signs = [], [], []
    for leg in request.legs:
        quote = quotes[leg.symbol]
        buy = leg.side.value == "buy"
        mids.append((quote.bid + quote.ask) / 2)
        fars.append(quote.ask if buy else quote.bid)
        signs.append(leg.ratio if buy else -leg.ratio)
    net_mid = sum((s * m for s, m in zip(signs, mids, strict=True)), Decimal(0))
    net_far = sum((s * f for s, f in zip(signs, fars, strict=True)), Decimal(0))
    # One leg is priced per share with its side; a combination by its signed net price.
    flip = -1 if signs == [-1] else 1
    limit = flip * request.limit_price
    if limit < net_mid + threshold * (net_far - net_mid):
        return None, []
    price = min(limit, net_far)
    share = (price - net_mid) / (net_far - net_mid) if net_far != net_mid else Decimal(0)
    legs = [(m + share * (f - m)).quantize(_LEG_PLACES) for m, f in zip(mids, fars, strict=True)]
    if len(legs) > 1:  # the last leg takes the rounding: the legs' cash adds up to the net's
        rest = sum((s * p for s, p in zip(signs[:-1], legs[:-1], strict=True)), Decimal(0))
        legs[-1] = ((price - rest) / signs[-1]).quantize(_LEG_PLACES)
    return flip * price, legs


def _new_order(request: OptionOrderRequest, now: datetime) -> OptionOrder:
    return OptionOrder(
        id=str(uuid5(_ID_NAMESPACE, request.client_order_id)),
        client_order_id=request.client_order_id,
        legs=tuple(
            OptionLegFill(
                symbol=leg.symbol, side=leg.side, intent=leg.intent, ratio=leg.ratio, filled_qty=0
            )
            for leg in request.legs
        ),
        qty=request.qty,
        limit_price=request.limit_price,
        status=OrderStatus.NEW,
        submitted_at=now,
        updated_at=now,
    )


def _with(
    order: OptionOrder,
    *,
    status: OrderStatus,
    at: datetime,
    reason: str | None = None,
    filled: int | None = None,
    price: Decimal | None = None,
    legs: list[Decimal] | None = None,
) -> OptionOrder:
    update: dict[str, object] = {"status": status, "updated_at": at}
    if reason is not None:
        update["reject_reason"] = reason
    if filled is not None:
        update["filled_qty"] = filled
        update["filled_avg_price"] = price
        update["legs"] = tuple(
            leg.model_copy(update={"filled_qty": filled * leg.ratio, "filled_avg_price": p})
            for leg, p in zip(order.legs, legs or [], strict=True)
        )
    return order.model_copy(update=update)
