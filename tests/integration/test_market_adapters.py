"""Market data adapters: a local directory, the demo market, S3 (moto) kept fresh from Alpaca.

Alpaca is answered by ``responses`` with the documented JSON shapes of its market data
API v2 (``/v2/stocks/bars``: ``{"bars": {SYM: [{"t", "o", "h", "l", "c", "v", "n",
"vw"}]}, "next_page_token"}``; ``/v2/stocks/trades/latest``: ``{"trades": {SYM: {"t",
"x", "p", "s", "c", "i", "z"}}}``), carrying the real closes of ../shared/data/prices.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pandas as pd
import pytest
import requests
import responses
from moto import mock_aws
from responses import matchers
from responses.registries import OrderedRegistry

from alchemiser.errors import ConfigurationError, DataError, TransientError
from alchemiser.market.alpaca_bars import (
    AlpacaDailyBars,
    AlpacaLatestPrices,
    make_data_client,
)
from alchemiser.market.history import MissingTickersError, PriceHistory
from alchemiser.market.loader import load_price_directory, save_price_directory
from alchemiser.market.local_data import DEMO_START, DemoMarketData, DirectoryMarketData
from alchemiser.market.port import MarketData
from alchemiser.market.quality import IssueKind, check_prices
from alchemiser.market.s3_data import (
    LatestTrade,
    S3MarketData,
    S3PriceObjects,
    previous_xnys_session,
)
from alchemiser.market.synthetic import DEMO_TICKERS, synthetic_market
from tests.conftest import PRICES_DIR

BUCKET = "alchemiser-data-test"
REGION = "us-east-1"
BARS_URL = "https://data.alpaca.markets/v2/stocks/bars"
TRADES_URL = "https://data.alpaca.markets/v2/stocks/trades/latest"
TIMEOUT_S = 7.5
JUL_29, JUL_30, JUL_31 = date(2026, 7, 29), date(2026, 7, 30), date(2026, 7, 31)
REAL = load_price_directory(PRICES_DIR, ["SPY", "TLT", "QQQ"])


def real_close(ticker: str, day: date) -> float:
    return float(REAL.column(ticker)[REAL.index_on_or_before(day)])


def bar(day: date, close: float) -> dict[str, Any]:
    """One daily bar as Alpaca sends it: stamped midnight New York time, in UTC."""
    return {
        "t": f"{day}T04:00:00Z",
        "o": close,
        "h": close,
        "l": close,
        "c": close,
        "v": 1000,
        "n": 10,
        "vw": close,
    }


def trade(at: str, price: float) -> dict[str, Any]:
    """One latest trade as Alpaca sends it."""
    return {"t": at, "x": "P", "p": price, "s": 100, "c": ["@"], "i": 826, "z": "B"}


class FakeLatest:
    """Latest trades handed out as given, remembering every request."""

    def __init__(self, trades: Mapping[str, LatestTrade]) -> None:
        self.trades = trades
        self.asked: list[tuple[str, ...]] = []

    def latest_trades(self, tickers: Sequence[str]) -> Mapping[str, LatestTrade]:
        self.asked.append(tuple(tickers))
        return {t: self.trades[t] for t in tickers if t in self.trades}


@pytest.fixture
def session(monkeypatch: pytest.MonkeyPatch) -> Iterator[boto3.Session]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        session = boto3.Session(region_name=REGION)
        session.client("s3").create_bucket(Bucket=BUCKET)
        yield session


def upload(session: boto3.Session, history: PriceHistory, tmp_path: Path) -> None:
    """Put the files ``save_price_directory`` writes under s3://BUCKET/prices/ as they are."""
    for path in save_price_directory(history, tmp_path / "upload", fmt="parquet"):
        session.client("s3").upload_file(str(path), BUCKET, f"prices/{path.name}")


@pytest.fixture
def alpaca() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock() as mock:
        yield mock


def data_client() -> Any:
    return make_data_client("key-id", "secret-key", timeout_s=TIMEOUT_S)


# -- a local directory and the demo market ---------------------------------------------


