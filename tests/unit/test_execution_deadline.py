"""The walk ends by its own deadline: the Lambda's remaining time and the market's close.

Settings of every test here: limit steps 0 / 0.5 / 1, 20 s per step, 10 s to confirm a
cancel, a poll a second, 15 s kept back from the Lambda's time, 120 s before the close.
A limit step then needs one poll + its cancel + the whole market step (20 + 10 s).
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from alchemiser.broker.models import OrderSide, OrderType
from alchemiser.cycle.models import ExecuteOrderEvent, ExecuteOrderRequest
from alchemiser.errors import InjectedCrashError
from alchemiser.execution import Deadline, walk_deadline
from alchemiser.execution.deadline import StepTimes, fill_wait
from alchemiser.ledger.models import OrderState
from alchemiser.local.lambda_invoke import LocalLambdaContext
from alchemiser.runtime import Dependencies, installed
from tests.conftest import REPO_ROOT
from tests.support.walk_venue import START, D, Venue, ids, make_settings, net_order

TIMES = StepTimes(timedelta(seconds=20), timedelta(seconds=10), timedelta(seconds=1))


def at(seconds: float) -> Deadline:
    return Deadline(START + timedelta(seconds=seconds), "a test deadline")


# -- how long a step may wait --------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds_left", "market_step", "expected"),
    [
        (None, False, 20),  # no deadline: the full step
        (1000, False, 20),
        (45, False, 5),  # 45 - its cancel 10 - the market step 30
        (40, False, 0),  # nothing left for a limit step
        (45, True, 20),
        (25, True, 15),  # 25 - its cancel 10
        (5, True, -5),  # does not fit
    ],
)
def test_a_step_waits_its_timeout_shortened_to_leave_its_cancel_and_the_market_step(
    seconds_left: float | None, market_step: bool, expected: float
) -> None:
    deadline = None if seconds_left is None else at(seconds_left)
    wait = fill_wait(START, deadline, TIMES, market_step=market_step)
    assert wait == timedelta(seconds=expected)


def test_the_deadline_is_the_lambdas_remaining_time_less_the_margin() -> None:
    deadline = walk_deadline(START, 300_000, make_settings(walk_margin_s=15))
    assert deadline.at == START + timedelta(seconds=285)
    assert "remaining 300s less walk_margin_s 15s" in deadline.why


# -- the walk within a deadline ------------------------------------------------------------


def test_with_45_s_left_the_first_step_is_shortened_and_the_rest_go_to_market() -> None:
    # Given a 10-share buy with no limit fills, and 45 s before the walk must be done
    venue, order = Venue(), net_order(OrderSide.BUY, "10")
    s0, s1, s2, market = ids(order)

    # When it is executed
    result = venue.run(order, deadline=at(45))

    # Then the first limit step waited 5 s instead of 20, steps 1 and 2 were skipped,
    # and the market order bought everything, well before the deadline
    assert [(p[0], p[1]) for p in venue.placed()] == [
        (s0, OrderType.LIMIT),
        (market, OrderType.MARKET),
    ]
    assert venue.clock.elapsed == timedelta(seconds=5)
    assert (result.state, result.filled_qty) == (OrderState.FILLED, D("10"))
    assert result.reason == (
        f"limit steps {s1}, {s2} skipped: 40s left before a test deadline "
        "(2026-11-20T20:45:45+00:00); a limit step and the market step need 41s"
    )


def test_every_step_ends_by_the_deadline_even_when_nothing_fills() -> None:
    # Given a buy where nothing fills, not even the market order, and 60 s left
    venue, order = Venue(), net_order(OrderSide.BUY, "10")
    venue.broker.fill(ids(order)[3], D("0"))

    # When it is executed
    result = venue.run(order, deadline=at(60))

    # Then the walk (waits and cancels) ended by the deadline and says what is unfilled
    assert venue.clock.elapsed <= timedelta(seconds=60)
    assert (result.state, result.filled_qty) == (OrderState.FAILED, D("0"))
    assert "10 SPY still unfilled after the market order" in result.reason


def test_too_little_time_for_the_market_step_places_nothing_and_says_why() -> None:
    # Given 8 s left: not even one poll and a cancel of a market order fit
    venue, order = Venue(), net_order(OrderSide.BUY, "10")

    # When it is executed
    result = venue.run(order, deadline=at(8))

    # Then nothing was sent, and the reason names the deadline and what was needed
    assert venue.broker.attempts == []
    assert result.state is OrderState.FAILED
    assert result.reason.startswith(
        "10 SPY not traded: 8s left before a test deadline (2026-11-20T20:45:08+00:00); "
        "the market step needs 11s (one poll and a cancel); "
        f"limit steps {', '.join(ids(order)[:3])} skipped"
    )


def test_a_rerun_with_little_time_left_cancels_the_open_step_and_keeps_its_fills() -> None:
    # Given a walk that died polling its first step (30 of 100 filled, the order open)
    venue, order = Venue(), net_order(OrderSide.BUY, "100")
    venue.broker.fill(ids(order)[0], D("30"))
    venue.broker.crash_when_polled(ids(order)[0], 2)
    with pytest.raises(InjectedCrashError):
        venue.run(order)
    waited = venue.clock.elapsed

    # When it is re-run with 8 s left
    deadline = Deadline(venue.clock.now() + timedelta(seconds=8), "a test deadline")
    result = venue.run(order, deadline=deadline)

    # Then the open order is canceled at once, nothing new is placed, the 30 are kept
    assert venue.broker.cancels == [ids(order)[0]]
    assert len(venue.broker.submitted) == 1
    assert venue.clock.elapsed - waited <= timedelta(seconds=8)
    assert (result.state, result.filled_qty) == (OrderState.PARTIALLY_FILLED, D("30"))
    assert "70 SPY not traded" in result.reason


# -- the market clock ----------------------------------------------------------------------


def test_no_order_goes_out_while_the_market_is_closed() -> None:
    venue, order = Venue(), net_order(OrderSide.BUY, "10")
    venue.broker.set_market(is_open=False)

    result = venue.run(order)

    assert venue.broker.attempts == []
    assert result.state is OrderState.FAILED
    assert "the market is closed" in result.reason


def test_no_order_goes_out_within_the_close_margin() -> None:
    # Given a market closing in 90 s, inside the 120 s margin
    venue, order = Venue(), net_order(OrderSide.SELL, "10")
    venue.broker.set_position("SPY", D("10"))
    venue.broker.set_market(closes_in=timedelta(seconds=90))

    result = venue.run(order)

    assert venue.broker.attempts == []
    assert result.state is OrderState.FAILED
    assert "90s after the broker clock" in result.reason and "close_margin_s 120s" in result.reason


def test_a_walk_near_the_close_ends_the_close_margin_before_it() -> None:
    # Given a market closing in 170 s: 50 s before the close margin starts
    venue, order = Venue(), net_order(OrderSide.BUY, "10")
    venue.broker.set_market(closes_in=timedelta(seconds=170))
    s0, _, _, market = ids(order)

    # When the order is executed with no Lambda deadline at all
    result = venue.run(order)

    # Then the first step was shortened to 10 s, the rest went to market in time
    assert [p[0] for p in venue.placed()] == [s0, market]
    assert venue.clock.elapsed == timedelta(seconds=10)
    assert result.state is OrderState.FILLED
    assert "close_margin_s 120s before the" in result.reason
    assert venue.broker.clock_reads == 1  # one look at the clock per order


# -- the handler passes the Lambda context down --------------------------------------------


def _execute_order_handler() -> ModuleType:
    path = REPO_ROOT / "functions" / "execute_order" / "app.py"
    spec = importlib.util.spec_from_file_location("execute_order_app_under_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def venue_installed() -> Iterator[Venue]:
    venue = Venue()
    unused: Any = None  # the walk touches only the broker, the ledger, the clock, settings
    deps = Dependencies(
        settings=make_settings(),
        broker=venue.broker,
        ledger=venue.ledger,
        market=unused,
        store=unused,
        notifier=unused,
        clock=venue.clock,
        idempotency=lambda: unused,
        strategies_dir=Path("strategies"),
    )
    with installed(deps):
        yield venue


def test_the_execute_order_handler_walks_within_its_lambdas_remaining_time(
    venue_installed: Venue,
) -> None:
    # Given the ExecuteOrder Lambda invoked with 45 s of its timeout left
    venue, order = venue_installed, net_order(OrderSide.BUY, "10")
    event = ExecuteOrderEvent(request=ExecuteOrderRequest(order=order), run_id=order.run_id)
    context = LocalLambdaContext(
        function_name="alchemiser-dev-execute-order",
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:execute-order",
        aws_request_id="req-1",
        memory_limit_in_mb=512,
        deadline_monotonic=time.monotonic() + 45,
    )

    # When the handler runs
    output = _execute_order_handler().lambda_handler(event.model_dump(mode="json"), context)

    # Then the walk fit in 45 s less the 15 s margin: the limit steps gave way to market
    assert output["state"] == OrderState.FILLED.value
    assert venue.clock.elapsed < timedelta(seconds=30)
    assert [p[1] for p in venue.placed()] == [OrderType.MARKET]
    assert "skipped" in output["reason"]
