"""The capital step credits the broker's activities: dividends to the books that held them.

``settle_capital`` runs on a SQLite ledger whose books hold SPY in their snapshots of
the day before the ex-date; the broker is the simulated one (its own dividends) or, for
Alpaca, a simulated account whose cash moved by a recorded activities page, read by the
Alpaca adapter's parser (tests/fixtures/alpaca).
"""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from alchemiser.books.capital_policy import CapitalPolicy, CapitalRebalance
from alchemiser.books.config import BookConfig, StageConfig
from alchemiser.books.returns import (
    BOOK_FLOWS,
    BOOK_PERFORMANCE,
    POOL_ONLY,
    book_flows,
    day_return,
)
from alchemiser.broker.alpaca_activities import parse_activity
from alchemiser.broker.errors import BrokerError
from alchemiser.broker.models import CashActivity, CashActivityKind
from alchemiser.broker.simulated import SimulatedBroker
from alchemiser.cycle.capital import settle_capital
from alchemiser.cycle.reconcile import _unexplained
from alchemiser.cycle.snapshots import account_snapshot
from alchemiser.ledger.models import (
    EXTERNAL,
    POOL,
    BookSnapshot,
    Transfer,
    TransferReason,
)
from alchemiser.ledger.sqlite import SQLiteLedger
from tests.workflow.conftest import all_prices

HELD_ON = date(2024, 3, 8)  # the books' last snapshot before the ex-date
EX_DATE = date(2024, 3, 9)
RUN_DAY = date(2024, 3, 11)
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "alpaca"
STAGE = StageConfig(
    name="dev",
    books=(
        BookConfig(id="alpha", strategy="a.clj", share=Decimal("0.3")),
        BookConfig(id="beta", strategy="b.clj", share=Decimal("0.5")),
        BookConfig(id="trial", strategy="a.clj", share=Decimal("0.2"), mode="shadow"),
    ),
    hedge=None,
    capital=CapitalPolicy(rebalance=CapitalRebalance.NONE),
)


def snapshot(book: str, spy: str, mode: str = "live") -> BookSnapshot:
    zero = Decimal(0)
    return BookSnapshot(
        book_id=book, trading_date=HELD_ON, run_id="r0", capital=zero, cash=zero,
        positions={"SPY": Decimal(spy)} if spy != "0" else {}, prices={"SPY": Decimal(500)},
        market_value=zero, equity=zero, cost_basis=zero, realised_pnl=zero,
        unrealised_pnl=zero, twr_day=zero, twr_inception=zero, mode=mode,
    )  # fmt: skip


class RecordedBroker(SimulatedBroker):
    """The simulated account, with the activities a recorded Alpaca page says it had."""

    recorded: list[CashActivity]

    def cash_activities(self, since: date | None = None) -> list[CashActivity]:
        return self.recorded


@pytest.fixture
def deps(tmp_path: Path) -> Any:
    """Books alpha (3 SPY) and beta (7 SPY) live, trial (5 SPY) shadow; the pool opened."""
    ledger = SQLiteLedger(tmp_path / "ledger.sqlite3")
    broker = RecordedBroker(tmp_path / "broker.sqlite3", all_prices())
    broker.recorded = []
    broker.set_session(HELD_ON)
    opening = Transfer(
        transfer_id="o", trading_date=HELD_ON, source=EXTERNAL, destination=POOL,
        amount=broker.account().cash, reason=TransferReason.OPENING,
    )  # fmt: skip
    ledger.record_transfers([opening])
    for book, spy, mode in (
        ("alpha", "3", "live"),
        ("beta", "7", "live"),
        ("trial", "5", "shadow"),
    ):
        ledger.put_snapshot(snapshot(book, spy, mode))
    return SimpleNamespace(ledger=ledger, broker=broker, hedge_store=None)


def dividend(amount: str, qty: str | None = "10", ident: str = "d1") -> CashActivity:
    return CashActivity(
        id=ident, day=EX_DATE, kind=CashActivityKind.DIVIDEND, amount=Decimal(amount),
        symbol="SPY", qty=Decimal(qty) if qty else None, per_share=Decimal("0.5"),
        broker_type="DIV",
    )  # fmt: skip


def received(deps: Any) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for t in deps.ledger.transfers_on(RUN_DAY):
        out[t.destination] = out.get(t.destination, Decimal(0)) + t.amount
        out[t.source] = out.get(t.source, Decimal(0)) - t.amount
    out.pop(EXTERNAL, None)
    return out


def test_the_books_that_held_it_share_it_by_shares_to_the_cent(deps: Any) -> None:
    deps.broker.recorded = [dividend("5.01")]
    day = settle_capital("r1", RUN_DAY, STAGE, deps)
    # 3/10 and 7/10 of 501 cents: 150.3 and 350.7 -> the left cent to the larger remainder
    assert received(deps) == {"alpha": Decimal("1.50"), "beta": Decimal("3.51")}
    assert {t.reason for t in deps.ledger.transfers_on(RUN_DAY)} == {TransferReason.DIVIDEND}
    assert day.warnings == []  # the books' shares are the broker's: nothing to say


