"""A book that failed can be retried the same day once the cause is fixed (issue 12, item 4).

The re-run plans and trades only the books that failed, as a retry run of its own
(``cycle-<day>-<stage>-r2``): the books that traded keep their plans, orders and fills,
and the retry's client order ids never collide with the first run's.
"""

from __future__ import annotations

import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from alchemiser.broker.simulated import SimulatedBroker
from alchemiser.cycle.faults import FaultPlan
from alchemiser.ledger.sqlite import SQLiteLedger
from alchemiser.local.cycle_runner import run_cycle
from alchemiser.local.summary import summarize
from tests.conftest import REPO_ROOT
from tests.workflow.conftest import all_prices, broker_orders, make_settings
from tests.workflow.test_drills import DAY, FIRST, run

RETRY = f"cycle-{DAY}-dev-r2"


def strategies_with_a_broken_book(tmp_path: Path) -> tuple[Path, Path, str]:
    """Copy the strategies; make tech-momentum's data missing (a ticker no file has)."""
    folder = tmp_path / "strategies"
    shutil.copytree(REPO_ROOT / "strategies", folder)
    # The stage without its hedge: this is about the books (the hedge beside a failed
    # book, which it refuses to guess at, is tests/workflow/test_hedge_with_books.py).
    books = folder / "books.yaml"
    text = books.read_text()
    start = text.index("    hedge:")
    books.write_text(text[:start] + text[text.index("    books:", start) :])
    strategy = folder / "tech_momentum_guarded.clj"
    original = strategy.read_text()
    strategy.write_text(original.replace('(asset "BIL"', '(asset "NODATAX"'))
    return folder, strategy, original


def test_a_failed_book_is_retried_alone_and_the_day_then_counts_as_traded(
    tmp_path: Path,
) -> None:
    # Given a first day on which tech-momentum failed (its data) and the others traded
    folder, strategy, original = strategies_with_a_broken_book(tmp_path)
    home = tmp_path / "home"
    first = run_with(home, FIRST, folder)
    statuses = {b["book_id"]: b["status"] for b in first["books"]}
    assert statuses.pop("tech-momentum") == "failed"
    assert set(statuses.values()) == {"traded"}
    ledger = SQLiteLedger(home / "ledger.sqlite3")
    first_run = f"cycle-{FIRST}-dev"
    first_fills = ledger.fills(first_run)
    orders_before = broker_orders(home)

    # When the cause is fixed and the day is run again
    strategy.write_text(original)
    retry = run_with(home, FIRST, folder)

    # Then only the failed book is planned and traded, by a retry run of its own
    assert retry["status"] == "SUCCEEDED", retry["message"]
    assert retry["run_id"] == f"{first_run}-r2"
    assert [(b["book_id"], b["status"]) for b in retry["books"]] == [("tech-momentum", "traded")]
    new_orders = set(broker_orders(home)) - set(orders_before)
    assert new_orders and all(o[0].startswith(f"{first_run}-r2-") for o in new_orders)
    assert {f.book_id for f in ledger.fills(f"{first_run}-r2")} == {"tech-momentum"}
    assert ledger.fills(first_run) == first_fills  # the others keep their fills
    # and the books and the pool still add up to the broker
    broker = SimulatedBroker(home / "broker.sqlite3", all_prices())
    assert broker.account().cash == sum(ledger.cash_accounts().values(), Decimal(0))
    assert ledger.account_snapshots()[-1].difference == 0

    # When it is run once more, the day is done: nothing is placed
    again = run_with(home, FIRST, folder)
    assert again["already_traded"] and not again["orders"]
    assert set(broker_orders(home)) == set(orders_before) | new_orders


def run_with(home: Path, day: date, strategies: Path) -> dict[str, Any]:
    local = run_cycle(
        make_settings(home, strategies_dir=strategies), REPO_ROOT, day=day, faults=FaultPlan()
    )
    return summarize(local)


def test_a_retry_that_fails_again_is_retried_by_the_next(tmp_path: Path) -> None:
    run(tmp_path, FIRST)
    run(tmp_path, DAY, crash_at=["EvaluateBook"])
    second = run(tmp_path, DAY, crash_at=["EvaluateBook"])
    assert second["run_id"] == RETRY
    assert [b["status"] for b in second["books"]] == ["failed"]
    third = run(tmp_path, DAY)
    assert third["run_id"] == f"cycle-{DAY}-dev-r3"
    assert third["books"][0]["status"] != "failed"
    assert date.fromisoformat(third["trading_date"]) == DAY
