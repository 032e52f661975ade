"""The AWS market data adapter: S3 parquet closes, refreshed from Alpaca daily bars.

Its own module because it imports pandas, pyarrow and awswrangler (the data layers):
:mod:`alchemiser.aws_runtime` imports it only when a step first reads prices, so the
functions deployed without those layers never load it.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import date

import boto3

from alchemiser.broker.alpaca import load_secret_json
from alchemiser.market.alpaca_bars import AlpacaDailyBars, AlpacaLatestPrices, make_data_client
from alchemiser.market.history import PriceHistory
from alchemiser.market.s3_data import S3MarketData, S3PriceObjects, previous_xnys_session
from alchemiser.settings import Settings

PRICES_PREFIX = "prices/"


class RefreshedMarketData:
    """S3 closes brought up to the previous session from Alpaca before they are first read."""

    def __init__(self, market: S3MarketData, bars: AlpacaDailyBars, store: S3PriceObjects) -> None:
        self._market, self._bars, self._store = market, bars, store
        self._refreshed: set[tuple[str, date]] = set()
        self._lock = threading.Lock()

    def history(self, tickers: Sequence[str], day: date) -> PriceHistory:
        through = previous_xnys_session(day)
        with self._lock:
            stale = sorted({t for t in tickers if (t, through) not in self._refreshed})
            if stale:
                self._bars.refresh_prices(self._store, stale, through)
                self._refreshed.update((t, through) for t in stale)
        return self._market.history(tickers, day)

    def describe(self) -> str:
        return f"{self._market.describe()}, refreshed from Alpaca daily bars"


def build_market(settings: Settings, session: boto3.Session) -> RefreshedMarketData:
    """Create the market data adapter: the data bucket's closes and Alpaca's latest prices."""
    key_id, secret_key = alpaca_keys(settings)
    data_client = make_data_client(key_id, secret_key, timeout_s=settings.http_timeout_s)
    prices = S3PriceObjects(settings.data_bucket, PRICES_PREFIX, session)
    latest = AlpacaLatestPrices(data_client)
    s3_market = S3MarketData(settings.data_bucket, PRICES_PREFIX, latest, session=session)
    return RefreshedMarketData(s3_market, AlpacaDailyBars(data_client), prices)


def alpaca_keys(settings: Settings) -> tuple[str, str]:
    """Return the Alpaca key id and secret key: from the settings, else from the secret."""
    if settings.alpaca_key_id is not None and settings.alpaca_secret_key is not None:
        return (
            settings.alpaca_key_id.get_secret_value(),
            settings.alpaca_secret_key.get_secret_value(),
        )
    secret = load_secret_json(settings.alpaca_secret_name)
    return str(secret.get("key_id", "")), str(secret.get("secret_key", ""))