def test_directory_history_ends_on_the_replayed_day_with_its_real_close() -> None:
    # Given the real price directory
    market: MarketData = DirectoryMarketData(PRICES_DIR)

    # When the history is asked for as of a past day
    history = market.history(["SPY", "TLT"], JUL_30)

    # Then the last row is that day's close (standing in for its latest price)
    assert history.day(len(history.dates) - 1) == JUL_30
    assert history.closes[-1].tolist() == [real_close("SPY", JUL_30), real_close("TLT", JUL_30)]
    assert market.describe() == f"prices from {PRICES_DIR}"


def test_directory_missing_ticker_is_named() -> None:
    with pytest.raises(MissingTickersError, match="NOPE"):
        DirectoryMarketData(PRICES_DIR).history(["SPY", "NOPE"], JUL_30)


def test_directory_of_saved_synthetic_series_says_so(tmp_path: Path) -> None:
    save_price_directory(synthetic_market(["AAA"], date(2024, 1, 1), date(2024, 3, 1)), tmp_path)
    assert "SYNTHETIC" in DirectoryMarketData(tmp_path).describe()


def test_demo_market_past_days_never_change_as_days_pass() -> None:
    # Given the demo market built on two different "today"s
    earlier = DemoMarketData(DEMO_TICKERS, date(2026, 7, 31))
    later = DemoMarketData(DEMO_TICKERS, date(2026, 11, 20))

    # When both are asked for the same past day
    a = earlier.history(["SPY", "TQQQ"], date(2025, 6, 2))
    b = later.history(["SPY", "TQQQ"], date(2025, 6, 2))

    # Then every close agrees, from the fixed start to that day
    assert a.day(0) == DEMO_START
    assert np.array_equal(a.dates, b.dates) and np.array_equal(a.closes, b.closes)
    assert a.synthetic == {"SPY", "TQQQ"}


def test_demo_market_ends_on_the_last_weekday_and_says_it_is_synthetic() -> None:
    market = DemoMarketData(DEMO_TICKERS, date(2026, 8, 2))  # a Sunday
    history = market.history(["SPY"], date(2026, 8, 2))
    assert history.day(len(history.dates) - 1) == JUL_31
    assert market.describe().startswith("SYNTHETIC demo market (not market data)")
    with pytest.raises(MissingTickersError, match="AAPL"):
        market.history(["SPY", "AAPL"], JUL_31)


# -- S3 ----------------------------------------------------------------------------------


def test_s3_history_equals_the_directory_it_was_uploaded_from(
    session: boto3.Session, tmp_path: Path
) -> None:
    # Given the real SPY/TLT/QQQ closes uploaded as parquet objects
    upload(session, REAL, tmp_path)
    market: MarketData = S3MarketData(BUCKET, session=session, today=lambda: date(2026, 8, 3))

    # When the history is read as of a past day
    history = market.history(["TLT", "SPY"], JUL_30)

    # Then it is the directory's history, to the last close
    expected = DirectoryMarketData(PRICES_DIR).history(["TLT", "SPY"], JUL_30)
    assert history.tickers == ("TLT", "SPY")
    assert np.array_equal(history.dates, expected.dates)
    assert np.array_equal(history.closes, expected.closes, equal_nan=True)
    assert market.describe() == f"prices from s3://{BUCKET}/prices/"


def test_s3_missing_tickers_are_named(session: boto3.Session, tmp_path: Path) -> None:
    upload(session, REAL.select(["SPY"]), tmp_path)
    market = S3MarketData(BUCKET, session=session)
    with pytest.raises(MissingTickersError, match=r"2 ticker\(s\): GLD, TLT") as caught:
        market.history(["SPY", "TLT", "GLD"], JUL_30)
    assert f"s3://{BUCKET}/prices/" in str(caught.value)


