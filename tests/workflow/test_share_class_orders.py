"""An order for a share class reaches the broker in the broker's spelling (``BRK.B``).

The shared data has no Berkshire prices: the price directory of this test holds links to
the real files plus a SYNTHETIC stand-in for Berkshire on the real calendar, saved as
``BRK_B.csv`` (the spelling a file system allows), while the strategy writes ``BRK/B``
as Composer does. Only the spellings matter here, not the stand-in's values.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from alchemiser.market.loader import save_price_directory
from alchemiser.market.synthetic import with_stand_ins
from tests.conftest import PRICES_DIR
from tests.workflow.conftest import RunCycle, all_prices, broker_orders

DAY = date(2024, 3, 14)
STRATEGY = """(defsymphony "Berkshire and bonds" {:rebalance-frequency :daily}
  (weight-equal [(asset "BRK/B" "Berkshire Hathaway B") (asset "TLT" nil)]))
"""
BOOKS = """stages:
  dev:
    books:
      - id: berkshire
        strategy: berkshire.clj
        share: 0.5
"""


def prices_with_berkshire(directory: Path) -> Path:
    """Link every real price file and add a synthetic Berkshire saved as BRK_B.csv."""
    directory.mkdir()
    for real in PRICES_DIR.glob("*.csv"):
        (directory / real.name).symlink_to(real)
    stand_in = with_stand_ins(all_prices(), ["BRK.B"], date(2015, 1, 2), DAY)
    [written] = save_price_directory(stand_in, directory / "stand-in")
    written.rename(directory / "BRK_B.csv")
    return directory


def test_a_brk_b_book_orders_brk_dot_b_from_the_broker(cycle: RunCycle, tmp_path: Path) -> None:
    # Given a book whose strategy holds BRK/B, and Berkshire's prices in BRK_B.csv
    strategies = tmp_path / "strategies"
    strategies.mkdir()
    (strategies / "berkshire.clj").write_text(STRATEGY)
    (strategies / "books.yaml").write_text(BOOKS)
    data = prices_with_berkshire(tmp_path / "prices")

    # When the cycle runs
    _, summary = cycle(DAY, strategies_dir=strategies, data_dir=data)

    # Then the book bought Berkshire, and the broker received it as BRK.B
    assert summary["status"] == "SUCCEEDED", summary
    orders = broker_orders(tmp_path / "home")
    assert {(symbol, side) for _, symbol, side, _, _ in orders} == {
        ("BRK.B", "buy"),
        ("TLT", "buy"),
    }
    assert [o["symbol"] for o in summary["orders"] if o["symbol"].startswith("BRK")] == ["BRK.B"]
