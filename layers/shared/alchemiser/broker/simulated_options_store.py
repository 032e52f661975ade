"""SQLite storage of the simulated options broker: the day, orders, positions and cash flows.

One file, shared by threads and processes like the equity simulator's: every call opens
its own connection, WAL mode, writers take the lock up front. Decimals are text.
``cash_flows`` is the options account's cash trail: premiums paid (negative) and
received, and expiry settlements; their sum is what options did to the account's cash.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from alchemiser.broker.errors import BrokerError
from alchemiser.broker.models import OrderStatus
from alchemiser.broker.options_models import OptionOrder, OptionPosition
from alchemiser.sqlite_db import connect, execute_waiting, transaction

SCHEMA_VERSION = 1
_OPEN = tuple(s.value for s in OrderStatus if not s.terminal)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS market (id INTEGER PRIMARY KEY CHECK (id = 1), day TEXT);
CREATE TABLE IF NOT EXISTS orders (
    id TEXT PRIMARY KEY,
    client_order_id TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    day TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS positions (
    symbol TEXT PRIMARY KEY,
    qty INTEGER NOT NULL,
    avg_entry_price TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cash_flows (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    day TEXT NOT NULL,
    kind TEXT NOT NULL,
    symbol TEXT NOT NULL,
    qty INTEGER NOT NULL,
    price TEXT NOT NULL,
    amount TEXT NOT NULL,
    order_id TEXT
);
"""


@dataclass(frozen=True)
class OptionCashFlow:
    """Cash moved by options: a fill (``trade``) or an expiry (``settlement``), in dollars."""

    day: date
    kind: str
    symbol: str
    qty: int  # contracts, signed: + bought / held long, - sold / held short
    price: Decimal  # per share
    amount: Decimal  # + cash in, - cash out
    order_id: str | None


