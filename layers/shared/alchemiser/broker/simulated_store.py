"""SQLite storage of the simulated broker: cash, holdings, orders, fills and the session.

One file holds one simulated account and survives between runs and processes: its
stocks and, since schema version 2, its options (the ``option_*`` tables, read and
written by ``simulated_options_store``), so that option premium, close proceeds and
expiry settlements move the same cash as stock fills, in the same transaction as the
option trade (a file of version 1 is upgraded in place when opened). Every
call opens its own connection (never shared across threads), the database runs in WAL
mode with a busy timeout, and writers take the lock up front (``BEGIN IMMEDIATE``) so
that two threads submitting orders at once serialise instead of overspending cash.
Decimals are stored as text, so nothing passes through a float.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from alchemiser.broker.errors import BrokerError
from alchemiser.broker.models import CashActivity, CashActivityKind, Order, OrderSide, OrderStatus
from alchemiser.broker.options_models import OptionOrder, option_debit
from alchemiser.money import to_cents
from alchemiser.sqlite_db import connect, execute_waiting, transaction

SCHEMA_VERSION = 2  # 2: the option tables (one account for stocks and options)
_AVG_PLACES = Decimal("1e-10")  # average entry prices: exact enough, no 28-digit tails

_SCHEMA = """
CREATE TABLE IF NOT EXISTS account (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    cash TEXT NOT NULL,
    session_day TEXT,
    session_now TEXT,
    failed_submits INTEGER NOT NULL DEFAULT 0,
    failed_after_submits INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS holdings (
    symbol TEXT PRIMARY KEY,
    qty TEXT NOT NULL,
    avg_entry_price TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS orders (
    id TEXT PRIMARY KEY,
    client_order_id TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    session_day TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_by_status ON orders (status);
CREATE TABLE IF NOT EXISTS fills (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id TEXT NOT NULL REFERENCES orders (id),
    symbol TEXT NOT NULL,
    side TEXT NOT NULL,
    qty TEXT NOT NULL,
    price TEXT NOT NULL,
    session_day TEXT NOT NULL,
    filled_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS activities (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    amount TEXT NOT NULL,
    session_day TEXT NOT NULL,
    symbol TEXT NOT NULL DEFAULT '',
    qty TEXT,
    per_share TEXT
);
CREATE TABLE IF NOT EXISTS option_market (id INTEGER PRIMARY KEY CHECK (id = 1), day TEXT);
CREATE TABLE IF NOT EXISTS option_orders (
    id TEXT PRIMARY KEY,
    client_order_id TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    day TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS option_positions (
    symbol TEXT PRIMARY KEY,
    qty INTEGER NOT NULL,
    avg_entry_price TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS option_cash_flows (
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
# Columns added to a table after files of it existed: (table, column, definition).
_ADDED_COLUMNS = (
    ("activities", "symbol", "TEXT NOT NULL DEFAULT ''"),
    ("activities", "qty", "TEXT"),
    ("activities", "per_share", "TEXT"),
)

_OPEN = tuple(s.value for s in OrderStatus if not s.terminal)


@dataclass(frozen=True)
class Holding:
    symbol: str
    qty: Decimal
    avg_entry_price: Decimal


@dataclass(frozen=True)
class AccountState:
    cash: Decimal
    session_day: date | None
    session_now: datetime | None
    failed_submits: int
    failed_after_submits: int


@dataclass(frozen=True)
class SimulatedFill:
    """One execution of the simulated broker (audit trail; the ledger keeps its own)."""

    order_id: str
    symbol: str
    side: OrderSide
    qty: Decimal
    price: Decimal
    day: date
    filled_at: datetime


class StoreTransaction:
    """The reads and writes of one transaction (valid only inside its ``with`` block)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    @property
    def connection(self) -> sqlite3.Connection:
        """Return the transaction's connection (the option tables share it)."""
        return self._conn

    def state(self) -> AccountState:
        row = self._conn.execute(
            "SELECT cash, session_day, session_now, failed_submits, failed_after_submits "
            "FROM account WHERE id = 1"
        ).fetchone()
        return AccountState(
            cash=Decimal(row[0]),
            session_day=date.fromisoformat(row[1]) if row[1] else None,
            session_now=datetime.fromisoformat(row[2]) if row[2] else None,
            failed_submits=int(row[3]),
            failed_after_submits=int(row[4]),
        )

    def set_cash(self, cash: Decimal) -> None:
        self._conn.execute("UPDATE account SET cash = ? WHERE id = 1", (str(cash),))

    def set_session(self, day: date, now: datetime) -> None:
        self._conn.execute(
            "UPDATE account SET session_day = ?, session_now = ? WHERE id = 1",
            (day.isoformat(), now.isoformat()),
        )

    def claim_failure(self, *, after_create: bool, limit: int) -> int | None:
        """Count one injected failure; return its number (1..limit), None once ``limit`` is used."""
        column = "failed_after_submits" if after_create else "failed_submits"
        used = int(self._conn.execute(f"SELECT {column} FROM account WHERE id = 1").fetchone()[0])
        if used >= limit:
            return None
        self._conn.execute(f"UPDATE account SET {column} = {column} + 1 WHERE id = 1")
        return used + 1

    def holdings(self) -> list[Holding]:
        rows = self._conn.execute(
            "SELECT symbol, qty, avg_entry_price FROM holdings ORDER BY symbol"
        ).fetchall()
        return [Holding(r[0], Decimal(r[1]), Decimal(r[2])) for r in rows]

    def holding(self, symbol: str) -> Holding | None:
        row = self._conn.execute(
            "SELECT symbol, qty, avg_entry_price FROM holdings WHERE symbol = ?", (symbol,)
        ).fetchone()
        return Holding(row[0], Decimal(row[1]), Decimal(row[2])) if row else None

    def set_holding(self, symbol: str, qty: Decimal, avg_entry_price: Decimal) -> None:
        if qty == 0:
            self._conn.execute("DELETE FROM holdings WHERE symbol = ?", (symbol,))
            return
        self._conn.execute(
            "INSERT INTO holdings (symbol, qty, avg_entry_price) VALUES (?, ?, ?) "
            "ON CONFLICT (symbol) DO UPDATE SET qty = excluded.qty, "
            "avg_entry_price = excluded.avg_entry_price",
            (symbol, str(qty), str(avg_entry_price)),
        )

    def order(self, order_id: str) -> Order | None:
        row = self._conn.execute("SELECT body FROM orders WHERE id = ?", (order_id,)).fetchone()
        return Order.model_validate_json(row[0]) if row else None

    def order_by_client_id(self, client_order_id: str) -> Order | None:
        row = self._conn.execute(
            "SELECT body FROM orders WHERE client_order_id = ?", (client_order_id,)
        ).fetchone()
        return Order.model_validate_json(row[0]) if row else None

    def all_orders(self) -> list[Order]:
        rows = self._conn.execute("SELECT body FROM orders ORDER BY client_order_id").fetchall()
        return [Order.model_validate_json(r[0]) for r in rows]

    def open_orders(self) -> list[tuple[Order, date]]:
        """Return every order that can still fill, with the session day it was placed on."""
        marks = ", ".join("?" * len(_OPEN))
        rows = self._conn.execute(
            f"SELECT body, session_day FROM orders WHERE status IN ({marks}) ORDER BY id", _OPEN
        ).fetchall()
        return [(Order.model_validate_json(r[0]), date.fromisoformat(r[1])) for r in rows]

    def insert_order(self, order: Order, day: date) -> None:
        self._conn.execute(
            "INSERT INTO orders (id, client_order_id, status, session_day, body) "
            "VALUES (?, ?, ?, ?, ?)",
            (order.id, order.client_order_id, order.status.value, day.isoformat(), _body(order)),
        )

    def update_order(self, order: Order) -> None:
        self._conn.execute(
            "UPDATE orders SET status = ?, body = ? WHERE id = ?",
            (order.status.value, _body(order), order.id),
        )

    def apply_fill(
        self, order: Order, qty: Decimal, price: Decimal, day: date, at: datetime
    ) -> None:
        """Book a fill: move cash by qty x price (in cents), update the holding, record it."""
        notional = to_cents(qty * price)
        cash = self.state().cash
        held = self.holding(order.symbol) or Holding(order.symbol, Decimal(0), Decimal(0))
        if order.side is OrderSide.BUY:
            qty_after = held.qty + qty
            cost = held.qty * held.avg_entry_price + qty * price
            self.set_cash(cash - notional)
            self.set_holding(order.symbol, qty_after, (cost / qty_after).quantize(_AVG_PLACES))
        else:
            self.set_cash(cash + notional)
            self.set_holding(order.symbol, held.qty - qty, held.avg_entry_price)
        self._record_fill(order, qty, price, day, at)

    def reservations(
        self, price_of: Callable[[str], Decimal | None]
    ) -> tuple[Decimal, defaultdict[str, Decimal]]:
        """Return the cash held by open buys and, per symbol, the quantity held by open sells.

        An open buy holds its remaining qty at its limit (a market order at its average
        fill price, else at ``price_of`` its symbol); an open option order that pays a net
        debit holds its remaining units at its limit (``option_reservations``).
        """
        cash, qty = self.option_reservations(), defaultdict[str, Decimal](Decimal)
        for order, _ in self.open_orders():
            if order.side is OrderSide.SELL:
                qty[order.symbol] += order.remaining
                continue
            price = order.limit_price or order.filled_avg_price or price_of(order.symbol)
            cash += to_cents(order.remaining * price) if price is not None else Decimal(0)
        return cash, qty

    def option_holdings(self) -> dict[str, int]:
        """Return the option contracts held, by symbol (signed: + long, - short)."""
        rows = self._conn.execute(
            "SELECT symbol, qty FROM option_positions WHERE qty != 0 ORDER BY symbol"
        ).fetchall()
        return {str(r[0]): int(r[1]) for r in rows}

    def option_reservations(self) -> Decimal:
        """Return the cash held by open option orders that pay (a net debit at their limit)."""
        marks = ", ".join("?" * len(_OPEN))
        rows = self._conn.execute(
            f"SELECT body FROM option_orders WHERE status IN ({marks})", _OPEN
        ).fetchall()
        orders = [OptionOrder.model_validate_json(r[0]) for r in rows]
        return sum(
            (option_debit(o.legs, o.qty - o.filled_qty, o.limit_price) for o in orders), Decimal(0)
        )

    def _record_fill(
        self, order: Order, qty: Decimal, price: Decimal, day: date, at: datetime
    ) -> None:
        self._conn.execute(
            "INSERT INTO fills (order_id, symbol, side, qty, price, session_day, filled_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (order.id, order.symbol, order.side.value, str(qty), str(price), day.isoformat(),
             at.isoformat()),
        )  # fmt: skip

    def add_activity(self, activity: CashActivity) -> int:
        """Move the cash by the activity's amount and record it; return its number.

        The activity's id is ignored: the number given here makes it (``sim-<number>``).
        """
        self.set_cash(self.state().cash + activity.amount)
        cursor = self._conn.execute(
            "INSERT INTO activities (kind, amount, session_day, symbol, qty, per_share) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                activity.kind.value,
                str(activity.amount),
                activity.day.isoformat(),
                activity.symbol,
                _text_or_none(activity.qty),
                _text_or_none(activity.per_share),
            ),
        )
        return int(cursor.lastrowid or 0)

    def activities(self) -> list[CashActivity]:
        """Return every recorded activity, oldest first."""
        rows = self._conn.execute(
            "SELECT seq, kind, amount, session_day, symbol, qty, per_share FROM activities "
            "ORDER BY seq"
        ).fetchall()
        return [
            CashActivity(
                id=f"sim-{r[0]}",
                kind=CashActivityKind(r[1]),
                amount=Decimal(r[2]),
                day=date.fromisoformat(r[3]),
                symbol=r[4],
                qty=Decimal(r[5]) if r[5] is not None else None,
                per_share=Decimal(r[6]) if r[6] is not None else None,
            )
            for r in rows
        ]

    def last_trade_day(self) -> date | None:
        row = self._conn.execute("SELECT MAX(session_day) FROM fills").fetchone()
        return date.fromisoformat(row[0]) if row[0] else None

    def fills(self) -> list[SimulatedFill]:
        rows = self._conn.execute(
            "SELECT order_id, symbol, side, qty, price, session_day, filled_at FROM fills "
            "ORDER BY seq"
        ).fetchall()
        return [
            SimulatedFill(
                order_id=r[0],
                symbol=r[1],
                side=OrderSide(r[2]),
                qty=Decimal(r[3]),
                price=Decimal(r[4]),
                day=date.fromisoformat(r[5]),
                filled_at=datetime.fromisoformat(r[6]),
            )
            for r in rows
        ]


class SimulatedStore:
    """The SQLite file of one simulated account; safe to use from many threads at once."""

    def __init__(self, path: Path, initial_cash: Decimal, busy_timeout_s: float) -> None:
        self.path = path
        self._busy_timeout_s = busy_timeout_s
        self._what = f"simulated broker {path}"
        path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as conn:
            execute_waiting(conn, "PRAGMA journal_mode = WAL", self._what)
            with transaction(conn, self._what):
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                if version not in (0, 1, SCHEMA_VERSION):  # 1: upgraded in place
                    raise BrokerError(
                        f"simulated broker file {path} has schema version {version}, "
                        f"expected {SCHEMA_VERSION}: move it aside to start a new account"
                    )
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                _add_columns(conn)
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                conn.execute(
                    "INSERT OR IGNORE INTO account (id, cash) VALUES (1, ?)", (str(initial_cash),)
                )
                conn.execute("INSERT OR IGNORE INTO option_market (id, day) VALUES (1, NULL)")

    @contextmanager
    def read(self) -> Iterator[StoreTransaction]:
        """Yield a consistent snapshot (a deferred read transaction)."""
        with self._transaction("BEGIN") as tx:
            yield tx

    @contextmanager
    def write(self) -> Iterator[StoreTransaction]:
        """Yield a write transaction holding the database lock; commit on success."""
        with self._transaction("BEGIN IMMEDIATE") as tx:
            yield tx

    @contextmanager
    def _transaction(self, begin: str) -> Iterator[StoreTransaction]:
        with closing(self._connect()) as conn, transaction(conn, self._what, begin):
            yield StoreTransaction(conn)

    def _connect(self) -> sqlite3.Connection:
        conn = connect(self.path, self._busy_timeout_s)
        conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_s * 1000)}")
        conn.execute("PRAGMA foreign_keys = ON")
        return conn


def _add_columns(conn: sqlite3.Connection) -> None:
    """Add the columns a file made before them lacks (nothing else changes)."""
    for table, column, definition in _ADDED_COLUMNS:
        present = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        if column not in present:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")


def _text_or_none(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _body(order: Order) -> str:
    return order.model_dump_json()
