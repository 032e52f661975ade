"""The simulated broker: the embedded default behind ``Broker``, state in SQLite.

A real implementation, not a test fake: cash, holdings, orders, fills and the session
live in a SQLite file (``simulated_store``) shared by every thread and process, and
trades happen at the market data's closes. Trading days are the rows of the
``PriceHistory``; ``set_session`` moves the simulation to a day and a time.

Fills (deterministic; prices and sessions in ``simulated_market``): a fillable order
fills ``partial_fill_ratio`` of its qty once, at submission (prices do not move within
a day, so nothing fills later); the rest stays open (``new``/``partially_filled``) until
canceled, or ``expired`` when the session moves to another day. Like Alpaca, an order
received while the market is closed (before the open, after the close, early closes
included) is ``accepted`` and does not fill; where Alpaca would route it at the next
open, the simulation lets it expire when the session moves on. A cancel of an order
that can no longer fill raises OrderNotCancelableError, as Alpaca's 422 does. Refusals (over 9
decimals, fractions of a non-fractionable symbol, an off-tick limit, a sell above the
holding not held by open sells, a buy above the cash not held by open buys) are
recorded as ``rejected`` with the reason and raise OrderRejectedError.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from uuid import NAMESPACE_URL, uuid5

from alchemiser.broker.alpaca_mapping import (
    NEW_YORK,
    QTY_PLACES,
    calendar_bounds,
    order_matches,
)
from alchemiser.broker.errors import (
    BrokerError,
    OrderNotCancelableError,
    OrderRejectedError,
    TransientBrokerError,
    UnknownSymbolError,
)
from alchemiser.broker.models import (
    Account,
    AssetInfo,
    CashActivity,
    CashActivityKind,
    LimitOrderRequest,
    MarketClock,
    Order,
    OrderRequest,
    OrderSide,
    OrderStatus,
    Position,
    Quote,
    TradingSession,
)
from alchemiser.broker.option_marks import options_value
from alchemiser.broker.simulated_cash import cash_activities, move_cash, pay_dividend
from alchemiser.broker.simulated_market import (
    PriceBook,
    SimulationConfig,
    fill_price,
    next_exchange_day,
    order_refusal,
    price_book,
    trading_session,
)
from alchemiser.broker.simulated_store import SimulatedFill, SimulatedStore, StoreTransaction
from alchemiser.broker.ticks import PENNY
from alchemiser.errors import DataError
from alchemiser.market.history import PriceHistory
from alchemiser.money import round_down, to_cents, to_decimal

if TYPE_CHECKING:  # imported when an option is held: the market model needs numpy's pricing
    from alchemiser.broker.simulated_options_market import SimulatedOptionsMarket

_ID_NAMESPACE = uuid5(NAMESPACE_URL, "alchemiser/simulated-broker/orders")


class TimeSource(Protocol):
    """Where the simulation reads the time of day (e.g. the executor's InstantClock)."""

    def now(self) -> datetime: ...


class SimulatedSessionError(BrokerError):
    """The simulated session cannot move there (not a trading day, or history)."""


class SimulatedBroker:
    """A ``Broker`` over one SQLite file and one market; safe to call from many threads."""

    def __init__(
        self,
        path: Path,
        market: PriceHistory,
        config: SimulationConfig | None = None,
        *,
        clock: TimeSource | None = None,
    ) -> None:
        """Open (or create) the account at ``path``, trading at ``market``'s closes.

        The time of day is the one stored by ``set_session``, or ``clock.now()`` when a
        clock is given (so it moves while an executor waits on that clock); the trading
        day is always the session's.
        """
        if len(market.dates) == 0:
            raise ValueError("the simulated broker needs market data with at least one day")
        self._market = market
        self._config = config or SimulationConfig()
        self._columns = dict(market.ticker_index)
        self._clock = clock
        self._options_market: SimulatedOptionsMarket | None = None  # marks held options
        self._store = SimulatedStore(
            Path(path), self._config.initial_cash, self._config.busy_timeout_s
        )

    def set_session(self, day: date, now: datetime | None = None) -> TradingSession:
        """Move the simulation to ``day`` at ``now`` (default: the clock's time, else the open).

        Orders still open from another day expire. Raise SimulatedSessionError when
        ``day`` is not a row of the market data, ``now`` is not on ``day`` in New York,
        or ``day`` is earlier than the last day anything traded (the same day is fine).
        """
        self._row(day)
        session = trading_session(day)
        if now is None:
            now = session.open if self._clock is None else self._clock.now()
        moment = _aware(now)
        if moment.astimezone(NEW_YORK).date() != day:
            raise SimulatedSessionError(
                f"session time must fall on {day} in New York, was {moment.isoformat()}"
            )
        with self._store.write() as tx:
            last_trade = tx.last_trade_day()
            if last_trade is not None and day < last_trade:
                raise SimulatedSessionError(
                    f"cannot move the simulated session back to {day}: orders traded on "
                    f"{last_trade} (a replay must not rewrite history; use a new broker file)"
                )
            for order, placed_on in tx.open_orders():
                if placed_on != day:
                    tx.update_order(_with_status(order, OrderStatus.EXPIRED, moment))
            tx.set_session(day, moment)
        return session

    def current_session(self) -> TradingSession:
        """Return the session the simulation is on (the market's last day if never set)."""
        with self._store.read() as tx:
            day, _, _ = self._current(tx)
        return trading_session(day)

    def deposit(self, amount: Decimal) -> CashActivity:
        """Add cash to the account (a deposit), recorded as an activity of the session's day."""
        return move_cash(self._store, CashActivityKind.DEPOSIT, amount)

    def withdraw(self, amount: Decimal) -> CashActivity:
        """Take cash out of the account; refused beyond the cash open orders do not hold."""
        return move_cash(self._store, CashActivityKind.WITHDRAWAL, -amount)

    def pay_dividend(self, symbol: str, per_share: Decimal) -> CashActivity:
        """Pay a dividend on the shares of ``symbol`` held now (``simulated_cash.pay_dividend``)."""
        return pay_dividend(self._store, symbol, per_share)

    def cash_activities(self, since: date | None = None) -> list[CashActivity]:
        """Return the non-trade cash moves dated ``since`` or later (Alpaca: account activities)."""
        return cash_activities(self._store, since)

    def fills(self) -> list[SimulatedFill]:
        """Return every execution so far, oldest first (the broker's audit trail)."""
        with self._store.read() as tx:
            return tx.fills()

    def orders(self) -> list[Order]:
        """Return every order ever received, by client order id (the broker's order book)."""
        with self._store.read() as tx:
            return tx.all_orders()

    # -- Broker: account and market -------------------------------------------------------

    def account(self) -> Account:
        """Return cash, buying power and equity: cash + stocks at the day's closes + the
        option positions at the day's mids (``option_marks``), as Alpaca's equity counts
        the account's option positions at their market value."""
        with self._store.read() as tx:
            day, _, row = self._current(tx)
            cash, holdings = tx.state().cash, tx.holdings()
            contracts = tx.option_holdings()
            reserved_cash, _ = tx.reservations(lambda s: self._buy_price(s, row))
        value = sum(
            (to_cents(h.qty * self._held_mark(h.symbol, row, day)) for h in holdings), Decimal(0)
        )
        if contracts:
            marks = self._option_marks(contracts, day)
            value += options_value(contracts, marks)
        return Account(equity=cash + value, cash=cash, buying_power=cash - reserved_cash)

    def _option_marks(self, contracts: dict[str, int], day: date) -> dict[str, Decimal]:
        """Return each held contract's mark today (``SimulatedOptionsMarket.marks``)."""
        if self._options_market is None:
            from alchemiser.broker.simulated_options_market import SimulatedOptionsMarket

            self._options_market = SimulatedOptionsMarket(self._market)
        return self._options_market.marks(contracts, day)

    def positions(self) -> list[Position]:
        with self._store.read() as tx:
            day, _, row = self._current(tx)
            holdings = tx.holdings()
        marks = {h.symbol: self._held_mark(h.symbol, row, day) for h in holdings}
        return [
            Position(
                symbol=h.symbol,
                qty=h.qty,
                market_value=to_cents(h.qty * marks[h.symbol]),
                avg_entry_price=h.avg_entry_price,
                current_price=marks[h.symbol],
            )
            for h in holdings
        ]

    def clock(self) -> MarketClock:
        with self._store.read() as tx:
            day, now, row = self._current(tx)
        following = self._market.day(row + 1) if row + 1 < len(self._market.dates) else None
        today = trading_session(day)
        after = trading_session(following or next_exchange_day(day))
        return MarketClock(
            timestamp=now,
            is_open=today.open <= now < today.close,
            next_open=today.open if now < today.open else after.open,
            next_close=today.close if now < today.close else after.close,
        )

    def calendar(self, start: date, end: date) -> list[TradingSession]:
        calendar_bounds(start, end)
        days = (self._market.day(r) for r in range(len(self._market.dates)))
        return [trading_session(d) for d in days if start <= d <= end]

    def latest_quote(self, symbol: str) -> Quote:
        with self._store.read() as tx:
            day, now, row = self._current(tx)
        book = self._book(symbol, row)
        if book is None:
            raise UnknownSymbolError(f"no quote for {symbol} on {day}: no close in the market data")
        return Quote(symbol=symbol, bid=book.bid, ask=book.ask, timestamp=now)

    def asset(self, symbol: str) -> AssetInfo:
        if symbol not in self._columns:
            raise UnknownSymbolError(
                f"{symbol} is not in the simulated market ({self._market.source or 'in memory'})"
            )
        with self._store.read() as tx:
            _, _, row = self._current(tx)
        book = self._book(symbol, row)
        return AssetInfo(
            symbol=symbol,
            tradable=book is not None,
            fractionable=symbol not in self._config.non_fractionable,
            qty_places=QTY_PLACES,
            price_tick=book.tick if book else PENNY,
        )

    # -- Broker: orders -------------------------------------------------------------------

    def submit_order(self, request: OrderRequest) -> Order:
        """Place an order, or return the identical one already placed under its client id."""
        config = self._config
        if config.fail_submit_times:
            with self._store.write() as tx:
                failure = tx.claim_failure(after_create=False, limit=config.fail_submit_times)
            if failure is not None:
                raise TransientBrokerError(
                    f"injected submit failure {failure} of {config.fail_submit_times} "
                    "(simulation config fail_submit_times): no order was created"
                )
        with self._store.write() as tx:
            order, created = self._place(tx, request)
            accepted = order.status is not OrderStatus.REJECTED
            injected = created and accepted and config.fail_after_submit_times > 0
            if injected:
                limit = config.fail_after_submit_times
                injected = tx.claim_failure(after_create=True, limit=limit) is not None
        if order.status is OrderStatus.REJECTED:
            raise OrderRejectedError(order.client_order_id, order.reject_reason or "rejected")
        if injected:
            raise TransientBrokerError(
                f"injected failure after order {order.client_order_id} was created "
                "(simulation config fail_after_submit_times): look it up by client id"
            )
        return order

    def order_by_client_id(self, client_order_id: str) -> Order | None:
        with self._store.read() as tx:
            return tx.order_by_client_id(client_order_id)

    def get_order(self, order_id: str) -> Order:
        with self._store.read() as tx:
            order = tx.order(order_id)
        if order is None:
            raise BrokerError(f"no order with id {order_id!r} at the simulated broker")
        return order

    def cancel_order(self, order_id: str) -> None:
        with self._store.write() as tx:
            order = tx.order(order_id)
            if order is None:
                raise BrokerError(f"cannot cancel order {order_id!r}: no such order")
            if order.status.terminal:
                raise OrderNotCancelableError(
                    order_id, f"it is {order.status.value}, only open orders can be canceled"
                )
            _, now, _ = self._current(tx)
            tx.update_order(_with_status(order, OrderStatus.CANCELED, now))

    # -- placing and filling --------------------------------------------------------------

    def _place(self, tx: StoreTransaction, request: OrderRequest) -> tuple[Order, bool]:
        """Return the order for ``request`` and whether it was created now."""
        existing = tx.order_by_client_id(request.client_order_id)
        if existing is not None:
            if not order_matches(existing, request):
                raise BrokerError(
                    f"client_order_id {request.client_order_id!r} already names a different "
                    f"order ({existing.side.value} {existing.qty} {existing.symbol} "
                    f"{existing.type.value}): client order ids must be unique"
                )
            return existing, False
        day, now, row = self._current(tx)
        order_id = str(uuid5(_ID_NAMESPACE, request.client_order_id))
        book = self._book(request.symbol, row)
        refusal = self._refusal(tx, request, book, row, day)
        if refusal is not None or book is None:
            order = _new_order(order_id, request, now, OrderStatus.REJECTED, reason=refusal)
            tx.insert_order(order, day)
            return order, True
        session = trading_session(day)
        in_session = session.open <= now < session.close
        price = fill_price(request, book, self._config.fill_threshold) if in_session else None
        filled = Decimal(0) if price is None else self._fill_qty(request)
        status = OrderStatus.NEW if in_session else OrderStatus.ACCEPTED  # Alpaca's after-hours
        if filled > 0:
            status = OrderStatus.FILLED if filled == request.qty else OrderStatus.PARTIALLY_FILLED
        order = _new_order(order_id, request, now, status, filled, price if filled else None)
        tx.insert_order(order, day)
        if price is not None and filled > 0:
            tx.apply_fill(order, filled, price, day, now)
        return order, True

    def _refusal(
        self,
        tx: StoreTransaction,
        request: OrderRequest,
        book: PriceBook | None,
        row: int,
        day: date,
    ) -> str | None:
        """Return why the order is refused, or None when it is acceptable."""
        symbol, qty = request.symbol, request.qty
        limit = request.limit_price if isinstance(request, LimitOrderRequest) else None
        malformed = order_refusal(request, book, self._config, day)
        if malformed is not None or book is None:
            return malformed
        reserved_cash, reserved_qty = tx.reservations(lambda s: self._buy_price(s, row))
        if request.side is OrderSide.SELL:
            held = tx.holding(symbol)
            available = (held.qty if held else Decimal(0)) - reserved_qty[symbol]
            if qty > available:
                return (
                    f"insufficient qty available to sell {qty} {symbol}: {available} (no shorting)"
                )
            return None
        cost = to_cents(qty * (limit if limit is not None else book.buy_fill))
        buying_power = tx.state().cash - reserved_cash
        if cost > buying_power:
            return (
                f"insufficient buying power for {qty} {symbol}: needs ${cost}, has ${buying_power}"
            )
        return None

    def _fill_qty(self, request: OrderRequest) -> Decimal:
        ratio = self._config.partial_fill_ratio
        if ratio == 1:
            return request.qty
        places = 0 if request.symbol in self._config.non_fractionable else QTY_PLACES
        return round_down(request.qty * ratio, places)

    # -- market data ----------------------------------------------------------------------

    def _current(self, tx: StoreTransaction) -> tuple[date, datetime, int]:
        """Return the session day, the time now and the day's market row."""
        state = tx.state()
        if state.session_day is None or state.session_now is None:
            row = len(self._market.dates) - 1
            day, now = self._market.day(row), trading_session(self._market.day(row)).open
        else:
            day, now, row = state.session_day, state.session_now, self._row(state.session_day)
        return day, now if self._clock is None else _aware(self._clock.now()), row

    def _row(self, day: date) -> int:
        row = self._market.index_on_or_before(day)
        if row < 0 or self._market.day(row) != day:
            first, last = self._market.day(0), self._market.day(len(self._market.dates) - 1)
            raise SimulatedSessionError(
                f"{day} is not a trading day of the simulated market: expected a day with "
                f"closes in {self._market.source or 'the market data'} ({first}..{last})"
            )
        return row

    def _book(self, symbol: str, row: int) -> PriceBook | None:
        column = self._columns.get(symbol)
        close = math.nan if column is None else float(self._market.closes[row, column])
        if math.isnan(close) or close <= 0:
            return None
        return price_book(to_decimal(close), self._config)

    def _buy_price(self, symbol: str, row: int) -> Decimal | None:
        book = self._book(symbol, row)
        return book.buy_fill if book else None

    def _held_mark(self, symbol: str, row: int, day: date) -> Decimal:
        book = self._book(symbol, row)
        if book is None:
            raise DataError(f"no close for held symbol {symbol} on {day}: cannot value it")
        return book.mark


def _new_order(
    order_id: str,
    request: OrderRequest,
    now: datetime,
    status: OrderStatus,
    filled: Decimal = Decimal(0),
    price: Decimal | None = None,
    reason: str | None = None,
) -> Order:
    limit = request.limit_price if isinstance(request, LimitOrderRequest) else None
    return Order(
        id=order_id,
        client_order_id=request.client_order_id,
        symbol=request.symbol,
        side=request.side,
        type=request.type,
        qty=request.qty,
        limit_price=limit,
        status=status,
        filled_qty=filled,
        filled_avg_price=price,
        submitted_at=now,
        updated_at=now,
        reject_reason=reason,
    )


def _with_status(order: Order, status: OrderStatus, at: datetime) -> Order:
    return Order.model_validate(order.model_dump() | {"status": status, "updated_at": at})


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"session time must be timezone-aware, was {moment.isoformat()}")
    return moment.astimezone(UTC)


__all__ = ["SimulatedBroker", "SimulatedSessionError", "SimulationConfig", "TimeSource"]
