"""Runs that start minutes before the close: orders stop ``close_margin_s`` before it.

Real prices (2024-03-14, close 16:00 ET = 20:00 UTC), the real state machine and the
simulated broker, whose clock moves as the walks wait (its market orders fill 1 bps
above the ask). The run starts 3 minutes before the close.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from alchemiser.broker.options_models import OptionOrder
from alchemiser.broker.simulated import SimulatedBroker
from alchemiser.broker.simulated_options import SimulatedOptionsBroker
from alchemiser.broker.simulated_options_market import SimulatedOptionsMarket
from alchemiser.ledger.models import OrderState
from alchemiser.ledger.sqlite import SQLiteLedger
from tests.workflow.conftest import RunCycle, all_prices, book_positions

DAY = date(2024, 3, 14)
CLOSE = datetime(2024, 3, 14, 20, 0, tzinfo=UTC)


def broker_positions(home: Path) -> dict[str, Decimal]:
    broker = SimulatedBroker(home / "broker.sqlite3", all_prices())
    return {p.symbol: p.qty for p in broker.positions()}


def option_orders(home: Path) -> list[OptionOrder]:
    return SimulatedOptionsBroker(
        home / "options.sqlite3", SimulatedOptionsMarket(all_prices())
    ).orders()


def total_of(books: dict[str, dict[str, Decimal]]) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for positions in books.values():
        for symbol, qty in positions.items():
            out[symbol] = out.get(symbol, Decimal(0)) + qty
    return {s: q for s, q in out.items() if q != 0}


def test_with_a_minute_to_trade_the_walks_go_to_market_and_nothing_goes_out_late(
    cycle: RunCycle, tmp_path: Path
) -> None:
    # Given a run 3 minutes before the close with a 2-minute margin: one minute for seven
    # buys whose walks all share the simulated clock
    run, summary = cycle(DAY, minutes_before_close=3, close_margin_s=120)
    home = tmp_path / "home"

    # Then every buy filled: the limit steps that no longer fit gave way to market orders,
    # sized so that no buy outspent its cash even though they filled above the ask
    assert run.execution.status == "SUCCEEDED", summary["message"]
    assert {o["status"] for o in summary["orders"]} == {"filled"}
    records = SQLiteLedger(home / "ledger.sqlite3").orders(run.run_id)
    assert any("skipped" in r.reason and "close_margin_s 120s before" in r.reason for r in records)
    # And the broker received nothing in the last two minutes, and the books add up to it
    orders = SimulatedBroker(home / "broker.sqlite3", all_prices()).orders()
    assert all(o.submitted_at <= CLOSE - timedelta(seconds=120) for o in orders)
    assert total_of(book_positions(home)) == broker_positions(home)
    # and neither did the options market: the hedge's walks stop by the same margin
    assert all(o.submitted_at <= CLOSE - timedelta(seconds=120) for o in option_orders(home))


def test_with_no_time_to_trade_nothing_goes_out_and_every_order_says_why(
    cycle: RunCycle, tmp_path: Path
) -> None:
    # Given a run 3 minutes before the close with a margin that leaves 10 s: less than a
    # market order's fill wait and cancel
    run, summary = cycle(DAY, minutes_before_close=3, close_margin_s=170)
    home = tmp_path / "home"

    # Then the run completes, the broker received no order, and each order says why
    assert run.execution.status == "SUCCEEDED", summary["message"]
    assert SimulatedBroker(home / "broker.sqlite3", all_prices()).orders() == []
    records = SQLiteLedger(home / "ledger.sqlite3").orders(run.run_id)
    assert len(records) == len(summary["orders"]) > 0
    for record in records:
        assert record.state is OrderState.FAILED
        assert "not traded: 10s left before close_margin_s 170s" in record.reason, record
    assert book_positions(home) == {} or total_of(book_positions(home)) == {}
    # And no option order went out either: the hedge says the close stopped it
    assert option_orders(home) == []
    assert summary["hedge"]["decision"] == "no-hedge"
    assert any("close_margin_s 170s" in r for r in summary["hedge"]["reasons"]), summary["hedge"]
