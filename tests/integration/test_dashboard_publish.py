"""The dashboard from two real local runs: written in the home, and published to S3 (moto)
with every link pre-signed, so the one link in the email opens a site that works."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import boto3
import numpy as np
import pytest
import requests
from botocore.config import Config
from moto import mock_aws

from alchemiser.analytics.live_series import LiveHistory, load_history
from alchemiser.analytics.live_vs_backtest import compare_book, comparison_blocks
from alchemiser.analytics.publish import SITE_PREFIX, refresh_dashboard, refresh_site
from alchemiser.ledger.sqlite import SQLiteLedger
from alchemiser.local.cycle_runner import run_cycle
from alchemiser.market.local_data import DirectoryMarketData
from alchemiser.reporting.digest import build_digest, mismatch_flags
from alchemiser.runtime import Dependencies
from alchemiser.settings import Settings
from alchemiser.storage.local import LocalObjectStore
from alchemiser.storage.s3 import S3ObjectStore
from tests.conftest import PRICES_DIR, REPO_ROOT

BUCKET = "alchemiser-dev-reports"
STRATEGIES = REPO_ROOT / "strategies"
D = Decimal
DAYS = (date(2024, 3, 11), date(2024, 3, 12))


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("publish") / "home"
    settings = Settings.model_validate(
        {"home": home, "data_dir": PRICES_DIR, "strategies_dir": REPO_ROOT / "strategies"}
    )
    for day in DAYS:
        run_cycle(settings, REPO_ROOT, day=day)
    return home


def test_each_books_nav_and_return_come_from_its_own_snapshots(home: Path) -> None:
    ledger = SQLiteLedger(home / "ledger.sqlite3")
    history = load_history(ledger, LocalObjectStore(home), "dev")
    assert [d.trading_date for d in history.days] == list(DAYS)
    for book_id in history.book_ids:
        # the NAV each day is the book's own end-of-day snapshot
        for day in history.days:
            snapshot = ledger.latest_snapshot(book_id, day.trading_date)
            found = day.book(book_id)
            assert snapshot is not None
            assert found is not None
            assert found.equity == snapshot.equity
        # and day 2's return is the book's own: its NAV (its cash and its positions at the
        # day's closes, recomputed here) against day 1's NAV plus the capital moved in
        # before it traded (a transfer is a flow, never performance)
        second = history.days[1].book(book_id)
        assert second is not None
        before = ledger.latest_snapshot(book_id, DAYS[0])
        after = ledger.latest_snapshot(book_id, DAYS[1])
        assert before is not None and after is not None
        nav = after.cash + sum(q * second.prices[s] for s, q in after.positions.items())
        assert abs(nav - second.equity) <= Decimal("0.01")
        series = history.book_returns(book_id)
        assert series is not None
        expected = float(nav / (before.equity + after.transfers) - 1)
        assert series.returns[1] == pytest.approx(expected, abs=1e-6)


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        # as the Lambda builds it (alchemiser.aws_runtime): SigV4 pre-signed links
        client = boto3.client(
            "s3", region_name="us-east-1", config=Config(signature_version="s3v4")
        )
        client.create_bucket(Bucket=BUCKET)
        yield client


def test_on_s3_every_link_of_the_site_is_presigned_and_opens(home: Path, s3: Any) -> None:
    # Given the runs' stored outputs in the reports bucket, as the cycle keeps them on AWS
    store = S3ObjectStore(BUCKET, "", s3)
    local = LocalObjectStore(home)
    for folder in ("runs", "traces"):
        for path in (home / folder).rglob("*.json"):
            key = path.relative_to(home).as_posix()
            store.put_bytes(key, local.get_bytes(key), "application/json")

    # When the dashboard is refreshed there (no price data on AWS: no benchmark)
    site = refresh_site(SQLiteLedger(home / "ledger.sqlite3"), store, None, "dev")

    # Then the index is a pre-signed https URL of the uploaded index
    assert site is not None
    assert site.index.startswith(f"https://{BUCKET}.s3.amazonaws.com/{SITE_PREFIX}/index.html?")
    assert "X-Amz-Signature=" in site.index
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=SITE_PREFIX)["Contents"]}
    assert f"{SITE_PREFIX}/account.html" in keys
    assert any(k.startswith(f"{SITE_PREFIX}/assets/plotly-") for k in keys)
    # and it opens, and so does every page it links to, the chart library included
    index = requests.get(site.index, timeout=10)
    assert index.status_code == 200
    links = [u.replace("&amp;", "&") for u in re.findall(r'href="([^"]+)"', index.text)]
    assert len(links) == 6  # account, three books, execution, runs
    for link in links:
        assert "X-Amz-Signature=" in link
        page = requests.get(link, timeout=10)
        assert page.status_code == 200, link
        scripts = re.findall(r'<script src="([^"]+)"', page.text)
        for script in scripts:
            assert requests.get(script.replace("&amp;", "&"), timeout=10).status_code == 200


# -- live vs backtest ----------------------------------------------------------------------


def live_history(home: Path) -> LiveHistory:
    return load_history(SQLiteLedger(home / "ledger.sqlite3"), LocalObjectStore(home), "dev")


def market() -> DirectoryMarketData:
    return DirectoryMarketData(PRICES_DIR)


def test_each_book_tracks_its_backtest_and_the_difference_adds_up(home: Path) -> None:
    history = live_history(home)
    for book_id in history.book_ids:
        comparison = compare_book(history, book_id, STRATEGIES, market())
        assert comparison is not None
        # The same days, and on real data the same targets every day
        assert comparison.backtest.dates.tolist() == comparison.live.dates.tolist()
        assert comparison.mismatch_days == ()
        # the split adds up to the difference each day
        parts = comparison.execution + comparison.allocation + comparison.residual
        assert parts.tolist() == pytest.approx(comparison.difference.tolist(), abs=1e-15)
        # and a live book is within 30 bps a day of its backtest (costs, rounding)
        assert np.abs(comparison.difference).max() < 0.003, book_id


def with_target(
    history: LiveHistory, day: int, book_id: str, weights: dict[str, str]
) -> LiveHistory:
    """Return ``history`` with the book's live target on ``days[day]`` replaced."""
    days = list(history.days)
    run_day = days[day]
    books = tuple(
        replace(b, target_weights={s: D(w) for s, w in weights.items()})
        if b.book_id == book_id
        else b
        for b in run_day.books
    )
    days[day] = replace(run_day, books=books)
    return replace(history, days=tuple(days))


