"""Trading fails closed: drift between broker and books, the kill switch, a failed SELL
phase and the notional caps each stop orders, and the run says exactly why."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from alchemiser.broker.models import MarketOrderRequest, OrderSide
from alchemiser.broker.simulated import SimulatedBroker
from alchemiser.broker.simulated_market import trading_session
from alchemiser.cli import main
from alchemiser.ledger.models import KillSwitch, RunRecord, RunStatus
from alchemiser.ledger.sqlite import SQLiteLedger
from tests.workflow.conftest import RunCycle, all_prices, broker_orders

FIRST, DAY = date(2024, 3, 13), date(2024, 3, 14)


def test_positions_traded_outside_the_books_block_all_trading(
    cycle: RunCycle, tmp_path: Path
) -> None:
    # Given a traded first day, then one XLF share sold at the broker by hand
    cycle(FIRST)
    home = tmp_path / "home"
    broker = SimulatedBroker(home / "broker.sqlite3", all_prices())
    broker.set_session(DAY, trading_session(DAY).open)
    broker.submit_order(
        MarketOrderRequest(
            symbol="XLF", side=OrderSide.SELL, qty=Decimal(1), client_order_id="by-hand-1"
        )
    )
    before = broker_orders(home)
    # When the next day runs
    _, summary = cycle(DAY)
    # Then nothing is traded, the run says why, and the drift is reported
    assert summary["status"] == "SUCCEEDED"
    assert summary["orders"] == []
    assert "broker positions disagree with the books" in summary["message"]
    assert "XLF: broker" in summary["message"]
    assert any("drift XLF" in w for w in summary["warnings"])
    assert broker_orders(home) == before


def test_the_kill_switch_in_the_ledger_stops_every_order(cycle: RunCycle, tmp_path: Path) -> None:
    # Given a traded first day and the kill switch set in the ledger
    cycle(FIRST)
    home = tmp_path / "home"
    SQLiteLedger(home / "ledger.sqlite3").set_kill_switch(
        KillSwitch(enabled=True, reason="drill", updated_at=datetime.now(UTC), updated_by="tests")
    )
    before = broker_orders(home)
    # When the next day runs
    _, summary = cycle(DAY)
    # Then the books are still evaluated and reported, but nothing is placed
    assert summary["status"] == "SUCCEEDED"
    assert summary["orders"] == []
    assert "kill switch is on (drill, by tests)" in summary["message"]
    assert {b["status"] for b in summary["books"]} <= {"not_traded", "held", "on_target"}
    assert broker_orders(home) == before


def test_a_failed_sell_blocks_the_buy_phase(cycle: RunCycle, tmp_path: Path) -> None:
    # Given a traded first day, and a broker that rejects TLT, which the next day sells
    cycle(FIRST)
    # When the next day runs
    _, summary = cycle(DAY, sim_reject_symbols=frozenset({"TLT"}))
    # Then the TLT sell failed, the other sells went through, and no buy was placed
    orders = {(o["side"], o["symbol"]): o for o in summary["orders"]}
    assert orders[("sell", "TLT")]["status"] == "failed"
    assert all(
        o["status"] == "filled"
        for (side, symbol), o in orders.items()
        if side == "sell" and symbol != "TLT"
    )
    assert all(o["status"] == "not executed" for (side, _), o in orders.items() if side == "buy")
    assert any("BUY phase blocked" in w and "TLT" in w for w in summary["warnings"])


def test_a_run_over_the_notional_cap_trades_nothing(cycle: RunCycle, tmp_path: Path) -> None:
    # Given a per-run notional cap far below what the first day needs
    # When the first day runs
    _, summary = cycle(FIRST, max_run_notional=Decimal(1000))
    # Then no order is placed and the cap is named
    assert summary["status"] == "SUCCEEDED"
    assert summary["orders"] == []
    assert "1,000" in summary["message"] or "1000" in summary["message"]
    assert broker_orders(tmp_path / "home") == []


def test_the_kill_switch_command_stops_and_then_allows_trading(
    cycle: RunCycle, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a traded first day
    cycle(FIRST)
    home = str(tmp_path / "home")
    # When the switch is turned on from the command line
    assert main(["kill-switch", "on", "--reason", "broker outage", "--home", home]) == 0
    assert "kill switch: ON" in capsys.readouterr().out
    _, stopped = cycle(DAY)
    # Then the next day trades nothing, saying why; and once off, the day trades again
    assert stopped["orders"] == []
    assert "broker outage" in stopped["message"]
    assert main(["kill-switch", "off", "--home", home]) == 0
    assert "off (trading allowed)" in capsys.readouterr().out
    _, traded = cycle(date(2024, 3, 15))
    assert traded["orders"]


def test_the_kill_switch_command_needs_a_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Turning it on without saying why is refused and changes nothing
    SQLiteLedger(tmp_path / "ledger.sqlite3").runs("dev")  # creates the file
    assert main(["kill-switch", "on", "--home", str(tmp_path)]) == 1
    assert "--reason" in capsys.readouterr().err
    assert SQLiteLedger(tmp_path / "ledger.sqlite3").kill_switch() is None


@pytest.mark.parametrize("status", [RunStatus.STARTED, RunStatus.FAILED, RunStatus.BLOCKED])
def test_a_day_left_by_an_execution_that_ended_is_taken_over_at_once(
    status: RunStatus, cycle: RunCycle, tmp_path: Path
) -> None:
    # Given the ledger says another execution claimed the day minutes ago and then ended
    # without settling it (killed, timed out, aborted), failed, or was blocked
    run_time = trading_session(DAY).close - timedelta(minutes=15)
    seen = run_time - timedelta(minutes=5)
    SQLiteLedger(tmp_path / "home" / "ledger.sqlite3").put_run(
        RunRecord(
            run_id=f"cycle-{DAY}-dev",
            stage="dev",
            trading_date=DAY,
            status=status,
            started_at=seen,
            updated_at=seen,
            execution_name="scheduled-7f3a",
            execution_arn="arn:aws:states:us-east-1:123456789012:execution:m:scheduled-7f3a",
        )
    )
    # When this execution runs the day (locally the home's lock proves nothing else runs)
    _, summary = cycle(DAY)
    # Then it trades the day at once, and the record says whose it is now
    assert summary["orders"] and summary["message"] == ""
    record = SQLiteLedger(tmp_path / "home" / "ledger.sqlite3").get_run(f"cycle-{DAY}-dev")
    assert record is not None and record.status is RunStatus.COMPLETED
    assert record.attempts == 2 and record.execution_name == f"cycle-{DAY}-dev"


def _sell_one_xlf_by_hand(home: Path, side: OrderSide, client_order_id: str) -> None:
    broker = SimulatedBroker(home / "broker.sqlite3", all_prices())
    broker.set_session(DAY, trading_session(DAY).open)
    broker.submit_order(
        MarketOrderRequest(symbol="XLF", side=side, qty=Decimal(1), client_order_id=client_order_id)
    )


def _switch(home: Path, enabled: bool) -> None:
    SQLiteLedger(home / "ledger.sqlite3").set_kill_switch(
        KillSwitch(
            enabled=enabled, reason="drill", updated_at=datetime.now(UTC), updated_by="tests"
        )
    )


@pytest.mark.parametrize("block", ["kill switch", "drift"])
def test_a_blocked_day_is_not_recorded_as_traded_and_trades_once_unblocked(
    block: str, cycle: RunCycle, tmp_path: Path
) -> None:
    # Given a traded first day that kept some cash, then trading blocked (the kill switch,
    # or a share sold by hand)
    cash_kept = {"deployment_pct": Decimal("0.95")}
    cycle(FIRST, **cash_kept)
    home = tmp_path / "home"
    if block == "kill switch":
        _switch(home, True)
    else:
        _sell_one_xlf_by_hand(home, OrderSide.SELL, "by-hand-1")
    before = broker_orders(home)
    # When the day runs
    _, blocked = cycle(DAY, **cash_kept)
    # Then nothing is placed and the day is BLOCKED, not traded
    assert blocked["status"] == "SUCCEEDED" and blocked["orders"] == []
    assert broker_orders(home) == before
    ledger = SQLiteLedger(home / "ledger.sqlite3")
    record = ledger.get_run(f"cycle-{DAY}-dev")
    assert record is not None and record.status is RunStatus.BLOCKED
    # And once the cause is gone, the same day runs again and trades
    if block == "kill switch":
        _switch(home, False)
    else:
        _sell_one_xlf_by_hand(home, OrderSide.BUY, "by-hand-2")
    _, traded = cycle(DAY, **cash_kept)
    assert traded["orders"] and {o["status"] for o in traded["orders"]} == {"filled"}
    assert traded["already_traded"] is False
    record = ledger.get_run(f"cycle-{DAY}-dev")
    assert record is not None and record.status is RunStatus.COMPLETED
