"""Deposits, withdrawals and dividends of the simulated account: its non-trade cash moves.

Like Alpaca's account activities, each move is recorded with its kind, signed amount and
day (the session's day, else today), and the cycle reads them to credit the pool, or for
a dividend the books that held the symbol (``alchemiser.cycle.capital``). A withdrawal
is refused beyond the cash that open buys do not hold (at their limits; a market buy
holds nothing here, as none stays open between runs).

A **dividend** (``pay_dividend``) is paid on the shares the account holds now, that is
at the close of the last session run: its date is the day after that session (the
ex-date: the books are read as they stood at that close), its amount the shares x the
per-share amount rounded to the cent, and it names the symbol, the shares and the rate,
as Alpaca's dividend activities do.
"""

from __future__ import annotations

from datetime import date, timedelta
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
        move = CashActivity(id="sim-new", day=day, kind=kind, amount=amount)
        seq = tx.add_activity(move)
    return move.model_copy(update={"id": f"sim-{seq}"})


def pay_dividend(store: SimulatedStore, symbol: str, per_share: Decimal) -> CashActivity:
    """Pay ``per_share`` dollars on every share of ``symbol`` the account holds now."""
    if not per_share > 0:
        raise ValueError(f"expected a per-share amount > 0, found {per_share}")
    with store.write() as tx:
        held = tx.holding(symbol)
        state = tx.state()
        if held is None or held.qty <= 0 or state.session_day is None:
            raise BrokerError(f"the simulated account holds no {symbol}: no dividend to pay")
        amount = to_cents(held.qty * per_share)
        if amount == 0:
            raise BrokerError(
                f"{held.qty} {symbol} x ${per_share} rounds to $0.00: no dividend to pay"
            )
        move = CashActivity(
            id="sim-new",
            day=state.session_day + timedelta(days=1),
            kind=CashActivityKind.DIVIDEND,
            amount=amount,
            symbol=symbol,
            qty=held.qty,
            per_share=per_share,
        )
        seq = tx.add_activity(move)
    return move.model_copy(update={"id": f"sim-{seq}"})


def cash_activities(store: SimulatedStore, since: date | None = None) -> list[CashActivity]:
    """Return the account's non-trade cash moves dated ``since`` or later, oldest first."""
    with store.read() as tx:
        moves = tx.activities()
    return [m for m in moves if since is None or m.day >= since]


def open_account(path: Path) -> SimulatedStore:
    """Open an existing simulated account's file (without its market); refuse a missing one."""
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: no simulated account yet; `alchemiser run` opens it (with --cash for "
            "its opening cash)"
        )
    return SimulatedStore(path, Decimal(0), BUSY_TIMEOUT_S)
