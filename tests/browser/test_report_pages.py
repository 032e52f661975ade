"""Every page of a report site, opened in headless Chromium at phone and desktop width.

The site is built from real backtests the way a person gets one: `alchemiser backtest
--report` for one page, and a site of three tearsheets with its index. On each page:
no console error, no request leaves the page's own files, every chart is drawn, and
every table fits the screen with every column visible (at 390 px, wide tables turn
into labelled cards). Screenshots land in tests/artifacts/screenshots.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext

from alchemiser.analytics.backtest_report import backtest_series, load_benchmark
from alchemiser.analytics.page import Page, Table
from alchemiser.analytics.returns import WeightHistory
from alchemiser.analytics.site import write_page, write_site
from alchemiser.analytics.tearsheet import build_tearsheet
from alchemiser.backtest.symphony import backtest_symphony
from alchemiser.cli import main
from alchemiser.dsl.parser import load_symphony
from alchemiser.dsl.program import compile_symphony
from alchemiser.market.loader import load_price_directory
from tests.conftest import COMPOSER_DIR, PRICES_DIR, REPO_ROOT
from tests.support.browser import DESKTOP, PHONE, inspect_page

SITE_SYMPHONIES = (
    REPO_ROOT / "strategies" / "nuclear_energy_rotation.clj",
    REPO_ROOT / "strategies" / "tech_momentum_guarded.clj",
    COMPOSER_DIR / "tqqq_ftlt_mods.clj",
)


def _tearsheet(path: Path, benchmark: str = "SPY") -> Page:
    program = compile_symphony(load_symphony(path))
    history = load_price_directory(PRICES_DIR, program.tickers)
    backtest = backtest_symphony(program, history, slippage_bps=2.0)
    strategy = backtest_series(backtest, path.stem)
    against, note = load_benchmark(benchmark, PRICES_DIR, strategy, 2.0)
    result = backtest.result
    weights = WeightHistory(result.dates, result.tickers, result.holdings)
    slug = path.stem.replace("_", "-")
    return build_tearsheet(
        slug, program.symphony.name, strategy, benchmark=against, weights=weights, notes=(note,)
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("site")
    report = root / "report" / "klm_ensemble.html"
    klm = REPO_ROOT / "strategies" / "klm_ensemble.clj"
    code = main(["backtest", str(klm), "--data", str(PRICES_DIR), "--report", str(report)])
    assert code == 0
    # One page has a symphony as its benchmark: two long names head its tables.
    pages = [
        _tearsheet(SITE_SYMPHONIES[0]),
        _tearsheet(SITE_SYMPHONIES[1], benchmark=str(SITE_SYMPHONIES[2])),
        _tearsheet(SITE_SYMPHONIES[2]),
    ]
    write_site(root / "books", pages, title="Backtests", subtitle="Three symphonies, real data")
    return root


def test_every_page_reads_at_phone_and_desktop_width(
    browser: BrowserContext, site: Path, screenshots: Path
) -> None:
    # Given the site's pages
    pages = sorted(site.rglob("*.html"))
    assert len(pages) == 5  # the report, the index and three tearsheets
    faults: dict[str, list[str]] = {}
    for path in pages:
        # When each opens at 390 px, then at 1280 px
        reports = inspect_page(browser, path, (PHONE, DESKTOP), screenshots)
        # Then every chart and table is there, and nothing is wrong
        for report in reports:
            expected = (0, 1) if path.stem == "index" else (6, 4)
            assert (report.charts, report.tables) == expected, path
            if report.faults():
                faults[f"{path.relative_to(site)} at {report.width} px"] = report.faults()
    assert faults == {}


def test_the_checks_catch_a_broken_page(browser: BrowserContext, tmp_path: Path) -> None:
    # Given a page with a table too wide for a phone, a chart never drawn, a console
    # error and a request to a server
    page = tmp_path / "broken.html"
    page.write_text(
        "<!doctype html><html><head><meta name='viewport' content='width=device-width'>"
        "</head><body><table><thead><tr><th>A</th><th>B</th></tr></thead><tbody><tr>"
        "<td style='white-space:nowrap'>" + "wide " * 60 + "</td><td>1</td></tr></tbody></table>"
        "<div class='chart missing' id='chart-1'></div>"
        "<img src='http://127.0.0.1:9/pixel.png'>"
        "<script>console.error('something broke')</script></body></html>"
    )
    # When
    (report,) = inspect_page(browser, page, (PHONE,), None)
    # Then
    faults = "\n".join(report.faults())
    assert "the page scrolls sideways" in faults
    assert "table 0 does not fit" in faults
    assert "chart chart-1 is not drawn" in faults
    assert "console error: something broke" in faults
    assert "request outside the page's files: http://127.0.0.1:9/pixel.png" in faults


def test_the_checks_catch_a_table_running_out_of_its_block(
    browser: BrowserContext, tmp_path: Path
) -> None:
    # Given a table wider than the narrow block it sits in (the page itself fits)
    page = tmp_path / "overflow.html"
    page.write_text(
        "<!doctype html><html><body><section style='width:300px'><table><thead><tr><th>A</th>"
        "</tr></thead><tbody><tr><td style='white-space:nowrap'>" + "wide " * 20 + "</td></tr>"
        "</tbody></table></section>"
        "</body></html>"
    )
    # When it opens on a desktop
    (report,) = inspect_page(browser, page, (DESKTOP,), None)
    # Then
    assert any(p.startswith("table 0 overflows its block") for p in report.problems)


def test_a_page_without_its_chart_library_still_shows_its_tables(
    browser: BrowserContext, tmp_path: Path
) -> None:
    # Given a report page whose assets folder was not copied with it
    page = Page(
        "p",
        "Moved report",
        "",
        (
            Table("Figures", ("Figure", "Value"), (("CAGR", "12.00 %"),)),
            _tearsheet(SITE_SYMPHONIES[0]).blocks[2],
        ),
    )
    files = write_page(page, tmp_path / "p.html")
    shutil.rmtree(files.chart_library.parent)
    # When
    (report,) = inspect_page(browser, files.pages[0], (PHONE,), None)
    # Then: the table is intact; the chart says which file it needs
    assert report.tables == 1
    assert any("is not drawn (This chart needs assets/plotly-" in p for p in report.problems)
    assert not any(p.startswith("table ") for p in report.problems)
