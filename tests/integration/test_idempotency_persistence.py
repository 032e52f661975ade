"""Powertools Idempotency on our persistence: SQLite locally, the ledger table on AWS.

A function decorated with ``idempotent_function`` must run once per input and replay
its stored result afterwards, from any thread, on either store.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.idempotency import (
    BasePersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.idempotency.serialization.pydantic import PydanticSerializer
from moto import mock_aws
from pydantic import BaseModel

from alchemiser.ledger.idempotency import (
    IDEMPOTENCY_PK,
    SQLitePersistenceLayer,
    dynamodb_persistence_layer,
)
from tests.integration.test_ledger_contract import TABLE, create_ledger_table, dynamodb_client


class OrderRequest(BaseModel):
    client_order_id: str
    qty: Decimal


class OrderOutcome(BaseModel):
    client_order_id: str
    filled_qty: Decimal
    attempt: int


class FakeLambdaContext:
    """Just enough of a Lambda context for Powertools to time out in-progress records."""

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


class Submitter:
    """An idempotent 'submit order' that counts how often its body really runs."""

    def __init__(
        self,
        store: BasePersistenceLayer,
        *,
        started: threading.Event | None = None,
        release: threading.Event | None = None,
    ) -> None:
        self.calls = 0
        self._lock = threading.Lock()
        config = IdempotencyConfig(
            event_key_jmespath="client_order_id", payload_validation_jmespath="qty"
        )
        config.register_lambda_context(FakeLambdaContext())  # type: ignore[arg-type]

        @idempotent_function(  # type: ignore[untyped-decorator]
            data_keyword_argument="request",
            persistence_store=store,
            config=config,
            output_serializer=PydanticSerializer(OrderOutcome),
        )
        def submit(request: OrderRequest) -> OrderOutcome:
            with self._lock:
                self.calls += 1
                attempt = self.calls
            if started is not None and release is not None:
                started.set()
                release.wait(timeout=10)
            return OrderOutcome(
                client_order_id=request.client_order_id, filled_qty=request.qty, attempt=attempt
            )

        self.submit: Callable[..., OrderOutcome] = submit


@pytest.fixture(params=["sqlite", "dynamodb"])
def make_store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[[], BasePersistenceLayer]]:
    """Build persistence layers on one store (each decorated function gets its own)."""
    if request.param == "sqlite":
        yield lambda: SQLitePersistenceLayer(tmp_path / "idempotency.sqlite3")
        return
    with mock_aws():
        client = dynamodb_client()
        create_ledger_table(client)
        yield lambda: dynamodb_persistence_layer(TABLE, client)


REQUEST = OrderRequest(client_order_id="cycle-2024-03-04-dev-buy-GLD", qty=Decimal("12.5"))


def test_the_same_input_runs_once_and_replays_the_stored_result(
    make_store: Callable[[], BasePersistenceLayer],
) -> None:
    # Given an idempotent submit
    submitter = Submitter(make_store())

    # When it is called twice with the same request
    first = submitter.submit(request=REQUEST)
    second = submitter.submit(request=REQUEST)

    # Then the body ran once and the second call returned the stored outcome
    assert submitter.calls == 1
    assert (
        second
        == first
        == OrderOutcome(
            client_order_id=REQUEST.client_order_id, filled_qty=Decimal("12.5"), attempt=1
        )
    )


def test_another_thread_gets_the_stored_result(
    make_store: Callable[[], BasePersistenceLayer],
) -> None:
    # Given a request already handled on this thread
    submitter = Submitter(make_store())
    first = submitter.submit(request=REQUEST)

    # When another thread sends the same request
    with ThreadPoolExecutor(max_workers=1) as pool:
        replayed = pool.submit(submitter.submit, request=REQUEST).result(timeout=30)

    # Then it gets the stored outcome without running the body again
    assert replayed == first
    assert submitter.calls == 1


def test_a_different_input_runs_again(make_store: Callable[[], BasePersistenceLayer]) -> None:
    # Given a handled request
    submitter = Submitter(make_store())
    submitter.submit(request=REQUEST)

    # When a request for another order arrives
    other = submitter.submit(request=OrderRequest(client_order_id="other", qty=Decimal(1)))

    # Then the body runs for it
    assert submitter.calls == 2
    assert other.attempt == 2


def test_a_duplicate_while_the_first_is_in_progress_is_refused(
    make_store: Callable[[], BasePersistenceLayer],
) -> None:
    # Given a first call holding its in-progress record
    started, release = threading.Event(), threading.Event()
    submitter = Submitter(make_store(), started=started, release=release)
    with ThreadPoolExecutor(max_workers=1) as pool:
        first = pool.submit(submitter.submit, request=REQUEST)
        assert started.wait(timeout=10)

        # When the same request arrives meanwhile
        # Then it is refused rather than run twice
        with pytest.raises(IdempotencyAlreadyInProgressError):
            submitter.submit(request=REQUEST)
        release.set()
        assert first.result(timeout=30).attempt == 1
    assert submitter.calls == 1


def test_the_same_key_with_a_different_payload_is_refused(
    make_store: Callable[[], BasePersistenceLayer],
) -> None:
    # Given a handled request
    submitter = Submitter(make_store())
    submitter.submit(request=REQUEST)

    # When the same order id arrives with another quantity
    # Then the stored record's payload hash does not match and nothing runs
    with pytest.raises(IdempotencyValidationError):
        submitter.submit(request=REQUEST.model_copy(update={"qty": Decimal(13)}))
    assert submitter.calls == 1


def test_a_failed_call_leaves_no_record_so_a_retry_runs(tmp_path: Path) -> None:
    # Given a submit whose first attempt fails
    store = SQLitePersistenceLayer(tmp_path / "idempotency.sqlite3")
    attempts: list[int] = []

    config = IdempotencyConfig()
    config.register_lambda_context(FakeLambdaContext())  # type: ignore[arg-type]

    @idempotent_function(  # type: ignore[untyped-decorator]
        data_keyword_argument="request", persistence_store=store, config=config
    )
    def flaky(request: OrderRequest) -> dict[str, Any]:
        attempts.append(1)
        if len(attempts) == 1:
            raise TimeoutError("broker did not answer")
        return {"ok": True}

    with pytest.raises(TimeoutError):
        flaky(request=REQUEST)

    # When it is retried
    # Then the body runs again (the in-progress record was deleted) and then replays
    assert flaky(request=REQUEST) == {"ok": True}
    assert flaky(request=REQUEST) == {"ok": True}
    assert len(attempts) == 2


def test_dynamodb_records_live_in_the_ledger_table_with_a_ttl() -> None:
    # Given the DynamoDB layer on the ledger table
    with mock_aws():
        client = dynamodb_client()
        create_ledger_table(client)
        Submitter(dynamodb_persistence_layer(TABLE, client)).submit(request=REQUEST)

        # Then the record sits under the static idempotency key with a numeric ttl
        (item,) = client.scan(TableName=TABLE)["Items"]
    assert item["pk"] == {"S": IDEMPOTENCY_PK}
    assert "#" in item["sk"]["S"]
    assert int(item["ttl"]["N"]) > 0
    assert item["status"] == {"S": "COMPLETED"}


def test_sqlite_threads_racing_on_one_input_run_it_once(tmp_path: Path) -> None:
    # Given eight threads released at once, each with the same request
    submitter = Submitter(SQLitePersistenceLayer(tmp_path / "idempotency.sqlite3"))
    start = threading.Barrier(8)

    def race() -> OrderOutcome | None:
        start.wait(timeout=10)
        try:
            return submitter.submit(request=REQUEST)
        except IdempotencyAlreadyInProgressError:
            return None

    # When they all submit
    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = [f.result(timeout=60) for f in [pool.submit(race) for _ in range(8)]]

    # Then the body ran once: every thread got its outcome or was told it is in progress
    assert submitter.calls == 1
    assert {o.attempt for o in outcomes if o is not None} == {1}
