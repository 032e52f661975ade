"""The Alpaca adapter against recorded responses in Alpaca's documented shapes.

Every HTTP exchange is answered by ``responses`` from tests/fixtures/alpaca; no test
talks to Alpaca and no credential is real. The canary tests (timeouts on every call,
one POST per submit, one GET per attempt) fail if an alpaca-py upgrade moves the hook
the adapter overrides.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import boto3
import pytest
import requests
import responses
from moto import mock_aws

from alchemiser.broker.alpaca import AlpacaBroker, load_secret_json
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
    OrderSide,
    OrderStatus,
    OrderType,
)
from alchemiser.errors import ConfigurationError
from alchemiser.settings import Settings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "alpaca"
PAPER = "https://paper-api.alpaca.markets/v2"
LIVE = "https://api.alpaca.markets/v2"
DATA = "https://data.alpaca.markets/v2"
ORDER_ID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
TIMEOUT_S = 7.5


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())


@pytest.fixture
def http() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def broker(sleeps: list[float]) -> AlpacaBroker:
    return AlpacaBroker("test-key", "test-secret", timeout_s=TIMEOUT_S, sleep=sleeps.append)


def market_buy(
    qty: str = "1.234567891", cid: str = "cycle-2025-11-28-dev-buy-SPY-mkt"
) -> MarketOrderRequest:
    return MarketOrderRequest(
        symbol="SPY", side=OrderSide.BUY, qty=Decimal(qty), client_order_id=cid
    )


def query(call: Any) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(call.request.url).query))


def posts(http: responses.RequestsMock) -> list[Any]:
    return [c for c in http.calls if c.request.method == "POST"]


# -- account, positions, clock, calendar -------------------------------------------------


def test_account_maps_decimal_money_and_never_counts_margin(
    http: responses.RequestsMock, broker: AlpacaBroker
) -> None:
    # Given a margin account whose buying power (40123.46) is twice its cash
    http.get(f"{PAPER}/account", json=fixture("account"))
    # When the adapter reads it
    account = broker.account()
    # Then money is exact Decimal and buying power is the non-marginable one (no borrowing)
    assert account.equity == Decimal("27195.25")
    assert account.cash == Decimal("20061.73")
    assert account.buying_power == Decimal("20061.73")
    assert not account.trading_blocked


def test_blocked_account_reports_trading_blocked(
    http: responses.RequestsMock, broker: AlpacaBroker
) -> None:
    http.get(f"{PAPER}/account", json=fixture("account") | {"account_blocked": True})
    assert broker.account().trading_blocked


def test_positions_keep_fractional_quantities_exact(
    http: responses.RequestsMock, broker: AlpacaBroker
) -> None:
    http.get(f"{PAPER}/positions", json=fixture("positions"))
    spy, bil = broker.positions()
    assert (spy.symbol, spy.qty, spy.market_value) == (
        "SPY",
        Decimal("10.523456789"),
        Decimal("7132.44"),
    )
    assert (spy.avg_entry_price, spy.current_price) == (Decimal("671.3024"), Decimal("677.77"))
    assert (bil.symbol, bil.qty) == ("BIL", Decimal("3"))


def test_clock_times_are_aware_utc(http: responses.RequestsMock, broker: AlpacaBroker) -> None:
    # Given Alpaca's clock in Eastern offsets on the 2025-11-28 early close
    http.get(f"{PAPER}/clock", json=fixture("clock"))
    clock = broker.clock()
    # Then every time is UTC (13:00 ET close = 18:00 UTC)
    assert clock.is_open
    assert clock.next_close == datetime(2025, 11, 28, 18, 0, tzinfo=UTC)
    assert clock.next_open == datetime(2025, 12, 1, 14, 30, tzinfo=UTC)
    assert clock.timestamp.tzinfo is UTC


def test_calendar_converts_eastern_hours_and_keeps_the_early_close(
    http: responses.RequestsMock, broker: AlpacaBroker
) -> None:
    # Given the calendar around Thanksgiving 2025 (11-27 closed, 11-28 closes at 13:00 ET)
    http.get(f"{PAPER}/calendar", json=fixture("calendar"))
    # When it is read for that week
    sessions = broker.calendar(date(2025, 11, 26), date(2025, 12, 1))
    # Then the days are Alpaca's and hours are aware UTC, the early close included
    assert [s.day for s in sessions] == [date(2025, 11, 26), date(2025, 11, 28), date(2025, 12, 1)]
    early = sessions[1]
    assert early.open == datetime(2025, 11, 28, 14, 30, tzinfo=UTC)
    assert early.close == datetime(2025, 11, 28, 18, 0, tzinfo=UTC)
    assert sessions[0].close == datetime(2025, 11, 26, 21, 0, tzinfo=UTC)
    assert query(http.calls[0]) == {"start": "2025-11-26", "end": "2025-12-01"}


# -- assets and quotes -------------------------------------------------------------------


def test_fractionable_asset_above_a_dollar_trades_in_cents(
    http: responses.RequestsMock, broker: AlpacaBroker
) -> None:
    http.get(f"{PAPER}/assets/SPY", json=fixture("asset_fractionable"))
    http.get(f"{DATA}/stocks/quotes/latest", json=fixture("latest_quote_spy"))
    asset = broker.asset("SPY")
    assert (asset.tradable, asset.fractionable, asset.qty_places) == (True, True, 9)
    assert asset.price_tick == Decimal("0.01")


def test_whole_share_asset_under_a_dollar_trades_in_hundredths_of_a_cent(
    http: responses.RequestsMock, broker: AlpacaBroker
) -> None:
    # Given a non-fractionable stock quoted at $0.4507 x $0.4512
    http.get(f"{PAPER}/assets/TSTW", json=fixture("asset_whole_shares"))
    http.get(f"{DATA}/stocks/quotes/latest", json=fixture("latest_quote_penny"))
    asset = broker.asset("TSTW")
    # Then whole shares only, and limit prices may use four decimals (sub-$1 rule)
    assert not asset.fractionable
    assert asset.price_tick == Decimal("0.0001")


def test_inactive_asset_is_not_tradable(http: responses.RequestsMock, broker: AlpacaBroker) -> None:
    http.get(f"{PAPER}/assets/SPY", json=fixture("asset_fractionable") | {"status": "inactive"})
    http.get(f"{DATA}/stocks/quotes/latest", json=fixture("latest_quote_spy"))
    assert not broker.asset("SPY").tradable


def test_unknown_asset_raises_unknown_symbol(
    http: responses.RequestsMock, broker: AlpacaBroker
) -> None:
    http.get(f"{PAPER}/assets/ZZZZ", status=404, json=fixture("error_asset_not_found"))
    with pytest.raises(UnknownSymbolError, match="ZZZZ"):
        broker.asset("ZZZZ")


def test_latest_quote_converts_floats_once_to_exact_decimals(
    http: responses.RequestsMock, broker: AlpacaBroker
) -> None:
    http.get(f"{DATA}/stocks/quotes/latest", json=fixture("latest_quote_spy"))
    quote = broker.latest_quote("SPY")
    assert (quote.bid, quote.ask) == (Decimal("677.7"), Decimal("677.85"))
    assert quote.timestamp.tzinfo is UTC and quote.usable
    assert query(http.calls[0]) == {"symbols": "SPY"}


def test_latest_quote_missing_from_the_answer_raises_unknown_symbol(
    http: responses.RequestsMock, broker: AlpacaBroker
) -> None:
    http.get(f"{DATA}/stocks/quotes/latest", json=fixture("latest_quote_empty"))
    with pytest.raises(UnknownSymbolError, match="ZZZZ"):
        broker.latest_quote("ZZZZ")


# -- orders: reading ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "status", "filled", "avg_price", "terminal"),
    [
        ("order_new", OrderStatus.NEW, "0", None, False),
        ("order_partially_filled", OrderStatus.PARTIALLY_FILLED, "1.25", "677.49", False),
        ("order_canceled", OrderStatus.CANCELED, "1.25", "677.49", True),
        ("order_rejected", OrderStatus.REJECTED, "0", None, True),
    ],
)
def test_order_lifecycle_maps_status_fills_and_remaining(
    http: responses.RequestsMock,
    broker: AlpacaBroker,
    name: str,
    status: OrderStatus,
    filled: str,
    avg_price: str | None,
    terminal: bool,
) -> None:
    body = fixture(name)
    http.get(f"{PAPER}/orders/{body['id']}", json=body)
    order = broker.get_order(body["id"])
    assert order.status is status and order.status.terminal is terminal
    assert order.filled_qty == Decimal(filled)
    assert order.filled_avg_price == (Decimal(avg_price) if avg_price else None)
    assert order.remaining == Decimal(body["qty"]) - Decimal(filled)


def test_filled_market_order_keeps_nine_decimal_quantity(
    http: responses.RequestsMock, broker: AlpacaBroker
) -> None:
    body = fixture("order_filled")
    http.get(f"{PAPER}/orders:by_client_order_id", json=body)
    order = broker.order_by_client_id(body["client_order_id"])
    assert order is not None
    assert (order.type, order.qty, order.filled_qty) == (
        OrderType.MARKET,
        Decimal("1.234567891"),
        Decimal("1.234567891"),
    )
    assert order.filled_avg_price == Decimal("677.92") and order.remaining == 0
    assert query(http.calls[0]) == {"client_order_id": body["client_order_id"]}


def test_order_by_unknown_client_id_is_none(
    http: responses.RequestsMock, broker: AlpacaBroker
) -> None:
    http.get(
        f"{PAPER}/orders:by_client_order_id", status=404, json=fixture("error_order_not_found")
    )
    assert broker.order_by_client_id("never-placed") is None
    assert len(http.calls) == 1  # a 404 is an answer, not a failure to retry


def test_unknown_order_id_raises_broker_error(
    http: responses.RequestsMock, broker: AlpacaBroker
) -> None:
    http.get(f"{PAPER}/orders/{ORDER_ID}", status=404, json=fixture("error_order_not_found"))
    with pytest.raises(BrokerError, match="404"):
        broker.get_order(ORDER_ID)
    with pytest.raises(BrokerError, match="UUID"):
        broker.get_order("not-an-order-id")


def test_rate_limited_get_is_retried_then_succeeds(
    http: responses.RequestsMock, broker: AlpacaBroker, sleeps: list[float]
) -> None:
    # Given Alpaca throttles the first read
    http.get(f"{PAPER}/orders/{ORDER_ID}", status=429, json=fixture("error_rate_limited"))
    http.get(f"{PAPER}/orders/{ORDER_ID}", json=fixture("order_new"))
    # When the order is read
    order = broker.get_order(ORDER_ID)
    # Then a second GET answered it, after one backoff
    assert order.status is OrderStatus.NEW
    assert len(http.calls) == 2 and sleeps == [0.5]


def test_persistent_server_errors_on_get_stop_after_the_attempt_budget(
    http: responses.RequestsMock, broker: AlpacaBroker, sleeps: list[float]
) -> None:
    http.get(f"{PAPER}/clock", status=503, json=fixture("error_server"))
    with pytest.raises(TransientBrokerError, match="503"):
        broker.clock()
    assert len(http.calls) == 3 and sleeps == [0.5, 1.0]


def test_sdk_internal_retry_is_disabled(http: responses.RequestsMock, sleeps: list[float]) -> None:
    # Given one read attempt and a 504, which alpaca-py would retry by itself
    broker = AlpacaBroker("k", "s", read_attempts=1, sleep=sleeps.append)
    http.get(f"{PAPER}/clock", status=504, body="gateway timeout")
    with pytest.raises(TransientBrokerError, match="504"):
        broker.clock()
    # Then exactly one HTTP request went out
    assert len(http.calls) == 1 and sleeps == []


def test_connection_error_on_get_is_transient_and_retried(
    http: responses.RequestsMock, broker: AlpacaBroker
) -> None:
    http.get(f"{PAPER}/account", body=requests.exceptions.ConnectionError("connection reset"))
    http.get(f"{PAPER}/account", json=fixture("account"))
    assert broker.account().cash == Decimal("20061.73")
    assert len(http.calls) == 2


def test_every_request_carries_the_configured_timeout(
    http: responses.RequestsMock, broker: AlpacaBroker
) -> None:
    http.get(f"{PAPER}/account", json=fixture("account"))
    http.get(f"{DATA}/stocks/quotes/latest", json=fixture("latest_quote_spy"))
    http.post(f"{PAPER}/orders", json=fixture("order_filled"))
    http.delete(f"{PAPER}/orders/{ORDER_ID}", status=204)
    broker.account()
    broker.latest_quote("SPY")
    broker.submit_order(market_buy())
    broker.cancel_order(ORDER_ID)
    assert [getattr(c.request, "req_kwargs", {}).get("timeout") for c in http.calls] == [
        TIMEOUT_S
    ] * 4


# -- orders: submitting (exactly one POST per call) --------------------------------------


def test_submit_posts_exact_decimal_strings_once(
    http: responses.RequestsMock, broker: AlpacaBroker
) -> None:
    http.post(f"{PAPER}/orders", json=fixture("order_new"))
    request = LimitOrderRequest(
        symbol="SPY", side=OrderSide.BUY, qty=Decimal("2.5"), limit_price=Decimal("677.50"),
        client_order_id="cycle-2025-11-28-dev-buy-SPY-l0",
    )  # fmt: skip
    order = broker.submit_order(request)
    assert order.status is OrderStatus.NEW and order.limit_price == Decimal("677.5")
    sent = json.loads(posts(http)[0].request.body or b"")
    assert sent == {
        "symbol": "SPY", "qty": "2.5", "side": "buy", "type": "limit", "time_in_force": "day",
        "client_order_id": "cycle-2025-11-28-dev-buy-SPY-l0", "limit_price": "677.50",
    }  # fmt: skip
    assert len(http.calls) == 1


@pytest.mark.parametrize(("status", "body"), [(429, "error_rate_limited"), (500, "error_server")])
def test_throttled_or_failed_post_is_not_retried(
    http: responses.RequestsMock, broker: AlpacaBroker, sleeps: list[float], status: int, body: str
) -> None:
    # Given Alpaca answers the order POST with a retryable-looking status
    http.post(f"{PAPER}/orders", status=status, json=fixture(body))
    # When the order is submitted
    with pytest.raises(TransientBrokerError, match=str(status)):
        broker.submit_order(market_buy())
    # Then exactly one POST went out and nothing waited to re-send it
    assert len(posts(http)) == 1 and len(http.calls) == 1 and sleeps == []


def test_post_timeout_is_transient_and_sent_once(
    http: responses.RequestsMock, broker: AlpacaBroker
) -> None:
    http.post(f"{PAPER}/orders", body=requests.exceptions.ConnectTimeout("connect timed out"))
    with pytest.raises(TransientBrokerError, match=re.escape("within 7.5s")):
        broker.submit_order(market_buy())
    assert len(posts(http)) == 1


def test_insufficient_buying_power_rejects_with_alpacas_message(
    http: responses.RequestsMock, broker: AlpacaBroker
) -> None:
    http.post(f"{PAPER}/orders", status=403, json=fixture("error_insufficient_buying_power"))
    with pytest.raises(OrderRejectedError, match="insufficient buying power") as raised:
        broker.submit_order(market_buy("100"))
    assert raised.value.client_order_id == "cycle-2025-11-28-dev-buy-SPY-mkt"
    assert len(http.calls) == 1


def test_duplicate_client_id_returns_the_order_already_placed(
    http: responses.RequestsMock, broker: AlpacaBroker
) -> None:
    # Given the order was placed before (e.g. a POST that timed out but went through)
    http.post(f"{PAPER}/orders", status=422, json=fixture("error_duplicate_client_order_id"))
    http.get(f"{PAPER}/orders:by_client_order_id", json=fixture("order_filled"))
    # When it is submitted again
    order = broker.submit_order(market_buy())
    # Then the existing order comes back and only one POST was made
    assert order.id == "1d3b4c5e-6f70-4a81-92b3-c4d5e6f70819" and order.status is OrderStatus.FILLED
    assert len(posts(http)) == 1


def test_duplicate_client_id_naming_a_different_order_raises(
    http: responses.RequestsMock, broker: AlpacaBroker
) -> None:
    http.post(f"{PAPER}/orders", status=422, json=fixture("error_duplicate_client_order_id"))
    http.get(f"{PAPER}/orders:by_client_order_id", json=fixture("order_filled"))
    with pytest.raises(BrokerError, match="different order"):
        broker.submit_order(market_buy("5"))


def test_duplicate_of_a_rejected_order_raises_rejected(
    http: responses.RequestsMock, broker: AlpacaBroker
) -> None:
    http.post(f"{PAPER}/orders", status=422, json=fixture("error_duplicate_client_order_id"))
    http.get(f"{PAPER}/orders:by_client_order_id", json=fixture("order_rejected"))
    request = MarketOrderRequest(
        symbol="SPY",
        side=OrderSide.SELL,
        qty=Decimal(4),
        client_order_id="cycle-2025-11-28-dev-sell-SPY-mkt",
    )
    with pytest.raises(OrderRejectedError, match="rejected this order earlier"):
        broker.submit_order(request)


def test_unprocessable_order_without_a_namesake_is_rejected(
    http: responses.RequestsMock, broker: AlpacaBroker
) -> None:
    http.post(f"{PAPER}/orders", status=422, json=fixture("error_sub_penny"))
    http.get(
        f"{PAPER}/orders:by_client_order_id", status=404, json=fixture("error_order_not_found")
    )
    with pytest.raises(OrderRejectedError, match="sub-penny"):
        broker.submit_order(market_buy())
    assert len(posts(http)) == 1


def test_order_rejected_in_the_post_answer_raises(
    http: responses.RequestsMock, broker: AlpacaBroker
) -> None:
    http.post(f"{PAPER}/orders", json=fixture("order_rejected"))
    request = MarketOrderRequest(
        symbol="SPY", side=OrderSide.SELL, qty=Decimal(4), client_order_id="x"
    )
    with pytest.raises(OrderRejectedError, match="rejected"):
        broker.submit_order(request)


# -- orders: canceling -------------------------------------------------------------------


def test_cancel_refused_with_422_is_typed_not_cancelable_and_sent_once(
    http: responses.RequestsMock, broker: AlpacaBroker
) -> None:
    # Given Alpaca's recorded answer to a cancel of an order that filled meanwhile
    http.delete(f"{PAPER}/orders/{ORDER_ID}", status=422, json=fixture("error_not_cancelable"))
    # When the order is canceled
    with pytest.raises(OrderNotCancelableError) as raised:
        broker.cancel_order(ORDER_ID)
    # Then the error names the order and Alpaca's message, is not transient, was sent once
    assert (raised.value.order_id, raised.value.detail) == (ORDER_ID, "order is not cancelable")
    assert not isinstance(raised.value, TransientBrokerError)
    assert len(http.calls) == 1


def test_cancel_of_an_unknown_order_is_a_plain_broker_error(
    http: responses.RequestsMock, broker: AlpacaBroker
) -> None:
    http.delete(f"{PAPER}/orders/{ORDER_ID}", status=404, json=fixture("error_order_not_found"))
    with pytest.raises(BrokerError, match="404") as raised:
        broker.cancel_order(ORDER_ID)
    assert not isinstance(raised.value, OrderNotCancelableError)


def test_cancel_server_error_is_transient_and_not_retried(
    http: responses.RequestsMock, broker: AlpacaBroker
) -> None:
    http.delete(f"{PAPER}/orders/{ORDER_ID}", status=500, json=fixture("error_server"))
    with pytest.raises(TransientBrokerError):
        broker.cancel_order(ORDER_ID)
    assert len(http.calls) == 1


# -- construction from settings ------------------------------------------------------------


def test_from_settings_trades_paper_unless_live_is_explicit(http: responses.RequestsMock) -> None:
    http.get(f"{PAPER}/clock", json=fixture("clock"))
    http.get(f"{LIVE}/clock", json=fixture("clock"))
    paper = AlpacaBroker.from_settings(Settings(alpaca_key_id="k", alpaca_secret_key="s"))
    live = AlpacaBroker.from_settings(Settings(alpaca_key_id="k", alpaca_secret_key="s", live=True))
    paper.clock()
    live.clock()
    assert paper.paper and not live.paper
    assert [c.request.url for c in http.calls] == [f"{PAPER}/clock", f"{LIVE}/clock"]


def test_from_settings_reads_the_secret_through_the_loader(http: responses.RequestsMock) -> None:
    asked: list[str] = []

    def loader(name: str) -> dict[str, str]:
        asked.append(name)
        return {"key_id": "from-secret", "secret_key": "hidden"}

    http.get(f"{PAPER}/clock", json=fixture("clock"))
    broker = AlpacaBroker.from_settings(
        Settings(alpaca_secret_name="alchemiser/dev/alpaca"), loader
    )
    broker.clock()
    assert asked == ["alchemiser/dev/alpaca"]
    assert http.calls[0].request.headers["APCA-API-KEY-ID"] == "from-secret"


def test_from_settings_without_credentials_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="ALCHEMISER_ALPACA_SECRET_NAME"):
        AlpacaBroker.from_settings(Settings())
    with pytest.raises(ConfigurationError, match="key_id and secret_key"):
        AlpacaBroker.from_settings(Settings(alpaca_secret_name="s"), lambda _: {"key_id": "k"})


def test_load_secret_json_reads_secrets_manager(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="us-east-1")
        client.create_secret(
            Name="alchemiser/dev/alpaca",
            SecretString=json.dumps({"key_id": "a", "secret_key": "b"}),
        )
        secret = load_secret_json("alchemiser/dev/alpaca")
    assert dict(secret) == {"key_id": "a", "secret_key": "b"}
