"""A 20 % bad print in today's SPY close stops the books that read SPY, not the others.

The price directory holds links to the real files, except SPY's, copied with the close
of the replayed day multiplied by 1.2 or 0.8 (22 sigma of SPY's volatility then, but
under the 25 % that the rule used to need): the nuclear book reads SPY, the two others
do not.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import PRICES_DIR
from tests.workflow.conftest import RunCycle, broker_orders

DAY = date(2024, 3, 14)


def prices_with_spy_off_by(factor: float, directory: Path) -> Path:
    directory.mkdir()
    for real in PRICES_DIR.glob("*.csv"):
        if real.name != "SPY.csv":
            (directory / real.name).symlink_to(real)
    spy = pd.read_csv(PRICES_DIR / "SPY.csv")
    spy.loc[spy["Date"] == DAY.isoformat(), "Adj Close"] *= factor
    spy.to_csv(directory / "SPY.csv", index=False)
    return directory


@pytest.mark.parametrize("factor", [1.2, 0.8])
def test_a_20_percent_error_in_spy_fails_its_book_closed(
    cycle: RunCycle, tmp_path: Path, factor: float
) -> None:
    # Given today's SPY close off by 20 %
    data = prices_with_spy_off_by(factor, tmp_path / "prices")

    # When the cycle runs
    _, summary = cycle(DAY, data_dir=data)

    # Then the book that reads SPY fails, saying why, and places no order
    books = {b["book_id"]: b for b in summary["books"]}
    nuclear = books["nuclear"]
    assert nuclear["status"] == "failed", nuclear
    assert f"SPY {DAY}: suspicious" in nuclear["reason"]
    ordered = {symbol for _, symbol, _, _, _ in broker_orders(tmp_path / "home")}
    assert "UVXY" not in ordered and "SPY" not in ordered
    # And the books that do not read SPY still trade
    assert books["tech-momentum"]["status"] != "failed"
    assert books["klm-ensemble"]["status"] != "failed"
    assert ordered


LATER = date(2026, 7, 31)  # two months after the shared data's unadjusted SOXS split
BOOKS = """stages:
  dev:
    books:
      - id: holds-soxs
        strategy: holds_soxs.clj
        share: 0.4
      - id: reads-soxs
        strategy: reads_soxs.clj
        share: 0.4
"""
# Holds SOXS, but decides on SOXL's RSI alone: SOXS's broken history changes nothing.
HOLDS_SOXS = """(defsymphony "holds SOXS" {}
  (if (> (rsi "SOXL" {:window 10}) 101) [(asset "SOXL")] [(asset "SOXS")]))
"""
# Decides on SOXS's 60-day return, which spans the unadjusted split.
READS_SOXS = """(defsymphony "reads SOXS" {}
  (if (> (cumulative-return "SOXS" {:window 60}) -80) [(asset "SOXL")] [(asset "TQQQ")]))
"""


def test_a_flagged_close_stops_only_the_book_whose_allocation_depends_on_it(
    cycle: RunCycle, tmp_path: Path
) -> None:
    # Given the real data, whose SOXS history has a step on 2026-05-26 that no peer
    # explains, and two books: one decides on SOXS's history, the other only holds SOXS
    strategies = tmp_path / "strategies"
    strategies.mkdir()
    (strategies / "books.yaml").write_text(BOOKS)
    (strategies / "holds_soxs.clj").write_text(HOLDS_SOXS)
    (strategies / "reads_soxs.clj").write_text(READS_SOXS)

    # When the cycle runs two months later
    _, summary = cycle(LATER, strategies_dir=strategies)

    # Then the book that reads SOXS's history fails closed, naming the flagged close
    books = {b["book_id"]: b for b in summary["books"]}
    assert books["reads-soxs"]["status"] == "failed"
    assert "SOXS 2026-05-26: suspicious" in books["reads-soxs"]["reason"]
    # And the other trades, saying which flagged close it does not depend on
    assert books["holds-soxs"]["status"] != "failed"
    assert (
        "does not depend on the flagged close(s) SOXS 2026-05-26" in books["holds-soxs"]["reason"]
    )
    ordered = {symbol for _, symbol, _, _, _ in broker_orders(tmp_path / "home")}
    assert ordered == {"SOXS"}
