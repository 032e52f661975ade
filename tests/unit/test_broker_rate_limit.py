"""Alpaca's rate limit (200 requests a minute per account): stay under it, wait when told.

HTTP exchanges are answered by ``responses`` in Alpaca's documented shapes
(tests/fixtures/alpaca: the 429 body and the ``X-Ratelimit-*`` headers). Time is a fake
the adapter sleeps on, so a minute of polling takes no time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from alchemiser.broker.alpaca import AlpacaBroker
from alchemiser.broker.errors import TransientBrokerError
from alchemiser.broker.models import MarketOrderRequest, OrderSide, OrderStatus
from alchemiser.broker.rate_limit import (
    ALPACA_REQUESTS_PER_MINUTE,
    AlpacaBudgets,
    RequestBudget,
    server_wait_s,
)
from alchemiser.settings import Settings
from tests.conftest import REPO_ROOT

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "alpaca"
PAPER = "https://paper-api.alpaca.markets/v2"
ORDER_ID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
HEADERS = {
    k: v
    for k, v in json.loads((FIXTURES / "rate_limit_headers.json").read_text()).items()
    if not k.startswith("_")
}
RESET = float(HEADERS["X-Ratelimit-Reset"])


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())


class FakeTime:
    """Monotonic and wall time that move only when the adapter sleeps."""

    def __init__(self, wall: float = RESET - 20) -> None:
        self.mono, self.wall = 1000.0, wall
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.mono

    def time(self) -> float:
        return self.wall

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.mono += seconds
        self.wall += seconds


@pytest.fixture
def clock() -> FakeTime:
    return FakeTime()


@pytest.fixture
def http() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def adapter(clock: FakeTime, per_minute: int = 22) -> AlpacaBroker:
    budgets = AlpacaBudgets.private(per_minute, 60, monotonic=clock.monotonic)
    return AlpacaBroker("k", "s", sleep=clock.sleep, wall=clock.time, budgets=budgets)


def sent_at(
    http: responses.RequestsMock, clock: FakeTime, method: str, url: str, **reply: Any
) -> list[float]:
    """Answer ``method url`` with ``reply`` and return the list the send times go into."""
    times: list[float] = []

    def answer(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        times.append(clock.mono)
        return reply.get("status", 200), reply.get("headers", {}), json.dumps(reply["json"])

    http.add_callback(method, url, callback=answer)
    return times


def most_in_any_minute(times: list[float]) -> int:
    return max(sum(1 for t in times if start <= t < start + 60) for start in times)


# -- staying under the limit ---------------------------------------------------------------


def test_polling_an_order_stays_under_the_processs_share_of_the_limit(
    http: responses.RequestsMock, clock: FakeTime
) -> None:
    # Given an adapter with this process's default share (22 a minute) of the account's 200
    times = sent_at(
        http, clock, responses.GET, f"{PAPER}/orders/{ORDER_ID}", json=fixture("order_new")
    )
    broker = adapter(clock, Settings().alpaca_requests_per_minute)

    # When a walk polls an order 100 times as fast as it can
    for _ in range(100):
        broker.get_order(ORDER_ID)

    # Then no minute held more than 22 requests: a burst of 5, then one every 60/17 s;
    # the polls were spaced, none refused
    assert len(times) == 100
    assert most_in_any_minute(times) <= 22
    assert times[-1] - times[0] == pytest.approx(95 * 60 / 17)


def test_the_process_share_times_the_state_machines_concurrency_fits_the_account_limit() -> None:
    # Given the state machine: how many Lambdas can run at once, anywhere in it
    definition = json.loads((REPO_ROOT / "statemachines" / "daily_cycle.asl.json").read_text())

    # Then that many processes, each at its share, stay under 90 % of Alpaca's 200 a minute
    concurrent = _most_concurrent_tasks(definition["States"])
    assert concurrent * Settings().alpaca_requests_per_minute <= 0.9 * ALPACA_REQUESTS_PER_MINUTE


def _most_concurrent_tasks(states: dict[str, Any]) -> int:
    """The most Task states of ``states`` that can run at the same moment."""
    most = 0
    for state in states.values():
        if state["Type"] == "Task":
            most = max(most, 1)
        elif state["Type"] == "Parallel":
            most = max(most, sum(_most_concurrent_tasks(b["States"]) for b in state["Branches"]))
        elif state["Type"] == "Map":
            inner = (state.get("ItemProcessor") or state["Iterator"])["States"]
            width = state.get("MaxConcurrency", 0)
            assert width > 0, "a Map without MaxConcurrency could call Alpaca without bound"
            most = max(most, width * _most_concurrent_tasks(inner))
    return most


@hypothesis_settings(max_examples=50, deadline=None)
@given(
    per_minute=st.integers(10, 200),
    gaps=st.lists(st.floats(0, 5, allow_nan=False), min_size=1, max_size=400),
)
def test_no_minute_ever_holds_more_than_the_budget(per_minute: int, gaps: list[float]) -> None:
    # Given requests arriving at any pace, each sent when the budget says
    clock = FakeTime()
    budget = RequestBudget(per_minute, monotonic=clock.monotonic)
    sent: list[float] = []
    for gap in gaps:
        clock.sleep(gap)
        clock.sleep(budget.reserve(1e9, "GET x"))
        sent.append(clock.mono)
    # Then no 60 s window holds more than per_minute of them
    assert most_in_any_minute(sent) <= per_minute


def test_a_wait_longer_than_allowed_fails_transiently_and_takes_nothing(clock: FakeTime) -> None:
    budget = RequestBudget(22, monotonic=clock.monotonic)
    budget.pause_for(90)
    with pytest.raises(
        TransientBrokerError, match=re.escape("Alpaca asked to wait 90.0s, more than the 60s")
    ):
        budget.reserve(60, "GET /v2/orders")
    clock.sleep(90)
    assert budget.reserve(60, "GET /v2/orders") == 0


# -- what Alpaca says -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"retry-after": "2.5"}, 2.5),
        (
            {"Retry-After": format_datetime(datetime.fromtimestamp(RESET - 5, UTC), usegmt=True)},
            15.0,
        ),
        (HEADERS, 20.0),  # no Retry-After: until X-Ratelimit-Reset
        ({"X-Ratelimit-Reset": str(RESET - 100)}, 0.0),  # already past: never negative
        ({"Retry-After": "soon"}, None),
        ({}, None),
    ],
)
def test_the_wait_alpaca_asks_for(headers: dict[str, str], expected: float | None) -> None:
    assert server_wait_s(headers, RESET - 20) == expected


def test_a_throttled_read_waits_as_long_as_retry_after_says_then_succeeds(
    http: responses.RequestsMock, clock: FakeTime
) -> None:
    # Given Alpaca throttles the first read and asks for 3 s
    url = f"{PAPER}/orders/{ORDER_ID}"
    http.get(url, status=429, json=fixture("error_rate_limited"), headers={"Retry-After": "3"})
    http.get(url, json=fixture("order_new"))
    broker = adapter(clock)

    # When the order is read
    order = broker.get_order(ORDER_ID)

    # Then the retry went out 3 s later (not after the 0.5 s backoff), once
    assert order.status is OrderStatus.NEW
    assert len(http.calls) == 2 and clock.slept == [3.0]


def test_a_throttled_read_without_retry_after_waits_for_the_reset(
    http: responses.RequestsMock, clock: FakeTime
) -> None:
    url = f"{PAPER}/clock"
    http.get(url, status=429, json=fixture("error_rate_limited"), headers=HEADERS)
    http.get(url, json=fixture("clock"))

    adapter(clock).clock()

    assert clock.slept == [20.0] and clock.wall == RESET


def test_a_reset_too_far_away_fails_the_read_transiently_instead_of_hanging(
    http: responses.RequestsMock, clock: FakeTime
) -> None:
    # Given a 429 whose reset is 5 minutes away
    headers = HEADERS | {"X-Ratelimit-Reset": str(clock.wall + 300)}
    http.get(f"{PAPER}/account", status=429, json=fixture("error_rate_limited"), headers=headers)

    # When the account is read, Then the step fails transiently at once, having sent one GET
    with pytest.raises(TransientBrokerError, match="Alpaca asked to wait 300"):
        adapter(clock).account()
    assert len(http.calls) == 1 and clock.slept == []


def test_a_throttled_order_post_is_never_resent_and_the_lookup_waits_for_the_reset(
    http: responses.RequestsMock, clock: FakeTime
) -> None:
    # Given Alpaca throttles an order POST and asks for 4 s
    http.post(
        f"{PAPER}/orders",
        status=429,
        json=fixture("error_rate_limited"),
        headers={"Retry-After": "4"},
    )
    lookups = sent_at(
        http, clock, responses.GET, f"{PAPER}/orders:by_client_order_id",
        status=404, json=fixture("error_order_not_found"),
    )  # fmt: skip
    broker = adapter(clock)
    request = MarketOrderRequest(
        symbol="SPY", side=OrderSide.BUY, qty=Decimal(1), client_order_id="cycle-x-b-SPY-b.3"
    )

    # When it is submitted, Then it fails transiently after exactly one POST
    posted_at = clock.mono
    with pytest.raises(TransientBrokerError, match="429"):
        broker.submit_order(request)
    assert [c.request.method for c in http.calls] == ["POST"]

    # And the look-up by client id that any retry starts with waits the 4 s out
    assert broker.order_by_client_id(request.client_order_id) is None
    assert lookups == [posted_at + 4]


def test_an_answer_saying_no_requests_remain_pauses_until_the_reset(
    http: responses.RequestsMock, clock: FakeTime
) -> None:
    # Given an answer that succeeds but says the account has no requests left this minute
    http.get(f"{PAPER}/clock", json=fixture("clock"), headers=HEADERS)
    times = sent_at(http, clock, responses.GET, f"{PAPER}/account", json=fixture("account"))
    broker = adapter(clock)

    # When the next request is made
    broker.clock()
    broker.account()

    # Then it went out at the reset, not before
    assert clock.wall == RESET and times == [1000.0 + 20]


def test_adapters_built_from_settings_share_the_processs_budget() -> None:
    settings = Settings(alpaca_key_id="k", alpaca_secret_key="s")
    first, second = AlpacaBroker.from_settings(settings), AlpacaBroker.from_settings(settings)
    assert first._trading._budget is second._trading._budget
    assert first._quotes._budget is second._quotes._budget
    assert first._trading._budget is not first._quotes._budget  # two APIs, two limits


def test_option_snapshots_share_the_market_data_budget(
    http: responses.RequestsMock, clock: FakeTime
) -> None:
    # Given the options adapter with a share of 22 a minute, its option quotes and its
    # equity quotes both on Alpaca's market data API
    from alchemiser.broker.alpaca_options import AlpacaOptionsBroker

    data = "https://data.alpaca.markets/v1beta1/options/snapshots"
    options_fixture = REPO_ROOT / "tests" / "fixtures" / "alpaca_options" / "snapshots.json"
    times: list[float] = []

    def answer(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        times.append(clock.mono)
        return 200, {}, options_fixture.read_text()

    http.add_callback(responses.GET, data, callback=answer)
    budgets = AlpacaBudgets.private(22, 60, monotonic=clock.monotonic)
    broker = AlpacaOptionsBroker("k", "s", sleep=clock.sleep, wall=clock.time, budgets=budgets)
    # When a walk reads fresh option quotes 60 times as fast as it can
    for _ in range(60):
        broker.option_snapshots(["QQQ260918P00480000"])
    # Then they are paced like every other data request: no minute holds more than 22
    assert len(times) == 60
    assert most_in_any_minute(times) <= 22
