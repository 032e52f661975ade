"""Reliability drills on every Task state: transient failures are retried, crashes fail
the run, and re-running a failed day (as a redrive would) ends it with exactly the
orders and the ledger of an uninterrupted run."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from alchemiser.cycle.faults import TASK_STATES, FaultPlan
from alchemiser.ledger.models import RunStatus
from alchemiser.ledger.sqlite import SQLiteLedger
from alchemiser.local.cycle_runner import run_cycle
from alchemiser.local.summary import summarize
from tests.conftest import REPO_ROOT
from tests.workflow.conftest import book_positions, broker_orders, make_settings

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
    """What must be identical between runs: every broker order and every book's lots."""
    ledger = SQLiteLedger(home / "ledger.sqlite3")
    fills = sorted(
        (f.fill_id, f.book_id, f.symbol, f.side.value, f.qty, f.price)
        for r in ledger.runs("dev")
        for f in ledger.fills(r.run_id)
    )
    return broker_orders(home), book_positions(home), fills


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, ...]:
    home = tmp_path_factory.mktemp("baseline")
    run(home, FIRST)
    summary = run(home, DAY)
    assert summary["status"] == "SUCCEEDED"
    sides = {o["side"] for o in summary["orders"]}
    assert sides == {"buy", "sell"}, "the drill day must exercise both phases"
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
    assert "NotifyFailure" not in summary["states"]
    assert outcome(tmp_path) == uninterrupted


@pytest.mark.parametrize("state", TASK_STATES)
def test_a_crash_fails_the_run_and_a_rerun_ends_the_day_as_if_nothing_happened(
    state: str, tmp_path: Path, uninterrupted: tuple[object, ...]
) -> None:
    # Given the first day traded
    run(tmp_path, FIRST)
    # When STATE crashes (not retryable) on the drill day
    failed = run(tmp_path, DAY, crash_at=[state])
    # Then the run fails through NotifyFailure, names the drill, and stays re-runnable
    assert failed["status"] == "FAILED"
    assert failed["states"][-2:] == ["NotifyFailure", "Failed"]
    assert "InjectedCrashError" in failed["message"]
    record = SQLiteLedger(tmp_path / "ledger.sqlite3").get_run(f"cycle-{DAY}-dev")
    assert record is None or record.status is RunStatus.FAILED
    # And re-running the day (as a redrive) ends it with exactly the uninterrupted orders
    again = run(tmp_path, DAY)
    assert again["status"] == "SUCCEEDED", again["message"]
    assert outcome(tmp_path) == uninterrupted


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