def test_s3_today_gets_a_row_of_latest_trades_and_a_ticker_without_one_is_stale(
    session: boto3.Session, tmp_path: Path
) -> None:
    # Given closes stored through yesterday, and latest trades where TLT has none today
    upload(session, REAL.truncate(JUL_30), tmp_path)
    latest = FakeLatest(
        {
            "SPY": LatestTrade("SPY", 746.5, datetime(2026, 7, 31, 19, 44, tzinfo=UTC)),
            "TLT": LatestTrade("TLT", 82.8, datetime(2026, 7, 30, 19, 59, tzinfo=UTC)),
        }
    )
    market = S3MarketData(BUCKET, latest=latest, session=session, today=lambda: JUL_31)

    # When today's history is read minutes before the close
    history = market.history(["SPY", "TLT"], JUL_31)

    # Then its last row is today's latest SPY price, and TLT is reported stale
    assert history.day(len(history.dates) - 1) == JUL_31
    assert history.closes[-1, 0] == 746.5 and np.isnan(history.closes[-1, 1])
    report = check_prices(history, JUL_31, ["SPY", "TLT"], since=JUL_29)
    assert [(i.ticker, i.kind) for i in report.issues] == [("TLT", IssueKind.STALE)]
    assert "today's row from the latest trades" in market.describe()


def test_s3_today_refuses_closes_that_stop_before_the_previous_session(
    session: boto3.Session, tmp_path: Path
) -> None:
    # Given closes stored only through 07-29: the refresh of 07-30 did not happen
    upload(session, REAL.truncate(JUL_29), tmp_path)
    latest = FakeLatest(
        {"SPY": LatestTrade("SPY", 746.5, datetime(2026, 7, 31, 19, 44, tzinfo=UTC))}
    )
    market = S3MarketData(BUCKET, latest=latest, session=session, today=lambda: JUL_31)

    # When today's history is read
    # Then it fails closed: appending today would silently drop 07-30 from every ticker
    with pytest.raises(DataError, match=r"through 2026-07-30 .* found closes through 2026-07-29"):
        market.history(["SPY"], JUL_31)
    assert latest.asked == []


@pytest.mark.parametrize(
    ("day", "previous"),
    [
        (JUL_31, JUL_30),
        (date(2026, 8, 3), JUL_31),  # Monday: the Friday before
        (date(2026, 8, 1), JUL_31),  # Saturday
        (date(2025, 11, 28), date(2025, 11, 26)),  # the day after Thanksgiving
        (date(2026, 1, 2), date(2025, 12, 31)),  # New Year's Day skipped
    ],
)
def test_previous_session_skips_weekends_and_nyse_holidays(day: date, previous: date) -> None:
    assert previous_xnys_session(day) == previous


def test_s3_past_day_or_stored_today_never_asks_for_latest_trades(
    session: boto3.Session, tmp_path: Path
) -> None:
    # Given closes stored through today (a run after the close)
    upload(session, REAL.truncate(JUL_31), tmp_path)
    latest = FakeLatest({})
    market = S3MarketData(BUCKET, latest=latest, session=session, today=lambda: JUL_31)

    # When today and a past day are read
    today = market.history(["SPY"], JUL_31)
    past = market.history(["SPY"], JUL_29)

    # Then the stored closes are used and no latest trade was asked for
    assert today.closes[-1, 0] == real_close("SPY", JUL_31)
    assert past.day(len(past.dates) - 1) == JUL_29
    assert latest.asked == []


def test_s3_object_with_a_duplicate_date_is_refused(session: boto3.Session) -> None:
    # Given an object holding two closes for one day
    index = pd.DatetimeIndex([JUL_30, JUL_30, JUL_31])
    S3PriceObjects(BUCKET, "prices/", session).write("SPY", pd.Series([1.0, 2.0, 3.0], index))

    # When it is read
    # Then it is refused, naming the object and the day
    with pytest.raises(DataError, match=r"SPY\.parquet: expected one close per date.*2026-07-30"):
        S3MarketData(BUCKET, session=session).history(["SPY"], JUL_31)


# -- Alpaca -> S3 -----------------------------------------------------------------------


