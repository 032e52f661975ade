"""``alchemiser books`` and ``alchemiser account``, as a user runs them between days."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from alchemiser.books.returns import account_series, book_series
from alchemiser.cli import main
from alchemiser.ledger.sqlite import SQLiteLedger
from tests.workflow.conftest import RunCycle


def test_a_deposit_reaches_the_pool_at_the_next_run_and_books_shows_it(
    cycle: RunCycle, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "home"
    # Given a first day traded
    cycle(date(2024, 3, 11))
    assert main(["books", "--home", str(home)]) == 0
    shown = capsys.readouterr().out
    for book in ("nuclear", "tech-momentum", "klm-ensemble"):
        assert f"{book} [live] NAV $" in shown
    assert "pool $0.00" in shown
    assert "hedge [options] NAV $" in shown and "funded by the pool and the books" in shown

    # When the user deposits, and tries to withdraw more than the account holds
    assert main(["account", "deposit", "2500", "--home", str(home)]) == 0
    assert "deposited $2,500.00" in capsys.readouterr().out
    assert main(["account", "withdraw", "9999999", "--home", str(home)]) == 1
    assert "cannot withdraw $9,999,999.00" in capsys.readouterr().err
    assert main(["account", "deposit", "12.345", "--home", str(home)]) == 1
    assert "whole cents" in capsys.readouterr().err

    # Then the next run credits the pool, as a flow of the account, not a book's return;
    # the hedge book's top-up to its monthly budget comes from the pool first
    _, summary = cycle(date(2024, 3, 12))
    hedge = summary["account"]["hedge"]
    topped_up = Decimal(hedge["transfers"])
    assert topped_up > 0 and Decimal(summary["pool"]) + topped_up == Decimal("2500.00")
    assert summary["account"]["flows"] == "2500.00"
    assert main(["books", "--home", str(home), "--json"]) == 0
    view = json.loads(capsys.readouterr().out)
    assert view["pool"] == summary["pool"]
    assert view["hedge"]["nav"] == hedge["nav"]
    assert {b["book_id"] for b in view["books"]} == {"nuclear", "tech-momentum", "klm-ensemble"}

    # and the series the dashboard reads have one point per day
    ledger = SQLiteLedger(home / "ledger.sqlite3")
    points = account_series(ledger)
    assert [p.day for p in points] == [date(2024, 3, 11), date(2024, 3, 12)]
    assert points[-1].flows == Decimal("2500.00")
    nuclear = book_series(ledger, "nuclear")
    assert len(nuclear) == 2 and nuclear[-1].flows == 0 and nuclear[-1].twr_day is not None


def test_books_without_a_ledger_says_to_run_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["books", "--home", str(tmp_path / "empty")]) == 1
    assert "no ledger yet" in capsys.readouterr().err
