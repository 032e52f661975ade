"""The simulated broker on its SQLite file, trading at real closes (../shared/data/prices).

Known answers use SPY on 2025-11-28 (XNYS early close, 13:00 ET), close
677.7747192382812, with the default 2 bps spread and 1 bps slippage:
  half spread = 677.7747192382812 x 2 / 2e4 = 0.0677775 -> bid 677.7069 down to 677.70,
  ask 677.8425 up to 677.85, mid 677.775;
  market buy 677.85 x 1.0001 = 677.917785 up to 677.92; market sell 677.70 x 0.9999 =
  677.63223 down to 677.63;
  limit buy fills at or above 677.775 + 0.5 x 0.075 = 677.8125; limit sell at or below
  677.775 - 0.5 x 0.075 = 677.7375.
"""

from __future__ import annotations

import contextlib
import re
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alchemiser.broker.errors import (
    BrokerError,
    OrderNotCancelableError,
    OrderRejectedError,
    TransientBrokerError,
    UnknownSymbolError,
)
from alchemiser.broker.models import (
    LimitOrderRequest,
    MarketOrderRequest,
    OrderRequest,
    OrderSide,
    OrderStatus,
)
from alchemiser.broker.simulated import SimulatedBroker, SimulatedSessionError, SimulationConfig
from alchemiser.errors import DataError
from alchemiser.market.history import PriceHistory
from alchemiser.market.loader import load_price_directory
from alchemiser.market.synthetic import business_days, synthetic_series
from alchemiser.money import to_cents
from alchemiser.settings import Settings
from tests.conftest import PRICES_DIR
from tests.support.prices import history_from

EARLY_CLOSE = date(2025, 11, 28)
SPY_CLOSE = Decimal("677.7747192382812")


@pytest.fixture(scope="module")
def market() -> PriceHistory:
    return load_price_directory(PRICES_DIR, ["SPY", "QQQ", "BIL"])


Make = Callable[..., SimulatedBroker]


@pytest.fixture
def make(tmp_path: Path, market: PriceHistory) -> Make:
    """Return a builder of brokers on one file (one account), on ``day`` unless None."""

    def build(day: date | None = EARLY_CLOSE, **config: object) -> SimulatedBroker:
        settings = SimulationConfig.model_validate(config)
        broker = SimulatedBroker(tmp_path / "sim" / "broker.db", market, settings)
        if day is not None:
            broker.set_session(day)
        return broker

    return build


def buy(qty: str, cid: str, symbol: str = "SPY", limit: str | None = None) -> OrderRequest:
    return order(OrderSide.BUY, qty, cid, symbol, limit)


def sell(qty: str, cid: str, symbol: str = "SPY", limit: str | None = None) -> OrderRequest:
    return order(OrderSide.SELL, qty, cid, symbol, limit)


def order(side: OrderSide, qty: str, cid: str, symbol: str, limit: str | None) -> OrderRequest:
    if limit is None:
        return MarketOrderRequest(symbol=symbol, side=side, qty=Decimal(qty), client_order_id=cid)
    return LimitOrderRequest(
        symbol=symbol, side=side, qty=Decimal(qty), limit_price=Decimal(limit), client_order_id=cid
    )


# -- prices and fills -----------------------------------------------------------------------


def test_quote_straddles_the_close_by_the_configured_spread(make: Make) -> None:
    quote = make().latest_quote("SPY")
    assert (quote.bid, quote.ask) == (Decimal("677.70"), Decimal("677.85"))
    assert quote.usable and quote.timestamp == datetime(2025, 11, 28, 14, 30, tzinfo=UTC)


def test_market_buy_fills_at_ask_plus_slippage_and_moves_cash(make: Make) -> None:
    broker = make()
    filled = broker.submit_order(buy("10", "b1"))
    assert filled.status is OrderStatus.FILLED and filled.remaining == 0
    assert filled.filled_avg_price == Decimal("677.92")
    account = broker.account()
    assert account.cash == Decimal("100000") - Decimal("6779.20")
    # equity = cash + 10 x close (677.7747...) in cents; no margin: buying power = cash
    assert account.equity == account.cash + to_cents(10 * SPY_CLOSE)
    assert account.buying_power == account.cash
    (position,) = broker.positions()
    assert (position.qty, position.avg_entry_price, position.current_price) == (
        Decimal(10),
        Decimal("677.92"),
        SPY_CLOSE,
    )


