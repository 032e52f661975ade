"""A home made before the hedge was a book of its own is upgraded in place by its next run.

``tests/fixtures/prehedgebook_home`` was made by the code before this change running
2024-03-14 on the dev stage: it bought a put, whose premium stayed in the options'
own file (``options.sqlite3``), out of the account's cash. The next day's run merges
the options into the account (the premium leaves its cash once), posts the hedge
book's purchase to its new cash account, funds it, and the account adds up.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from contextlib import closing
from datetime import date
from decimal import Decimal
from pathlib import Path

from alchemiser.broker.simulated import SimulatedBroker
from alchemiser.broker.simulated_options import SimulatedOptionsBroker
from alchemiser.broker.simulated_options_market import SimulatedOptionsMarket
from alchemiser.cycle.faults import FaultPlan
from alchemiser.ledger.hedge_store import SQLiteHedgeStore
from alchemiser.ledger.models import HEDGE, TransferReason
from alchemiser.ledger.sqlite import SQLiteLedger
from alchemiser.local.cycle_runner import run_cycle
from alchemiser.local.summary import summarize
from tests.conftest import PRICES_DIR, REPO_ROOT
from tests.workflow.conftest import all_prices, make_settings

FIXTURE = REPO_ROOT / "tests" / "fixtures" / "prehedgebook_home"
MADE, NEXT = date(2024, 3, 14), date(2024, 3, 15)


def old_home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    for name in ("ledger.sqlite3", "broker.sqlite3", "options.sqlite3"):
        shutil.copy(FIXTURE / name, home / name)
    record = {"data_source": str(PRICES_DIR.resolve()), "opening_cash": "100000"}
    (home / "home.json").write_text(json.dumps(record))
    return home


def test_the_next_run_merges_the_options_into_the_account_and_it_adds_up(
    tmp_path: Path,
) -> None:
    # Given a home whose put's premium never left the account's cash
    home = old_home(tmp_path)
    with closing(sqlite3.connect(home / "options.sqlite3")) as old:
        premium = -sum(Decimal(r[0]) for r in old.execute("SELECT amount FROM cash_flows"))
        held = dict(old.execute("SELECT symbol, qty FROM positions").fetchall())
    assert premium > 0 and held
    # When the next day runs with this code
    local = run_cycle(make_settings(home), REPO_ROOT, day=NEXT, faults=FaultPlan.parse([], []))
    summary = summarize(local)
    # Then the options are in the account, once, and the old file is kept aside
    assert summary["status"] == "SUCCEEDED", summary["message"]
    assert not (home / "options.sqlite3").exists()
    assert (home / "options.sqlite3.merged").exists()
    options = SimulatedOptionsBroker(home / "broker.sqlite3", SimulatedOptionsMarket(all_prices()))
    assert {p.symbol: p.qty for p in options.option_positions()} == held
    assert summary["hedge"]["decision"] != "refused", summary["hedge"]["reasons"]
    # And the hedge book's purchase of the day before is posted to its cash, once
    ledger = SQLiteLedger(home / "ledger.sqlite3")
    paid = [t for t in ledger.transfers_on(MADE) if t.reason is TransferReason.OPTION]
    assert sum(t.amount for t in paid) == premium
    state = SQLiteHedgeStore(home / "ledger.sqlite3").load_book().state
    assert len(state.events) == 1
    # And the account adds up: broker cash = pool + books + hedge, equity = NAV
    broker = SimulatedBroker(home / "broker.sqlite3", all_prices())
    assert broker.account().cash == sum(ledger.cash_accounts().values())
    assert summary["account"]["unexplained"] == "0.00"
    assert ledger.cash_accounts()[HEDGE] >= 0
