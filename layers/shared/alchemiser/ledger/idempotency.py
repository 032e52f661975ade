"""Where Powertools Idempotency keeps its records: the ledger table on AWS, SQLite locally.

``dynamodb_persistence_layer`` configures Powertools' own DynamoDB layer for the shared
ledger table: every record sits under ``pk = "IDEMPOTENCY"`` with the hashed key as
``sk`` and expires through the table's TTL attribute ``ttl``. ``SQLitePersistenceLayer``
gives the local runner the same semantics (an in-progress record blocks a concurrent
duplicate, a completed one replays its stored result) and is safe across threads: a
connection per call, WAL mode, a bounded busy timeout, and the put-if-absent check and
write in one ``BEGIN IMMEDIATE`` transaction.

Create either layer inside the handler (or lazily), never at import time, and give
each decorated function its own layer instance: Powertools stores the function name
on the layer when it is configured.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from aws_lambda_powertools.utilities.idempotency import (
    BasePersistenceLayer,
    DynamoDBPersistenceLayer,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemAlreadyExistsError,
    IdempotencyItemNotFoundError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import (
    STATUS_CONSTANTS,
    DataRecord,
)

from alchemiser.sqlite_db import connect, enable_wal, execute_waiting, transaction

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

IDEMPOTENCY_PK = "IDEMPOTENCY"
TTL_ATTRIBUTE = "ttl"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS idempotency (
    idempotency_key TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    expiry INTEGER,
    in_progress_expiry INTEGER,
    response_data TEXT NOT NULL DEFAULT '',
    payload_hash TEXT NOT NULL DEFAULT ''
);
"""


def dynamodb_persistence_layer(
    table_name: str, client: DynamoDBClient | None = None
) -> DynamoDBPersistenceLayer:
    """Return Powertools' DynamoDB layer keyed into the shared ledger table (pk/sk, TTL ``ttl``)."""
    if not table_name:
        raise ValueError("expected the ledger table name for idempotency records, found ''")
    return DynamoDBPersistenceLayer(
        table_name=table_name,
        key_attr="pk",
        sort_key_attr="sk",
        static_pk_value=IDEMPOTENCY_PK,
        expiry_attr=TTL_ATTRIBUTE,
        boto3_client=client,
    )


class SQLitePersistenceLayer(BasePersistenceLayer):
    """Powertools idempotency records in a local SQLite file (created on first use)."""

    def __init__(self, path: Path | str, *, busy_timeout_s: float = 30.0) -> None:
        if busy_timeout_s <= 0:
            raise ValueError(f"busy timeout must be positive seconds, was {busy_timeout_s}")
        super().__init__()  # type: ignore[no-untyped-call]
        self.path = Path(path)
        self._busy_timeout_s = busy_timeout_s
        self._what = f"idempotency store {self.path}"
        self._schema_lock = threading.Lock()
        self._schema_ready = False

    def _get_record(self, idempotency_key: str) -> DataRecord:
        with self._connection() as conn:
            record = _select(conn, idempotency_key)
        if record is None:
            raise IdempotencyItemNotFoundError(f"no idempotency record for key {idempotency_key!r}")
        return record

    def _put_record(self, data_record: DataRecord) -> None:
        """Insert the record unless a live one exists (not expired, or in progress and not timed out)."""
        with self._transaction() as conn:
            existing = _select(conn, data_record.idempotency_key)
            if existing is not None and _is_live(existing):
                self._validate_payload(data_payload=data_record, stored_data_record=existing)
                raise IdempotencyItemAlreadyExistsError(
                    f"idempotency key {data_record.idempotency_key!r} is already {existing.status}",
                    old_data_record=existing,
                )
            conn.execute(
                "INSERT OR REPLACE INTO idempotency (idempotency_key, status, expiry, "
                "in_progress_expiry, response_data, payload_hash) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    data_record.idempotency_key,
                    data_record.status,
                    data_record.expiry_timestamp,
                    data_record.in_progress_expiry_timestamp,
                    data_record.response_data or "",
                    data_record.payload_hash or "",
                ),
            )

    def _update_record(self, data_record: DataRecord) -> None:
        with self._transaction() as conn:
            conn.execute(
                "UPDATE idempotency SET status = ?, expiry = ?, response_data = ?, payload_hash = ? "
                "WHERE idempotency_key = ?",
                (
                    data_record.status,
                    data_record.expiry_timestamp,
                    data_record.response_data or "",
                    data_record.payload_hash or "",
                    data_record.idempotency_key,
                ),
            )

    def _delete_record(self, data_record: DataRecord) -> None:
        with self._transaction() as conn:
            conn.execute(
                "DELETE FROM idempotency WHERE idempotency_key = ?", (data_record.idempotency_key,)
            )

    def expire_in_progress(self) -> list[str]:
        """Delete every IN PROGRESS record and return their keys.

        Only for a store no live process is using: the local runner calls it while it
        holds its home's lock, when such records can only be a dead process's.
        """
        in_progress = STATUS_CONSTANTS["INPROGRESS"]
        with self._transaction() as conn:
            keys = [
                str(key)
                for (key,) in conn.execute(
                    "SELECT idempotency_key FROM idempotency WHERE status = ?", (in_progress,)
                ).fetchall()
            ]
            conn.execute("DELETE FROM idempotency WHERE status = ?", (in_progress,))
        return keys

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._connection() as conn, transaction(conn, self._what):
            yield conn

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        with self._schema_lock:
            if not self._schema_ready:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with closing(connect(self.path, self._busy_timeout_s)) as conn:
                    enable_wal(conn, self._what, self._busy_timeout_s)
                    execute_waiting(conn, _SCHEMA, self._what)
                self._schema_ready = True
        with closing(connect(self.path, self._busy_timeout_s)) as conn:
            yield conn


def _select(conn: sqlite3.Connection, idempotency_key: str) -> DataRecord | None:
    row = conn.execute(
        "SELECT status, expiry, in_progress_expiry, response_data, payload_hash "
        "FROM idempotency WHERE idempotency_key = ?",
        (idempotency_key,),
    ).fetchone()
    if row is None:
        return None
    status, expiry, in_progress_expiry, response_data, payload_hash = row
    return DataRecord(
        idempotency_key=idempotency_key,
        status=status,
        expiry_timestamp=expiry,
        in_progress_expiry_timestamp=in_progress_expiry,
        response_data=response_data,
        payload_hash=payload_hash,
    )


def _is_live(record: DataRecord) -> bool:
    """Mirror Powertools' DynamoDB put condition: expired or timed-out in-progress records yield."""
    if record.is_expired:
        return False
    in_progress_expiry = record.in_progress_expiry_timestamp
    timed_out = in_progress_expiry is not None and in_progress_expiry < int(time.time() * 1000)
    return not (record.status == STATUS_CONSTANTS["INPROGRESS"] and timed_out)