def test_market_sell_fills_at_bid_minus_slippage(make: Make) -> None:
    broker = make()
    broker.submit_order(buy("2.5", "b1"))
    sold = broker.submit_order(sell("1.5", "s1"))
    assert sold.filled_avg_price == Decimal("677.63")
    # 2.5 x 677.92 = 1694.80 out; 1.5 x 677.63 = 1016.445 in, to the cent half-even: 1016.44
    assert broker.account().cash == Decimal("100000") - Decimal("1694.80") + Decimal("1016.44")
    assert broker.positions()[0].qty == Decimal("1.0")


@pytest.mark.parametrize(
    ("side", "limit", "status", "price"),
    [
        (
            OrderSide.BUY,
            "677.82",
            OrderStatus.FILLED,
            "677.82",
        ),  # above the threshold: at its limit
        (OrderSide.BUY, "677.81", OrderStatus.NEW, None),  # below 677.8125: rests
        (OrderSide.BUY, "690.00", OrderStatus.FILLED, "677.92"),  # the market price is better
        (OrderSide.SELL, "677.73", OrderStatus.FILLED, "677.73"),
        (OrderSide.SELL, "677.74", OrderStatus.NEW, None),  # above 677.7375: rests
        (OrderSide.SELL, "660.00", OrderStatus.FILLED, "677.63"),
    ],
)
def test_limit_orders_fill_past_the_threshold_at_the_better_price(
    make: Make, side: OrderSide, limit: str, status: OrderStatus, price: str | None
) -> None:
    broker = make()
    broker.submit_order(buy("3", "holding"))
    placed = broker.submit_order(order(side, "2", "limit", "SPY", limit))
    assert placed.status is status
    assert placed.filled_avg_price == (Decimal(price) if price else None)
    assert placed.remaining == (0 if price else 2)


def test_fill_threshold_zero_fills_a_limit_at_the_mid(make: Make) -> None:
    placed = make(fill_threshold=Decimal(0)).submit_order(buy("1", "mid", limit="677.78"))
    assert placed.status is OrderStatus.FILLED and placed.filled_avg_price == Decimal("677.78")


def test_partial_fill_leaves_the_rest_open_until_canceled(make: Make) -> None:
    broker = make(partial_fill_ratio=Decimal("0.4"), non_fractionable=frozenset({"QQQ"}))
    fractional = broker.submit_order(buy("2.5", "spy"))
    whole = broker.submit_order(buy("5", "qqq", symbol="QQQ"))
    assert (fractional.status, fractional.filled_qty) == (
        OrderStatus.PARTIALLY_FILLED,
        Decimal("1.0"),
    )
    assert (whole.filled_qty, whole.remaining) == (Decimal(2), Decimal(3))  # whole shares only
    broker.cancel_order(fractional.id)
    canceled = broker.get_order(fractional.id)
    assert canceled.status is OrderStatus.CANCELED and canceled.filled_qty == Decimal("1.0")
    assert broker.positions()[1].qty == Decimal("1.0")


# -- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_", "reason"),
    [
        (buy("1.5", "r", symbol="QQQ"), "not fractionable"),
        (buy("0.0000000001", "r"), "at most 9 decimal places"),
        (sell("1", "r"), "no shorting"),
        (buy("200", "r"), "insufficient buying power"),
        (buy("1", "r", limit="677.805"), "multiple of 0.01"),
        (buy("1", "r", symbol="BIL"), "reject_symbols"),
        (buy("0.001", "r"), "at least $1"),
    ],
)
def test_refused_orders_are_recorded_and_raise(
    make: Make, request_: OrderRequest, reason: str
) -> None:
    broker = make(non_fractionable=frozenset({"QQQ"}), reject_symbols=frozenset({"BIL"}))
    with pytest.raises(OrderRejectedError, match=re.escape(reason)) as raised:
        broker.submit_order(request_)
    assert raised.value.client_order_id == "r"
    recorded = broker.order_by_client_id("r")
    assert recorded is not None and recorded.status is OrderStatus.REJECTED
    assert recorded.reject_reason is not None and reason in recorded.reject_reason
    assert broker.account().cash == Decimal("100000") and broker.fills() == []
    with pytest.raises(OrderRejectedError):  # the same request again: still refused
        broker.submit_order(request_)


