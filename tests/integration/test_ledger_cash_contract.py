"""The Ledger's cash: accounts, transfers, fills with cash, account snapshots, on both adapters.

Uses the parametrised ``ledger`` of ``conftest`` (SQLite, and DynamoDB under moto with
2-item pages).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest

from alchemiser.books.hedge_account import post_hedge_events
from alchemiser.broker.models import OrderSide
from alchemiser.hedge.book import EventKind, HedgeBookState, HedgeEvent
from alchemiser.ledger.models import (
    EXTERNAL,
    HEDGE,
    POOL,
    AccountSnapshot,
    HedgeBookDay,
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


def test_the_hedge_books_cash_and_day_are_kept_as_any_account(ledger: Ledger) -> None:
    # Given the hedge book funded by the pool and a book, and its events posted twice
    ledger.record_transfers([
        transfer("t1", EXTERNAL, POOL, "1000.00"),
        transfer("h1", POOL, HEDGE, "300.00", reason=TransferReason.HEDGE),
        transfer("h2", "gold", HEDGE, "200.00", reason=TransferReason.HEDGE),
    ])  # fmt: skip
    events = HedgeBookState(
        events=(
            HedgeEvent(day=DAY, kind=EventKind.OPEN, hedge_id="h", amount=Decimal("-450.50")),
            HedgeEvent(day=DAY, kind=EventKind.EXPIRY, hedge_id="h", amount=Decimal("0")),
            HedgeEvent(day=DAY, kind=EventKind.CLOSE, hedge_id="h", amount=Decimal("75.25")),
        )
    )
    post_hedge_events(ledger, events, RUN)
    post_hedge_events(ledger, events, RUN)
    # Then its cash moved once per event that moved cash, and it is not a strategy book
    assert ledger.cash_accounts()[HEDGE] == Decimal("124.75")
    assert HEDGE not in ledger.book_ids()
    reasons = sorted(t.reason.value for t in ledger.transfers_on(DAY))
    assert reasons == ["deposit", "hedge", "hedge", "option", "option"]
    # And the account's snapshot keeps the hedge book's day
    hedge = HedgeBookDay(
        cash=Decimal("124.75"), options=Decimal("380.00"), nav=Decimal("504.75"),
        transfers=Decimal("500.00"), premium_month=Decimal("450.50"),
        premium_year=Decimal("450.50"), twr_day=Decimal("0.0095"), twr_inception=None,
    )  # fmt: skip
    snap = AccountSnapshot(
        trading_date=DAY, run_id=RUN, pool=Decimal("700.00"), nav=Decimal("1004.75"),
        broker_equity=Decimal("1004.75"), difference=Decimal(0), hedge=hedge,
    )  # fmt: skip
    ledger.put_account_snapshot(snap)
    assert ledger.account_snapshots() == [snap]
