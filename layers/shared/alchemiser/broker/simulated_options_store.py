"""SQLite storage of the simulated options broker: the day, orders, positions and cash flows.

The options live in the simulated account's own file (``simulated_store``, schema
version 2: the ``option_*`` tables), as on Alpaca, where one account holds stocks and
options: every premium paid or received and every expiry settlement moves the
account's cash in the same transaction that books the option trade, so a crash can
neither lose nor double one. ``cash_flows`` is the options' cash trail: premiums paid
(negative) and received, and expiry settlements.

Homes made before (a separate ``options.sqlite3``) are merged into the account by
``merge_legacy_options``, once, in one transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from alchemiser.broker.models import OrderStatus
from alchemiser.broker.options_models import OptionOrder, OptionPosition
from alchemiser.broker.simulated_market import SimulationConfig
from alchemiser.broker.simulated_store import SimulatedStore, StoreTransaction
from alchemiser.sqlite_db import connect

DEFAULT_CASH = SimulationConfig().initial_cash  # a file opened by the options broker first

_OPEN = tuple(s.value for s in OrderStatus if not s.terminal)


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

    @property
    def connection(self) -> sqlite3.Connection:
        return self._conn

    def day(self) -> date | None:
        row = self._conn.execute("SELECT day FROM option_market WHERE id = 1").fetchone()
        return date.fromisoformat(row[0]) if row and row[0] else None

    def set_day(self, day: date) -> None:
        self._conn.execute("UPDATE option_market SET day = ? WHERE id = 1", (day.isoformat(),))

    def order(self, order_id: str) -> OptionOrder | None:
        row = self._conn.execute(
            "SELECT body FROM option_orders WHERE id = ?", (order_id,)
        ).fetchone()
        return OptionOrder.model_validate_json(row[0]) if row else None

    def order_by_client_id(self, client_order_id: str) -> OptionOrder | None:
        row = self._conn.execute(
            "SELECT body FROM option_orders WHERE client_order_id = ?", (client_order_id,)
        ).fetchone()
        return OptionOrder.model_validate_json(row[0]) if row else None

    def orders(self) -> list[OptionOrder]:
        rows = self._conn.execute("SELECT body FROM option_orders ORDER BY rowid").fetchall()
        return [OptionOrder.model_validate_json(r[0]) for r in rows]

    def open_orders(self) -> list[tuple[OptionOrder, date]]:
        marks = ", ".join("?" * len(_OPEN))
        rows = self._conn.execute(
            f"SELECT body, day FROM option_orders WHERE status IN ({marks}) ORDER BY rowid", _OPEN
        ).fetchall()
        return [(OptionOrder.model_validate_json(r[0]), date.fromisoformat(r[1])) for r in rows]

    def insert_order(self, order: OptionOrder, day: date) -> None:
        self._conn.execute(
            "INSERT INTO option_orders (id, client_order_id, status, day, body) VALUES (?, ?, ?, ?, ?)",
            (order.id, order.client_order_id, order.status.value, day.isoformat(),
             order.model_dump_json()),
        )  # fmt: skip

    def update_order(self, order: OptionOrder) -> None:
        self._conn.execute(
            "UPDATE option_orders SET status = ?, body = ? WHERE id = ?",
            (order.status.value, order.model_dump_json(), order.id),
        )

    def positions(self) -> list[OptionPosition]:
        rows = self._conn.execute(
            "SELECT symbol, qty, avg_entry_price FROM option_positions ORDER BY symbol"
        ).fetchall()
        return [OptionPosition(symbol=r[0], qty=r[1], avg_entry_price=Decimal(r[2])) for r in rows]

    def held(self, symbol: str) -> int:
        row = self._conn.execute(
            "SELECT qty FROM option_positions WHERE symbol = ?", (symbol,)
        ).fetchone()
        return int(row[0]) if row else 0

    def book_trade(
        self, symbol: str, qty: int, price: Decimal, day: date, order_id: str | None
    ) -> None:
        """Move a position by ``qty`` contracts (signed) at ``price`` per share and the
        account's cash by its cost (x 100 shares, in cents); record the cash flow."""
        row = self._conn.execute(
            "SELECT qty, avg_entry_price FROM option_positions WHERE symbol = ?", (symbol,)
        ).fetchone()
        held, avg = (int(row[0]), Decimal(row[1])) if row else (0, Decimal(0))
        after = held + qty
        if after == 0:
            self._conn.execute("DELETE FROM option_positions WHERE symbol = ?", (symbol,))
        else:
            opening = held == 0 or (held > 0) == (qty > 0)
            if opening:
                avg = ((abs(held) * avg + abs(qty) * price) / abs(after)).quantize(Decimal("1e-6"))
            self._conn.execute(
                "INSERT INTO option_positions (symbol, qty, avg_entry_price) VALUES (?, ?, ?) "
                "ON CONFLICT (symbol) DO UPDATE SET qty = excluded.qty, "
                "avg_entry_price = excluded.avg_entry_price",
                (symbol, after, str(avg)),
            )
        amount = -(Decimal(qty) * price * 100).quantize(Decimal("0.01"))
        cash = Decimal(self._conn.execute("SELECT cash FROM account WHERE id = 1").fetchone()[0])
        self._conn.execute("UPDATE account SET cash = ? WHERE id = 1", (str(cash + amount),))
        kind = "trade" if order_id is not None else "settlement"
        self._conn.execute(
            "INSERT INTO option_cash_flows (day, kind, symbol, qty, price, amount, order_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (day.isoformat(), kind, symbol, qty, str(price), str(amount), order_id),
        )

    def cash_flows(self) -> list[OptionCashFlow]:
        rows = self._conn.execute(
            "SELECT day, kind, symbol, qty, price, amount, order_id FROM option_cash_flows ORDER BY seq"
        ).fetchall()
        return [
            OptionCashFlow(
                date.fromisoformat(r[0]), r[1], r[2], int(r[3]), Decimal(r[4]), Decimal(r[5]), r[6]
            )
            for r in rows
        ]


