"""Daily bars and latest trades from Alpaca's market data API (alpaca-py).

``AlpacaDailyBars.refresh_prices`` brings a price store (the S3 parquet objects of the
cycle on AWS, or a local directory for ``alchemiser data pull``) up to a completed
trading day: it asks Alpaca for daily bars (``adjustment=all``: split- and
dividend-adjusted) from each ticker's last stored day through ``through`` and appends
the new ones. The stored last day is asked for again on purpose: Alpaca adjusts every
past bar for each split or dividend after it, so when that bar's close differs from
the stored one, a corporate action happened since the last refresh, and every stored
close is multiplied by the same ratio (an action after day D scales every bar up to D
by one factor), which keeps the series continuous without downloading it again.

``through`` must be a completed session: during market hours today's daily bar is
still forming (the cycle's today row comes from ``AlpacaLatestPrices`` instead).

Every HTTP call has a timeout (``make_data_client``); errors become the named errors
the state machine routes on: TransientError for throttling, 5xx and network failures,
ConfigurationError for refused credentials, DataError for anything else Alpaca refuses.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from typing import Any

import pandas as pd
import requests
from alpaca.common.exceptions import APIError
from alpaca.data.enums import Adjustment, DataFeed
from alpaca.data.historical import StockHistoricalDataClient
from alpaca.data.models import Bar, BarSet, Trade
from alpaca.data.requests import StockBarsRequest, StockLatestTradeRequest
from alpaca.data.timeframe import TimeFrame
from requests.adapters import HTTPAdapter

from alchemiser.errors import ConfigurationError, DataError, TransientError
from alchemiser.market.loader import ticker_of_name
from alchemiser.market.port import PriceStore
from alchemiser.market.s3_data import NEW_YORK, LatestTrade, closes_from_frame
from alchemiser.market.symbols import alpaca_symbol

# Alpaca's free SIP history starts in 2016; a ticker new to the store is fetched from here.
DEFAULT_HISTORY_START = date(2016, 1, 4)
# Relative difference above which a re-fetched close means the adjustment changed.
ADJUSTMENT_TOLERANCE = 1e-6
# Symbols per bars request: Alpaca pages its answer, this keeps each request's pages few.
SYMBOLS_PER_REQUEST = 25
_CREDENTIALS_REFUSED = (401, 403)

Progress = Callable[[int, int], None]


class _TimeoutAdapter(HTTPAdapter):
    """Give every request that has no timeout of its own a (connect, read) timeout."""

    def __init__(self, timeout_s: float) -> None:
        super().__init__()
        self.timeout_s = timeout_s

    def send(
        self, request: requests.PreparedRequest, *args: Any, **kwargs: Any
    ) -> requests.Response:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = (self.timeout_s, self.timeout_s)
        return super().send(request, *args, **kwargs)


def make_data_client(
    api_key: str, secret_key: str, *, timeout_s: float, url_override: str | None = None
) -> StockHistoricalDataClient:
    """Build a market data client whose every request times out after ``timeout_s``.

    alpaca-py has no timeout option and retries 429/504 itself after fixed sleeps, so
    its requests session gets a timeout adapter and its own retries are switched off:
    the state machine's Retry (on TransientError) is the one retry policy.
    """
    client = StockHistoricalDataClient(api_key, secret_key, url_override=url_override)
    session = getattr(client, "_session", None)
    if not isinstance(session, requests.Session) or not hasattr(client, "_retry"):
        raise ConfigurationError(
            "expected alpaca-py's REST client to keep a requests.Session in '_session' and a "
            f"retry count in '_retry', found {type(session).__name__}: cannot set timeouts"
        )
    adapter = _TimeoutAdapter(timeout_s)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    client._retry = 0
    return client


def call_alpaca[T](what: str, call: Callable[[], T]) -> T:
    """Run one Alpaca call and turn its failures into the named errors of the cycle."""
    try:
        return call()
    except APIError as error:
        status = error.status_code
        detail = f"{what}: Alpaca answered HTTP {status}: {error}"
        if status == 429 or (status is not None and status >= 500):
            raise TransientError(detail) from error
        if status in _CREDENTIALS_REFUSED:
            raise ConfigurationError(detail) from error
        raise DataError(detail) from error
    except requests.RequestException as error:
        raise TransientError(f"{what}: no answer from Alpaca ({error!r})") from error


@dataclass(frozen=True)
class TickerRefresh:
    """What a refresh did to one ticker's object."""

    ticker: str
    added: int  # new daily closes appended
    last_day: date  # the last stored close after the refresh
    created: bool = False  # the object did not exist: its whole history was fetched
    rescaled_by: float | None = None  # a split/dividend since the last refresh re-based it
    uri: str = ""


