"""The AWS adapters: Alpaca, DynamoDB, S3, SES. Built on a Lambda's first invocation.

This module imports the AWS-only dependencies (awswrangler comes from the AWS SDK for
pandas layer), which is why :mod:`alchemiser.runtime` imports it only when the
runtime is ``aws``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, cast

import boto3

from alchemiser.broker.alpaca import AlpacaBroker, load_secret_json
from alchemiser.broker.port import Broker
from alchemiser.errors import ConfigurationError
from alchemiser.execution.clock import SystemClock
from alchemiser.ledger.dynamodb import DynamoDBLedger
from alchemiser.ledger.idempotency import dynamodb_persistence_layer
from alchemiser.market.alpaca_bars import AlpacaDailyBars, AlpacaLatestPrices, make_data_client
from alchemiser.market.history import PriceHistory
from alchemiser.market.port import MarketData
from alchemiser.market.s3_data import S3MarketData, S3PriceObjects, previous_xnys_session
from alchemiser.notify.ses import SesNotifier
from alchemiser.runtime import Dependencies
from alchemiser.settings import Settings
from alchemiser.storage.s3 import S3ObjectStore

PRICES_PREFIX = "prices/"


class Deferred[T]:
    """Build an adapter on first use (thread-safe), so a step that never calls Alpaca never
    reads its secret: Notify and NotifyFailure are not allowed to."""

    def __init__(self, build: Callable[[], T]) -> None:
        self._build = build
        self._value: T | None = None
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        with self._lock:
            if self._value is None:
                self._value = self._build()
        return getattr(self._value, name)


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


def build_aws_dependencies(settings: Settings) -> Dependencies:
    """Create every AWS adapter from the settings (called once per Lambda container)."""
    for name, value in {
        "ALCHEMISER_LEDGER_TABLE": settings.ledger_table,
        "ALCHEMISER_DATA_BUCKET": settings.data_bucket,
        "ALCHEMISER_REPORTS_BUCKET": settings.reports_bucket,
    }.items():
        if not value:
            raise ConfigurationError(f"{name} must be set in the Lambda environment")
    session = boto3.Session()

    def market() -> RefreshedMarketData:
        key_id, secret_key = _alpaca_secret(settings)
        data_client = make_data_client(key_id, secret_key, timeout_s=settings.http_timeout_s)
        prices = S3PriceObjects(settings.data_bucket, PRICES_PREFIX, session)
        latest = AlpacaLatestPrices(data_client)
        s3_market = S3MarketData(settings.data_bucket, PRICES_PREFIX, latest, session=session)
        return RefreshedMarketData(s3_market, AlpacaDailyBars(data_client), prices)

    dynamodb = session.client("dynamodb")
    table = settings.ledger_table
    recipients = [r.strip() for r in settings.notify_to.split(",") if r.strip()]
    return Dependencies(
        settings=settings,
        broker=cast(Broker, Deferred(lambda: AlpacaBroker.from_settings(settings))),
        ledger=DynamoDBLedger(table, dynamodb),
        market=cast(MarketData, Deferred(market)),
        store=S3ObjectStore(settings.reports_bucket, "", session.client("s3")),
        notifier=SesNotifier(session.client("sesv2"), settings.notify_from, recipients),
        clock=SystemClock(),
        idempotency=lambda: dynamodb_persistence_layer(table, client=dynamodb),
        strategies_dir=settings.strategies_dir,
    )


def _alpaca_secret(settings: Settings) -> tuple[str, str]:
    if settings.alpaca_key_id is not None and settings.alpaca_secret_key is not None:
        return (
            settings.alpaca_key_id.get_secret_value(),
            settings.alpaca_secret_key.get_secret_value(),
        )
    secret = load_secret_json(settings.alpaca_secret_name)
    return str(secret.get("key_id", "")), str(secret.get("secret_key", ""))
