"""The AWS wiring: adapters built from settings, the Alpaca secret read only on first use."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from moto import mock_aws

from alchemiser.aws_runtime import build_aws_dependencies
from alchemiser.errors import ConfigurationError
from alchemiser.ledger.dynamodb import DynamoDBLedger
from alchemiser.settings import Runtime, Settings
from alchemiser.storage.s3 import S3ObjectStore
from tests.integration.test_ledger_contract import create_ledger_table

MISSING_SECRET = "alchemiser/test/no-such-alpaca-secret"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    parameters.clear_caches()  # Powertools caches secrets per process: start from none
    with mock_aws():
        create_ledger_table(boto3.client("dynamodb"), "alchemiser-dev-ledger")
        for bucket in ("alchemiser-dev-data", "alchemiser-dev-reports"):
            boto3.client("s3").create_bucket(Bucket=bucket)
        yield
    parameters.clear_caches()


def settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "runtime": Runtime.AWS,
        "ledger_table": "alchemiser-dev-ledger",
        "data_bucket": "alchemiser-dev-data",
        "reports_bucket": "alchemiser-dev-reports",
        "notify_from": "alchemiser@example.com",
        "notify_to": "trader@example.com",
        "alpaca_secret_name": MISSING_SECRET,  # deliberately not created
    }
    return Settings.model_validate(values | overrides)


def test_a_step_that_never_trades_never_reads_the_alpaca_secret(aws: None) -> None:
    # Given AWS settings whose Alpaca secret does not exist (Notify may not read it)
    deps = build_aws_dependencies(settings())
    # When the notify-side adapters are used
    deps.store.put_bytes("reports/r.html", b"<p>ok</p>", "text/html")
    # Then they work, and they are the AWS ones
    assert isinstance(deps.ledger, DynamoDBLedger)
    assert isinstance(deps.store, S3ObjectStore)
    assert deps.store.get_bytes("reports/r.html") == b"<p>ok</p>"
    # And the broker reads the secret only when first called (here: it is missing)
    with pytest.raises(
        ConfigurationError, match=f"cannot read the Alpaca secret '{MISSING_SECRET}'"
    ):
        deps.broker.account()


def test_missing_table_or_bucket_settings_are_a_clear_error(aws: None) -> None:
    with pytest.raises(ConfigurationError, match="ALCHEMISER_LEDGER_TABLE must be set"):
        build_aws_dependencies(settings(ledger_table=""))
