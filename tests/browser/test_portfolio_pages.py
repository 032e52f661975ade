"""The portfolio backtest's site, opened in headless Chromium at phone and desktop width.

Built the way a person gets it: ``alchemiser backtest strategies/books.yaml --report``
on real prices, over a window in which one book joins late. Every page (the index,
the account, each book) reads with no console error, no request outside its files,
every chart drawn and every table inside the screen and inside its own block.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext

from alchemiser.cli import main
from tests.conftest import PRICES_DIR, REPO_ROOT
from tests.support.browser import DESKTOP, PHONE, inspect_page


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("portfolio") / "dev"
    code = main(
        [
            "backtest", str(REPO_ROOT / "strategies" / "books.yaml"), "--stage", "dev",
            "--data", str(PRICES_DIR), "--start", "2020-01-02", "--end", "2021-12-31",
            "--report", str(root),
        ]
    )  # fmt: skip
    assert code == 0
    return root


def test_every_page_of_the_portfolio_site_reads_at_phone_and_desktop_width(
    browser: BrowserContext, site: Path, screenshots: Path
) -> None:
    pages = sorted(site.glob("*.html"))
    assert [p.stem for p in pages] == [
        "account",
        "book-klm-ensemble",
        "book-nuclear",
        "book-tech-momentum",
        "index",
    ]
    faults: dict[str, list[str]] = {}
    for path in pages:
        for report in inspect_page(browser, path, (PHONE, DESKTOP), screenshots):
            expected = {"index": (0, 1), "account": (6, 6)}.get(path.stem, (6, 4))
            assert (report.charts, report.tables) == expected, path
            if report.faults():
                faults[f"{path.name} at {report.width} px"] = report.faults()
    assert faults == {}
