"""A DynamoDB ledger table made before books kept their own cash is upgraded in place.

``tests/fixtures/prechange_home/dynamodb_items.json`` is every item of a table written
by the code just before this change (the same three days as the SQLite fixture, stored
through that code's DynamoDB adapter on moto). Loaded into moto, the capital step of
the next day's PlanCycle opens the pool with the broker's cash and each book's cash
from its last snapshot (the old rule), as one transfer each; no item is lost or changed.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from alchemiser.books.capital_policy import CapitalPolicy
from alchemiser.books.config import BookConfig, StageConfig
from alchemiser.broker.simulated import SimulatedBroker
from alchemiser.cycle.capital import settle_capital
from alchemiser.ledger.dynamodb import DynamoDBLedger
from alchemiser.ledger.models import POOL, TransferReason
from tests.conftest import REPO_ROOT
from tests.integration.test_ledger_contract import PAGE_SIZE, TABLE
from tests.workflow.conftest import all_prices

FIXTURE = REPO_ROOT / "tests" / "fixtures" / "prechange_home"
DAY = date(2024, 3, 14)
STAGE = StageConfig(
    name="dev",
    books=(
        BookConfig(id="nuclear", strategy="nuclear_energy_rotation.clj", share=Decimal("0.3")),
        BookConfig(id="tech-momentum", strategy="tech_momentum_guarded.clj", share=Decimal("0.4")),
        BookConfig(id="klm-ensemble", strategy="klm_ensemble.clj", share=Decimal("0.3")),
    ),
    hedge=None,
    capital=CapitalPolicy(),
)


def scan(client: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for page in client.get_paginator("scan").paginate(TableName=TABLE):
        items += page["Items"]
    return items


def test_the_first_run_opens_the_books_cash_in_a_table_made_before(
    aws: Any, tmp_path: Path
) -> None:
    # Given the items of a table the old code wrote
    old_items = json.loads((FIXTURE / "dynamodb_items.json").read_text())
    for item in old_items:
        aws.put_item(TableName=TABLE, Item=item)
    ledger = DynamoDBLedger(TABLE, aws, page_size=PAGE_SIZE)
    old_cash = {b: ledger.latest_snapshot(b, DAY) for b in ledger.book_ids()}
    broker_file = tmp_path / "broker.sqlite3"
    broker_file.write_bytes((FIXTURE / "broker.sqlite3").read_bytes())
    broker = SimulatedBroker(broker_file, all_prices())
    broker.set_session(DAY)

    # When the next day's capital step runs on it
    settle_capital(
        "cycle-2024-03-14-dev",
        DAY,
        STAGE,
        SimpleNamespace(ledger=ledger, broker=broker, hedge_store=None),
    )  # type: ignore[arg-type]

    # Then every old item is still there, unchanged
    after = scan(aws)
    for item in old_items:
        assert item in after, item["pk"]
    # the pool opened with the broker's cash, each book's cash with its old-rule cash
    opening = {
        t.transfer_id: t for t in ledger.transfers_on(DAY) if t.reason is TransferReason.OPENING
    }
    assert opening["opening:pool"].destination == POOL
    assert opening["opening:pool"].amount == broker.account().cash
    for book, snapshot in old_cash.items():
        assert snapshot is not None
        t = opening[f"opening:{book}"]
        assert t.amount * (1 if t.destination == book else -1) == snapshot.cash
    assert sum(ledger.cash_accounts().values()) == broker.account().cash