def test_refresh_appends_the_new_days_and_a_second_refresh_asks_for_nothing(
    session: boto3.Session, tmp_path: Path, alpaca: responses.RequestsMock
) -> None:
    # Given SPY and TLT stored through 2026-07-29, and Alpaca's adjusted bars since then
    upload(session, REAL.truncate(JUL_29), tmp_path)
    days = (JUL_29, JUL_30, JUL_31)
    alpaca.get(
        BARS_URL,
        json={
            "bars": {t: [bar(d, real_close(t, d)) for d in days] for t in ("SPY", "TLT")},
            "next_page_token": None,
        },
        match=[
            matchers.query_param_matcher(
                {
                    "symbols": "SPY,TLT",
                    "timeframe": "1Day",
                    "adjustment": "all",
                    "start": "2026-07-29T04:00:00+00:00",
                    "end": "2026-08-01T03:59:59+00:00",
                    "limit": "10000",
                }
            )
        ],
    )
    objects = S3PriceObjects(BUCKET, "prices/", session)

    # When the store is refreshed through 2026-07-31, twice
    first = AlpacaDailyBars(data_client()).refresh_prices(objects, ["SPY", "TLT"], JUL_31)
    second = AlpacaDailyBars(data_client()).refresh_prices(objects, ["SPY", "TLT"], JUL_31)

    # Then two closes were appended per ticker, and the stored history now matches the real one
    assert [(r.ticker, r.added, r.last_day, r.rescaled_by) for r in first] == [
        ("SPY", 2, JUL_31, None),
        ("TLT", 2, JUL_31, None),
    ]
    stored = S3MarketData(BUCKET, session=session).history(["SPY", "TLT"], JUL_31)
    assert np.array_equal(
        stored.closes, REAL.select(["SPY", "TLT"]).truncate(JUL_31).closes, equal_nan=True
    )
    # And the second refresh found nothing to ask for: one HTTP call in all
    assert [(r.added, r.last_day) for r in second] == [(0, JUL_31), (0, JUL_31)]
    assert len(alpaca.calls) == 1
    assert alpaca.calls[0].request.req_kwargs["timeout"] == (TIMEOUT_S, TIMEOUT_S)  # type: ignore[attr-defined]
    assert alpaca.calls[0].request.headers["APCA-API-KEY-ID"] == "key-id"


def test_refresh_after_a_split_rebases_every_stored_close(
    session: boto3.Session, tmp_path: Path, alpaca: responses.RequestsMock
) -> None:
    # Given SPY stored through 07-29, then a 2-for-1 split: Alpaca now shows half the price
    stored = REAL.select(["SPY"]).truncate(JUL_29)
    upload(session, stored, tmp_path)
    alpaca.get(
        BARS_URL,
        json={
            "bars": {"SPY": [bar(d, real_close("SPY", d) / 2) for d in (JUL_29, JUL_30)]},
            "next_page_token": None,
        },
    )
    objects = S3PriceObjects(BUCKET, "prices/", session)

    # When the store is refreshed
    [outcome] = AlpacaDailyBars(data_client()).refresh_prices(objects, ["SPY"], JUL_30)

    # Then every stored close is halved and the new day appended: the series stays continuous
    assert outcome.rescaled_by == pytest.approx(0.5) and outcome.added == 1
    after = objects.read("SPY")
    assert after.iloc[:-1].to_numpy() == pytest.approx(stored.closes[:, 0] / 2, rel=1e-12)
    assert after.iloc[-1] == real_close("SPY", JUL_30) / 2


def test_refresh_of_a_new_ticker_fetches_its_history_across_pages(
    session: boto3.Session,
) -> None:
    # Given no QQQ object, and Alpaca answering in two pages
    closes = {d: real_close("QQQ", d) for d in (JUL_29, JUL_30, JUL_31)}
    objects = S3PriceObjects(BUCKET, "prices/", session)
    with responses.RequestsMock(registry=OrderedRegistry) as alpaca:
        alpaca.get(
            BARS_URL,
            json={"bars": {"QQQ": [bar(JUL_29, closes[JUL_29])]}, "next_page_token": "page-2"},
        )
        alpaca.get(
            BARS_URL,
            json={
                "bars": {"QQQ": [bar(d, closes[d]) for d in (JUL_30, JUL_31)]},
                "next_page_token": None,
            },
            match=[matchers.query_param_matcher({"page_token": "page-2"}, strict_match=False)],
        )

        # When it is refreshed from its first day
        bars = AlpacaDailyBars(data_client(), history_start=JUL_29)
        [outcome] = bars.refresh_prices(objects, ["qqq"], JUL_31)

    # Then its new object holds every page's closes
    assert (outcome.ticker, outcome.created, outcome.added) == ("QQQ", True, 3)
    assert outcome.uri == f"s3://{BUCKET}/prices/QQQ.parquet"
    assert objects.read("QQQ").tolist() == list(closes.values())


