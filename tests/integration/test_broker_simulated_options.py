"""The simulated options broker: fills marketable limits, one order per combination,
refuses what a real broker refuses, settles expiries, persists between instances."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from alchemiser.broker.errors import BrokerError, OrderNotCancelableError, OrderRejectedError
from alchemiser.broker.models import OrderStatus
from alchemiser.broker.options_models import OptionLeg, OptionOrderRequest, PositionIntent
from alchemiser.broker.simulated_options import OptionsSimulationConfig, SimulatedOptionsBroker
from alchemiser.broker.simulated_options_market import SimulatedOptionsMarket
from alchemiser.market.loader import load_price_directory

DAY = date(2024, 3, 14)
LONG = "QQQ240621P00400000"
SHORT = "QQQ240621P00360000"


@pytest.fixture(scope="module")
def market(prices_dir: Path) -> SimulatedOptionsMarket:
    return SimulatedOptionsMarket(load_price_directory(prices_dir, ["QQQ"]))


def broker_at(
    path: Path, market: SimulatedOptionsMarket, config: OptionsSimulationConfig | None = None
) -> SimulatedOptionsBroker:
    broker = SimulatedOptionsBroker(path / "options.sqlite3", market, config)
    broker.set_day(DAY)
    return broker


def buy(cid: str, limit: str, qty: int = 2, symbol: str = LONG) -> OptionOrderRequest:
    leg = OptionLeg(symbol=symbol, intent=PositionIntent.BUY_TO_OPEN)
    return OptionOrderRequest(client_order_id=cid, legs=(leg,), qty=qty, limit_price=Decimal(limit))


def spread(cid: str, limit: Decimal, qty: int = 3) -> OptionOrderRequest:
    legs = (
        OptionLeg(symbol=LONG, intent=PositionIntent.BUY_TO_OPEN),
        OptionLeg(symbol=SHORT, intent=PositionIntent.SELL_TO_OPEN),
    )
    return OptionOrderRequest(client_order_id=cid, legs=legs, qty=qty, limit_price=limit)


def test_a_limit_at_mid_rests_and_one_at_the_ask_fills_there(
    tmp_path: Path, market: SimulatedOptionsMarket
) -> None:
    broker = broker_at(tmp_path, market)
    quote = broker.option_snapshots([LONG])[LONG]
    resting = broker.submit_option_order(buy("mid", f"{quote.mid:.2f}"))
    assert resting.status is OrderStatus.NEW and resting.filled_qty == 0
    filled = broker.submit_option_order(buy("ask", str(quote.ask)))
    assert filled.status is OrderStatus.FILLED
    assert filled.filled_avg_price == quote.ask
    assert [(p.symbol, p.qty) for p in broker.option_positions()] == [(LONG, 2)]
    assert broker.cash_flows()[-1].amount == -(quote.ask * 200)


def test_a_spread_is_one_order_filled_at_one_net_price_its_legs_add_up_to(
    tmp_path: Path, market: SimulatedOptionsMarket
) -> None:
    broker = broker_at(tmp_path, market)
    quotes = broker.option_snapshots([LONG, SHORT])
    far = quotes[LONG].ask - quotes[SHORT].bid
    order = broker.submit_option_order(spread("sp", far))
    assert order.status is OrderStatus.FILLED and order.filled_avg_price == far
    long_leg, short_leg = order.legs
    assert long_leg.filled_avg_price is not None and short_leg.filled_avg_price is not None
    assert long_leg.filled_avg_price - short_leg.filled_avg_price == far
    assert {p.symbol: p.qty for p in broker.option_positions()} == {LONG: 3, SHORT: -3}
    assert len(broker.orders()) == 1


def test_partial_fills_are_kept_and_the_rest_rests(
    tmp_path: Path, market: SimulatedOptionsMarket
) -> None:
    broker = broker_at(tmp_path, market, OptionsSimulationConfig(partial_fill_ratio=Decimal("0.5")))
    ask = broker.option_snapshots([LONG])[LONG].ask
    order = broker.submit_option_order(buy("p", str(ask), qty=5))
    assert (order.status, order.filled_qty, order.remaining) == (OrderStatus.PARTIALLY_FILLED, 2, 3)
    broker.cancel_option_order(order.id)
    assert broker.get_option_order(order.id).status is OrderStatus.CANCELED
    assert broker.option_positions()[0].qty == 2


@pytest.mark.parametrize(
    ("request_", "reason"),
    [
        (
            OptionOrderRequest(
                client_order_id="naked",
                legs=(OptionLeg(symbol=SHORT, intent=PositionIntent.SELL_TO_OPEN),),
                qty=1,
                limit_price=Decimal("1.00"),
            ),
            "naked short",
        ),
        (
            OptionOrderRequest(
                client_order_id="close",
                legs=(OptionLeg(symbol=LONG, intent=PositionIntent.SELL_TO_CLOSE),),
                qty=1,
                limit_price=Decimal("1.00"),
            ),
            "0 held long",
        ),
        (buy("expired", "1.00", symbol="QQQ240308P00400000"), "not quoted"),
        (buy("tick", "1.005"), "whole cents"),
    ],
)
def test_refused_orders_are_recorded_rejected_with_the_reason(
    tmp_path: Path, market: SimulatedOptionsMarket, request_: OptionOrderRequest, reason: str
) -> None:
    broker = broker_at(tmp_path, market)
    with pytest.raises(OrderRejectedError, match=reason):
        broker.submit_option_order(request_)
    assert broker.option_order_by_client_id(request_.client_order_id).status is OrderStatus.REJECTED  # type: ignore[union-attr]


def test_a_client_id_places_one_order_and_names_no_other(
    tmp_path: Path, market: SimulatedOptionsMarket
) -> None:
    broker = broker_at(tmp_path, market)
    ask = broker.option_snapshots([LONG])[LONG].ask
    first = broker.submit_option_order(buy("same", str(ask)))
    again = broker.submit_option_order(buy("same", str(ask)))
    assert again == first and len(broker.orders()) == 1
    with pytest.raises(BrokerError, match="already names a different"):
        broker.submit_option_order(buy("same", str(ask), qty=3))


def test_cancelling_a_filled_order_fails_as_alpacas_422_does(
    tmp_path: Path, market: SimulatedOptionsMarket
) -> None:
    broker = broker_at(tmp_path, market)
    ask = broker.option_snapshots([LONG])[LONG].ask
    order = broker.submit_option_order(buy("f", str(ask)))
    with pytest.raises(OrderNotCancelableError, match="only open orders"):
        broker.cancel_option_order(order.id)


def test_moving_past_expiry_settles_at_intrinsic_value_and_state_persists(
    tmp_path: Path, market: SimulatedOptionsMarket
) -> None:
    broker = broker_at(tmp_path, market)
    symbol = "QQQ240315P00440000"  # expires tomorrow, in the money
    ask = broker.option_snapshots([symbol])[symbol].ask
    broker.submit_option_order(buy("itm", str(ask), qty=1, symbol=symbol))
    resting = broker.submit_option_order(buy("rest", "0.01", qty=1))
    # A new process opens the same file and moves to Monday
    reopened = SimulatedOptionsBroker(tmp_path / "options.sqlite3", market)
    settled = reopened.set_day(date(2024, 3, 18))
    value = market.settlement_value(symbol, date(2024, 3, 15))
    assert [(f.kind, f.qty, f.amount) for f in settled] == [("settlement", -1, value * 100)]
    assert reopened.option_positions() == []
    assert reopened.get_option_order(resting.id).status is OrderStatus.EXPIRED
    with pytest.raises(BrokerError, match="back to"):
        reopened.set_day(DAY)
