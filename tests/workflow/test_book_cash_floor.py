"""A book never spends cash it does not have on its own execution costs (real prices).

Buys are planned at the reference close and filled at the walk's prices: at the ask
plus slippage when they go to market, and the sells that fund them at the bid less
slippage. With cash left in the pool, the account-wide cash cap of the buy phase does
not bind, so only planning's cost reserve keeps each book's cash from going below zero
by its own costs.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from alchemiser.ledger.models import POOL
from alchemiser.ledger.sqlite import SQLiteLedger
from tests.workflow.conftest import RunCycle

BOOKS = """stages:
  dev:
    books:
      - {id: spy, strategy: spy.clj, share: 0.3}
      - {id: rotate, strategy: rotate.clj, share: 0.3}
"""
# All in SPY, or all in QQQ, whichever closed higher against its 5-day average: a book
# that sells one whole position to buy the other with the proceeds.
ROTATE = """(defsymphony "Rotate" {}
  (if (> (current-price "SPY") (moving-average-price "SPY" {:window 5}))
    (asset "QQQ")
    (asset "SPY")))
"""
DAYS = [date(2024, 3, d) for d in (11, 12, 13, 14, 15, 18, 19, 20)]


def test_no_book_cash_goes_below_zero_by_its_execution_costs(
    cycle: RunCycle, tmp_path: Path
) -> None:
    folder = tmp_path / "strategies"
    folder.mkdir()
    (folder / "spy.clj").write_text('(defsymphony "SPY only" {} (asset "SPY"))\n')
    (folder / "rotate.clj").write_text(ROTATE)
    (folder / "cash.yaml").write_text(BOOKS)
    books = {"strategies_dir": folder, "books_file": "cash.yaml"}
    ledger = SQLiteLedger(tmp_path / "home" / "ledger.sqlite3")
    for day in DAYS:
        _, summary = cycle(day, **books)
        assert summary["status"] == "SUCCEEDED"
        cash = ledger.cash_accounts()
        assert cash[POOL] > 0  # the account-wide cap never binds: the pool has cash
        below = {b: c for b, c in cash.items() if b != POOL and c < 0}
        assert below == {}, (day, below)
