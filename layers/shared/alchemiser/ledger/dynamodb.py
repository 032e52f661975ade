"""The ledger on AWS: one DynamoDB table (single-table design).

Table: partition key ``pk`` (S), sort key ``sk`` (S); one GSI ``gsi1`` on ``gsi1pk`` (S)
/ ``gsi1sk`` (S) projecting ALL; TTL attribute ``ttl`` (only Powertools idempotency
records carry it: ledger items never expire).

| entity                        | pk               | sk                    | gsi1pk          | gsi1sk                   |
|-------------------------------|------------------|-----------------------|-----------------|--------------------------|
| run                           | RUN#{run_id}     | META                  | STAGE#{stage}   | {trading_date}#{run_id}  |
| order                         | RUN#{run_id}     | ORDER#{client_order_id} |               |                          |
| fill                          | RUN#{run_id}     | FILL#{fill_id}        |                 |                          |
| open lots of one symbol       | BOOK#{book_id}   | LOTS#{symbol}         |                 |                          |
| realised P&L (+ book registry)| BOOK#{book_id}   | PNL                   | BOOKS           | {book_id}                |
| book snapshot                 | BOOK#{book_id}   | SNAP#{trading_date}   |                 |                          |
| kill switch                   | CONTROL          | KILLSWITCH            |                 |                          |
| cash, transfers, account snapshots | (``alchemiser.ledger.dynamodb_cash``) |      |                 |                          |
| idempotency record            | IDEMPOTENCY      | {function}#{hash}     |                 |                          |

Claiming a day is one PutItem of the run item conditioned on the attempts read
(``attribute_not_exists(pk)`` for the first claim, else ``attempts = :read``); settling
it is one UpdateItem conditioned on ``execution_arn`` still naming the execution.

Access patterns: a run's orders / fills = Query pk, ``begins_with(sk, "ORDER#"|"FILL#")``;
a book's open lots = Query ``BOOK#{id}``, ``begins_with(sk, "LOTS#")``; latest snapshot
on or before a day = Query ``sk BETWEEN "SNAP#" AND "SNAP#{day}"`` backwards; runs of a
stage = Query gsi1 ``STAGE#{stage}``; book ids = Query gsi1 ``BOOKS``. GSI reads are
eventually consistent; every other read is strongly consistent.

A book's open lots of one symbol live in ONE item (a FIFO list plus a ``version``), so
recording a fill is always one TransactWriteItems of three items whatever the number
of lots it consumes (a transaction holds at most 100): Put the fill
(``attribute_not_exists``), Put/Delete the lots item (conditioned on the version read),
and ``ADD`` the realised P&L. A fill already present cancels its transaction and is
skipped, so retries and re-runs apply every fill exactly once. Decimals are DynamoDB
numbers (exact to 38 digits). Every Query follows ``LastEvaluatedKey`` to the end.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Any

import boto3
from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from pydantic import BaseModel

from alchemiser.errors import TransientError
from alchemiser.ledger.dynamodb_cash import (
    ACCOUNT_PK,
    CASH_PK,
    add_cash,
    transfer_key,
    transfer_transaction,
    transfers_pk,
)
from alchemiser.ledger.lots import apply_fill, apply_fills, ensure_same_fill, fifo_key
from alchemiser.ledger.models import (
    AccountSnapshot,
    BookSnapshot,
    FillRecord,
    KillSwitch,
    Lot,
    OrderRecord,
    RunRecord,
    RunStatus,
    Transfer,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import (
        AttributeValueTypeDef,
        DeleteTypeDef,
        PutTypeDef,
        QueryInputTypeDef,
        TransactWriteItemTypeDef,
        UpdateTypeDef,
    )

Item = dict[str, "AttributeValueTypeDef"]

GSI1 = "gsi1"
BOOKS_GSI1PK = "BOOKS"
_KEY_ATTRS = frozenset({"pk", "sk", "gsi1pk", "gsi1sk", "ttl"})
_TRANSIENT_CODES = frozenset(
    {
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionConflictException",
    }
)
_TRANSIENT_REASONS = frozenset({"ThrottlingError", "ProvisionedThroughputExceeded"})
_CONDITION_FAILED = "ConditionalCheckFailed"
_RETRY_REASONS = frozenset({"None", _CONDITION_FAILED, "TransactionConflict"})
_LOT_FIELDS = {"lot_id", "opened_on", "qty", "cost_price"}
_deserializer = TypeDeserializer()


class DynamoDBLedger:
    """The ``Ledger`` port on the shared DynamoDB table.

    ``client`` may be passed in (tests, a shared session); otherwise one is created
    on first use. ``page_size`` caps every Query page (tests force many pages).
    """

    def __init__(
        self,
        table_name: str,
        client: DynamoDBClient | None = None,
        *,
        page_size: int | None = None,
        max_attempts: int = 5,
    ) -> None:
        if not table_name:
            raise ValueError("expected a DynamoDB table name, found an empty string")
        if page_size is not None and page_size < 1:
            raise ValueError(f"page size must be at least 1, was {page_size}")
        if max_attempts < 1:
            raise ValueError(f"max attempts must be at least 1, was {max_attempts}")
        self.table_name = table_name
        self._client = client
        self._client_lock = threading.Lock()
        self._page_size = page_size
        self._max_attempts = max_attempts

    # -- runs --------------------------------------------------------------------------

    def get_run(self, run_id: str) -> RunRecord | None:
        item = self._get(f"RUN#{run_id}", "META")
        return None if item is None else RunRecord.model_validate(_plain(item))

    def put_run(self, run: RunRecord) -> None:
        gsi = {"gsi1pk": f"STAGE#{run.stage}", "gsi1sk": f"{run.trading_date}#{run.run_id}"}
        self._put(_item(run, pk=f"RUN#{run.run_id}", sk="META", **gsi))

    def runs(self, stage: str) -> list[RunRecord]:
        items = self._query("gsi1pk = :pk", {":pk": f"STAGE#{stage}"}, index=GSI1)
        return [RunRecord.model_validate(_plain(item)) for item in items]

    def claim_run(self, run: RunRecord, expected_attempts: int) -> bool:
        """One PutItem conditioned on the stored attempts (or on there being no record)."""
        gsi = {"gsi1pk": f"STAGE#{run.stage}", "gsi1sk": f"{run.trading_date}#{run.run_id}"}
        item = _item(run, pk=f"RUN#{run.run_id}", sk="META", **gsi)
        if expected_attempts == 0:
            condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(pk)"}
        else:
            condition = {
                "ConditionExpression": "attempts = :attempts",
                "ExpressionAttributeValues": {":attempts": {"N": str(expected_attempts)}},
            }
        return self._conditional(
            "PutItem",
            lambda: self._db().put_item(TableName=self.table_name, Item=item, **condition),
        )

    def finish_run(
        self, run_id: str, execution_arn: str, status: RunStatus, message: str, at: datetime
    ) -> bool:
        """One UpdateItem conditioned on the record naming ``execution_arn``."""
        owner = "execution_arn = :arn"
        if not execution_arn:
            owner = f"(attribute_not_exists(execution_arn) OR {owner})"
        return self._conditional(
            "UpdateItem",
            lambda: self._db().update_item(
                TableName=self.table_name,
                Key={"pk": {"S": f"RUN#{run_id}"}, "sk": {"S": "META"}},
                UpdateExpression="SET #status = :status, message = :message, updated_at = :at",
                ConditionExpression=f"attribute_exists(pk) AND {owner}",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":status": {"S": status.value},
                    ":message": {"S": message},
                    ":at": {"S": at.isoformat()},
                    ":arn": {"S": execution_arn},
                },
            ),
        )

    # -- orders and fills ---------------------------------------------------------------

    def put_order(self, order: OrderRecord) -> None:
        self._put(_item(order, pk=f"RUN#{order.run_id}", sk=f"ORDER#{order.client_order_id}"))

    def get_order(self, run_id: str, client_order_id: str) -> OrderRecord | None:
        item = self._get(f"RUN#{run_id}", f"ORDER#{client_order_id}")
        return None if item is None else OrderRecord.model_validate(_plain(item))

    def orders(self, run_id: str) -> list[OrderRecord]:
        items = self._query_prefix(f"RUN#{run_id}", "ORDER#")
        return [OrderRecord.model_validate(_plain(item)) for item in items]

    def record_fills(self, fills: Sequence[FillRecord]) -> list[FillRecord]:
        """Record the fills not seen before, each in its own transaction with its lots and P&L.

        The whole batch is checked first (a fill id seen before must be the same fill,
        ``FillConflictError``; no sell may oversell, ``OversellError``), so a bad batch
        writes nothing. A fill another writer records meanwhile is skipped.
        """
        new = self._unseen(fills)
        self._check_batch(new)
        return [fill for fill in new if self._record_one(fill)]

    def fills(self, run_id: str) -> list[FillRecord]:
        items = self._query_prefix(f"RUN#{run_id}", "FILL#")
        return [FillRecord.model_validate(_plain(item)) for item in items]

    # -- books ----------------------------------------------------------------------------

    def open_lots(self, book_id: str) -> list[Lot]:
        items = self._query_prefix(f"BOOK#{book_id}", "LOTS#")
        return sorted((lot for item in items for lot in _lots_of(item)), key=fifo_key)

    def realised_pnl(self, book_id: str) -> Decimal:
        item = self._get(f"BOOK#{book_id}", "PNL")
        return Decimal(0) if item is None else _number(item["realised"])

    def book_ids(self) -> list[str]:
        items = self._query("gsi1pk = :pk", {":pk": BOOKS_GSI1PK}, index=GSI1)
        return [str(_plain(item)["book_id"]) for item in items]

    def put_snapshot(self, snapshot: BookSnapshot) -> None:
        """Store the book's snapshot for the day (replacing one from an earlier attempt)."""
        item = _item(snapshot, pk=f"BOOK#{snapshot.book_id}", sk=f"SNAP#{snapshot.trading_date}")
        with _translated("UpdateItem", self.table_name):
            self._db().update_item(**_add_realised(self.table_name, snapshot.book_id, Decimal(0)))
        self._put(item)

    def latest_snapshot(self, book_id: str, on_or_before: date) -> BookSnapshot | None:
        items = self._query(
            "pk = :pk AND sk BETWEEN :low AND :high",
            {":pk": f"BOOK#{book_id}", ":low": "SNAP#", ":high": f"SNAP#{on_or_before}"},
            forward=False,
            first_only=True,
        )
        return BookSnapshot.model_validate(_plain(items[0])) if items else None

    def snapshots(self, book_id: str) -> list[BookSnapshot]:
        items = self._query_prefix(f"BOOK#{book_id}", "SNAP#")
        return [BookSnapshot.model_validate(_plain(item)) for item in items]

    # -- cash (alchemiser.ledger.dynamodb_cash) -------------------------------------------

    def record_transfers(self, transfers: Sequence[Transfer]) -> list[Transfer]:
        """Record each transfer not seen before in its own transaction with both accounts."""
        recorded: list[Transfer] = []
        for transfer in transfers:
            pk, sk = transfer_key(transfer.transfer_id)
            gsi = {"gsi1pk": transfers_pk(transfer.trading_date), "gsi1sk": transfer.transfer_id}
            item = _item(transfer, pk=pk, sk=sk, **gsi)
            writes = transfer_transaction(self.table_name, transfer, item)
            writes += [
                {"Update": _add_realised(self.table_name, account, Decimal(0))}
                for account in (transfer.source, transfer.destination)
                if not account.startswith("_")  # a book: registered in gsi1 like by a fill
            ]
            reasons = self._transact(writes)
            if reasons is None:
                recorded.append(transfer)
                continue
            stored = self._get(pk, sk)
            if stored is None:  # a conflicting transaction, not a record: let the step retry
                raise TransientError(
                    f"recording transfer {transfer.transfer_id!r} conflicted ({reasons}); retry"
                )
            if not Transfer.model_validate(_plain(stored)).same_move(transfer):
                raise ValueError(
                    f"transfer {transfer.transfer_id} was recorded differently: {_plain(stored)}"
                )
        return recorded

    def transfers_on(self, day: date) -> list[Transfer]:
        items = self._query("gsi1pk = :pk", {":pk": transfers_pk(day)}, index=GSI1)
        return [Transfer.model_validate(_plain(item)) for item in items]

    def cash_accounts(self) -> dict[str, Decimal]:
        items = self._query("pk = :pk", {":pk": CASH_PK})
        return {str(_plain(i)["account"]): _number(i["amount"]) for i in items}

    def put_account_snapshot(self, snapshot: AccountSnapshot) -> None:
        self._put(_item(snapshot, pk=ACCOUNT_PK, sk=f"SNAP#{snapshot.trading_date}"))

    def account_snapshots(self) -> list[AccountSnapshot]:
        items = self._query_prefix(ACCOUNT_PK, "SNAP#")
        return [AccountSnapshot.model_validate(_plain(item)) for item in items]

    # -- control --------------------------------------------------------------------------

    def kill_switch(self) -> KillSwitch | None:
        item = self._get("CONTROL", "KILLSWITCH")
        return None if item is None else KillSwitch.model_validate(_plain(item))

    def set_kill_switch(self, switch: KillSwitch) -> None:
        self._put(_item(switch, pk="CONTROL", sk="KILLSWITCH"))

    # -- fills, one transaction each ----------------------------------------------------

    def _unseen(self, fills: Sequence[FillRecord]) -> list[FillRecord]:
        new: dict[tuple[str, str], FillRecord] = {}
        for fill in fills:
            key = (fill.run_id, fill.fill_id)
            seen = new.get(key) or self._recorded_fill(fill)
            if seen is None:
                new[key] = fill
            else:
                ensure_same_fill(seen, fill)
        return list(new.values())

    def _recorded_fill(self, fill: FillRecord) -> FillRecord | None:
        item = self._get(f"RUN#{fill.run_id}", f"FILL#{fill.fill_id}")
        return None if item is None else FillRecord.model_validate(_plain(item))

    def _check_batch(self, fills: Sequence[FillRecord]) -> None:
        """Replay the batch on the current lots in memory: raise before anything is written."""
        positions = {(f.book_id, f.symbol) for f in fills}
        lots = [lot for book, symbol in positions for lot in self._position(book, symbol)[0]]
        apply_fills(lots, fills)

    def _record_one(self, fill: FillRecord) -> bool:
        for _ in range(self._max_attempts):
            lots, version = self._position(fill.book_id, fill.symbol)
            after, realised = apply_fill(lots, fill)
            reasons = self._transact(
                _fill_transaction(self.table_name, fill, version, after, realised)
            )
            if reasons is None:
                return True
            if reasons[0] == _CONDITION_FAILED:  # recorded meanwhile (a retry, a concurrent run)
                recorded = self._recorded_fill(fill)
                if recorded is not None:
                    ensure_same_fill(recorded, fill)
                return False
            # the lots changed since they were read, or another transaction held them: re-read
        raise TransientError(
            f"the lots of book {fill.book_id!r} in {fill.symbol} changed under each of "
            f"{self._max_attempts} attempts to record fill {fill.fill_id!r}; retry the step"
        )

    def _position(self, book_id: str, symbol: str) -> tuple[list[Lot], int | None]:
        item = self._get(f"BOOK#{book_id}", f"LOTS#{symbol}")
        if item is None:
            return [], None
        return _lots_of(item), int(_number(item["version"]))

    def _transact(self, items: list[TransactWriteItemTypeDef]) -> list[str] | None:
        """Run a transaction; return None on success, else why each item cancelled it.

        Throttling raises ``TransientError``; a cancellation for any reason other than a
        failed condition or a conflicting transaction propagates as the ``ClientError``.
        """
        with _translated("TransactWriteItems", self.table_name):
            try:
                self._db().transact_write_items(TransactItems=items)
            except ClientError as error:
                if _code(error) != "TransactionCanceledException":
                    raise
                reasons = [
                    str(reason.get("Code", "None"))
                    for reason in error.response.get("CancellationReasons", [])
                ]
                if set(reasons) & _TRANSIENT_REASONS:
                    raise TransientError(
                        f"DynamoDB TransactWriteItems on table {self.table_name!r} was cancelled "
                        f"transiently ({reasons}); retry the step"
                    ) from error
                if set(reasons) - _RETRY_REASONS or len(reasons) != len(items):
                    raise
                return reasons
        return None

    # -- low-level calls ------------------------------------------------------------------

    def _conditional(self, operation: str, call: Callable[[], object]) -> bool:
        """Run a conditional write; return False when its condition did not hold."""
        with _translated(operation, self.table_name):
            try:
                call()
            except ClientError as error:
                if _code(error) == "ConditionalCheckFailedException":
                    return False
                raise
        return True

    def _db(self) -> DynamoDBClient:
        with self._client_lock:
            if self._client is None:
                self._client = boto3.session.Session().client("dynamodb")
            return self._client

    def _get(self, pk: str, sk: str) -> Item | None:
        with _translated("GetItem", self.table_name):
            response = self._db().get_item(
                TableName=self.table_name,
                Key={"pk": {"S": pk}, "sk": {"S": sk}},
                ConsistentRead=True,
            )
        return response.get("Item")

    def _put(self, item: Item) -> None:
        with _translated("PutItem", self.table_name):
            self._db().put_item(TableName=self.table_name, Item=item)

    def _query_prefix(self, pk: str, prefix: str) -> list[Item]:
        return self._query("pk = :pk AND begins_with(sk, :prefix)", {":pk": pk, ":prefix": prefix})

    def _query(
        self,
        condition: str,
        values: Mapping[str, str],
        *,
        index: str | None = None,
        forward: bool = True,
        first_only: bool = False,
    ) -> list[Item]:
        """Query every page (following ``LastEvaluatedKey``), or until the first item."""
        request: QueryInputTypeDef = {
            "TableName": self.table_name,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": {name: {"S": value} for name, value in values.items()},
            "ScanIndexForward": forward,
        }
        if index is None:
            request["ConsistentRead"] = True
        else:
            request["IndexName"] = index
        if self._page_size is not None:
            request["Limit"] = self._page_size
        items: list[Item] = []
        while True:
            with _translated("Query", self.table_name):
                page = self._db().query(**request)
            items.extend(page.get("Items", []))
            last_key = page.get("LastEvaluatedKey")
            if last_key is None or (first_only and items):
                return items
            request["ExclusiveStartKey"] = last_key


