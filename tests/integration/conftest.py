"""Ledger fixtures shared by the contract tests: both adapters, on one store each."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from alchemiser.ledger.dynamodb import DynamoDBLedger
from alchemiser.ledger.port import Ledger
from alchemiser.ledger.sqlite import SQLiteLedger
from tests.integration.test_ledger_contract import (
    PAGE_SIZE,
    TABLE,
    create_ledger_table,
    dynamodb_client,
)


@pytest.fixture
def aws() -> Iterator[Any]:
    """A moto account holding the ledger table; yields a client on it."""
    with mock_aws():
        client = dynamodb_client()
        create_ledger_table(client)
        yield client


@pytest.fixture(params=["sqlite", "dynamodb"])
def make_ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], Ledger]:
    """Build ledgers on one store: a second call sees what the first wrote."""
    if request.param == "sqlite":
        return lambda: SQLiteLedger(tmp_path / "ledger.sqlite3")
    client = request.getfixturevalue("aws")
    return lambda: DynamoDBLedger(TABLE, client, page_size=PAGE_SIZE)


@pytest.fixture
def ledger(make_ledger: Callable[[], Ledger]) -> Ledger:
    return make_ledger()
