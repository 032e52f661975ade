"""The Alpaca options adapter against recorded responses in Alpaca's documented shapes.

The fixtures in tests/fixtures/alpaca_options follow Alpaca's API reference and the
shapes alpaca-py's own tests use: option contracts pages (``option_contracts`` +
``next_page_token``), chain snapshots pages (``snapshots`` keyed by symbol, with
``latestQuote``, ``greeks``, ``impliedVolatility``; any of them may be missing),
simple and ``mleg`` orders (the mleg parent has empty ``symbol``/``side`` and its
``legs``), option positions (negative ``qty`` when short), 403/422 errors.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import responses

from alchemiser.broker.alpaca_options import AlpacaOptionsBroker
from alchemiser.broker.errors import BrokerError, OrderRejectedError, TransientBrokerError
from alchemiser.broker.models import OrderSide, OrderStatus
from alchemiser.broker.options_models import (
    OptionLeg,
    OptionOrderRequest,
    OptionRight,
    PositionIntent,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "alpaca_options"
PAPER = "https://paper-api.alpaca.markets/v2"
DATA = "https://data.alpaca.markets/v1beta1"
TIMEOUT_S = 7.5


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def query(call: Any) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(call.request.url).query))


@pytest.fixture
def http() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def broker() -> AlpacaOptionsBroker:
    return AlpacaOptionsBroker("test-key", "test-secret", timeout_s=TIMEOUT_S, sleep=lambda s: None)


def test_contracts_follow_every_page_and_keep_open_interest(
    http: responses.RequestsMock, broker: AlpacaOptionsBroker
) -> None:
    http.get(f"{PAPER}/options/contracts", json=fixture("contracts_page1"))
    http.get(f"{PAPER}/options/contracts", json=fixture("contracts_page2"))
    contracts = broker.option_contracts(
        "QQQ", date(2026, 8, 30), date(2026, 10, 30), OptionRight.PUT, (Decimal(400), Decimal(500))
    )
    assert [(c.symbol, c.strike, c.open_interest, c.tradable) for c in contracts] == [
        ("QQQ260918P00480000", Decimal(480), 5312, True),
        ("QQQ260918P00470000", Decimal(470), 2981, True),
        ("QQQ260918P00460000", Decimal(460), None, True),
        ("QQQ260918P00450000", Decimal(450), 77, False),
    ]
    first, second = (query(call) for call in http.calls)
    assert first["underlying_symbols"] == "QQQ" and first["type"] == "put"
    assert (first["expiration_date_gte"], first["expiration_date_lte"]) == (
        "2026-08-30",
        "2026-10-30",
    )
    assert (first["strike_price_gte"], first["strike_price_lte"]) == ("400", "500")
    assert "page_token" not in first and second["page_token"] == "MDAwMDAy"
    assert all(call.request.req_kwargs["timeout"] == TIMEOUT_S for call in http.calls)


def test_contracts_that_never_end_are_an_error_not_a_loop(http: responses.RequestsMock) -> None:
    broker = AlpacaOptionsBroker("k", "s", max_pages=2, sleep=lambda s: None)
    http.get(f"{PAPER}/options/contracts", json=fixture("contracts_page1"))
    http.get(f"{PAPER}/options/contracts", json=fixture("contracts_page1"))
    with pytest.raises(BrokerError, match="run past 2 pages"):
        broker.option_contracts("QQQ", date(2026, 8, 30), date(2026, 10, 30), OptionRight.PUT)


def test_the_chain_reads_every_page_with_quotes_iv_and_greeks(
    http: responses.RequestsMock, broker: AlpacaOptionsBroker
) -> None:
    http.get(f"{DATA}/options/snapshots/QQQ", json=fixture("chain_page1"))
    http.get(f"{DATA}/options/snapshots/QQQ", json=fixture("chain_page2"))
    chain = broker.option_chain("QQQ", date(2026, 8, 30), date(2026, 10, 30), OptionRight.PUT)
    # A snapshot without a quote is left out; one without greeks keeps its quote only
    assert sorted(chain) == ["QQQ260918P00460000", "QQQ260918P00470000", "QQQ260918P00480000"]
    put = chain["QQQ260918P00480000"]
    assert (put.bid, put.ask, put.implied_vol) == (Decimal("6.12"), Decimal("6.24"), 0.2261)
    assert put.greeks is not None and put.greeks.delta == -0.1812
    assert put.quote_time.isoformat() == "2026-07-01T19:44:59.912000+00:00"
    bare = chain["QQQ260918P00460000"]
    assert bare.greeks is None and bare.implied_vol is None
    assert query(http.calls[1])["page_token"] == "UVFRMjYwOTE4UDAwNDcwMDAw"


def test_snapshots_are_read_fresh_by_symbol(
    http: responses.RequestsMock, broker: AlpacaOptionsBroker
) -> None:
    http.get(f"{DATA}/options/snapshots", json=fixture("snapshots"))
    found = broker.option_snapshots(["QQQ260918P00480000", "QQQ260918P00999000"])
    assert list(found) == ["QQQ260918P00480000"]
    assert query(http.calls[0])["symbols"] == "QQQ260918P00480000,QQQ260918P00999000"


def test_a_transient_chain_failure_is_retried_then_reported(http: responses.RequestsMock) -> None:
    broker = AlpacaOptionsBroker("k", "s", read_attempts=2, sleep=lambda s: None)
    http.get(f"{DATA}/options/snapshots/QQQ", status=503, json={"message": "service unavailable"})
    http.get(f"{DATA}/options/snapshots/QQQ", status=503, json={"message": "service unavailable"})
    with pytest.raises(TransientBrokerError, match="503"):
        broker.option_chain("QQQ", date(2026, 8, 30), date(2026, 10, 30), OptionRight.PUT)


def test_positions_keep_options_only_with_shorts_negative(
    http: responses.RequestsMock, broker: AlpacaOptionsBroker
) -> None:
    http.get(f"{PAPER}/positions", json=fixture("positions"))
    assert [(p.symbol, p.qty, p.current_price) for p in broker.option_positions()] == [
        ("QQQ260918P00480000", 3, Decimal("6.08")),
        ("QQQ260918P00470000", -2, Decimal("4.55")),
    ]


def single(cid: str = "cycle-2026-07-01-dev-h-o-QQQ260918P00480000.0") -> OptionOrderRequest:
    leg = OptionLeg(symbol="QQQ260918P00480000", intent=PositionIntent.BUY_TO_OPEN)
    return OptionOrderRequest(client_order_id=cid, legs=(leg,), qty=3, limit_price=Decimal("6.18"))


def spread() -> OptionOrderRequest:
    legs = (
        OptionLeg(symbol="QQQ260918P00520000", intent=PositionIntent.BUY_TO_OPEN),
        OptionLeg(symbol="QQQ260918P00470000", intent=PositionIntent.SELL_TO_OPEN),
    )
    return OptionOrderRequest(
        client_order_id="cycle-2026-07-01-dev-h-o-spread.0",
        legs=legs,
        qty=2,
        limit_price=Decimal("2.93"),
    )


def test_a_single_leg_order_is_one_simple_limit_post(
    http: responses.RequestsMock, broker: AlpacaOptionsBroker
) -> None:
    http.post(f"{PAPER}/orders", json=fixture("order_single_new"))
    order = broker.submit_option_order(single())
    assert json.loads(http.calls[0].request.body) == {
        "symbol": "QQQ260918P00480000", "qty": "3", "side": "buy", "type": "limit",
        "time_in_force": "day", "limit_price": "6.18", "position_intent": "buy_to_open",
        "client_order_id": "cycle-2026-07-01-dev-h-o-QQQ260918P00480000.0",
    }  # fmt: skip
    assert (order.status, order.qty, order.filled_qty) == (OrderStatus.NEW, 3, 0)
    assert order.legs[0].intent is PositionIntent.BUY_TO_OPEN


def test_a_spread_is_one_mleg_post_with_one_net_limit(
    http: responses.RequestsMock, broker: AlpacaOptionsBroker
) -> None:
    http.post(f"{PAPER}/orders", json=fixture("order_mleg_filled"))
    order = broker.submit_option_order(spread())
    body = json.loads(http.calls[0].request.body)
    assert body["order_class"] == "mleg" and "symbol" not in body and "side" not in body
    assert (body["qty"], body["limit_price"], body["type"]) == ("2", "2.93", "limit")
    assert body["legs"] == [
        {
            "symbol": "QQQ260918P00520000",
            "ratio_qty": "1",
            "side": "buy",
            "position_intent": "buy_to_open",
        },
        {
            "symbol": "QQQ260918P00470000",
            "ratio_qty": "1",
            "side": "sell",
            "position_intent": "sell_to_open",
        },
    ]
    assert len(http.calls) == 1
    assert (order.status, order.filled_qty, order.filled_avg_price) == (
        OrderStatus.FILLED,
        2,
        Decimal("2.91"),
    )
    long, short = order.legs
    assert (long.side, long.filled_qty, long.filled_avg_price) == (
        OrderSide.BUY,
        2,
        Decimal("9.07"),
    )
    assert (short.side, short.filled_avg_price) == (OrderSide.SELL, Decimal("6.16"))
    assert order.matches(spread())


def test_partial_fills_come_back_as_whole_contracts(
    http: responses.RequestsMock, broker: AlpacaOptionsBroker
) -> None:
    http.get(f"{PAPER}/orders:by_client_order_id", json=fixture("order_single_partial"))
    order = broker.option_order_by_client_id(single().client_order_id)
    assert order is not None
    assert (order.status, order.filled_qty, order.remaining) == (OrderStatus.PARTIALLY_FILLED, 2, 1)
    assert query(http.calls[0])["client_order_id"] == single().client_order_id


def test_a_403_is_a_rejection_with_alpacas_reason(
    http: responses.RequestsMock, broker: AlpacaOptionsBroker
) -> None:
    http.post(f"{PAPER}/orders", status=403, json=fixture("error_uncovered"))
    with pytest.raises(OrderRejectedError, match="uncovered option contracts"):
        broker.submit_option_order(spread())


def test_a_422_for_a_duplicate_id_returns_the_order_already_placed(
    http: responses.RequestsMock, broker: AlpacaOptionsBroker
) -> None:
    http.post(
        f"{PAPER}/orders",
        status=422,
        json={"code": 40010001, "message": "client_order_id must be unique"},
    )
    http.get(f"{PAPER}/orders:by_client_order_id", json=fixture("order_single_new"))
    order = broker.submit_option_order(single())
    assert order.id == "f3a8e2e4-7d4b-4f0a-9d7e-5b2f0c1d9a11"
    assert [c.request.method for c in http.calls] == ["POST", "GET"]


def test_a_422_without_an_order_behind_it_is_a_rejection(
    http: responses.RequestsMock, broker: AlpacaOptionsBroker
) -> None:
    http.post(f"{PAPER}/orders", status=422, json=fixture("error_unprocessable"))
    http.get(
        f"{PAPER}/orders:by_client_order_id",
        status=404,
        json={"code": 40410000, "message": "order not found"},
    )
    with pytest.raises(OrderRejectedError, match="only allowed during market hours"):
        broker.submit_option_order(single())


def test_a_duplicate_id_naming_another_order_is_an_error(
    http: responses.RequestsMock, broker: AlpacaOptionsBroker
) -> None:
    http.post(
        f"{PAPER}/orders",
        status=422,
        json={"code": 40010001, "message": "client_order_id must be unique"},
    )
    http.get(f"{PAPER}/orders:by_client_order_id", json=fixture("order_mleg_filled"))
    with pytest.raises(BrokerError, match="already names a different option order"):
        broker.submit_option_order(single())


def test_an_order_post_is_never_retried(
    http: responses.RequestsMock, broker: AlpacaOptionsBroker
) -> None:
    http.post(f"{PAPER}/orders", status=504, json={"message": "gateway timeout"})
    with pytest.raises(TransientBrokerError):
        broker.submit_option_order(single())
    assert len(http.calls) == 1


def test_cancelling_a_filled_option_order_fails_loudly(
    http: responses.RequestsMock, broker: AlpacaOptionsBroker
) -> None:
    order_id = "f3a8e2e4-7d4b-4f0a-9d7e-5b2f0c1d9a11"
    http.delete(
        f"{PAPER}/orders/{order_id}",
        status=422,
        json={"code": 42210000, "message": "order is not cancelable"},
    )
    with pytest.raises(BrokerError, match="not cancelable"):
        broker.cancel_option_order(order_id)
