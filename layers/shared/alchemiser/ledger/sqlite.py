"""The embedded ledger: one SQLite file, safe to share between threads and processes.

Every call opens its own connection (a ``sqlite3`` connection is never shared across
threads), the database runs in WAL mode, and a busy timeout bounds every wait for
the write lock; a lock still held when it expires surfaces as ``TransientError``.
Records are stored as their pydantic JSON (Decimals as exact text); lots as rows
whose quantities and prices are TEXT columns. Listing order matches the DynamoDB
adapter: runs by (trading_date, run_id), orders by client_order_id, fills by fill_id,
open lots by (symbol, opened_on, lot_id), book ids alphabetically.

Schema version 2 adds the books' own cash (``cash``: one row per account, the pool
included), the ``transfers`` between them and the ``account_snapshots``. A version 1
file (made before books kept their own cash) is upgraded in place on first use: the
new tables are created, nothing else changes; the cycle then opens each book's cash
(``alchemiser.books.opening``).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from alchemiser.errors import ConfigurationError
from alchemiser.ledger.lots import apply_fill, ensure_same_fill, fifo_key
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
from alchemiser.ledger.sqlite_cash import CASH_SCHEMA, add_cash, record_transfers
from alchemiser.sqlite_db import connect, enable_wal, execute_waiting, transaction

SCHEMA_VERSION = 2
_UPGRADABLE = (0, 1, SCHEMA_VERSION)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, stage TEXT NOT NULL, trading_date TEXT NOT NULL, body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_by_stage ON runs (stage, trading_date, run_id);
CREATE TABLE IF NOT EXISTS orders (
    run_id TEXT NOT NULL, client_order_id TEXT NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (run_id, client_order_id)
);
CREATE TABLE IF NOT EXISTS fills (
    run_id TEXT NOT NULL, fill_id TEXT NOT NULL, book_id TEXT NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (run_id, fill_id)
);
CREATE TABLE IF NOT EXISTS lots (
    book_id TEXT NOT NULL, symbol TEXT NOT NULL, lot_id TEXT NOT NULL, opened_on TEXT NOT NULL,
    qty TEXT NOT NULL, cost_price TEXT NOT NULL,
    PRIMARY KEY (book_id, lot_id)
);
CREATE INDEX IF NOT EXISTS lots_by_symbol ON lots (book_id, symbol, opened_on, lot_id);
CREATE TABLE IF NOT EXISTS books (book_id TEXT PRIMARY KEY, realised TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS snapshots (
    book_id TEXT NOT NULL, trading_date TEXT NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (book_id, trading_date)
);
CREATE TABLE IF NOT EXISTS control (name TEXT PRIMARY KEY, body TEXT NOT NULL);
"""


