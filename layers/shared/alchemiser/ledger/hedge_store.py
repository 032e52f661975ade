"""The ledger's ``hedge`` book: its state, order journal, IV history, NAV history and switch.

Two documents, each read and written whole (the hedge step is the only writer, once
per run, and PlanCycle's claim lets one execution run a day):

* the **book** (``HedgeBookRecord``): the open hedges and every open/roll/close/expiry
  event with its cash (``HedgeBookState``: premium month to date and over 12 months are
  read from it by the caps), the order journal (``pending``: intents of orders sent but
  not yet reflected in the state, see ``hedge.journal``), the daily ATM IV per
  underlying (the IV regime reads it) and a daily snapshot (NAV, premium, P&L);
* the **switch** (``HedgeSwitch``): the hedge kill switch and the recent failures that
  trip it.

SQLite: table ``hedge_docs`` (name, body) in the ledger file, created on first use
beside the ledger's own tables. DynamoDB: items ``pk = HEDGE``, ``sk = BOOK`` /
``SWITCH`` in the ledger table with the JSON in ``body`` (strongly consistent reads).
DynamoDB items hold at most 400 KB: the IV history keeps ``IV_DAYS_KEPT`` days per
underlying and the snapshots ``SNAPSHOTS_KEPT`` days; events (a few a month) stay.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from pydantic import BaseModel, ConfigDict

from alchemiser.errors import TransientError
from alchemiser.hedge.book import HedgeBookState
from alchemiser.hedge.journal import OrderIntent
from alchemiser.sqlite_db import connect, enable_wal, execute_waiting, transaction

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

IV_DAYS_KEPT = 400  # more than the regime's 252-day lookback
SNAPSHOTS_KEPT = 800  # about three years of daily snapshots
MAX_DOCUMENT_BYTES = 350_000  # under DynamoDB's 400 KB item limit, with the keys


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class HedgeSnapshot(_Frozen):
    """The hedge book at the end of one run (dollars)."""

    day: date
    nav: Decimal  # market value of the held hedges (at mid)
    premium_month: Decimal
    premium_year: Decimal
    realised: Decimal  # closed and expired hedges: proceeds less premium
    unrealised: Decimal  # open hedges: value plus their cash so far (premium paid, part-closes)


class HedgeBookRecord(_Frozen):
    state: HedgeBookState = HedgeBookState()
    pending: tuple[OrderIntent, ...] = ()
    iv: dict[str, dict[date, float]] = {}
    snapshots: tuple[HedgeSnapshot, ...] = ()

    def trimmed(self) -> HedgeBookRecord:
        """Return the record with the IV history and snapshots cut to what is kept."""
        iv = {u: dict(sorted(days.items())[-IV_DAYS_KEPT:]) for u, days in self.iv.items()}
        return self.model_copy(update={"iv": iv, "snapshots": self.snapshots[-SNAPSHOTS_KEPT:]})


class HedgeFailure(_Frozen):
    at: datetime
    run_id: str
    reason: str


class HedgeSwitch(_Frozen):
    """The hedge kill switch: on, no option order goes out (the equity books still trade)."""

    enabled: bool = False
    reason: str = ""
    updated_at: datetime | None = None
    updated_by: str = ""
    failures: tuple[HedgeFailure, ...] = ()


class HedgeStore(Protocol):
    def load_book(self) -> HedgeBookRecord: ...

    def save_book(self, book: HedgeBookRecord) -> None: ...

    def hedge_switch(self) -> HedgeSwitch: ...

    def save_hedge_switch(self, switch: HedgeSwitch) -> None: ...


_BOOK, _SWITCH = "BOOK", "SWITCH"


def _body(model: BaseModel, what: str) -> str:
    body = model.model_dump_json()
    if len(body.encode()) > MAX_DOCUMENT_BYTES:
        raise ValueError(
            f"the hedge {what} document is {len(body.encode())} bytes, over the "
            f"{MAX_DOCUMENT_BYTES} a ledger item may hold"
        )
    return body


class _DocumentStore:
    """The hedge store's two documents over a backend's ``_get``/``_put`` of one body by name."""

    def _get(self, name: str) -> str | None:
        raise NotImplementedError

    def _put(self, name: str, body: str) -> None:
        raise NotImplementedError

    def load_book(self) -> HedgeBookRecord:
        body = self._get(_BOOK)
        return HedgeBookRecord() if body is None else HedgeBookRecord.model_validate_json(body)

    def save_book(self, book: HedgeBookRecord) -> None:
        self._put(_BOOK, _body(book.trimmed(), "book"))

    def hedge_switch(self) -> HedgeSwitch:
        body = self._get(_SWITCH)
        return HedgeSwitch() if body is None else HedgeSwitch.model_validate_json(body)

    def save_hedge_switch(self, switch: HedgeSwitch) -> None:
        self._put(_SWITCH, _body(switch, "switch"))


class SQLiteHedgeStore(_DocumentStore):
    """``HedgeStore`` in the local ledger file (its own table)."""

    def __init__(self, path: Path | str, *, busy_timeout_s: float = 30.0) -> None:
        self.path = Path(path)
        self._busy_timeout_s = busy_timeout_s
        self._what = f"SQLite hedge store {self.path}"
        self._lock = threading.Lock()
        self._ready = False

    def _get(self, name: str) -> str | None:
        with self._connection() as conn:
            row = conn.execute("SELECT body FROM hedge_docs WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    def _put(self, name: str, body: str) -> None:
        with self._connection() as conn, transaction(conn, self._what):
            conn.execute(
                "INSERT OR REPLACE INTO hedge_docs (name, body) VALUES (?, ?)", (name, body)
            )

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if not self._ready:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with closing(connect(self.path, self._busy_timeout_s)) as conn:
                    enable_wal(conn, self._what, self._busy_timeout_s)
                    execute_waiting(
                        conn,
                        "CREATE TABLE IF NOT EXISTS hedge_docs "
                        "(name TEXT PRIMARY KEY, body TEXT NOT NULL)",
                        self._what,
                    )
                self._ready = True
        with closing(connect(self.path, self._busy_timeout_s)) as conn:
            yield conn


_TRANSIENT_CODES = frozenset(
    {
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
    }
)


class DynamoDBHedgeStore(_DocumentStore):
    """``HedgeStore`` in the ledger's DynamoDB table (partition ``HEDGE``)."""

    def __init__(self, table_name: str, client: DynamoDBClient) -> None:
        self.table_name = table_name
        self._client = client

    def _get(self, name: str) -> str | None:
        with self._translated("GetItem"):
            response = self._client.get_item(
                TableName=self.table_name,
                Key={"pk": {"S": "HEDGE"}, "sk": {"S": name}},
                ConsistentRead=True,
            )
        item = response.get("Item")
        return None if item is None else item["body"]["S"]

    def _put(self, name: str, body: str) -> None:
        with self._translated("PutItem"):
            self._client.put_item(
                TableName=self.table_name,
                Item={"pk": {"S": "HEDGE"}, "sk": {"S": name}, "body": {"S": body}},
            )

    @contextmanager
    def _translated(self, operation: str) -> Iterator[None]:
        """Turn throttling and service errors into TransientError (the step is retried)."""
        try:
            yield
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            if code in _TRANSIENT_CODES:
                raise TransientError(
                    f"DynamoDB {operation} on {self.table_name!r} (hedge book): {code}"
                ) from error
            raise
        except (ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError) as error:
            raise TransientError(
                f"DynamoDB {operation} on {self.table_name!r} (hedge book) failed: {error}"
            ) from error
