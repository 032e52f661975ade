"""The SQLite ledger's cash: each account's cash (books and the pool) and the transfers.

Schema version 2 (``alchemiser.ledger.sqlite``) adds these tables; amounts are exact
decimal TEXT. Recording a transfer and moving the cash of both its sides happen in the
caller's one transaction; a transfer id seen before is skipped when it moves the same
cash (a re-run, whatever day offers it again) and refused when it does not.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from decimal import Decimal

from alchemiser.ledger.models import EXTERNAL, Transfer

CASH_SCHEMA = """
CREATE TABLE IF NOT EXISTS cash (account TEXT PRIMARY KEY, amount TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS transfers (
    transfer_id TEXT PRIMARY KEY, trading_date TEXT NOT NULL, body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS transfers_by_day ON transfers (trading_date, transfer_id);
CREATE TABLE IF NOT EXISTS account_snapshots (trading_date TEXT PRIMARY KEY, body TEXT NOT NULL);
"""


def record_transfers(conn: sqlite3.Connection, transfers: Sequence[Transfer]) -> list[Transfer]:
    """Record the transfers not seen before and move their cash; return the new ones."""
    recorded: list[Transfer] = []
    for transfer in transfers:
        row = conn.execute(
            "SELECT body FROM transfers WHERE transfer_id = ?", (transfer.transfer_id,)
        ).fetchone()
        if row is not None:
            _ensure_same_transfer(Transfer.model_validate_json(row[0]), transfer)
            continue
        conn.execute(
            "INSERT INTO transfers (transfer_id, trading_date, body) VALUES (?, ?, ?)",
            (transfer.transfer_id, transfer.trading_date.isoformat(), transfer.model_dump_json()),
        )
        add_cash(conn, transfer.source, -transfer.amount)
        add_cash(conn, transfer.destination, transfer.amount)
        recorded.append(transfer)
    return recorded


def add_cash(conn: sqlite3.Connection, account: str, amount: Decimal) -> None:
    """Add ``amount`` to the account's cash; a book's first cash registers the book."""
    if account == EXTERNAL:
        return
    row = conn.execute("SELECT amount FROM cash WHERE account = ?", (account,)).fetchone()
    total = (Decimal(0) if row is None else Decimal(row[0])) + amount
    conn.execute(
        "INSERT OR REPLACE INTO cash (account, amount) VALUES (?, ?)", (account, str(total))
    )
    if not account.startswith("_"):
        conn.execute("INSERT OR IGNORE INTO books (book_id, realised) VALUES (?, '0')", (account,))


def _ensure_same_transfer(stored: Transfer, new: Transfer) -> None:
    if not stored.same_move(new):
        raise ValueError(
            f"transfer {new.transfer_id} was recorded as {stored.model_dump_json()}, "
            f"now offered as {new.model_dump_json()}"
        )