def test_refresh_names_tickers_alpaca_cannot_confirm_and_still_refreshes_the_others(
    session: boto3.Session, tmp_path: Path, alpaca: responses.RequestsMock
) -> None:
    # Given SPY and TLT stored through 07-29, and Alpaca without the 07-29 bar of TLT
    upload(session, REAL.truncate(JUL_29), tmp_path)
    alpaca.get(
        BARS_URL,
        json={
            "bars": {
                "SPY": [bar(d, real_close("SPY", d)) for d in (JUL_29, JUL_30)],
                "TLT": [bar(JUL_30, real_close("TLT", JUL_30))],
            },
            "next_page_token": None,
        },
    )
    objects = S3PriceObjects(BUCKET, "prices/", session)

    # When the store is refreshed
    with pytest.raises(
        DataError, match=r"TLT: expected Alpaca's bar for the last stored day 2026-07-29"
    ):
        AlpacaDailyBars(data_client()).refresh_prices(objects, ["SPY", "TLT"], JUL_30)

    # Then SPY was refreshed anyway and TLT left as it was
    assert objects.read("SPY").index[-1].date() == JUL_30
    assert objects.read("TLT").index[-1].date() == JUL_29


@pytest.mark.parametrize(
    ("answer", "error", "message"),
    [
        ({"status": 429, "json": {"message": "too many requests"}}, TransientError, "HTTP 429"),
        ({"status": 503, "body": "unavailable"}, TransientError, "HTTP 503"),
        ({"status": 403, "json": {"message": "forbidden"}}, ConfigurationError, "HTTP 403"),
        ({"status": 422, "json": {"message": "invalid symbol"}}, DataError, "HTTP 422"),
        ({"body": requests.ConnectionError("connection reset")}, TransientError, "no answer"),
        ({"body": requests.ReadTimeout("read timed out")}, TransientError, "no answer"),
    ],
)
def test_alpaca_failures_become_the_named_errors_of_the_cycle(
    alpaca: responses.RequestsMock, answer: dict[str, Any], error: type[Exception], message: str
) -> None:
    # Given Alpaca answering with an error (once: its own retries are off)
    alpaca.get(BARS_URL, **answer)
    # When bars are asked for
    # Then the error the state machine routes on is raised, after a single call
    with pytest.raises(error, match=message):
        AlpacaDailyBars(data_client()).daily_closes(["SPY"], JUL_29, JUL_31)
    assert len(alpaca.calls) == 1


def test_latest_trades_feed_todays_row_of_the_s3_market(
    session: boto3.Session, tmp_path: Path, alpaca: responses.RequestsMock
) -> None:
    # Given closes stored through 07-30 and Alpaca's latest trades minutes before the close
    upload(session, REAL.truncate(JUL_30), tmp_path)
    alpaca.get(
        TRADES_URL,
        json={
            "trades": {
                "SPY": trade("2026-07-31T19:44:58.361102308Z", 746.52),
                "TLT": trade("2026-07-31T19:44:51Z", 82.31),
            }
        },
        match=[matchers.query_param_matcher({"symbols": "SPY,TLT"})],
    )
    latest = AlpacaLatestPrices(data_client())
    market = S3MarketData(BUCKET, latest=latest, session=session, today=lambda: JUL_31)

    # When today's history is read
    history = market.history(["SPY", "TLT"], JUL_31)

    # Then the last row is the latest trade prices, and the data passes the quality check
    assert history.closes[-1].tolist() == [746.52, 82.31]
    assert check_prices(history, JUL_31, ["SPY", "TLT"], since=JUL_29).ok
