"""The cancel race: an order fills after the walk's last poll and before its cancel arrives.

Alpaca then refuses the cancel (HTTP 422, code 42210000 "order is not cancelable",
tests/fixtures/alpaca/error_not_cancelable.json). The walk must look the order up, count
its fills and carry on, never fail the run with the fills unrecorded.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import responses

from alchemiser.books.client_ids import client_order_id
from alchemiser.broker.alpaca import AlpacaBroker
from alchemiser.broker.models import OrderSide, OrderType
from alchemiser.broker.rate_limit import AlpacaBudgets
from alchemiser.cycle.models import ExecuteOrderRequest, NetOrder
from alchemiser.execution import InstantClock, execute_order, walk_client_order_ids
from alchemiser.ledger.models import BookAllocation, OrderPhase, OrderState
from tests.support.fake_alpaca import FakeAlpacaOrders
from tests.support.walk_venue import RUN_ID, D, MemoryLedger, Venue, ids, make_settings, net_order


def test_a_fill_that_beats_the_cancel_is_looked_up_and_counted() -> None:
    # Given a 10-share buy whose first limit order rests through every poll, then fills
    # completely just before the walk's cancel reaches the broker
    venue, order = Venue(), net_order(OrderSide.BUY, "10")
    s0 = ids(order)[0]
    venue.broker.fill_before_cancel(s0, D("10"))

    # When the order is executed
    result = venue.run(order)

    # Then the refused cancel did not fail the order: the look-up found the fill
    assert venue.broker.refused_cancels == [s0]
    assert (result.state, result.filled_qty, result.avg_price) == (
        OrderState.FILLED,
        D("10"),
        D("100.05"),
    )
    # And nothing more was placed, and the ledger holds the fill
    assert [p[0] for p in venue.placed()] == [s0]
    final = venue.ledger.get_order(RUN_ID, order.client_order_id)
    assert final is not None
    assert (final.state, final.filled_qty) == (OrderState.FILLED, D("10"))


def test_a_partial_fill_that_beats_the_cancel_carries_into_the_next_step() -> None:
    # Given a buy whose first step fills 4 of 10 after the last poll; the cancel of the
    # other 6 still goes through
    venue, order = Venue(), net_order(OrderSide.BUY, "10")
    s0, s1, *_ = ids(order)
    venue.broker.fill_before_cancel(s0, D("4"))
    venue.broker.fill(s1, D("6"))

    # When it is executed
    result = venue.run(order)

    # Then the late 4 are counted and the next step asks only for the 6 left
    assert venue.broker.refused_cancels == []
    assert [(p[0], p[2]) for p in venue.placed()] == [(s0, D("10")), (s1, D("6"))]
    assert (result.state, result.filled_qty) == (OrderState.FILLED, D("10"))


def test_a_sell_that_fills_before_its_cancel_sells_nothing_twice() -> None:
    # Given a 10-share sell of a 10-share position; its first limit fills at the cancel
    venue, order = Venue(), net_order(OrderSide.SELL, "10")
    venue.broker.set_position("SPY", D("10"))
    venue.broker.fill_before_cancel(ids(order)[0], D("10"))

    # When it is executed
    result = venue.run(order)

    # Then the position is sold once, with no market order after it
    assert (result.state, result.filled_qty) == (OrderState.FILLED, D("10"))
    assert venue.broker.holdings["SPY"] == 0
    assert len(venue.broker.submitted) == 1


# -- against the Alpaca adapter and Alpaca's recorded answers -----------------------------

NOW = datetime(2025, 11, 28, 15, 4, 30, tzinfo=UTC)  # the recorded quote is 25 s old


@pytest.fixture
def alpaca() -> Iterator[FakeAlpacaOrders]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as http:
        yield FakeAlpacaOrders(http)


def test_the_walk_over_alpaca_counts_a_fill_whose_cancel_alpaca_refused(
    alpaca: FakeAlpacaOrders,
) -> None:
    # Given Alpaca (its documented answers), where the first limit order of a 2-share SPY
    # buy rests until the walk cancels it, and fills just before the cancel arrives
    clock = InstantClock(NOW)
    budgets = AlpacaBudgets.private(36, monotonic=lambda: clock.now().timestamp())
    broker = AlpacaBroker("k", "s", sleep=clock.sleep, budgets=budgets)
    order = NetOrder(
        client_order_id=client_order_id(
            "cycle-2025-11-28-dev", OrderPhase.BUY, "SPY", OrderSide.BUY
        ),
        run_id="cycle-2025-11-28-dev",
        trading_date=date(2025, 11, 28),
        phase=OrderPhase.BUY,
        symbol="SPY",
        side=OrderSide.BUY,
        qty=Decimal(2),
        ref_price=Decimal("677.80"),
        allocations=[BookAllocation(book_id="core", side=OrderSide.BUY, qty=Decimal(2))],
    )
    first = walk_client_order_ids(order.client_order_id, 3)[0]
    alpaca.fill_on_cancel.add(first)

    # When the walk runs
    ledger = MemoryLedger()
    result = execute_order(ExecuteOrderRequest(order=order), broker, ledger, make_settings(), clock)

    # Then Alpaca's 422 was answered by a look-up, and the fill is the order's result
    assert (result.state, result.filled_qty, result.avg_price) == (
        OrderState.FILLED,
        Decimal(2),
        Decimal("677.78"),  # the first step's limit: mid 677.775 up to the cent
    )
    (placed,) = alpaca.orders.values()
    assert (placed["client_order_id"], placed["type"]) == (first, OrderType.LIMIT.value)
    assert ledger.writes[-1].state is OrderState.FILLED
