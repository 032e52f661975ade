"""A home made before books kept their own cash is upgraded in place by its first run.

The fixture ``tests/fixtures/prechange_home`` is the ledger and simulated broker of a
home made by the code just before this change (three days, 2024-03-11 to 13, on the
real prices, the repository's dev books). The next day's run must open each book's
cash from its lots and the old rule as one recorded transfer each, lose nothing, and
from then on the broker's cash is the pool plus the books' cash to the cent.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import date
from decimal import Decimal
from pathlib import Path

from alchemiser.broker.simulated import SimulatedBroker
from alchemiser.cycle.faults import FaultPlan
from alchemiser.ledger.models import POOL, TransferReason
from alchemiser.ledger.sqlite import SCHEMA_VERSION, SQLiteLedger
from alchemiser.local.cycle_runner import run_cycle
from tests.conftest import PRICES_DIR, REPO_ROOT
from tests.workflow.conftest import all_prices, make_settings

FIXTURE = REPO_ROOT / "tests" / "fixtures" / "prechange_home"
BEFORE = date(2024, 3, 13)


def prechange_home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    for name in ("ledger.sqlite3", "broker.sqlite3"):
        shutil.copy(FIXTURE / name, home / name)
    record = {"data_source": str(PRICES_DIR.resolve()), "opening_cash": "100000"}
    (home / "home.json").write_text(json.dumps(record))
    return home


def rows(path: Path, table: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        return sorted(conn.execute(f"SELECT * FROM {table}").fetchall())


def test_the_first_run_opens_each_books_cash_from_the_old_rule_and_loses_nothing(
    tmp_path: Path,
) -> None:
    # Given a home made by the code before books kept their own cash
    home = prechange_home(tmp_path)
    ledger_path = home / "ledger.sqlite3"
    with sqlite3.connect(ledger_path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (1,)
    fills_before = rows(ledger_path, "fills")
    runs_before = rows(ledger_path, "runs")
    old = SQLiteLedger(ledger_path)
    old_cash = {b: old.latest_snapshot(b, BEFORE) for b in old.book_ids()}
    broker = SimulatedBroker(home / "broker.sqlite3", all_prices())
    broker_cash = broker.account().cash

    # When the next day runs
    local = run_cycle(
        make_settings(home), REPO_ROOT, day=date(2024, 3, 14), faults=FaultPlan.parse([], [])
    )

    # Then the ledger is upgraded in place and keeps every fill and run it had
    assert local.execution.status == "SUCCEEDED"
    with sqlite3.connect(ledger_path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    assert set(fills_before) <= set(rows(ledger_path, "fills"))
    assert {r[0] for r in runs_before} <= {r[0] for r in rows(ledger_path, "runs")}
    ledger = SQLiteLedger(ledger_path)
    opening = {
        t.transfer_id.removeprefix("opening:"): t
        for t in ledger.transfers_on(date(2024, 3, 14))
        if t.reason is TransferReason.OPENING
    }
    # each book's cash opened as one transfer: its last snapshot's cash by the old rule
    for book, snapshot in old_cash.items():
        assert snapshot is not None
        signed = opening[book].amount * (1 if opening[book].destination == book else -1)
        assert signed == snapshot.cash, book
    assert opening["pool"].destination == POOL and opening["pool"].amount == broker_cash
    # and from now on the broker's cash is the pool plus the books' cash, to the cent
    assert broker.account().cash == sum(ledger.cash_accounts().values(), Decimal(0))
    account = ledger.account_snapshots()[-1]
    assert account.difference == 0
    assert account.twr_day is None and account.twr_inception == 0  # returns begin here
    for book in old_cash:
        today = ledger.latest_snapshot(book, date(2024, 3, 14))
        assert today is not None and today.twr_inception == 0


def test_the_day_after_the_upgrade_has_returns_and_still_adds_up(tmp_path: Path) -> None:
    home = prechange_home(tmp_path)
    for day in (date(2024, 3, 14), date(2024, 3, 15)):
        local = run_cycle(make_settings(home), REPO_ROOT, day=day, faults=FaultPlan.parse([], []))
        assert local.execution.status == "SUCCEEDED"
    ledger = SQLiteLedger(home / "ledger.sqlite3")
    broker = SimulatedBroker(home / "broker.sqlite3", all_prices())
    assert broker.account().cash == sum(ledger.cash_accounts().values(), Decimal(0))
    account = ledger.account_snapshots()[-1]
    assert account.difference == 0 and account.twr_day is not None
    for book in ledger.book_ids():
        last = ledger.latest_snapshot(book, date(2024, 3, 15))
        assert last is not None and last.twr_day is not None