def _fill_transaction(
    table: str, fill: FillRecord, version: int | None, lots: Sequence[Lot], realised: Decimal
) -> list[TransactWriteItemTypeDef]:
    """Put the fill (once ever), replace the symbol's lots (if unchanged since read), add P&L."""
    fill_put: PutTypeDef = {
        "TableName": table,
        "Item": _item(fill, pk=f"RUN#{fill.run_id}", sk=f"FILL#{fill.fill_id}"),
        "ConditionExpression": "attribute_not_exists(pk)",
    }
    items: list[TransactWriteItemTypeDef] = [
        {"Put": fill_put},
        _lots_write(table, fill, version, lots),
        {"Update": _add_realised(table, fill.book_id, realised)},
    ]
    if fill.cash is not None:
        items.append({"Update": add_cash(table, fill.book_id, fill.cash)})
    return items


def _lots_write(
    table: str, fill: FillRecord, version: int | None, lots: Sequence[Lot]
) -> TransactWriteItemTypeDef:
    """Replace (or delete, once empty) the item of the fill's book and symbol, if unchanged since read."""
    key: Item = {"pk": {"S": f"BOOK#{fill.book_id}"}, "sk": {"S": f"LOTS#{fill.symbol}"}}
    condition = "attribute_not_exists(pk)" if version is None else "version = :version"
    values: Item = {} if version is None else {":version": {"N": str(version)}}
    held = [lot for lot in lots if lot.book_id == fill.book_id and lot.symbol == fill.symbol]
    if not held:
        delete: DeleteTypeDef = {"TableName": table, "Key": key, "ConditionExpression": condition}
        if values:
            delete["ExpressionAttributeValues"] = values
        return {"Delete": delete}
    attributes = {
        "book_id": fill.book_id,
        "symbol": fill.symbol,
        "version": (version or 0) + 1,
        "lots": [lot.model_dump(include=_LOT_FIELDS) for lot in held],
    }
    put: PutTypeDef = {
        "TableName": table,
        "Item": {**key, **_serialize(attributes)},
        "ConditionExpression": condition,
    }
    if values:
        put["ExpressionAttributeValues"] = values
    return {"Put": put}