def test_open_orders_hold_the_cash_and_shares_they_may_use(make: Make) -> None:
    broker = make(initial_cash=Decimal(2000))
    broker.submit_order(buy("2", "held"))  # 1355.84
    resting_sell = broker.submit_order(sell("2", "rest-sell", limit="700.00"))
    resting_buy = broker.submit_order(buy("0.9", "rest-buy", limit="600.00"))  # holds 540.00
    assert broker.account().buying_power == Decimal("644.16") - Decimal("540.00")
    with pytest.raises(OrderRejectedError, match="0 \\(no shorting\\)"):
        broker.submit_order(sell("1", "second-sell"))
    broker.cancel_order(resting_sell.id)
    broker.cancel_order(resting_buy.id)
    assert broker.submit_order(sell("1", "third-sell")).status is OrderStatus.FILLED


def test_unknown_symbol_has_no_quote_or_asset(make: Make) -> None:
    broker = make()
    with pytest.raises(UnknownSymbolError, match="ZZZZ"):
        broker.latest_quote("ZZZZ")
    with pytest.raises(UnknownSymbolError, match="ZZZZ"):
        broker.asset("ZZZZ")
    with pytest.raises(OrderRejectedError, match="no close"):
        broker.submit_order(buy("1", "z", symbol="ZZZZ"))


# -- client order ids ---------------------------------------------------------------------------


def test_identical_resubmit_returns_the_existing_order_without_trading_again(make: Make) -> None:
    broker = make()
    first = broker.submit_order(buy("1", "same"))
    again = broker.submit_order(buy("1", "same"))
    assert again == first and len(broker.fills()) == 1
    with pytest.raises(BrokerError, match="different order"):
        broker.submit_order(buy("2", "same"))


def test_injected_submit_failures_create_no_order_and_persist_across_processes(make: Make) -> None:
    broker = make(fail_submit_times=2)
    for _ in range(2):
        with pytest.raises(TransientBrokerError, match="no order was created"):
            make(day=None, fail_submit_times=2).submit_order(buy("1", "flaky"))
        assert broker.order_by_client_id("flaky") is None
    assert broker.submit_order(buy("1", "flaky")).status is OrderStatus.FILLED


def test_failure_after_create_leaves_an_order_to_find_by_client_id(make: Make) -> None:
    broker = make(fail_after_submit_times=1)
    with pytest.raises(TransientBrokerError, match="look it up by client id"):
        broker.submit_order(buy("1", "timeout"))
    found = broker.order_by_client_id("timeout")
    assert found is not None and found.status is OrderStatus.FILLED
    assert broker.submit_order(buy("1", "timeout")) == found  # a retry finds, never re-trades
    assert len(broker.fills()) == 1


def test_cancel_only_open_orders(make: Make) -> None:
    broker = make()
    filled = broker.submit_order(buy("1", "done"))
    with pytest.raises(OrderNotCancelableError, match="only open orders"):
        broker.cancel_order(filled.id)
    with pytest.raises(BrokerError, match="no such order"):
        broker.cancel_order("missing")
    with pytest.raises(BrokerError, match="no order with id"):
        broker.get_order("missing")


# -- session, clock, calendar, persistence --------------------------------------------------------


def test_state_persists_between_instances_and_first_use_sets_the_cash(make: Make) -> None:
    make(initial_cash=Decimal(50_000)).submit_order(buy("1", "kept"))
    reopened = make(day=None, initial_cash=Decimal(1))  # a later config never resets the account
    assert reopened.account().cash == Decimal(50_000) - Decimal("677.92")
    assert reopened.current_session().day == EARLY_CLOSE
    assert reopened.order_by_client_id("kept") is not None


