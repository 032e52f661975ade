"""Market data on AWS: one parquet object of daily adjusted closes per ticker in S3.

Layout: ``s3://<bucket>/<prefix><TICKER>.parquet`` with a ``Date`` column and an
``Adj Close`` column (``Close`` is accepted when there is no adjusted close), the
same files ``save_price_directory(..., fmt="parquet")`` writes, so a local directory
can be uploaded as it is. A key may spell the ticker any usual way (``BRK.B``,
``BRK_B``, ``BRK-B``); new objects are written under the canonical one (``BRK.B``). Objects are read and written with awswrangler through a
boto3 session that the caller builds (never at import time).

``S3MarketData.history(tickers, day)`` returns every stored close up to ``day``. When
``day`` is today (New York) and the store has no row for it yet, a row of the latest
trade prices is appended (``LatestPrices``, Alpaca on AWS), so the last row stands in
for today's close as the cycle runs minutes before it. A ticker without a trade today
gets NaN on that row, which ``check_prices`` reports as stale: nothing trades on it.
Before appending, the stored closes must reach the exchange session before today: a
missed refresh would otherwise drop a whole day from every ticker's history, which
no per-ticker check can see, so it raises DataError instead.
Values are checked on the way in (one close per date, finite and > 0); gaps are left
as NaN for ``check_prices`` to report.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import awswrangler as wr
import boto3
import exchange_calendars as xcals
import numpy as np
import pandas as pd

from alchemiser.errors import DataError
from alchemiser.market.history import FloatArray, MissingTickersError, PriceHistory
from alchemiser.market.loader import DATE_COLUMN, PRICE_COLUMNS, ticker_of_name
from alchemiser.storage.s3 import normalise_prefix

NEW_YORK = ZoneInfo("America/New_York")
SUFFIX = ".parquet"
SETTLE_MINUTES = 30


def new_york_today() -> date:
    """Return today's date on the exchange's clock."""
    return datetime.now(NEW_YORK).date()


def previous_xnys_session(day: date) -> date:
    """Return the last NYSE session before ``day`` (holidays and weekends skipped)."""
    calendar = _xnys()
    stamp = pd.Timestamp(day)
    if calendar.is_session(stamp):
        return pd.Timestamp(calendar.previous_session(stamp)).date()
    return pd.Timestamp(calendar.date_to_session(stamp, direction="previous")).date()


def last_closed_session(now: datetime) -> date:
    """Return the last NYSE session whose close is at least ``SETTLE_MINUTES`` before ``now``.

    Alpaca's daily bar of a session is final some minutes after the close (late prints),
    so a session that closed moments ago is not yet complete.
    """
    calendar = _xnys()
    stamp = pd.Timestamp(now.astimezone(NEW_YORK).date())
    session = stamp if calendar.is_session(stamp) else calendar.date_to_session(stamp, "previous")
    settled = pd.Timestamp(calendar.session_close(session)) + pd.Timedelta(minutes=SETTLE_MINUTES)
    if pd.Timestamp(now) < settled:
        session = calendar.previous_session(session)
    return pd.Timestamp(session).date()


@functools.cache
def _xnys() -> Any:
    # Built on first use (not at import time), then shared by every call.
    return xcals.get_calendar("XNYS", start="2000-01-03")


@dataclass(frozen=True)
class LatestTrade:
    """The last trade of one ticker: its price (float, a signal input) and when it happened."""

    symbol: str
    price: float
    at: datetime  # timezone-aware

    @property
    def day(self) -> date:
        """Return the New York trading date of the trade."""
        return self.at.astimezone(NEW_YORK).date()


class LatestPrices(Protocol):
    def latest_trades(self, tickers: Sequence[str]) -> Mapping[str, LatestTrade]:
        """Return the latest trade of each ticker that has one (others are left out)."""
        ...


class S3PriceObjects:
    """Read and write the per-ticker parquet objects under ``s3://bucket/prefix``."""

    def __init__(self, bucket: str, prefix: str, session: boto3.Session) -> None:
        if not bucket:
            raise ValueError("bucket must name an S3 bucket, was empty")
        self.bucket = bucket
        self.prefix = normalise_prefix(prefix)
        self._session = session
        # A boto3 session is not thread-safe; the local runner calls from many threads.
        self._lock = threading.Lock()
        self._listed: dict[str, str] = {}  # ticker -> URI of its object, from the last listing

    @property
    def location(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def uri(self, ticker: str) -> str:
        """Return the object of ``ticker``: as listed (any spelling), else its canonical key."""
        canonical = ticker_of_name(ticker)
        return self._listed.get(canonical) or f"{self.location}{canonical}{SUFFIX}"

    def tickers(self) -> frozenset[str]:
        """Return the tickers that have an object directly under the prefix."""
        with self._lock:
            uris = wr.s3.list_objects(self.location, suffix=SUFFIX, boto3_session=self._session)
        listed: dict[str, str] = {}
        for uri in uris:
            name = uri.removeprefix(self.location)
            if "/" in name:
                continue
            ticker = ticker_of_name(name.removesuffix(SUFFIX))
            if ticker in listed:
                raise DataError(
                    f"{uri} and {listed[ticker]} both hold {ticker}: expected one object per ticker"
                )
            listed[ticker] = uri
        self._listed = listed
        return frozenset(listed)

    def read(self, ticker: str) -> pd.Series:
        """Return the closes of ``ticker`` indexed by ascending date (name: the ticker)."""
        uri = self.uri(ticker)
        with self._lock:
            frame = wr.s3.read_parquet(uri, use_threads=False, boto3_session=self._session)
        return closes_from_frame(frame, ticker, uri)

    def write(self, ticker: str, closes: pd.Series) -> str:
        """Replace the object of ``ticker`` with ``closes`` (one PUT); return its URI."""
        uri = self.uri(ticker)
        index = pd.DatetimeIndex(closes.index)
        frame = pd.DataFrame(
            {DATE_COLUMN: index.to_numpy(), PRICE_COLUMNS[0]: closes.to_numpy(dtype=np.float64)}
        )
        with self._lock:
            # flavor=None keeps "Adj Close" as it is (awswrangler's default "spark" flavor
            # would rename it "Adj_Close").
            wr.s3.to_parquet(
                frame,
                uri,
                index=False,
                use_threads=False,
                boto3_session=self._session,
                pyarrow_additional_kwargs={"flavor": None, "coerce_timestamps": "ms"},
            )
        return uri


def closes_from_frame(frame: pd.DataFrame, ticker: str, where: str) -> pd.Series:
    """Check one ticker's frame (Date + Adj Close or Close) and return its closes by date.

    Raise DataError, naming ``where``, for a missing column, an unparseable date, a
    duplicate date or a close that is not a finite number > 0.
    """
    if DATE_COLUMN not in frame.columns and frame.index.name == DATE_COLUMN:
        frame = frame.reset_index()
    found = ", ".join(map(str, frame.columns)) or "none"
    price_column = next((c for c in PRICE_COLUMNS if c in frame.columns), None)
    if DATE_COLUMN not in frame.columns or price_column is None:
        raise DataError(
            f"{where}: expected a '{DATE_COLUMN}' column and an 'Adj Close' or 'Close' column, "
            f"found columns: {found}"
        )
    stamps = pd.to_datetime(frame[DATE_COLUMN], errors="coerce")
    if stamps.dt.tz is not None:
        stamps = stamps.dt.tz_localize(None)  # the wall-clock date, as the loader reads it
    days = pd.DatetimeIndex(stamps).normalize()
    closes = pd.to_numeric(frame[price_column], errors="coerce").to_numpy(
        dtype=np.float64, na_value=np.nan
    )
    _check_values(days, closes, where)
    series = pd.Series(closes, index=days, name=ticker).sort_index()
    series.index.name = DATE_COLUMN
    return series


def _check_values(days: pd.DatetimeIndex, closes: FloatArray, where: str) -> None:
    if days.isna().any():
        row = int(np.flatnonzero(days.isna())[0])
        raise DataError(
            f"{where}: row {row + 1}: expected a date, found none or an unparseable one"
        )
    duplicated = days[days.duplicated()]
    if len(duplicated):
        raise DataError(
            f"{where}: expected one close per date, found {len(duplicated)} duplicate date(s), "
            f"first {duplicated[0].date()}"
        )
    bad = np.flatnonzero(~np.isfinite(closes) | (closes <= 0))
    if bad.size:
        row = int(bad[0])
        raise DataError(
            f"{where}: row {row + 1} ({days[row].date()}): expected a finite close > 0, "
            f"found {closes[row]} ({bad.size} bad close(s) in all)"
        )


class S3MarketData:
    """Daily closes from S3 parquet objects, today's row from the latest trades."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "prices/",
        latest: LatestPrices | None = None,
        *,
        session: boto3.Session,
        today: Callable[[], date] = new_york_today,
        previous_session: Callable[[date], date] = previous_xnys_session,
    ) -> None:
        self.objects = S3PriceObjects(bucket, prefix, session)
        self.latest = latest
        self.today = today
        self.previous_session = previous_session

    def history(self, tickers: Sequence[str], day: date) -> PriceHistory:
        """Return the closes of ``tickers`` up to and including ``day``.

        Raise MissingTickersError naming every ticker without an object, and DataError
        when today's row is due but the stored closes stop before the previous session.
        """
        wanted = list(dict.fromkeys(ticker_of_name(t) for t in tickers))
        stored = self.objects.tickers()
        missing = [t for t in wanted if t not in stored]
        if missing:
            raise MissingTickersError(missing, self.objects.location)
        series = [self.objects.read(t) for t in wanted]
        history = assemble_history(series, source=self.describe()).truncate(day)
        if self.latest is None or day != self.today():
            return history
        last = history.day(len(history.dates) - 1) if len(history.dates) else None
        if last is not None and last >= day:
            return history  # today's close is already stored (a run after the close)
        expected = self.previous_session(day)
        if last is None or last < expected:
            raise DataError(
                f"expected closes in {self.objects.location} through {expected} (the session "
                f"before {day}) to add today's latest prices, found closes through "
                f"{last or 'no day at all'}: refresh the prices first"
            )
        return append_latest_row(history, self.latest.latest_trades(wanted), day)

    def describe(self) -> str:
        """Say where the closes come from (and where today's price comes from)."""
        today = "; today's row from the latest trades" if self.latest is not None else ""
        return f"prices from {self.objects.location}{today}"


def assemble_history(series: Sequence[pd.Series], source: str) -> PriceHistory:
    """Align per-ticker closes (named by ticker) on the union of their dates."""
    if not series:
        empty = np.array([], dtype="datetime64[D]")
        return PriceHistory(empty, (), np.empty((0, 0)), source=source)
    frame = pd.concat(series, axis=1, join="outer", sort=True)
    return PriceHistory(
        dates=pd.DatetimeIndex(frame.index).to_numpy().astype("datetime64[D]"),
        tickers=tuple(str(s.name) for s in series),
        closes=frame.to_numpy(dtype=np.float64, na_value=np.nan),
        source=source,
    )


def append_latest_row(
    history: PriceHistory, trades: Mapping[str, LatestTrade], day: date
) -> PriceHistory:
    """Return ``history`` with a row for ``day`` holding each ticker's trade of that day.

    A ticker without a trade on ``day`` gets NaN there (reported stale downstream).
    """
    row = [
        trades[t].price if t in trades and trades[t].day == day else np.nan for t in history.tickers
    ]
    return PriceHistory(
        dates=np.append(history.dates, np.datetime64(day, "D")),
        tickers=history.tickers,
        closes=np.vstack([history.closes, np.array([row], dtype=np.float64)]),
        synthetic=history.synthetic,
        source=history.source,
        filled_gaps=history.filled_gaps,
    )
