"""What every ``Broker`` must do the same way: the simulated broker and the Alpaca adapter.

The Alpaca adapter runs against ``FakeAlpacaOrders`` (tests/support/fake_alpaca.py):
``responses`` callbacks that keep orders in a dict and answer in Alpaca's documented
shapes. The simulated broker trades at the real SPY close of 2025-11-28
(../shared/data/prices).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import responses

from alchemiser.broker.alpaca import AlpacaBroker
from alchemiser.broker.errors import (
    BrokerError,
    OrderNotCancelableError,
    OrderRejectedError,
    UnknownSymbolError,
)
from alchemiser.broker.models import (
    LimitOrderRequest,
    MarketOrderRequest,
    OrderRequest,
    OrderSide,
    OrderStatus,
)
from alchemiser.broker.port import Broker
from alchemiser.broker.simulated import SimulatedBroker, SimulationConfig
from alchemiser.market.loader import load_price_directory
from tests.conftest import PRICES_DIR
from tests.support.fake_alpaca import FakeAlpacaOrders


@pytest.fixture(params=["simulated", "alpaca"])
def broker(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Broker]:
    if request.param == "simulated":
        market = load_price_directory(PRICES_DIR, ["SPY", "BIL"])
        simulated = SimulatedBroker(tmp_path / "broker.db", market, SimulationConfig())
        simulated.set_session(date(2025, 11, 28))
        simulated.submit_order(_market("SPY", OrderSide.BUY, "3", "seed-holding"))
        yield simulated
        return
    with responses.RequestsMock(assert_all_requests_are_fired=False) as http:
        FakeAlpacaOrders(http)
        yield AlpacaBroker("contract-key", "contract-secret", sleep=lambda _: None)


def _market(symbol: str, side: OrderSide, qty: str, cid: str) -> OrderRequest:
    return MarketOrderRequest(symbol=symbol, side=side, qty=Decimal(qty), client_order_id=cid)


def _resting_buy(cid: str = "rest-1") -> OrderRequest:
    # far below the ~$678 market: rests at both brokers
    return LimitOrderRequest(
        symbol="SPY",
        side=OrderSide.BUY,
        qty=Decimal("0.5"),
        limit_price=Decimal("600.00"),
        client_order_id=cid,
    )


def test_market_buy_comes_back_filled_with_exact_decimals(broker: Broker) -> None:
    order = broker.submit_order(_market("SPY", OrderSide.BUY, "1.234567891", "buy-1"))
    assert order.client_order_id == "buy-1" and order.symbol == "SPY"
    assert order.status is OrderStatus.FILLED and order.status.terminal
    assert order.qty == order.filled_qty == Decimal("1.234567891") and order.remaining == 0
    assert isinstance(order.filled_avg_price, Decimal) and order.filled_avg_price > 0
    assert order.submitted_at.tzinfo is not None


def test_an_order_is_found_by_its_client_id_and_its_id(broker: Broker) -> None:
    placed = broker.submit_order(_market("SPY", OrderSide.BUY, "1", "find-me"))
    assert broker.order_by_client_id("find-me") == placed
    assert broker.get_order(placed.id) == placed


def test_an_unknown_client_id_is_none(broker: Broker) -> None:
    assert broker.order_by_client_id("cycle-1999-01-01-dev-buy-SPY") is None


def test_an_unknown_order_id_is_a_broker_error(broker: Broker) -> None:
    with pytest.raises(BrokerError):
        broker.get_order(str(uuid.uuid4()))


def test_a_resting_limit_stays_open_until_canceled(broker: Broker) -> None:
    resting = broker.submit_order(_resting_buy())
    assert not resting.status.terminal and resting.remaining == Decimal("0.5")
    assert resting.limit_price == Decimal("600.00")
    broker.cancel_order(resting.id)
    canceled = broker.get_order(resting.id)
    assert canceled.status is OrderStatus.CANCELED and canceled.status.terminal
    assert canceled.filled_qty == 0 and canceled.remaining == Decimal("0.5")


def test_canceling_a_filled_order_raises_not_cancelable_like_alpacas_422(broker: Broker) -> None:
    # Given an order that can no longer be canceled
    filled = broker.submit_order(_market("SPY", OrderSide.BUY, "1", "filled-1"))
    # When it is canceled, Then both brokers refuse with the same typed error (never silently)
    with pytest.raises(OrderNotCancelableError) as raised:
        broker.cancel_order(filled.id)
    assert raised.value.order_id == filled.id
    # And the order is still filled, whole
    assert broker.get_order(filled.id).status is OrderStatus.FILLED


def test_an_identical_resubmit_returns_the_order_already_placed(broker: Broker) -> None:
    first = broker.submit_order(_resting_buy("twice"))
    assert broker.submit_order(_resting_buy("twice")) == first


def test_a_client_id_naming_another_order_is_refused(broker: Broker) -> None:
    broker.submit_order(_resting_buy("taken"))
    with pytest.raises(BrokerError, match="different order") as raised:
        broker.submit_order(_market("SPY", OrderSide.BUY, "1", "taken"))
    assert not isinstance(raised.value, OrderRejectedError)


def test_account_and_positions_are_decimal_money(broker: Broker) -> None:
    account = broker.account()
    assert all(isinstance(v, Decimal) for v in (account.equity, account.cash, account.buying_power))
    assert account.buying_power <= account.cash  # never margin
    spy = next(p for p in broker.positions() if p.symbol == "SPY")
    assert all(
        isinstance(v, Decimal)
        for v in (spy.qty, spy.market_value, spy.avg_entry_price, spy.current_price)
    )
    assert spy.qty > 0


def test_calendar_and_clock_are_aware_utc(broker: Broker) -> None:
    sessions = broker.calendar(date(2025, 11, 26), date(2025, 12, 1))
    assert [s.day for s in sessions] == [date(2025, 11, 26), date(2025, 11, 28), date(2025, 12, 1)]
    assert all(s.open.utcoffset() == s.close.utcoffset() == timedelta(0) for s in sessions)
    assert sessions[1].close.hour == 18  # 13:00 ET early close
    clock = broker.clock()
    assert clock.timestamp.utcoffset() is not None and clock.next_open > clock.timestamp
    with pytest.raises(ValueError, match="on or before end"):
        broker.calendar(date(2025, 12, 1), date(2025, 11, 26))


def test_quotes_and_assets_are_decimal_and_unknown_symbols_raise(broker: Broker) -> None:
    quote = broker.latest_quote("SPY")
    assert isinstance(quote.bid, Decimal) and quote.usable and quote.ask > quote.bid
    asset = broker.asset("SPY")
    assert asset.tradable and asset.fractionable and asset.price_tick == Decimal("0.01")
    with pytest.raises(UnknownSymbolError):
        broker.latest_quote("ZZZZ")
    with pytest.raises(UnknownSymbolError):
        broker.asset("ZZZZ")
