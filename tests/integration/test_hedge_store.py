"""The hedge store contract, run unchanged against SQLite and DynamoDB (moto)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from moto import mock_aws

from alchemiser.broker.options_models import OptionLeg, PositionIntent
from alchemiser.errors import TransientError
from alchemiser.hedge.book import HedgeBookState, HedgeLeg, HedgeRecord
from alchemiser.hedge.journal import OrderIntent
from alchemiser.hedge.policy import HedgeTemplate
from alchemiser.ledger.dynamodb import DynamoDBLedger
from alchemiser.ledger.hedge_store import (
    IV_DAYS_KEPT,
    DynamoDBHedgeStore,
    HedgeBookRecord,
    HedgeFailure,
    HedgeSnapshot,
    HedgeStore,
    HedgeSwitch,
    SQLiteHedgeStore,
)
from alchemiser.ledger.models import KillSwitch
from tests.integration.test_ledger_contract import REGION, TABLE, create_ledger_table

DAY = date(2024, 3, 14)
SYMBOL = "QQQ240621P00390000"


@pytest.fixture(params=["sqlite", "dynamodb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[HedgeStore]:
    if request.param == "sqlite":
        yield SQLiteHedgeStore(tmp_path / "ledger.sqlite3")
        return
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        create_ledger_table(client)
        yield DynamoDBHedgeStore(TABLE, client)


def a_book() -> HedgeBookRecord:
    record = HedgeRecord(
        hedge_id=f"20240314-{SYMBOL}", underlying="QQQ", template=HedgeTemplate.TAIL,
        legs=(HedgeLeg(symbol=SYMBOL, qty=2),), opened_on=DAY, premium=Decimal("878.00"),
        promised_payoff=Decimal("9297.36"), spot_at_open=Decimal("433.32"),
    )  # fmt: skip
    state = HedgeBookState().opened(record, DAY, "pay 9297.36 at -20%")
    intent = OrderIntent(
        run_id="cycle-2024-03-14-dev", tag=f"c-{record.hedge_id}", kind="close", day=DAY,
        hedge_id=record.hedge_id,
        legs=(OptionLeg(symbol=SYMBOL, intent=PositionIntent.SELL_TO_CLOSE),), qty=2,
        reason="29 days to expiry",
    )  # fmt: skip
    snapshot = HedgeSnapshot(
        day=DAY, nav=Decimal("867.00"), premium_month=Decimal("878.00"),
        premium_year=Decimal("878.00"), realised=Decimal(0), unrealised=Decimal("-11.00"),
    )  # fmt: skip
    return HedgeBookRecord(
        state=state, pending=(intent,), iv={"QQQ": {DAY: 0.185}}, snapshots=(snapshot,)
    )


def test_an_empty_store_has_an_empty_book_and_the_switch_off(store: HedgeStore) -> None:
    assert store.load_book() == HedgeBookRecord()
    assert store.hedge_switch() == HedgeSwitch()


def test_the_book_and_the_switch_read_back_exactly_as_saved(store: HedgeStore) -> None:
    book = a_book()
    store.save_book(book)
    assert store.load_book() == book
    now = datetime(2024, 3, 14, 20, tzinfo=UTC)
    switch = HedgeSwitch(
        enabled=True, reason="by hand", updated_at=now, updated_by="ops",
        failures=(HedgeFailure(at=now, run_id="cycle-2024-03-14-dev", reason="stale quotes"),),
    )  # fmt: skip
    store.save_hedge_switch(switch)
    assert store.hedge_switch() == switch
    store.save_book(book.model_copy(update={"pending": ()}))
    assert store.load_book().pending == ()


def test_the_iv_history_keeps_the_newest_days(store: HedgeStore) -> None:
    days = {DAY - timedelta(days=n): 0.2 for n in range(IV_DAYS_KEPT + 50)}
    store.save_book(HedgeBookRecord(iv={"QQQ": days}))
    kept = store.load_book().iv["QQQ"]
    assert len(kept) == IV_DAYS_KEPT and max(kept) == DAY


def test_a_document_too_big_for_a_ledger_item_is_refused_with_its_size(
    store: HedgeStore,
) -> None:
    switch = HedgeSwitch(
        failures=tuple(
            HedgeFailure(at=datetime(2024, 3, 14, tzinfo=UTC), run_id="r", reason="x" * 1000)
            for _ in range(400)
        )
    )
    with pytest.raises(ValueError, match="over the 350000 a ledger item may hold"):
        store.save_hedge_switch(switch)


def test_the_hedge_book_lives_beside_the_ledger_without_touching_it(tmp_path: Path) -> None:
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        create_ledger_table(client)
        ledger = DynamoDBLedger(TABLE, client)
        switch = KillSwitch(
            enabled=True, reason="ops", updated_at=datetime(2024, 3, 14, tzinfo=UTC)
        )
        ledger.set_kill_switch(switch)
        DynamoDBHedgeStore(TABLE, client).save_book(a_book())
        assert ledger.kill_switch() == switch
        assert ledger.book_ids() == []


def test_dynamodb_throttling_is_transient() -> None:
    client = boto3.client("dynamodb", region_name=REGION)
    with Stubber(client) as stub:
        stub.add_client_error("get_item", "ProvisionedThroughputExceededException")
        with pytest.raises(TransientError, match="ProvisionedThroughputExceededException"):
            DynamoDBHedgeStore(TABLE, client).load_book()
        stub.add_client_error("get_item", "ValidationException")
        with pytest.raises(ClientError):
            DynamoDBHedgeStore(TABLE, client).load_book()
