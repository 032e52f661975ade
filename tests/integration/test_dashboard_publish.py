"""The dashboard from two real local runs: written in the home, and published to S3 (moto)
with every link pre-signed, so the one link in the email opens a site that works."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from moto import mock_aws

from alchemiser.analytics.live_series import load_history
from alchemiser.analytics.publish import SITE_PREFIX, refresh_site
from alchemiser.ledger.sqlite import SQLiteLedger
from alchemiser.local.cycle_runner import run_cycle
from alchemiser.settings import Settings
from alchemiser.storage.local import LocalObjectStore
from alchemiser.storage.s3 import S3ObjectStore
from tests.conftest import PRICES_DIR, REPO_ROOT

BUCKET = "alchemiser-dev-reports"
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
        # and day 2's return is its holdings' move at the day's closes, less what it
        # paid to trade: recomputed here from the snapshot's positions and prices
        first, second = (d.book(book_id) for d in history.days)
        assert first is not None
        assert second is not None
        before = ledger.latest_snapshot(book_id, DAYS[0])
        assert before is not None
        held = sum(q * second.prices[s] for s, q in before.positions.items()) + before.cash
        flow = second.capital - held
        series = history.book_returns(book_id)
        assert series is not None
        expected = float((second.equity - flow) / first.equity - 1)
        assert series.returns[1] == pytest.approx(expected, abs=1e-9)


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
