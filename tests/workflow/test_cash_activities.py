"""The broker's cash activities in whole runs: a dividend, and cash nothing explains.

A dividend on the simulated broker reaches the books that held the symbol, by their shares.

Two real-price days of books of one symbol each: after the first, the account pays a
dividend on SPY (``alchemiser account dividend``, as a user would);
the next run pays it to those books in proportion to the shares each held, to the cent,
as their return (not a flow), and the broker's equity stays the books' NAVs + the pool.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path

import pytest

from alchemiser.broker.alpaca_activities import parse_activity
from alchemiser.broker.models import CashActivityKind
from alchemiser.broker.simulated_cash import open_account
from alchemiser.cli import main
from alchemiser.ledger.models import EXTERNAL, TransferReason
from alchemiser.ledger.sqlite import SQLiteLedger
from tests.workflow.conftest import RunCycle, book_positions

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "alpaca"
RATE = Decimal("0.37")
CENT = Decimal("0.01")
BOOKS = """stages:
  dev:
    books:
      - {id: alpha, strategy: spy.clj, share: 0.3}
      - {id: beta, strategy: spy.clj, share: 0.5}
      - {id: gamma, strategy: bil.clj, share: 0.2}
      - {id: trial, strategy: spy.clj, share: 0.2, mode: shadow}
"""


def test_a_dividend_goes_to_the_books_that_held_it_in_proportion(
    cycle: RunCycle, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given two live books holding SPY (30 % and 50 %), one holding BIL, a shadow on SPY
    folder = tmp_path / "strategies"
    folder.mkdir()
    (folder / "spy.clj").write_text('(defsymphony "SPY only" {} (asset "SPY"))\n')
    (folder / "bil.clj").write_text('(defsymphony "BIL only" {} (asset "BIL"))\n')
    (folder / "div.yaml").write_text(BOOKS)
    home = tmp_path / "home"
    books = {"strategies_dir": folder, "books_file": "div.yaml"}
    cycle(date(2024, 3, 11), **books)
    holders = {b: p["SPY"] for b, p in book_positions(home).items() if p.get("SPY", 0) > 0}
    assert set(holders) == {"alpha", "beta", "trial"}
    del holders["trial"]  # virtual shares: the broker holds none of them
    # (a dividend on a symbol the account does not hold is refused, saying so)
    assert main(["account", "dividend", "QQQ", "0.5", "--home", str(home)]) == 1
    assert "holds no QQQ" in capsys.readouterr().err
    # When the account is paid a dividend on SPY (as the user would make it)
    assert main(["account", "dividend", "SPY", str(RATE), "--home", str(home)]) == 0
    said = capsys.readouterr().out
    shares = sum(holders.values(), Decimal(0))
    paid = (shares * RATE).quantize(CENT)
    assert f"paid a dividend of ${paid:,.2f} on {shares} SPY" in said
    # and the next day runs
    _, summary = cycle(date(2024, 3, 12), **books)
    ledger = SQLiteLedger(home / "ledger.sqlite3")
    dividends = [
        t for t in ledger.transfers_on(date(2024, 3, 12)) if t.reason is TransferReason.DIVIDEND
    ]
    # Then each live holder got its shares' part, to the cent, and no one else got any
    got = {t.destination: t.amount for t in dividends}
    assert all(t.source == EXTERNAL for t in dividends)
    assert set(got) == {"alpha", "beta"} and sum(got.values(), Decimal(0)) == paid
    for book, qty in holders.items():
        exact = paid * qty / shares
        assert exact.quantize(CENT, rounding=ROUND_FLOOR) <= got[book] <= exact + CENT
    # and the account still adds up: broker equity = live books' NAVs + pool, to the cent
    assert summary["account"]["unexplained"] == "0.00"
    # and the dividend is each holder's return, not a flow
    for book in holders:
        assert ledger.snapshots(book)[-1].transfers == 0


def test_cash_nothing_explains_is_an_explicit_unexplained_line_in_the_json_and_report(
    cycle: RunCycle, tmp_path: Path
) -> None:
    # Given a day traded, then a cash move of a kind the books do not account for (the
    # $12.50 reorganisation of the recorded Alpaca page, tests/fixtures/alpaca)
    home = tmp_path / "home"
    cycle(date(2024, 3, 11))
    page = json.loads((FIXTURES / "activities_unknown_types.json").read_text())
    reorg = next(a for a in map(parse_activity, page) if a and a.kind is CashActivityKind.OTHER)
    store = open_account(home / "broker.sqlite3")
    with store.write() as tx:
        number = tx.add_activity(reorg)
    # When the next day runs
    _, summary = cycle(date(2024, 3, 12))
    # Then no account's cash took it: the run's JSON shows the gap and names the activity
    assert summary["account"]["unexplained"] == "12.50"
    assert any(f"sim-{number}" in w and "credited to no one" in w for w in summary["warnings"])
    assert any("unexplained: the broker's equity" in w for w in summary["warnings"])
    # and the report's Pool and NAV table has it as its own column
    report = Path(summary["report"]).read_text()
    assert "Unexplained" in report and "+$12.50" in report
