"""Reliability drills on every Task state: transient failures are retried; a crash fails
the execution AT the crashed state (no catch-all: a console redrive would re-run exactly
it), the failure email comes from the status-change path, the day is released, and
re-running it (as a redrive would) ends it with exactly the orders and the ledger of an
uninterrupted run. A crash in one book's evaluation is that book's failure only."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from alchemiser.broker.simulated_options import SimulatedOptionsBroker
from alchemiser.broker.simulated_options_market import SimulatedOptionsMarket
from alchemiser.cycle.faults import TASK_STATES, FaultPlan
from alchemiser.ledger.hedge_store import SQLiteHedgeStore
from alchemiser.ledger.models import RunStatus
from alchemiser.ledger.sqlite import SQLiteLedger
from alchemiser.local.cycle_runner import run_cycle
from alchemiser.local.summary import summarize
from tests.conftest import REPO_ROOT
from tests.workflow.conftest import all_prices, book_positions, broker_orders, make_settings

# A day on which the books both sell and buy, after a first day that builds positions.
FIRST, DAY = date(2024, 3, 13), date(2024, 3, 14)


def run(home: Path, day: date, **faults: list[str]) -> dict[str, Any]:
    local = run_cycle(
        make_settings(home),
        REPO_ROOT,
        day=day,
        faults=FaultPlan.parse(faults.get("fail_at", []), faults.get("crash_at", [])),
    )
    summary = summarize(local)
    summary["states"] = local.execution.states_entered()
    return summary


def outcome(home: Path) -> tuple[object, ...]:
    """What must be identical between runs: every broker order and every book's lots, every
    option order and the hedge book's hedges and events."""
    ledger = SQLiteLedger(home / "ledger.sqlite3")
    fills = sorted(
        (f.fill_id, f.book_id, f.symbol, f.side.value, f.qty, f.price)
        for r in ledger.runs("dev")
        for f in ledger.fills(r.run_id)
    )
    options = SimulatedOptionsBroker(home / "broker.sqlite3", SimulatedOptionsMarket(all_prices()))
    option_orders = sorted((o.client_order_id, o.filled_qty) for o in options.orders())
    hedge = SQLiteHedgeStore(home / "ledger.sqlite3").load_book().state
    return broker_orders(home), book_positions(home), fills, option_orders, hedge


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, ...]:
    home = tmp_path_factory.mktemp("baseline")
    run(home, FIRST)
    summary = run(home, DAY)
    assert summary["status"] == "SUCCEEDED"
    sides = {o["side"] for o in summary["orders"]}
    assert sides == {"buy", "sell"}, "the drill day must exercise both phases"
    assert SQLiteHedgeStore(home / "ledger.sqlite3").load_book().state.hedges, "and hold a hedge"
    return outcome(home)


@pytest.mark.parametrize("state", TASK_STATES)
def test_a_transient_failure_is_retried_and_changes_nothing(
    state: str, tmp_path: Path, uninterrupted: tuple[object, ...]
) -> None:
    # Given the first day traded
    run(tmp_path, FIRST)
    # When the drill day runs with STATE failing transiently on its first two attempts
    summary = run(tmp_path, DAY, fail_at=[f"{state}:2"])
    # Then Retry absorbs it: the run succeeds with exactly the uninterrupted orders
    assert summary["status"] == "SUCCEEDED", summary["message"]
    assert outcome(tmp_path) == uninterrupted


# Where each step's crash stops the execution: the Task state that invokes its function.
CRASH_STATE = {
    "PlanCycle": {"PlanCycle"},
    "PlanOrders": {"PlanOrders"},
    "ExecuteOrder": {"ExecuteSellOrder"},
    "CheckSells": {"CheckSells"},
    "Hedge": {"Hedge"},
    "Reconcile": {"Reconcile"},
    "Notify": {"Notify"},
}