def _add_realised(table: str, book_id: str, realised: Decimal) -> UpdateTypeDef:
    """Add to the book's realised P&L and register the book in gsi1 (``BOOKS``)."""
    return {
        "TableName": table,
        "Key": {"pk": {"S": f"BOOK#{book_id}"}, "sk": {"S": "PNL"}},
        "UpdateExpression": "SET book_id = :book, gsi1pk = :books, gsi1sk = :book ADD realised :r",
        "ExpressionAttributeValues": {
            ":book": {"S": book_id},
            ":books": {"S": BOOKS_GSI1PK},
            ":r": _attribute(realised),
        },
    }


def _lots_of(item: Item) -> list[Lot]:
    data = _plain(item)
    return [Lot(book_id=data["book_id"], symbol=data["symbol"], **lot) for lot in data["lots"]]


def _item(model: BaseModel, **keys: str) -> Item:
    return _serialize({**model.model_dump(), **keys})


def _serialize(data: Mapping[str, Any]) -> Item:
    return {name: _attribute(value) for name, value in data.items()}


def _plain(item: Item) -> dict[str, Any]:
    """Deserialize an item's attributes, leaving out the table's key attributes."""
    return {
        name: _deserializer.deserialize(value)
        for name, value in item.items()
        if name not in _KEY_ATTRS
    }