def test_shares_no_book_held_give_their_part_to_the_pool_and_say_so(deps: Any) -> None:
    deps.broker.recorded = [dividend("6.00", qty="12")]
    day = settle_capital("r1", RUN_DAY, STAGE, deps)
    assert received(deps) == {"alpha": Decimal("1.50"), "beta": Decimal("3.50"), POOL: Decimal(1)}
    assert len(day.warnings) == 1 and "the pool gets the part of the 2 shares" in day.warnings[0]
    # said once: the next run credits nothing new and says nothing more
    again = settle_capital("r2", RUN_DAY, STAGE, deps)
    assert again.warnings == [] and received(deps)[POOL] == Decimal(1)


def test_a_dividend_no_book_held_goes_to_the_pool_named(deps: Any) -> None:
    other = dividend("2.00").model_copy(update={"symbol": "QQQ"})
    deps.broker.recorded = [other]
    day = settle_capital("r1", RUN_DAY, STAGE, deps)
    assert received(deps) == {POOL: Decimal(2)}
    assert "no book held QQQ" in day.warnings[0]


def test_a_withholding_adjustment_is_taken_back_from_the_same_books(deps: Any) -> None:
    deps.broker.recorded = [dividend("-0.15", ident="d2")]
    settle_capital("r1", RUN_DAY, STAGE, deps)
    # 3/10 and 7/10 of 15 cents: 4.5 and 10.5 -> the tie goes to the smaller id
    assert received(deps) == {"alpha": Decimal("-0.05"), "beta": Decimal("-0.10")}


def test_a_recorded_alpaca_page_leaves_its_unknown_type_as_an_explicit_unexplained_gap(
    deps: Any,
) -> None:
    # Given Alpaca's page: a $1,000 deposit and a $12.50 reorganisation (a type the books
    # do not account for); the account's cash moved by both
    page = json.loads((FIXTURES / "activities_unknown_types.json").read_text())
    found = [a for a in (parse_activity(raw) for raw in page) if a is not None]
    deps.broker.recorded = found
    deps.broker.deposit(Decimal("1012.50"))
    # When the capital step credits them and the account is valued
    day = settle_capital("r1", RUN_DAY, STAGE, deps)
    account = account_snapshot("r1", RUN_DAY, deps, deps.ledger.transfers_on(RUN_DAY), False)
    # Then the deposit is in the pool, the reorganisation in no one's cash, named, and
    # the gap is the explicit unexplained line, to the cent
    assert received(deps) == {POOL: Decimal(1000)}
    reorg = "20240322000000001::66666666-7777-4888-9999-aaaaaaaaaaaa"
    assert any(reorg in w and "REORG" in w for w in day.warnings)
    assert account.difference == Decimal("12.50")
    assert "by $12.50" in _unexplained(account)[0]


def test_every_transfer_reason_is_a_flow_a_performance_or_never_a_books() -> None:
    kinds = (BOOK_FLOWS, BOOK_PERFORMANCE, POOL_ONLY)
    for reason in TransferReason:
        assert sum(reason in k for k in kinds) == 1, reason


def test_a_dividend_is_a_books_return_while_its_funding_is_a_flow(deps: Any) -> None:
    # Given alpha at $1,000 funded $500 more and paid a $10 dividend the same day
    fund = Transfer(
        transfer_id="f", trading_date=RUN_DAY, source=POOL, destination="alpha",
        amount=Decimal(500), reason=TransferReason.FUND,
    )  # fmt: skip
    paid = Transfer(
        transfer_id="activity:d1:alpha", trading_date=RUN_DAY, source=EXTERNAL,
        destination="alpha", amount=Decimal(10), reason=TransferReason.DIVIDEND,
    )  # fmt: skip
    start, end = book_flows("alpha", [fund, paid])
    # Then only the funding is a flow, and the dividend is the day's return: 10 / 1,500
    assert (start, end) == (Decimal(500), Decimal(0))
    assert day_return(Decimal(1000), Decimal(1510), start, end) == Decimal("0.006666666667")


def test_a_simulated_account_file_made_before_dividends_keeps_its_activities(
    tmp_path: Path,
) -> None:
    # Given an account file whose activities table predates dividends (no symbol, qty, rate)
    path = tmp_path / "broker.sqlite3"
    broker = SimulatedBroker(path, all_prices())
    broker.set_session(HELD_ON)
    broker.deposit(Decimal(250))
    with sqlite3.connect(path) as conn:
        for column in ("symbol", "qty", "per_share"):
            conn.execute(f"ALTER TABLE activities DROP COLUMN {column}")
    # When it is opened again, it gains the columns and loses nothing
    reopened = SimulatedBroker(path, all_prices())
    (deposit,) = reopened.cash_activities()
    assert (deposit.kind, deposit.amount, deposit.symbol) == (
        CashActivityKind.DEPOSIT,
        Decimal(250),
        "",
    )
    # and a dividend on nothing held is refused, naming the symbol
    with pytest.raises(BrokerError, match="holds no SPY"):
        reopened.pay_dividend("SPY", Decimal("0.5"))