class RefreshError(DataError):
    """Some tickers could not be refreshed; ``refreshed`` holds what the others did."""

    def __init__(
        self, through: date, problems: Sequence[str], refreshed: Sequence[TickerRefresh]
    ) -> None:
        self.problems = tuple(problems)
        self.refreshed = tuple(refreshed)
        super().__init__(
            f"price refresh through {through} failed for {len(problems)} ticker(s):\n  "
            + "\n  ".join(problems)
        )


class AlpacaDailyBars:
    """Fetch adjusted daily bars and keep a price store up to date."""

    def __init__(
        self,
        data_client: StockHistoricalDataClient,
        *,
        feed: DataFeed | None = None,
        history_start: date = DEFAULT_HISTORY_START,
    ) -> None:
        self.client = data_client
        self.feed = feed
        self.history_start = history_start

    def refresh_prices(
        self,
        store: PriceStore,
        tickers: Sequence[str],
        through: date,
        progress: Progress | None = None,
    ) -> tuple[TickerRefresh, ...]:
        """Append the daily closes after each ticker's last stored day, up to ``through``.

        Idempotent: a second refresh through the same day writes nothing. Raise
        RefreshError naming every ticker Alpaca has no bars for, or whose stored last day
        it cannot confirm, or that the store cannot take; the other tickers are refreshed
        first. ``progress(done, total)`` is called as tickers' bars arrive.
        """
        wanted = list(dict.fromkeys(ticker_of_name(t) for t in tickers))
        present = store.tickers()
        stored = {t: store.read(t) for t in wanted if t in present}
        starts = {t: _last_day(stored[t]) if t in stored else self.history_start for t in wanted}
        behind = {t: start for t, start in starts.items() if t not in stored or start < through}
        fetched = self._fetch_grouped(behind, through, progress)
        results: list[TickerRefresh] = []
        problems: list[str] = []
        for ticker in wanted:
            if ticker not in behind:  # already holds ``through``: nothing to ask for
                results.append(TickerRefresh(ticker, 0, starts[ticker], uri=store.uri(ticker)))
                continue
            try:
                merged, outcome = merge_bars(ticker, stored.get(ticker), fetched[ticker], through)
                if outcome.created or outcome.added or outcome.rescaled_by is not None:
                    store.write(ticker, merged)
            except DataError as error:
                problems.append(str(error))
                continue
            results.append(replace(outcome, uri=store.uri(ticker)))
        if problems:
            raise RefreshError(through, problems, results)
        return tuple(results)

    def daily_closes(
        self, tickers: Sequence[str], start: date, through: date
    ) -> dict[str, pd.Series]:
        """Return adjusted daily closes per ticker for [start, through] (empty when none)."""
        symbols = {alpaca_symbol(t): t for t in tickers}
        request = StockBarsRequest(
            symbol_or_symbols=list(symbols),
            timeframe=TimeFrame.Day,
            start=datetime.combine(start, time(0), NEW_YORK),
            end=datetime.combine(through, time(23, 59, 59), NEW_YORK),
            adjustment=Adjustment.ALL,
            feed=self.feed,
        )
        what = f"daily bars {start}..{through} for {', '.join(tickers)}"
        barset = call_alpaca(what, lambda: self.client.get_stock_bars(request))
        if not isinstance(barset, BarSet):
            raise ConfigurationError(f"{what}: expected a BarSet, found {type(barset).__name__}")
        return {t: _bars_to_closes(t, barset.data.get(s, ()), what) for s, t in symbols.items()}

    def _fetch_grouped(
        self, starts: Mapping[str, date], through: date, progress: Progress | None
    ) -> dict[str, pd.Series]:
        # One request per distinct start day (normally every ticker shares one), in
        # chunks of symbols so that progress shows and no answer grows without bound.
        groups: dict[date, list[str]] = {}
        for ticker, start in starts.items():
            groups.setdefault(start, []).append(ticker)
        fetched: dict[str, pd.Series] = {}
        for start, group in sorted(groups.items()):
            for first in range(0, len(group), SYMBOLS_PER_REQUEST):
                chunk = group[first : first + SYMBOLS_PER_REQUEST]
                fetched.update(self.daily_closes(chunk, start, through))
                if progress is not None:
                    progress(len(fetched), len(starts))
        return fetched


