"""ExecuteOrder reads its order from the run's stored plan, and never trades a past day."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from alchemiser.books.client_ids import client_order_id
from alchemiser.broker.models import OrderSide
from alchemiser.broker.simulated_market import trading_session
from alchemiser.cycle.artifacts import order_plan_key, put_model
from alchemiser.cycle.execute import execute_net_order
from alchemiser.cycle.faults import FaultPlan
from alchemiser.cycle.messages import OrderRef
from alchemiser.cycle.models import NetOrder, NettingSummary, OrderPlan
from alchemiser.errors import ConfigurationError
from alchemiser.execution.clock import InstantClock
from alchemiser.ledger.models import BookAllocation, OrderPhase
from alchemiser.local.environment import books_of, build_local_dependencies, open_market
from alchemiser.runtime import Dependencies
from tests.workflow.conftest import broker_orders, make_settings

DAY = date(2024, 3, 14)
RUN = f"cycle-{DAY}-dev"


def stored_order(deps: Dependencies) -> OrderRef:
    cid = client_order_id(RUN, OrderPhase.BUY, "SPY", OrderSide.BUY)
    order = NetOrder(
        client_order_id=cid,
        run_id=RUN,
        trading_date=DAY,
        phase=OrderPhase.BUY,
        symbol="SPY",
        side=OrderSide.BUY,
        qty=Decimal(1),
        ref_price=Decimal("510"),
        allocations=[BookAllocation(book_id="a", side=OrderSide.BUY, qty=Decimal(1))],
    )
    plan = OrderPlan(
        run_id=RUN,
        trading_date=DAY,
        buy_orders=[order],
        netting=NettingSummary(book_trades=1, orders=1, notional_saved=Decimal(0)),
    )
    put_model(deps.store, order_plan_key(RUN), plan)
    return OrderRef(run_id=RUN, client_order_id=cid)


def test_an_order_of_a_past_day_is_never_placed(tmp_path: Path) -> None:
    # Given a day's stored order, and a redrive of its walk on the next trading day
    settings = make_settings(tmp_path)
    market = open_market(settings, books_of(settings), DAY)
    later = trading_session(date(2024, 3, 15)).close - timedelta(minutes=15)
    deps = build_local_dependencies(settings, market, date(2024, 3, 15), later, FaultPlan())
    deps = replace(deps, clock=InstantClock(later))
    ref = stored_order(deps)
    # Then the walk refuses it, saying why, and nothing reaches the broker
    with pytest.raises(ConfigurationError, match="belongs to 2024-03-14, today is 2024-03-15"):
        execute_net_order(ref, deps)
    assert broker_orders(tmp_path) == []


def test_an_order_the_stored_plan_does_not_hold_is_refused(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    market = open_market(settings, books_of(settings), DAY)
    now = trading_session(DAY).close - timedelta(minutes=15)
    deps = build_local_dependencies(settings, market, DAY, now, FaultPlan())
    stored_order(deps)
    with pytest.raises(ConfigurationError, match="has no stored order 'nope'"):
        execute_net_order(OrderRef(run_id=RUN, client_order_id="nope"), deps)
