"""The Hedge branch of the real state machine, on real prices, the dev stage's policy.

Three consecutive trading days through ``alchemiser run``'s machinery: the hedge is
bought on the first, a re-run of a day places no option order, the second day marks
it, and the hedge kill switch set from the command line places nothing and says why.
Every day the broker's equity is the books, the hedge book and the pool to the cent. (The 60-day path with a fall
is ``tests/integration/test_hedge_scenario.py``, which drives the hedge day directly.)
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from alchemiser.broker.simulated_options import SimulatedOptionsBroker
from alchemiser.broker.simulated_options_market import SimulatedOptionsMarket
from alchemiser.cli import main
from alchemiser.ledger.hedge_store import SQLiteHedgeStore
from tests.workflow.conftest import RunCycle, all_prices

# The third day is one the house books trade on (on the 18th they are all on target).
DAYS = (date(2024, 3, 14), date(2024, 3, 15), date(2024, 3, 19))


def option_orders(home: Path) -> list[tuple[str, int]]:
    broker = SimulatedOptionsBroker(home / "broker.sqlite3", SimulatedOptionsMarket(all_prices()))
    return sorted((o.client_order_id, o.filled_qty) for o in broker.orders())


def adds_up(summary: dict[str, Any]) -> None:
    """Broker equity = books + hedge book + pool to the cent; the hedge holds its put."""
    account = summary["account"]
    assert account["unexplained"] == "0.00" and account["nav"] == account["broker_equity"]
    hedge = account["hedge"]
    assert Decimal(hedge["options"]) > 0 and Decimal(hedge["cash"]) >= 0
    assert Decimal(hedge["nav"]) == Decimal(hedge["cash"]) + Decimal(hedge["options"])
    # (each book's NAV is rounded to the cent alone, the account's once: a cent a book)
    books = sum((Decimal(b["nav"]) for b in summary["books"]), Decimal(0))
    total = books + Decimal(hedge["nav"]) + Decimal(account["pool"])
    assert abs(total - Decimal(account["nav"])) <= Decimal("0.01") * len(summary["books"])


def test_the_hedge_is_bought_held_and_never_repeated_across_days(
    cycle: RunCycle, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "home"
    # Day 1: the hedge branch buys the policy's put
    _, summary = cycle(DAYS[0])
    assert summary["hedge"]["decision"] == "hedged"
    adds_up(summary)
    first = option_orders(home)
    assert first and all(cid.startswith(f"cycle-{DAYS[0]}-dev-h-o-") for cid, _ in first)
    # A re-run of the day sends no option order and books nothing twice
    cycle(DAYS[0])
    assert option_orders(home) == first
    assert len(SQLiteHedgeStore(home / "ledger.sqlite3").load_book().state.hedges) == 1

    # Day 2: the held hedge is marked (the drills crash it: tests/workflow/test_hedge_fails_alone.py)
    _, finished = cycle(DAYS[1])
    assert finished["status"] == "SUCCEEDED"
    adds_up(finished)
    assert finished["hedge"]["decision"] in {"no-hedge", "hedged"}
    assert finished["hedge"]["positions"], "the day-1 hedge is marked on day 2"

    # Day 3: the hedge switch, set from the command line, places no option order
    before = option_orders(home)
    assert main(["kill-switch", "on", "--hedge", "--reason", "vol spike", "--home", str(home)]) == 0
    assert "hedge kill switch: ON" in capsys.readouterr().out
    _, halted = cycle(DAYS[2])
    assert halted["status"] == "SUCCEEDED" and halted["orders"], "the books still trade"
    assert halted["hedge"]["decision"] == "refused"
    assert halted["hedge"]["reasons"] == ["halted: the hedge kill switch is on: vol spike"]
    # the hedge's spare cash went back to the pool; its put is still counted
    assert halted["account"]["hedge"]["cash"] == "0.00"
    adds_up(halted)
    assert option_orders(home) == before
    book = SQLiteHedgeStore(home / "ledger.sqlite3").load_book()
    assert [s.day for s in book.snapshots] == list(DAYS[:2])