class AlpacaLatestPrices:
    """The latest trade of each ticker (Alpaca's latest-trades endpoint)."""

    def __init__(
        self, data_client: StockHistoricalDataClient, *, feed: DataFeed | None = None
    ) -> None:
        self.client = data_client
        self.feed = feed

    def latest_trades(self, tickers: Sequence[str]) -> dict[str, LatestTrade]:
        """Return the latest trade of each ticker that has one (others are left out)."""
        if not tickers:
            return {}
        symbols = {alpaca_symbol(t): ticker_of_name(t) for t in tickers}
        request = StockLatestTradeRequest(symbol_or_symbols=list(symbols), feed=self.feed)
        what = f"latest trades for {', '.join(tickers)}"
        trades = call_alpaca(what, lambda: self.client.get_stock_latest_trade(request))
        latest: dict[str, LatestTrade] = {}
        for symbol, trade in trades.items():
            if not isinstance(trade, Trade):
                raise ConfigurationError(f"{what}: expected Trade models, found {trade!r}")
            ticker = symbols.get(symbol, ticker_of_name(symbol))
            latest[ticker] = LatestTrade(
                symbol=ticker, price=float(trade.price), at=trade.timestamp
            )
        return latest


def merge_bars(
    ticker: str, stored: pd.Series | None, fetched: pd.Series, through: date
) -> tuple[pd.Series, TickerRefresh]:
    """Return the stored closes (re-based if need be) followed by the fetched days after them."""
    fetched = fetched[fetched.index <= pd.Timestamp(through)]
    if stored is None or stored.empty:
        if fetched.empty:
            raise DataError(f"{ticker}: expected daily bars up to {through}, Alpaca returned none")
        outcome = TickerRefresh(ticker, len(fetched), _last_day(fetched), created=True)
        return fetched, outcome
    last = stored.index[-1]
    if last not in fetched.index:
        span = f"{_first_day(fetched)}..{_last_day(fetched)}" if len(fetched) else "none"
        raise DataError(
            f"{ticker}: expected Alpaca's bar for the last stored day {last.date()} to confirm "
            f"the stored closes, found bars: {span}"
        )
    factor = float(fetched[last] / stored[last])
    rescaled = not math.isclose(factor, 1.0, rel_tol=ADJUSTMENT_TOLERANCE)
    base = stored * factor if rescaled else stored
    new = fetched[fetched.index > last]
    merged = pd.concat([base, new]) if len(new) else base
    merged.name = ticker
    outcome = TickerRefresh(
        ticker, len(new), _last_day(merged), rescaled_by=factor if rescaled else None
    )
    return merged, outcome


def _bars_to_closes(ticker: str, bars: Sequence[Bar], where: str) -> pd.Series:
    frame = pd.DataFrame(
        {
            "Date": [bar.timestamp.astimezone(NEW_YORK).date() for bar in bars],
            "Close": [bar.close for bar in bars],
        }
    )
    return closes_from_frame(frame, ticker, f"{where} ({ticker})")


def _last_day(closes: pd.Series) -> date:
    return pd.Timestamp(closes.index[-1]).date()


def _first_day(closes: pd.Series) -> date:
    return pd.Timestamp(closes.index[0]).date()