class SQLiteLedger:
    """The ``Ledger`` port on a local SQLite file (created, with its schema, on first use)."""

    def __init__(self, path: Path | str, *, busy_timeout_s: float = 30.0) -> None:
        if busy_timeout_s <= 0:
            raise ValueError(f"busy timeout must be positive seconds, was {busy_timeout_s}")
        self.path = Path(path)
        self._busy_timeout_s = busy_timeout_s
        self._what = f"SQLite ledger {self.path}"
        self._schema_lock = threading.Lock()
        self._schema_ready = False

    # -- runs --------------------------------------------------------------------------

    def get_run(self, run_id: str) -> RunRecord | None:
        body = self._one("SELECT body FROM runs WHERE run_id = ?", (run_id,))
        return None if body is None else RunRecord.model_validate_json(body)

    def put_run(self, run: RunRecord) -> None:
        self._write(
            "INSERT OR REPLACE INTO runs (run_id, stage, trading_date, body) VALUES (?, ?, ?, ?)",
            (run.run_id, run.stage, run.trading_date.isoformat(), run.model_dump_json()),
        )

    def runs(self, stage: str) -> list[RunRecord]:
        rows = self._all(
            "SELECT body FROM runs WHERE stage = ? ORDER BY trading_date, run_id", (stage,)
        )
        return [RunRecord.model_validate_json(body) for (body,) in rows]

    def claim_run(self, run: RunRecord, expected_attempts: int) -> bool:
        """Compare the stored attempts and write, inside one write transaction."""
        with self._transaction() as conn:
            row = conn.execute("SELECT body FROM runs WHERE run_id = ?", (run.run_id,)).fetchone()
            stored = 0 if row is None else RunRecord.model_validate_json(row[0]).attempts
            if stored != expected_attempts:
                return False
            _replace_run(conn, run)
        return True

    def finish_run(
        self, run_id: str, execution_arn: str, status: RunStatus, message: str, at: datetime
    ) -> bool:
        with self._transaction() as conn:
            row = conn.execute("SELECT body FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            if row is None:
                return False
            run = RunRecord.model_validate_json(row[0])
            if run.execution_arn != execution_arn:
                return False
            _replace_run(
                conn,
                run.model_copy(update={"status": status, "message": message, "updated_at": at}),
            )
        return True

    # -- orders and fills ---------------------------------------------------------------

    def put_order(self, order: OrderRecord) -> None:
        self._write(
            "INSERT OR REPLACE INTO orders (run_id, client_order_id, body) VALUES (?, ?, ?)",
            (order.run_id, order.client_order_id, order.model_dump_json()),
        )

    def get_order(self, run_id: str, client_order_id: str) -> OrderRecord | None:
        body = self._one(
            "SELECT body FROM orders WHERE run_id = ? AND client_order_id = ?",
            (run_id, client_order_id),
        )
        return None if body is None else OrderRecord.model_validate_json(body)

    def orders(self, run_id: str) -> list[OrderRecord]:
        rows = self._all(
            "SELECT body FROM orders WHERE run_id = ? ORDER BY client_order_id", (run_id,)
        )
        return [OrderRecord.model_validate_json(body) for (body,) in rows]

    def record_fills(self, fills: Sequence[FillRecord]) -> list[FillRecord]:
        """Record the fills not seen before and apply them to lots and P&L, all in one transaction.

        A fill id seen before is skipped if it is the same fill and rejected
        (``FillConflictError``) if it is not; an oversell (``OversellError``) rolls
        the whole call back, so nothing of it is recorded.
        """
        recorded: list[FillRecord] = []
        with self._transaction() as conn:
            for fill in fills:
                row = conn.execute(
                    "SELECT body FROM fills WHERE run_id = ? AND fill_id = ?",
                    (fill.run_id, fill.fill_id),
                ).fetchone()
                if row is not None:
                    ensure_same_fill(FillRecord.model_validate_json(row[0]), fill)
                    continue
                self._apply(conn, fill)
                recorded.append(fill)
        return recorded

    def fills(self, run_id: str) -> list[FillRecord]:
        rows = self._all("SELECT body FROM fills WHERE run_id = ? ORDER BY fill_id", (run_id,))
        return [FillRecord.model_validate_json(body) for (body,) in rows]

    # -- books ----------------------------------------------------------------------------

    def open_lots(self, book_id: str) -> list[Lot]:
        with self._connection() as conn:
            return _lots(conn, book_id, symbol=None)

    def realised_pnl(self, book_id: str) -> Decimal:
        text = self._one("SELECT realised FROM books WHERE book_id = ?", (book_id,))
        return Decimal(0) if text is None else Decimal(text)

    def book_ids(self) -> list[str]:
        return [book_id for (book_id,) in self._all("SELECT book_id FROM books ORDER BY book_id")]

    def put_snapshot(self, snapshot: BookSnapshot) -> None:
        with self._transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO snapshots (book_id, trading_date, body) VALUES (?, ?, ?)",
                (snapshot.book_id, snapshot.trading_date.isoformat(), snapshot.model_dump_json()),
            )
            conn.execute(
                "INSERT OR IGNORE INTO books (book_id, realised) VALUES (?, '0')",
                (snapshot.book_id,),
            )

    def latest_snapshot(self, book_id: str, on_or_before: date) -> BookSnapshot | None:
        body = self._one(
            "SELECT body FROM snapshots WHERE book_id = ? AND trading_date <= ? "
            "ORDER BY trading_date DESC LIMIT 1",
            (book_id, on_or_before.isoformat()),
        )
        return None if body is None else BookSnapshot.model_validate_json(body)

    def snapshots(self, book_id: str) -> list[BookSnapshot]:
        rows = self._all(
            "SELECT body FROM snapshots WHERE book_id = ? ORDER BY trading_date", (book_id,)
        )
        return [BookSnapshot.model_validate_json(body) for (body,) in rows]

    # -- cash -----------------------------------------------------------------------------

    def record_transfers(self, transfers: Sequence[Transfer]) -> list[Transfer]:
        """Record the transfers not seen before and move their cash, all in one transaction."""
        with self._transaction() as conn:
            return record_transfers(conn, transfers)

    def transfers_on(self, day: date) -> list[Transfer]:
        rows = self._all(
            "SELECT body FROM transfers WHERE trading_date = ? ORDER BY transfer_id",
            (day.isoformat(),),
        )
        return [Transfer.model_validate_json(body) for (body,) in rows]

    def cash_accounts(self) -> dict[str, Decimal]:
        return {
            account: Decimal(amount)
            for account, amount in self._all("SELECT account, amount FROM cash ORDER BY account")
        }

    def put_account_snapshot(self, snapshot: AccountSnapshot) -> None:
        self._write(
            "INSERT OR REPLACE INTO account_snapshots (trading_date, body) VALUES (?, ?)",
            (snapshot.trading_date.isoformat(), snapshot.model_dump_json()),
        )

    def account_snapshots(self) -> list[AccountSnapshot]:
        rows = self._all("SELECT body FROM account_snapshots ORDER BY trading_date")
        return [AccountSnapshot.model_validate_json(body) for (body,) in rows]

    # -- control --------------------------------------------------------------------------

    def kill_switch(self) -> KillSwitch | None:
        body = self._one("SELECT body FROM control WHERE name = 'kill_switch'", ())
        return None if body is None else KillSwitch.model_validate_json(body)

    def set_kill_switch(self, switch: KillSwitch) -> None:
        self._write(
            "INSERT OR REPLACE INTO control (name, body) VALUES ('kill_switch', ?)",
            (switch.model_dump_json(),),
        )

    # -- internals ------------------------------------------------------------------------

    @staticmethod
    def _apply(conn: sqlite3.Connection, fill: FillRecord) -> None:
        lots, realised = apply_fill(_lots(conn, fill.book_id, fill.symbol), fill)
        conn.execute(
            "DELETE FROM lots WHERE book_id = ? AND symbol = ?", (fill.book_id, fill.symbol)
        )
        conn.executemany(
            "INSERT INTO lots (book_id, symbol, lot_id, opened_on, qty, cost_price) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [
                (
                    lot.book_id,
                    lot.symbol,
                    lot.lot_id,
                    lot.opened_on.isoformat(),
                    str(lot.qty),
                    str(lot.cost_price),
                )
                for lot in lots
            ],
        )
        conn.execute(
            "INSERT INTO fills (run_id, fill_id, book_id, body) VALUES (?, ?, ?, ?)",
            (fill.run_id, fill.fill_id, fill.book_id, fill.model_dump_json()),
        )
        if fill.cash is not None:
            add_cash(conn, fill.book_id, fill.cash)
        row = conn.execute(
            "SELECT realised FROM books WHERE book_id = ?", (fill.book_id,)
        ).fetchone()
        total = (Decimal(0) if row is None else Decimal(row[0])) + realised
        conn.execute(
            "INSERT OR REPLACE INTO books (book_id, realised) VALUES (?, ?)",
            (fill.book_id, str(total)),
        )

    def _one(self, sql: str, params: tuple[str, ...]) -> str | None:
        with self._connection() as conn:
            row = conn.execute(sql, params).fetchone()
        return None if row is None else str(row[0])

    def _all(self, sql: str, params: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
        with self._connection() as conn:
            return [tuple(row) for row in conn.execute(sql, params).fetchall()]

    def _write(self, sql: str, params: tuple[str, ...]) -> None:
        with self._transaction() as conn:
            conn.execute(sql, params)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """Hold the write lock from the start (BEGIN IMMEDIATE): no upgrade deadlocks under WAL."""
        with self._connection() as conn, transaction(conn, self._what):
            yield conn

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        self._ensure_schema()
        with closing(connect(self.path, self._busy_timeout_s)) as conn:
            yield conn

    def _ensure_schema(self) -> None:
        with self._schema_lock:
            if self._schema_ready:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with closing(connect(self.path, self._busy_timeout_s)) as conn:
                enable_wal(conn, self._what, self._busy_timeout_s)
                (version,) = conn.execute("PRAGMA user_version").fetchone()
                if version not in _UPGRADABLE:
                    raise ConfigurationError(
                        f"ledger {self.path} has schema version {version}, expected one of "
                        f"{', '.join(map(str, _UPGRADABLE[1:]))} (or a new file)"
                    )
                execute_waiting(
                    conn,
                    f"BEGIN IMMEDIATE; {_SCHEMA} {CASH_SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;",
                    self._what,
                    script=True,
                )
            self._schema_ready = True


def _replace_run(conn: sqlite3.Connection, run: RunRecord) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO runs (run_id, stage, trading_date, body) VALUES (?, ?, ?, ?)",
        (run.run_id, run.stage, run.trading_date.isoformat(), run.model_dump_json()),
    )


def _lots(conn: sqlite3.Connection, book_id: str, symbol: str | None) -> list[Lot]:
    sql = "SELECT book_id, symbol, lot_id, opened_on, qty, cost_price FROM lots WHERE book_id = ?"
    params: tuple[str, ...] = (book_id,)
    if symbol is not None:
        sql += " AND symbol = ?"
        params += (symbol,)
    lots = [
        Lot(
            book_id=row[0],
            symbol=row[1],
            lot_id=row[2],
            opened_on=date.fromisoformat(row[3]),
            qty=Decimal(row[4]),
            cost_price=Decimal(row[5]),
        )
        for row in conn.execute(sql, params).fetchall()
    ]
    return sorted(lots, key=fifo_key)