class OptionsTransaction:
    """Reads and writes of one transaction (valid only inside its ``with`` block)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def day(self) -> date | None:
        row = self._conn.execute("SELECT day FROM market WHERE id = 1").fetchone()
        return date.fromisoformat(row[0]) if row and row[0] else None

    def set_day(self, day: date) -> None:
        self._conn.execute("UPDATE market SET day = ? WHERE id = 1", (day.isoformat(),))

    def order(self, order_id: str) -> OptionOrder | None:
        row = self._conn.execute("SELECT body FROM orders WHERE id = ?", (order_id,)).fetchone()
        return OptionOrder.model_validate_json(row[0]) if row else None

    def order_by_client_id(self, client_order_id: str) -> OptionOrder | None:
        row = self._conn.execute(
            "SELECT body FROM orders WHERE client_order_id = ?", (client_order_id,)
        ).fetchone()
        return OptionOrder.model_validate_json(row[0]) if row else None

    def orders(self) -> list[OptionOrder]:
        rows = self._conn.execute("SELECT body FROM orders ORDER BY rowid").fetchall()
        return [OptionOrder.model_validate_json(r[0]) for r in rows]

    def open_orders(self) -> list[tuple[OptionOrder, date]]:
        marks = ", ".join("?" * len(_OPEN))
        rows = self._conn.execute(
            f"SELECT body, day FROM orders WHERE status IN ({marks}) ORDER BY rowid", _OPEN
        ).fetchall()
        return [(OptionOrder.model_validate_json(r[0]), date.fromisoformat(r[1])) for r in rows]

    def insert_order(self, order: OptionOrder, day: date) -> None:
        self._conn.execute(
            "INSERT INTO orders (id, client_order_id, status, day, body) VALUES (?, ?, ?, ?, ?)",
            (order.id, order.client_order_id, order.status.value, day.isoformat(),
             order.model_dump_json()),
        )  # fmt: skip

    def update_order(self, order: OptionOrder) -> None:
        self._conn.execute(
            "UPDATE orders SET status = ?, body = ? WHERE id = ?",
            (order.status.value, order.model_dump_json(), order.id),
        )

    def positions(self) -> list[OptionPosition]:
        rows = self._conn.execute(
            "SELECT symbol, qty, avg_entry_price FROM positions ORDER BY symbol"
        ).fetchall()
        return [OptionPosition(symbol=r[0], qty=r[1], avg_entry_price=Decimal(r[2])) for r in rows]

    def held(self, symbol: str) -> int:
        row = self._conn.execute("SELECT qty FROM positions WHERE symbol = ?", (symbol,)).fetchone()
        return int(row[0]) if row else 0

    def book_trade(
        self, symbol: str, qty: int, price: Decimal, day: date, order_id: str | None
    ) -> None:
        """Move a position by ``qty`` contracts (signed) at ``price`` per share; record the cash."""
        row = self._conn.execute(
            "SELECT qty, avg_entry_price FROM positions WHERE symbol = ?", (symbol,)
        ).fetchone()
        held, avg = (int(row[0]), Decimal(row[1])) if row else (0, Decimal(0))
        after = held + qty
        if after == 0:
            self._conn.execute("DELETE FROM positions WHERE symbol = ?", (symbol,))
        else:
            opening = held == 0 or (held > 0) == (qty > 0)
            if opening:
                avg = ((abs(held) * avg + abs(qty) * price) / abs(after)).quantize(Decimal("1e-6"))
            self._conn.execute(
                "INSERT INTO positions (symbol, qty, avg_entry_price) VALUES (?, ?, ?) "
                "ON CONFLICT (symbol) DO UPDATE SET qty = excluded.qty, "
                "avg_entry_price = excluded.avg_entry_price",
                (symbol, after, str(avg)),
            )
        amount = -(Decimal(qty) * price * 100).quantize(Decimal("0.01"))
        kind = "trade" if order_id is not None else "settlement"
        self._conn.execute(
            "INSERT INTO cash_flows (day, kind, symbol, qty, price, amount, order_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (day.isoformat(), kind, symbol, qty, str(price), str(amount), order_id),
        )

    def cash_flows(self) -> list[OptionCashFlow]:
        rows = self._conn.execute(
            "SELECT day, kind, symbol, qty, price, amount, order_id FROM cash_flows ORDER BY seq"
        ).fetchall()
        return [
            OptionCashFlow(
                date.fromisoformat(r[0]), r[1], r[2], int(r[3]), Decimal(r[4]), Decimal(r[5]), r[6]
            )
            for r in rows
        ]


class OptionsStore:
    """The SQLite file of one simulated options account."""

    def __init__(self, path: Path, busy_timeout_s: float = 30.0) -> None:
        self.path = path
        self._busy_timeout_s = busy_timeout_s
        self._what = f"simulated options broker {path}"
        path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as conn:
            execute_waiting(conn, "PRAGMA journal_mode = WAL", self._what)
            with transaction(conn, self._what):
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                if version not in (0, SCHEMA_VERSION):
                    raise BrokerError(
                        f"simulated options file {path} has schema version {version}, "
                        f"expected {SCHEMA_VERSION}: move it aside to start a new account"
                    )
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                conn.execute("INSERT OR IGNORE INTO market (id, day) VALUES (1, NULL)")

    @contextmanager
    def read(self) -> Iterator[OptionsTransaction]:
        with self._transaction("BEGIN") as tx:
            yield tx

    @contextmanager
    def write(self) -> Iterator[OptionsTransaction]:
        with self._transaction("BEGIN IMMEDIATE") as tx:
            yield tx

    @contextmanager
    def _transaction(self, begin: str) -> Iterator[OptionsTransaction]:
        with closing(self._connect()) as conn, transaction(conn, self._what, begin):
            yield OptionsTransaction(conn)

    def _connect(self) -> sqlite3.Connection:
        conn = connect(self.path, self._busy_timeout_s)
        conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_s * 1000)}")
        # WAL with NORMAL sync survives a killed process (not a power cut) without an
        # fsync per commit: enough for a simulator, and the hedge runs many reads.
        conn.execute("PRAGMA synchronous = NORMAL")
        return conn
