"""The walk over the simulated broker on real SPY closes, around the close of the day.

2025-11-28 is an XNYS early close (13:00 ET = 18:00 UTC); SPY closed at 677.77 (see
test_broker_simulated.py for the simulated quotes around it).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from alchemiser.books.client_ids import client_order_id
from alchemiser.broker.models import MarketOrderRequest, OrderSide, OrderStatus
from alchemiser.broker.simulated import SimulatedBroker
from alchemiser.cycle.models import ExecuteOrderRequest, NetOrder, OrderResult
from alchemiser.execution import InstantClock, execute_order
from alchemiser.ledger.models import BookAllocation, OrderPhase, OrderState
from alchemiser.market.history import PriceHistory
from alchemiser.market.loader import load_price_directory
from tests.conftest import PRICES_DIR
from tests.support.walk_venue import MemoryLedger, make_settings

EARLY_CLOSE = date(2025, 11, 28)


@pytest.fixture(scope="module")
def market() -> PriceHistory:
    return load_price_directory(PRICES_DIR, ["SPY"])


def open_at(
    tmp_path: Path, market: PriceHistory, now: datetime
) -> tuple[SimulatedBroker, InstantClock]:
    clock = InstantClock(now)
    broker = SimulatedBroker(tmp_path / "broker.db", market, clock=clock)
    broker.set_session(now.date(), now)
    return broker, clock


def walk_spy_buy(broker: SimulatedBroker, clock: InstantClock) -> OrderResult:
    order = NetOrder(
        client_order_id=client_order_id(
            "cycle-2025-11-28-dev", OrderPhase.BUY, "SPY", OrderSide.BUY
        ),
        run_id="cycle-2025-11-28-dev",
        trading_date=EARLY_CLOSE,
        phase=OrderPhase.BUY,
        symbol="SPY",
        side=OrderSide.BUY,
        qty=Decimal("2"),
        ref_price=Decimal("677.77"),
        allocations=[BookAllocation(book_id="core", side=OrderSide.BUY, qty=Decimal("2"))],
    )
    request = ExecuteOrderRequest(order=order)
    return execute_order(request, broker, MemoryLedger(), make_settings(), clock)


def test_a_walk_fifteen_minutes_before_the_early_close_trades(
    tmp_path: Path, market: PriceHistory
) -> None:
    broker, clock = open_at(tmp_path, market, datetime(2025, 11, 28, 17, 45, tzinfo=UTC))

    result = walk_spy_buy(broker, clock)

    assert (result.state, result.filled_qty) == (OrderState.FILLED, Decimal("2"))
    assert clock.now() < datetime(2025, 11, 28, 17, 58, tzinfo=UTC)


def test_a_minute_before_the_early_close_no_order_goes_out(
    tmp_path: Path, market: PriceHistory
) -> None:
    # Given the simulated session at 12:59 ET on the early-close day (the regular close
    # would be three hours away)
    broker, clock = open_at(tmp_path, market, datetime(2025, 11, 28, 17, 59, tzinfo=UTC))

    # When the walk runs
    result = walk_spy_buy(broker, clock)

    # Then it read the early close from the broker's clock and sent nothing
    assert broker.orders() == []
    assert result.state is OrderState.FAILED
    assert "closes at 2025-11-28T18:00:00+00:00, 60s after" in result.reason


def test_after_the_close_no_order_goes_out(tmp_path: Path, market: PriceHistory) -> None:
    broker, clock = open_at(tmp_path, market, datetime(2025, 11, 28, 18, 30, tzinfo=UTC))

    result = walk_spy_buy(broker, clock)

    assert broker.orders() == []
    assert "the market is closed" in result.reason and "next open 2025-12-01" in result.reason


def test_an_order_reaching_the_simulated_broker_after_the_close_waits_like_alpacas(
    tmp_path: Path, market: PriceHistory
) -> None:
    # Given the simulated session after the early close
    broker, _ = open_at(tmp_path, market, datetime(2025, 11, 28, 18, 30, tzinfo=UTC))

    # When a market order reaches it anyway
    request = MarketOrderRequest(
        symbol="SPY", side=OrderSide.BUY, qty=Decimal("1"), client_order_id="late"
    )
    placed = broker.submit_order(request)

    # Then, like Alpaca outside the session, it is accepted and does not fill at a stale price
    assert (placed.status, placed.filled_qty) == (OrderStatus.ACCEPTED, Decimal(0))
    assert broker.fills() == []
    # And it expires with the session instead of filling on another day's price
    broker.set_session(date(2025, 12, 1), datetime(2025, 12, 1, 14, 30, tzinfo=UTC))
    assert broker.get_order(placed.id).status is OrderStatus.EXPIRED
