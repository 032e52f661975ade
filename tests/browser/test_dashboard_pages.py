"""The live dashboard after 20 local trading days on real prices, opened in headless Chromium.

Built the way a person gets it: 20 runs of ``alchemiser run`` in one home (each run's
Notify step refreshes the site), then ``alchemiser report``. Every page reads with no
console error and no request outside its files, every chart is drawn and every table
fits a 390 px screen without hiding a column. The summary pages are also opened at
desktop width; the 20 run pages (tables and traces only) at phone width.
"""

from __future__ import annotations

import fcntl
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext

from alchemiser.cli import main
from alchemiser.local.cycle_runner import run_cycle
from alchemiser.local.summary import summarize
from alchemiser.market.loader import load_price_directory
from alchemiser.settings import Settings
from tests.conftest import PRICES_DIR, REPO_ROOT
from tests.support.browser import DESKTOP, PHONE, inspect_page

FIRST_DAY = date(2024, 2, 1)
DAYS = 20
BOOKS = ("klm-ensemble", "nuclear", "tech-momentum")


@dataclass(frozen=True)
class LiveSite:
    home: Path
    index: Path
    summaries: list[dict[str, object]]


def trading_days() -> list[date]:
    dates = load_price_directory(PRICES_DIR, ["SPY"]).dates.astype("datetime64[D]").tolist()
    return [d for d in dates if d >= FIRST_DAY][:DAYS]


@pytest.fixture(scope="session")
def live_site(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> LiveSite:
    """Run the 20 days once per test session, whichever xdist worker asks first.

    The runs take about a minute: the other worker waits on a lock for the same home
    (the pattern pytest-xdist documents for session fixtures) instead of running them again.
    """
    shared = tmp_path_factory.getbasetemp()
    if worker_id != "master":
        shared = shared.parent  # the directory every worker's base temp is in
    root = shared / "dashboard-20-days"
    root.mkdir(exist_ok=True)
    home, done = root / "home", root / "summaries.json"
    with (root / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not done.is_file():
            settings = Settings.model_validate(
                {
                    "home": home,
                    "data_dir": PRICES_DIR,
                    "strategies_dir": REPO_ROOT / "strategies",
                    "stage": "dev",
                }
            )
            runs = [summarize(run_cycle(settings, REPO_ROOT, day=day)) for day in trading_days()]
            done.write_text(json.dumps(runs))
    summaries = json.loads(done.read_text())
    return LiveSite(home, home / "reports" / "site" / "index.html", summaries)


def test_every_run_refreshes_the_dashboard_and_says_where_it_is(
    live_site: LiveSite, capsys: pytest.CaptureFixture[str]
) -> None:
    # Every run succeeded and its summary names the refreshed dashboard
    assert all(s["status"] == "SUCCEEDED" for s in live_site.summaries)
    assert {s["dashboard"] for s in live_site.summaries} == {str(live_site.index)}
    # and `alchemiser report` rewrites the same site and prints its path
    assert main(["report", "--home", str(live_site.home)]) == 0
    assert f"Dashboard: {live_site.index} ({DAYS} runs" in capsys.readouterr().out


def test_every_page_of_the_dashboard_reads_at_phone_width(
    browser: BrowserContext, live_site: LiveSite, screenshots: Path
) -> None:
    site = live_site.index.parent
    runs = [f"run-{day.isoformat()}" for day in trading_days()]
    summary = ["account", *(f"book-{b}" for b in BOOKS), "execution", "index", "runs"]
    assert sorted(p.stem for p in site.glob("*.html")) == sorted([*summary, *runs])
    # Charts on each page: NAV, growth, drawdown, monthly returns (the rolling ones wait
    # for 126 days); a book has live vs backtest instead of NAV; execution quality has
    # its cost per day.
    charts = {"account": 4, "execution": 1, "index": 0, "runs": 0} | {f"book-{b}": 4 for b in BOOKS}
    faults: dict[str, list[str]] = {}
    for name in [*summary, *runs]:
        widths = (PHONE, DESKTOP) if name in summary else (PHONE,)
        for report in inspect_page(browser, site / f"{name}.html", widths, screenshots):
            assert report.charts == charts.get(name, 0), name
            assert report.tables >= 1, name
            if report.faults():
                faults[f"{name} at {report.width} px"] = report.faults()
    assert faults == {}


_EMAIL_LAYOUT = """() => ({
  scroll: document.documentElement.scrollWidth,
  wide: [...document.querySelectorAll("body *")]
    .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
    .map((e) => `${e.tagName} ${e.textContent.slice(0, 40)}`),
  images: [...document.querySelectorAll("img")].map((i) => i.naturalWidth),
})"""


def test_the_email_reads_at_phone_width_with_its_chart(
    browser: BrowserContext, live_site: LiveSite, screenshots: Path
) -> None:
    # Given the last run's email as the outbox shows it in a browser
    run_id = live_site.summaries[-1]["run_id"]
    email = live_site.home / "outbox" / f"{run_id}.html"
    page = browser.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.set_viewport_size(PHONE)
    page.goto(email.as_uri())
    layout = page.evaluate(_EMAIL_LAYOUT)
    page.screenshot(path=str(screenshots / "email-390.png"), full_page=True)
    page.close()
    # Then nothing is wider than the screen, the chart loaded, and no error was logged
    assert layout["scroll"] <= PHONE["width"]
    assert layout["wide"] == []
    assert len(layout["images"]) == 1
    assert layout["images"][0] > 0
    assert errors == []
