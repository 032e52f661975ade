"""The AWS adapters: Alpaca, DynamoDB, S3, SES. Built on a Lambda's first invocation.

:mod:`alchemiser.runtime` imports this module only when the runtime is ``aws``. The
broker and the market data are built on first use, and their modules imported then:
alpaca-py needs pandas (the pandas layer) and the market data needs pyarrow and
awswrangler (the parquet layer), which only the functions that trade or read prices
are deployed with (template.yaml). Notify and NotifyFailure have neither.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import boto3
from botocore.config import Config

from alchemiser.broker.port import Broker
from alchemiser.errors import ConfigurationError
from alchemiser.execution.clock import SystemClock
from alchemiser.executions.stepfunctions import StepFunctionsExecutions
from alchemiser.ledger.dynamodb import DynamoDBLedger
from alchemiser.ledger.hedge_store import DynamoDBHedgeStore
from alchemiser.ledger.idempotency import dynamodb_persistence_layer
from alchemiser.notify.ses import SesNotifier
from alchemiser.runtime import Dependencies
from alchemiser.settings import Settings
from alchemiser.storage.s3 import S3ObjectStore

if TYPE_CHECKING:
    from alchemiser.broker.options_port import OptionsBroker
    from alchemiser.market.port import MarketData  # numpy: not in every function's layers


class Deferred[T]:
    """Build an adapter on first use (thread-safe), so a step that never calls Alpaca never
    reads its secret (Notify and NotifyFailure are not allowed to) nor imports its SDK."""

    def __init__(self, build: Callable[[], T]) -> None:
        self._build = build
        self._value: T | None = None
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        with self._lock:
            if self._value is None:
                self._value = self._build()
        return getattr(self._value, name)


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

    def broker() -> Broker:
        from alchemiser.broker.alpaca import AlpacaBroker  # alpaca-py: the pandas layer

        return AlpacaBroker.from_settings(settings)

    def options() -> OptionsBroker:
        from alchemiser.broker.alpaca_options import AlpacaOptionsBroker  # alpaca-py

        return cast(AlpacaOptionsBroker, AlpacaOptionsBroker.from_settings(settings))

    def market() -> MarketData:
        from alchemiser.aws_market import build_market  # awswrangler: the parquet layer

        return build_market(settings, session)

    dynamodb = session.client("dynamodb")
    table = settings.ledger_table
    recipients = [r.strip() for r in settings.notify_to.split(",") if r.strip()]
    return Dependencies(
        settings=settings,
        broker=cast(Broker, Deferred(broker)),
        ledger=DynamoDBLedger(table, dynamodb),
        market=cast("MarketData", Deferred(market)),
        # SigV4: the dashboard's pre-signed links (the only kind S3 accepts for a week)
        store=S3ObjectStore(
            settings.reports_bucket,
            "",
            session.client("s3", config=Config(signature_version="s3v4")),
        ),
        notifier=SesNotifier(session.client("sesv2"), settings.notify_from, recipients),
        clock=SystemClock(),
        idempotency=lambda: dynamodb_persistence_layer(table, client=dynamodb),
        strategies_dir=settings.strategies_dir,
        executions=StepFunctionsExecutions(session.client("stepfunctions")),
        options=cast("OptionsBroker", Deferred(options)),
        hedge_store=DynamoDBHedgeStore(table, dynamodb),
    )
