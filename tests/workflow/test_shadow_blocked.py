"""A shadow book behaves like a live book on a blocked day: it is not filled either."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from alchemiser.cli import main
from alchemiser.ledger.sqlite import SQLiteLedger
from tests.workflow.conftest import RunCycle

BOOKS = """stages:
  dev:
    books:
      - {id: live, strategy: spy.clj, share: 0.5}
      - {id: trial, strategy: spy.clj, share: 0.5, mode: shadow}
"""


def test_the_kill_switch_keeps_shadow_books_unfilled_until_it_is_off(
    cycle: RunCycle, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "strategies"
    folder.mkdir()
    (folder / "spy.clj").write_text('(defsymphony "SPY only" {} (asset "SPY"))\n')
    (folder / "shadow.yaml").write_text(BOOKS)
    books = {"strategies_dir": folder, "books_file": "shadow.yaml"}
    home = tmp_path / "home"
    # Given the kill switch armed before the first day
    assert main(["kill-switch", "on", "--home", str(home), "--reason", "not yet"]) == 0
    # When the day runs: neither book is filled, the shadow says why like the live one
    _, blocked = cycle(date(2024, 3, 11), **books)
    ledger = SQLiteLedger(home / "ledger.sqlite3")
    assert ledger.open_lots("live") == [] and ledger.open_lots("trial") == []
    reasons = {b["book_id"]: (b["status"], b["reason"]) for b in blocked["books"]}
    assert reasons["trial"][0] == reasons["live"][0] == "not_traded"
    assert "kill switch" in reasons["trial"][1]
    # And once the switch is off, the next day fills both
    assert main(["kill-switch", "off", "--home", str(home)]) == 0
    capsys.readouterr()
    cycle(date(2024, 3, 12), **books)
    assert ledger.open_lots("live") and ledger.open_lots("trial")
