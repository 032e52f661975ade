"""Deposits and withdrawals of the simulated account: its non-trade cash activities.

Like Alpaca's account activities, each move is recorded with its kind, signed amount and
day (the session's day, else today), and the cycle reads them to credit the pool
(``alchemiser.cycle.capital``). A withdrawal is refused beyond the cash that open
buys do not hold (at their limits; a market buy holds nothing here, as none stays open
between runs).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from alchemiser.broker.errors import BrokerError
from alchemiser.broker.models import CashActivity, CashActivityKind
from alchemiser.broker.simulated_store import SimulatedStore
from alchemiser.money import to_cents

BUSY_TIMEOUT_S = 30.0


def move_cash(store: SimulatedStore, kind: CashActivityKind, amount: Decimal) -> CashActivity:
    """Move the account's cash by ``amount`` (signed, whole cents) and record why."""
    if amount == 0 or amount != to_cents(amount):
        raise ValueError(f"expected a non-zero amount in whole cents, found {amount}")
    with store.write() as tx:
        state = tx.state()
        day = state.session_day or date.today()
        if amount < 0:
            reserved, _ = tx.reservations(lambda _symbol: None)
            free = state.cash - reserved
            if -amount > free:
                raise BrokerError(
                    f"cannot withdraw ${-amount:,.2f}: the account has ${free:,.2f} of cash "
                    "not held by open orders"
                )
        seq = tx.add_activity(kind.value, amount, day)
    return CashActivity(id=f"sim-{seq}", day=day, kind=kind, amount=amount)


def cash_activities(store: SimulatedStore) -> list[CashActivity]:
    """Return every non-trade cash move of the account, oldest first."""
    with store.read() as tx:
        rows = tx.activities()
    return [
        CashActivity(id=f"sim-{seq}", day=day, kind=CashActivityKind(kind), amount=amount)
        for seq, kind, amount, day in rows
    ]


def open_account(path: Path) -> SimulatedStore:
    """Open an existing simulated account's file (without its market); refuse a missing one."""
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: no simulated account yet; `alchemiser run` opens it (with --cash for "
            "its opening cash)"
        )
    return SimulatedStore(path, Decimal(0), BUSY_TIMEOUT_S)