def test_session_refuses_non_trading_days_foreign_times_and_rewriting_history(make: Make) -> None:
    broker = make(day=date(2025, 12, 1))
    with pytest.raises(SimulatedSessionError, match="2025-11-27 is not a trading day"):
        broker.set_session(date(2025, 11, 27))
    with pytest.raises(SimulatedSessionError, match="must fall on 2025-12-01"):
        broker.set_session(date(2025, 12, 1), datetime(2025, 12, 2, 15, 0, tzinfo=UTC))
    broker.set_session(EARLY_CLOSE)  # nothing traded yet: moving back is fine
    broker.submit_order(buy("1", "trade"))
    broker.set_session(EARLY_CLOSE, datetime(2025, 11, 28, 17, 0, tzinfo=UTC))  # same day: a re-run
    with pytest.raises(SimulatedSessionError, match="must not rewrite history"):
        broker.set_session(date(2025, 11, 26))


def test_open_orders_expire_when_the_session_moves_on(make: Make) -> None:
    broker = make()
    resting = broker.submit_order(buy("1", "rest", limit="600.00"))
    broker.set_session(date(2025, 12, 1))
    assert broker.get_order(resting.id).status is OrderStatus.EXPIRED
    assert broker.account().buying_power == broker.account().cash


def test_clock_follows_the_session_time_and_the_early_close(make: Make) -> None:
    broker = make()
    broker.set_session(EARLY_CLOSE, datetime(2025, 11, 28, 17, 45, tzinfo=UTC))
    during = broker.clock()
    assert during.is_open and during.next_close == datetime(2025, 11, 28, 18, 0, tzinfo=UTC)
    assert during.next_open == datetime(2025, 12, 1, 14, 30, tzinfo=UTC)  # across the weekend
    broker.set_session(EARLY_CLOSE, datetime(2025, 11, 28, 18, 30, tzinfo=UTC))
    after = broker.clock()
    assert not after.is_open and after.next_close == datetime(2025, 12, 1, 21, 0, tzinfo=UTC)


class SteppingClock:
    """A clock the test moves by hand (stands in for the executor's instant clock)."""

    def __init__(self, now: datetime) -> None:
        self.time = now

    def now(self) -> datetime:
        return self.time


def test_a_given_clock_drives_the_time_of_day(tmp_path: Path, market: PriceHistory) -> None:
    # Given a broker on the early close whose time comes from a clock at 12:59 ET
    clock = SteppingClock(datetime(2025, 11, 28, 17, 59, tzinfo=UTC))
    broker = SimulatedBroker(tmp_path / "clocked.db", market, clock=clock)
    broker.set_session(EARLY_CLOSE)
    placed = broker.submit_order(buy("1", "before-close"))
    assert placed.submitted_at == clock.time and broker.clock().is_open
    # When the clock passes the 13:00 ET close
    clock.time = datetime(2025, 11, 28, 18, 1, tzinfo=UTC)
    # Then the market reads closed, and new activity carries the new time
    assert not broker.clock().is_open and broker.clock().timestamp == clock.time
    assert broker.latest_quote("SPY").timestamp == clock.time


def test_calendar_lists_market_days_with_exchange_hours(make: Make) -> None:
    sessions = make().calendar(date(2025, 11, 26), date(2025, 12, 1))
    assert [s.day for s in sessions] == [date(2025, 11, 26), EARLY_CLOSE, date(2025, 12, 1)]
    assert sessions[1].close == datetime(2025, 11, 28, 18, 0, tzinfo=UTC)
    assert sessions[0].close == datetime(2025, 11, 26, 21, 0, tzinfo=UTC)
    with pytest.raises(ValueError, match="on or before end"):
        make().calendar(date(2025, 12, 1), date(2025, 11, 26))


def test_weekday_market_days_unknown_to_the_exchange_get_regular_hours(tmp_path: Path) -> None:
    # Given a synthetic market (plumbing only: its values do not matter) on every
    # weekday, Thanksgiving included, as a user's own price files may be
    days = business_days(date(2024, 11, 28), date(2025, 11, 28))
    market = PriceHistory(
        dates=days, tickers=("SPY",), closes=synthetic_series("SPY", days)[:, None]
    )
    broker = SimulatedBroker(tmp_path / "demo.db", market)
    (thanksgiving,) = broker.calendar(date(2025, 11, 27), date(2025, 11, 27))
    assert thanksgiving.open == datetime(2025, 11, 27, 14, 30, tzinfo=UTC)
    assert thanksgiving.close == datetime(2025, 11, 27, 21, 0, tzinfo=UTC)