def test_a_day_whose_live_target_differs_is_a_mismatch_with_both_traces(home: Path) -> None:
    # Given a history in which the nuclear book's first target was all SPY
    history = with_target(live_history(home), 0, "nuclear", {"SPY": "1"})

    # When it is compared with its backtest
    comparison = compare_book(history, "nuclear", STRATEGIES, market())

    # Then that day is a mismatch, with the live target and the backtest's and both traces
    assert comparison is not None
    assert comparison.mismatch_days == (DAYS[0],)
    [mismatch] = comparison.mismatches
    assert mismatch.live == {"SPY": 1.0}
    assert mismatch.backtest != mismatch.live
    assert mismatch.backtest_trace.startswith("Nuclear Energy Rotation on 2024-03-11")
    assert mismatch.live_trace.startswith("Nuclear Energy Rotation on 2024-03-11")
    # and the next day's difference, less execution, is put down to allocation
    assert comparison.allocation[1] == pytest.approx(
        comparison.difference[1] - comparison.execution[1], abs=1e-15
    )
    assert comparison.residual[1] == pytest.approx(0.0, abs=1e-15)
    # and the book's page shows the mismatch with both decisions
    blocks = comparison_blocks(comparison)
    titles = [b.title for b in blocks]
    assert "Mismatch days" in titles
    assert "Backtest decision on 2024-03-11" in titles


def test_a_mismatch_today_is_flagged_at_the_top_of_the_email(home: Path) -> None:
    history = with_target(live_history(home), 1, "tech-momentum", {"SPY": "1"})
    comparisons = {
        b: compare_book(history, b, STRATEGIES, market()) or "" for b in history.book_ids
    }
    flags = mismatch_flags(history, comparisons)
    assert len(flags) == 1
    assert flags[0].startswith("tech-momentum: today's target differs from its backtest's")
    digest = build_digest(history, None, "", comparisons=comparisons, chart=False)
    assert digest.text.startswith("!! tech-momentum")
    assert "Live vs backtest: tech-momentum" in digest.html
    # and a day without one flags nothing
    plain = {
        b: compare_book(live_history(home), b, STRATEGIES, market()) or "" for b in history.book_ids
    }
    assert mismatch_flags(live_history(home), plain) == []


def test_a_dashboard_that_cannot_be_written_does_not_stop_the_email(
    home: Path, tmp_path: Path
) -> None:
    # Given a copy of the home whose site directory is taken by a file
    copy = tmp_path / "home"
    shutil.copytree(home, copy, ignore=shutil.ignore_patterns("site", ".lock"))
    (copy / SITE_PREFIX).write_text("not a directory")
    deps = SimpleNamespace(
        ledger=SQLiteLedger(copy / "ledger.sqlite3"),
        store=LocalObjectStore(copy),
        market=market(),
        strategies_dir=STRATEGIES,
    )

    # When Notify refreshes the dashboard
    site, problem = refresh_dashboard(cast(Dependencies, deps), "dev")

    # Then there is no site, and a sentence for the email says why
    assert site is None
    assert problem.startswith("the dashboard was not refreshed: ")
    assert "site" in problem