def _attribute(value: Any) -> AttributeValueTypeDef:
    """Encode a model-dump value: numbers as exact positional N, dates as ISO text, no floats."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, Decimal | int):
        if isinstance(value, Decimal) and not value.is_finite():
            raise ValueError(f"expected a finite number to store, found {value}")
        return {"N": format(value, "f") if isinstance(value, Decimal) else str(value)}
    if isinstance(value, Enum):
        return {"S": str(value.value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, datetime | date):
        return {"S": value.isoformat()}
    if isinstance(value, Mapping):
        return {"M": {str(key): _attribute(inner) for key, inner in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [_attribute(inner) for inner in value]}
    raise TypeError(f"expected a Decimal, int, str, date, enum, list or mapping, found {value!r}")


def _number(value: AttributeValueTypeDef) -> Decimal:
    return Decimal(str(_deserializer.deserialize(value)))


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


@contextmanager
def _translated(operation: str, table: str) -> Iterator[None]:
    """Turn throttling, 5xx and connection failures into ``TransientError``; let the rest through."""
    try:
        yield
    except ClientError as error:
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
        if _code(error) in _TRANSIENT_CODES or status >= 500:
            raise TransientError(
                f"DynamoDB {operation} on table {table!r} failed transiently "
                f"({_code(error)}, HTTP {status}); retry the step"
            ) from error
        raise
    except (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError) as error:
        raise TransientError(
            f"DynamoDB {operation} on table {table!r} could not be reached ({error}); retry the step"
        ) from error