def test_sub_dollar_symbols_quote_in_hundredths_of_a_cent(tmp_path: Path) -> None:
    # Synthetic closes (plumbing): a $0.4510 stock
    broker = SimulatedBroker(tmp_path / "penny.db", history_from({"PNY": [0.451]}))
    assert broker.asset("PNY").price_tick == Decimal("0.0001")
    quote = broker.latest_quote("PNY")
    assert (quote.bid, quote.ask) == (Decimal("0.4509"), Decimal("0.4511"))


def test_a_held_symbol_without_a_close_cannot_be_valued(tmp_path: Path) -> None:
    # Synthetic closes (plumbing): AAA has no close on the second day
    broker = SimulatedBroker(
        tmp_path / "gap.db", history_from({"AAA": [10.0, None], "BBB": [5.0, 5.0]})
    )
    broker.set_session(date(2024, 1, 1))
    broker.submit_order(buy("1", "aaa", symbol="AAA"))
    broker.set_session(date(2024, 1, 2))
    with pytest.raises(DataError, match="AAA on 2024-01-02"):
        broker.positions()


def test_config_from_settings_takes_the_sim_fields() -> None:
    settings = Settings(
        sim_initial_cash=Decimal(25_000), sim_spread_bps=Decimal(4), sim_slippage_bps=Decimal(0)
    )
    config = SimulationConfig.from_settings(settings, partial_fill_ratio=Decimal("0.5"))
    assert (config.initial_cash, config.spread_bps, config.slippage_bps) == (
        Decimal(25_000),
        Decimal(4),
        Decimal(0),
    )
    assert config.partial_fill_ratio == Decimal("0.5")


# -- many threads, one account --------------------------------------------------------------------


def test_concurrent_buys_never_overspend(tmp_path: Path, market: PriceHistory) -> None:
    # Given $10,000 and 20 threads each buying one SPY at 677.92 (only 14 fit)
    config = SimulationConfig(initial_cash=Decimal(10_000))
    shared = SimulatedBroker(tmp_path / "busy.db", market, config)
    shared.set_session(EARLY_CLOSE)

    def attempt(i: int) -> str:
        broker = shared if i % 2 else SimulatedBroker(tmp_path / "busy.db", market, config)
        try:
            return broker.submit_order(buy("1", f"t{i}")).status.value
        except OrderRejectedError:
            return "rejected"

    # When they all submit at once (shared instance and instances of their own)
    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(attempt, range(20)))
    # Then exactly the affordable orders filled and the books balance
    assert outcomes.count("filled") == 14 and outcomes.count("rejected") == 6
    assert shared.account().cash == Decimal(10_000) - 14 * Decimal("677.92")
    assert shared.positions()[0].qty == 14


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["buy", "sell"]), st.sampled_from(["SPY", "QQQ"]),
                  st.decimals(min_value=Decimal("0.01"), max_value=Decimal(40), places=2)),
        max_size=12,
    )
)  # fmt: skip
def test_cash_and_holdings_stay_consistent_with_the_fills(
    market: PriceHistory, trades: list[tuple[str, str, Decimal]]
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        broker = SimulatedBroker(
            Path(folder) / "prop.db", market, SimulationConfig(initial_cash=Decimal(20_000))
        )
        broker.set_session(EARLY_CLOSE)
        for n, (side, symbol, qty) in enumerate(trades):
            with contextlib.suppress(OrderRejectedError):
                broker.submit_order(order(OrderSide(side), str(qty), f"p{n}", symbol, None))
        fills, account = broker.fills(), broker.account()
        flows = sum(
            (to_cents(f.qty * f.price) * (-1 if f.side is OrderSide.BUY else 1) for f in fills),
            Decimal(0),
        )
        assert account.cash == Decimal(20_000) + flows and account.cash >= 0
        for position in broker.positions():
            net = sum(
                (
                    f.qty if f.side is OrderSide.BUY else -f.qty
                    for f in fills
                    if f.symbol == position.symbol
                ),
                Decimal(0),
            )
            assert position.qty == net > 0
