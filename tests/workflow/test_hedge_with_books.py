"""The hedge beside books that fail, retire or trade: the day's equity orders never wait on it.

The Hedge branch runs beside the equity branch in one Parallel state, so an error that
escaped the Hedge step would stop the books' orders too. A book the hedge cannot
evaluate (its data) or a book retired from books.yaml (no symphony any more) must leave
the books trading and the hedge refusing or hedging with the live books only.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import REPO_ROOT
from tests.workflow.test_drills import DAY, FIRST
from tests.workflow.test_retry_failed_books import run_with


def strategies(tmp_path: Path) -> Path:
    folder = tmp_path / "strategies"
    shutil.copytree(REPO_ROOT / "strategies", folder)
    return folder


def test_a_book_without_data_fails_alone_and_the_hedge_refuses_saying_why(
    tmp_path: Path,
) -> None:
    # Given the dev stage, with its hedge, and one book naming a ticker no file has
    folder = strategies(tmp_path)
    strategy = folder / "tech_momentum_guarded.clj"
    strategy.write_text(strategy.read_text().replace('(asset "BIL"', '(asset "NODATAX"'))
    # When the day runs
    summary = run_with(tmp_path / "home", FIRST, folder)
    # Then the run succeeds: that book failed, the others traded, and the hedge, whose
    # exposure cannot be known, places nothing and names the missing data
    assert summary["status"] == "SUCCEEDED", summary["message"]
    statuses = {b["book_id"]: b["status"] for b in summary["books"]}
    assert statuses.pop("tech-momentum") == "failed"
    assert set(statuses.values()) == {"traded"}
    assert summary["hedge"]["decision"] == "refused"
    assert any("NODATAX" in reason for reason in summary["hedge"]["reasons"])


def test_a_retired_book_is_not_hedged_and_does_not_stop_the_day(tmp_path: Path) -> None:
    # Given a first day traded with every book, and the hedge bought
    folder = strategies(tmp_path)
    home = tmp_path / "home"
    first = run_with(home, FIRST, folder)
    assert first["status"] == "SUCCEEDED", first["message"]
    # When nuclear is removed from books.yaml and the next day runs
    books = folder / "books.yaml"
    text = books.read_text()
    removed = (
        "      - id: nuclear\n        strategy: nuclear_energy_rotation.clj\n        share: 0.3\n"
    )
    assert removed in text
    books.write_text(text.replace(removed, "", 1))
    summary = run_with(home, DAY, folder)
    # Then the day succeeds: nuclear is retired and exits, and the hedge ran on the rest
    assert summary["status"] == "SUCCEEDED", summary["message"]
    nuclear = next(b for b in summary["books"] if b["book_id"] == "nuclear")
    assert nuclear["mode"] == "retired"
    assert summary["hedge"]["decision"] != "refused", summary["hedge"]["reasons"]