@pytest.mark.parametrize("state", sorted(CRASH_STATE))
def test_a_crash_fails_the_run_at_its_state_and_a_rerun_ends_the_day_as_if_nothing_happened(
    state: str, tmp_path: Path, uninterrupted: tuple[object, ...]
) -> None:
    # Given the first day traded
    run(tmp_path, FIRST)
    # When STATE crashes (not retryable) on the drill day
    failed = run(tmp_path, DAY, crash_at=[state])
    # Then the execution fails at that state: no catch-all state runs after it
    assert failed["status"] == "FAILED"
    assert "NotifyFailure" not in failed["states"] and "Failed" not in failed["states"]
    assert "InjectedCrashError" in failed["message"]
    # And the status-change path emailed where and why, and released the day
    record = SQLiteLedger(tmp_path / "ledger.sqlite3").get_run(f"cycle-{DAY}-dev")
    notice = (tmp_path / "reports" / f"cycle-{DAY}-dev.failure.html").read_text()
    stopped_at = next(s for s in CRASH_STATE[state] if f"Stopped at: {s}" in notice)
    assert "InjectedCrashError" in notice
    if record is not None:  # PlanCycle may crash before it claims the day
        assert record.status is RunStatus.FAILED
        assert record.message.startswith(f"FAILED at {stopped_at}: InjectedCrashError")
    # And re-running the day (as a redrive) ends it with exactly the uninterrupted orders
    again = run(tmp_path, DAY)
    assert again["status"] == "SUCCEEDED", again["message"]
    assert outcome(tmp_path) == uninterrupted


def test_a_crash_in_one_books_evaluation_fails_that_book_and_the_others_trade(
    tmp_path: Path,
) -> None:
    # Given the first day traded
    run(tmp_path, FIRST)
    # When one book's evaluation crashes with an error no Catch names
    summary = run(tmp_path, DAY, crash_at=["EvaluateBook"])
    # Then the run succeeds: that book failed with the error, the others planned and traded
    assert summary["status"] == "SUCCEEDED", summary["message"]
    failed = [b for b in summary["books"] if b["status"] == "failed"]
    assert len(failed) == 1
    assert failed[0]["reason"] == (
        "InjectedCrashError: drill: EvaluateBook crashed on its first attempt (--crash-at EvaluateBook)"
    )
    assert {b["status"] for b in summary["books"]} - {"failed"} <= {"traded", "on_target", "held"}
    assert summary["orders"] and all(o["status"] == "filled" for o in summary["orders"])
    assert failed[0]["book_id"] not in {
        f.book_id for f in SQLiteLedger(tmp_path / "ledger.sqlite3").fills(f"cycle-{DAY}-dev")
    }


def test_a_crash_after_orders_reached_the_broker_never_places_them_twice(
    tmp_path: Path, uninterrupted: tuple[object, ...]
) -> None:
    # Given the first day traded, and the drill day crashing in Reconcile: every order
    # of the day has filled at the broker, and none of it is in the books yet
    run(tmp_path, FIRST)
    failed = run(tmp_path, DAY, crash_at=["Reconcile"])
    assert failed["status"] == "FAILED"
    placed = broker_orders(tmp_path)
    # When the day is re-run
    again = run(tmp_path, DAY)
    # Then no order is placed again (the same client ids are found at the broker)
    assert again["status"] == "SUCCEEDED"
    assert broker_orders(tmp_path) == placed
    assert outcome(tmp_path) == uninterrupted
    assert all(Decimal(o["filled_qty"]) > 0 for o in again["orders"])


def test_a_day_that_filled_but_never_reconciled_is_reconciled_by_the_next_day(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # Given an uninterrupted pair of days, for comparison
    days = (date(2026, 7, 30), date(2026, 7, 31))
    baseline = tmp_path_factory.mktemp("two-days")
    for day in days:
        assert run(baseline, day)["status"] == "SUCCEEDED"
    # When the first day crashes in Reconcile (its orders filled at the broker, none in
    # the books) and is never re-run, and the next day runs
    assert run(tmp_path, days[0], crash_at=["Reconcile"])["status"] == "FAILED"
    summary = run(tmp_path, days[1])
    # Then the next day first books the first day's fills, so its drift check passes and
    # it trades: both days end exactly as if nothing had happened
    assert summary["status"] == "SUCCEEDED", summary["message"]
    assert "broker positions disagree" not in summary["message"]
    assert summary["orders"]
    settled = [w for w in summary["warnings"] if w.startswith(f"cycle-{days[0]}-dev settled")]
    assert settled and f"booked by cycle-{days[1]}-dev" in settled[0], summary["warnings"]
    assert outcome(tmp_path) == outcome(baseline)
    first = SQLiteLedger(tmp_path / "ledger.sqlite3").get_run(f"cycle-{days[0]}-dev")
    assert first is not None and first.status is RunStatus.COMPLETED
