"""What each step really does in a run, held to the rights and layers template.yaml gives it.

The local cycle runs two days on real prices, the second one crashing in Reconcile and
run again (NotifyFailure, then the re-run's idempotent steps), with the ledger and the
idempotency records on DynamoDB and the reports on S3 (both moto), the broker and market
data recorded. Every
DynamoDB call (each item of a transaction as the IAM action it needs), every object
written or read and every adapter touched is attributed to the handler on the stack. Each must be
allowed to that function: a call it is not granted would be an AccessDenied on AWS, an
adapter missing from ``Metadata: AlchemiserNeeds`` a missing layer. (The other direction,
no right beyond what the code needs, is tests/unit/test_template_security.py.)
"""

from __future__ import annotations

import dataclasses
import re
import sys
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from types import FrameType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from alchemiser.ledger.dynamodb import DynamoDBLedger
from alchemiser.ledger.hedge_store import DynamoDBHedgeStore
from alchemiser.ledger.idempotency import dynamodb_persistence_layer
from alchemiser.local import cycle_runner
from alchemiser.local.template import load_template
from alchemiser.runtime import Dependencies
from alchemiser.storage.s3 import S3ObjectStore
from tests.conftest import REPO_ROOT
from tests.integration.test_ledger_contract import create_ledger_table
from tests.unit.test_template_security import INDEX, TABLE, actions_on, function_statements
from tests.workflow.conftest import RunCycle

DAYS = (date(2024, 3, 14), date(2024, 3, 15))
LEDGER_TABLE = "alchemiser-dev-ledger"
REPORTS_BUCKET = "alchemiser-dev-reports"
HANDLER = re.compile(r"[/\\]functions[/\\](?P<step>\w+)[/\\]app\.py$")
TRANSACTION_ITEMS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
}


def current_step() -> str | None:
    """Return the functions/<step> whose handler is on this thread's stack, if any."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        match = HANDLER.search(frame.f_code.co_filename)
        if match:
            return match["step"]
        frame = frame.f_back
    return None


@dataclasses.dataclass
class Record:
    """What each step did: {step: {(kind, what)}}."""

    seen: dict[str, set[tuple[str, str]]] = dataclasses.field(
        default_factory=lambda: defaultdict(set)
    )
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)

    def add(self, kind: str, what: str) -> None:
        step = current_step()
        if step is not None:
            with self.lock:
                self.seen[step].add((kind, what))

    def of(self, step: str, kind: str) -> set[str]:
        return {what for k, what in self.seen.get(step, set()) if k == kind}


class Recorded:
    """An adapter that notes which step touched it, then does what the adapter does."""

    def __init__(self, adapter: object, name: str, record: Record) -> None:
        self._adapter, self._name, self._record = adapter, name, record

    def __getattr__(self, attribute: str) -> Any:
        self._record.add("adapter", self._name)
        return getattr(self._adapter, attribute)


def record_dynamodb(client: Any, record: Record) -> None:
    def before(params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name == "TransactWriteItems":
            for item in params["TransactItems"]:
                for kind in item:
                    record.add("table", TRANSACTION_ITEMS[kind])
        elif model.name == "Query" and "IndexName" in params:
            record.add("index", "dynamodb:Query")
        else:
            record.add("table", f"dynamodb:{model.name}")

    client.meta.events.register("before-parameter-build.dynamodb", before)


def record_s3_writes(client: Any, record: Record) -> None:
    def before(params: dict[str, Any], model: Any, **_: Any) -> None:
        record.add("s3", f"{model.name} {params.get('Key', '')}")

    client.meta.events.register("before-parameter-build.s3", before)


@pytest.fixture
def recorded_runs(monkeypatch: pytest.MonkeyPatch, cycle: RunCycle) -> Iterator[Record]:
    """Run the days on DynamoDB and S3 (moto), recording what every step does."""
    record = Record()
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        create_ledger_table(dynamodb, LEDGER_TABLE)
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=REPORTS_BUCKET)
        record_dynamodb(dynamodb, record)
        record_s3_writes(s3, record)
        build: Callable[..., Dependencies] = cycle_runner.build_local_dependencies

        def on_aws(*args: Any, **kwargs: Any) -> Dependencies:
            local = build(*args, **kwargs)
            return dataclasses.replace(
                local,
                ledger=DynamoDBLedger(LEDGER_TABLE, dynamodb),
                idempotency=lambda: dynamodb_persistence_layer(LEDGER_TABLE, client=dynamodb),
                store=S3ObjectStore(REPORTS_BUCKET, "", s3),
                broker=Recorded(local.broker, "broker", record),
                market=Recorded(local.market, "market", record),
                options=Recorded(local.options, "broker", record),  # the Alpaca adapter's
                hedge_store=DynamoDBHedgeStore(LEDGER_TABLE, dynamodb),
            )

        monkeypatch.setattr(cycle_runner, "build_local_dependencies", on_aws)
        first, second = DAYS
        local, summary = cycle(first)
        assert local.execution.status == "SUCCEEDED", summary
        assert summary["orders"], f"{first}: expected orders, the steps would be idle"
        crashed, _ = cycle(second, crash_at=["Reconcile"])
        assert crashed.execution.status == "FAILED"
        local, summary = cycle(second)
        assert local.execution.status == "SUCCEEDED", summary
        yield record


def steps_to_functions() -> dict[str, tuple[str, dict[str, Any]]]:
    resources = load_template(REPO_ROOT / "template.yaml")["Resources"]
    return {
        Path(r["Properties"]["CodeUri"]).name: (logical_id, r)
        for logical_id, r in resources.items()
        if r["Type"] == "AWS::Serverless::Function"
    }


def object_prefixes(statements: list[dict[str, Any]], operation: str) -> list[str]:
    """Return the report-bucket key prefixes a function may call ``operation`` under."""
    prefixes = []
    for statement in statements:
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        resource = str(statement["Resource"])
        match = re.search(r"\$\{ReportsBucket\.Arn\}/([\w/-]*)\*", resource)
        if f"s3:{operation}" in actions and match:
            prefixes.append(match[1])
    return prefixes


@pytest.mark.slow
def test_every_step_of_a_run_does_only_what_its_function_is_allowed(
    recorded_runs: Record,
) -> None:
    functions = steps_to_functions()
    # Given two trading days run on DynamoDB and S3: every step was seen doing something
    assert set(recorded_runs.seen) == set(functions)
    for step, (logical_id, function) in functions.items():
        statements = function_statements(function)
        # Then each ledger call is one of its table's (or its index's) allowed actions
        assert recorded_runs.of(step, "table") <= actions_on(statements, TABLE), logical_id
        assert recorded_runs.of(step, "index") <= actions_on(statements, INDEX), logical_id
        # and every object it wrote or read (the run's stored outputs) is under a prefix it
        # may write or read
        for call in recorded_runs.of(step, "s3"):
            operation, key = call.split(" ", 1)
            assert operation in ("PutObject", "GetObject"), (logical_id, call)
            prefixes = object_prefixes(statements, operation)
            assert any(key.startswith(p) for p in prefixes), (logical_id, call, prefixes)
        # and every adapter it touched is one its layers and rights were chosen for
        needs = set(function["Metadata"]["AlchemiserNeeds"])
        assert recorded_runs.of(step, "adapter") <= needs, logical_id