class OptionsStore:
    """The option tables of one simulated account's file (created with the account)."""

    def __init__(
        self, path: Path, initial_cash: Decimal = DEFAULT_CASH, busy_timeout_s: float = 30.0
    ) -> None:
        self.path = path
        self._account = SimulatedStore(path, initial_cash, busy_timeout_s)

    @contextmanager
    def read(self) -> Iterator[OptionsTransaction]:
        with self._account.read() as tx:
            yield OptionsTransaction(tx.connection)

    @contextmanager
    def write(self) -> Iterator[OptionsTransaction]:
        with self._account.write() as tx:
            yield OptionsTransaction(tx.connection)

    def reserved_and_cash(self, tx: OptionsTransaction) -> tuple[Decimal, Decimal]:
        """Return (the cash open orders hold, the account's cash) inside ``tx``."""
        store = StoreTransaction(tx.connection)
        reserved, _ = store.reservations(lambda _symbol: None)
        return reserved, store.state().cash


_LEGACY_TABLES = ("orders", "positions", "cash_flows")


def merge_legacy_options(legacy: Path, account: Path, initial_cash: Decimal = DEFAULT_CASH) -> bool:
    """Move a separate options file (homes made before one account) into ``account``'s file.

    In one transaction of the account: its option tables take the legacy rows and its
    cash moves by the legacy cash flows (the premium they paid, the settlements they
    received), unless the account already holds option rows (merged before: a crash
    came between the commit and the rename). Then the legacy file is renamed
    ``<name>.merged``. Return True when rows were merged now.
    """
    if not legacy.is_file():
        return False
    with closing(connect(legacy, 30.0)) as old:
        rows = {t: old.execute(f"SELECT * FROM {t}").fetchall() for t in _LEGACY_TABLES}
        day = old.execute("SELECT day FROM market WHERE id = 1").fetchone()
    store = SimulatedStore(account, initial_cash, 30.0)
    merged = False
    with store.write() as tx:
        conn = tx.connection
        held = conn.execute(
            "SELECT (SELECT COUNT(*) FROM option_orders) + (SELECT COUNT(*) FROM option_cash_flows)"
        ).fetchone()[0]
        if held == 0:
            for table, found in rows.items():
                for row in found:
                    marks = ", ".join("?" * len(row))
                    conn.execute(f"INSERT INTO option_{table} VALUES ({marks})", tuple(row))
            paid = sum((Decimal(r[6]) for r in rows["cash_flows"]), Decimal(0))
            tx.set_cash(tx.state().cash + paid)
            if day is not None and day[0]:
                conn.execute("UPDATE option_market SET day = ? WHERE id = 1", (day[0],))
            merged = True
    kept = legacy.with_name(legacy.name + ".merged")
    for suffix in ("-wal", "-shm"):  # gone after a clean close; kept beside it if not
        side = legacy.with_name(legacy.name + suffix)
        if side.exists():
            side.rename(kept.with_name(kept.name + suffix))
    legacy.rename(kept)
    return merged
