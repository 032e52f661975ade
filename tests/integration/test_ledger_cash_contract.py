"""The Ledger's cash: accounts, transfers, fills with cash, account snapshots, on both adapters.

Uses the parametrised ``ledger`` of ``conftest`` (SQLite, and DynamoDB under moto with
2-item pages).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest

from alchemiser.broker.models import OrderSide
from alchemiser.ledger.models import (
    EXTERNAL,
    POOL,
    AccountSnapshot,
    Transfer,
    TransferReason,
)
from alchemiser.ledger.port import Ledger
from tests.integration.test_ledger_contract import DAY, RUN, fill, snapshot


def transfer(tid: str, source: str, destination: str, amount: str, **kw: object) -> Transfer:
    values: dict[str, object] = {
        "transfer_id": tid,
        "trading_date": DAY,
        "source": source,
        "destination": destination,
        "amount": Decimal(amount),
        "reason": TransferReason.DEPOSIT,
        "run_id": RUN,
    }
    return Transfer.model_validate(values | kw)


def test_no_account_has_cash_until_a_transfer_opens_one(ledger: Ledger) -> None:
    assert ledger.cash_accounts() == {}
    ledger.record_transfers([transfer("t1", EXTERNAL, POOL, "1000.00")])
    assert ledger.cash_accounts() == {POOL: Decimal("1000.00")}


def test_a_transfer_moves_cash_on_both_sides_once(make_ledger: Callable[[], Ledger]) -> None:
    # Given a deposit and a book funded from the pool
    first = make_ledger()
    moves = [
        transfer("t1", EXTERNAL, POOL, "1000.00"),
        transfer("t2", POOL, "gold", "400.01", reason=TransferReason.FUND),
    ]
    assert first.record_transfers(moves) == moves

    # When the same transfers are offered again, a later day (a re-run)
    again = [m.model_copy(update={"trading_date": DAY + timedelta(days=1)}) for m in moves]
    assert make_ledger().record_transfers(again) == []

    # Then the cash moved once, the funded book is known, the day lists its transfers
    assert first.cash_accounts() == {POOL: Decimal("599.99"), "gold": Decimal("400.01")}
    assert "gold" in first.book_ids()
    assert first.transfers_on(DAY) == moves
    assert first.transfers_on(DAY + timedelta(days=1)) == []


def test_a_different_transfer_under_a_recorded_id_is_refused(ledger: Ledger) -> None:
    ledger.record_transfers([transfer("t1", EXTERNAL, POOL, "1000.00")])
    with pytest.raises(ValueError, match="t1"):
        ledger.record_transfers([transfer("t1", EXTERNAL, POOL, "999.00")])
    assert ledger.cash_accounts() == {POOL: Decimal("1000.00")}


def test_a_fill_with_cash_moves_its_books_cash_and_one_without_does_not(ledger: Ledger) -> None:
    ledger.record_transfers([transfer("t1", POOL, "gold", "1000.00", reason=TransferReason.FUND)])
    paid = fill("f1", OrderSide.BUY, "2", "100.005").model_copy(update={"cash": Decimal("-200.01")})
    old = fill("f2", OrderSide.BUY, "1", "100")
    ledger.record_fills([paid, old])
    ledger.record_fills([paid])  # a re-run books nothing twice
    assert ledger.cash_accounts()["gold"] == Decimal("799.99")
    assert ledger.cash_accounts()[POOL] == Decimal("-1000.00")


def test_snapshots_and_account_snapshots_list_oldest_first(ledger: Ledger) -> None:
    days = [DAY + timedelta(days=n) for n in (2, 0, 1)]
    for day in days:
        ledger.put_snapshot(snapshot("gold", day))
        ledger.put_account_snapshot(
            AccountSnapshot(
                trading_date=day,
                run_id=f"cycle-{day}-dev",
                pool=Decimal("1.5"),
                nav=Decimal("1000.01"),
                broker_equity=Decimal("1000.01"),
                difference=Decimal(0),
                twr_day=Decimal("0.000000000001"),
                twr_inception=None,
                last_rebalance=DAY,
            )
        )
    assert [s.trading_date for s in ledger.snapshots("gold")] == sorted(days)
    stored = ledger.account_snapshots()
    assert [s.trading_date for s in stored] == sorted(days)
    assert stored[0].twr_day == Decimal("0.000000000001") and stored[0].last_rebalance == DAY
