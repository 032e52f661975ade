"""The cycle's capital step on a real ledger: each capital policy, funding, retirement.

``settle_capital`` runs in PlanCycle; here it runs on a SQLite ledger and the simulated
broker, with snapshots that put two books off their 50/50 targets (70/30).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from alchemiser.books.capital_policy import CapitalPolicy, CapitalRebalance
from alchemiser.books.config import BookConfig, StageConfig
from alchemiser.broker.simulated import SimulatedBroker
from alchemiser.cycle.capital import settle_capital
from alchemiser.ledger.models import (
    EXTERNAL,
    POOL,
    AccountSnapshot,
    BookSnapshot,
    Transfer,
    TransferReason,
)
from alchemiser.ledger.sqlite import SQLiteLedger
from tests.workflow.conftest import all_prices

BEFORE = date(2024, 3, 1)
TARGETS = {"alpha": Decimal("0.5"), "beta": Decimal("0.5")}


def stage(policy: CapitalPolicy, books: dict[str, Decimal] = TARGETS) -> StageConfig:
    configs = tuple(BookConfig(id=b, strategy=f"{b}.clj", share=s) for b, s in books.items())
    return StageConfig(name="dev", books=configs, hedge=None, capital=policy)


def snapshot(book: str, cash: str) -> BookSnapshot:
    zero = Decimal(0)
    return BookSnapshot(
        book_id=book, trading_date=BEFORE, run_id="r0", capital=Decimal(cash), cash=Decimal(cash),
        positions={}, prices={}, market_value=zero, equity=Decimal(cash), cost_basis=zero,
        realised_pnl=zero, unrealised_pnl=zero, twr_day=zero, twr_inception=zero,
    )  # fmt: skip


@pytest.fixture
def deps(tmp_path: Path) -> Any:
    """A ledger whose books hold 70 000 / 30 000 in cash, the pool nothing; a broker to match."""
    ledger = SQLiteLedger(tmp_path / "ledger.sqlite3")
    broker = SimulatedBroker(tmp_path / "broker.sqlite3", all_prices())
    broker.set_session(BEFORE)
    opening = broker.account().cash  # 100 000
    ledger.record_transfers(
        [
            Transfer(transfer_id="o", trading_date=BEFORE, source=EXTERNAL, destination=POOL,
                     amount=opening, reason=TransferReason.OPENING),
            Transfer(transfer_id="a", trading_date=BEFORE, source=POOL, destination="alpha",
                     amount=Decimal(70000), reason=TransferReason.FUND),
            Transfer(transfer_id="b", trading_date=BEFORE, source=POOL, destination="beta",
                     amount=Decimal(30000), reason=TransferReason.FUND),
        ]
    )  # fmt: skip
    for book, cash in (("alpha", "70000"), ("beta", "30000")):
        ledger.put_snapshot(snapshot(book, cash))
    return SimpleNamespace(ledger=ledger, broker=broker, hedge_store=None)


def last_rebalance(deps: Any, day: date | None) -> None:
    deps.ledger.put_account_snapshot(
        AccountSnapshot(trading_date=BEFORE, run_id="r0", pool=Decimal(0), nav=Decimal(100000),
                        broker_equity=Decimal(100000), difference=Decimal(0), last_rebalance=day)
    )  # fmt: skip


def moved(deps: Any, day: date) -> dict[str, Decimal]:
    """Return what each book received on ``day`` (< 0: gave back)."""
    out: dict[str, Decimal] = {}
    for t in deps.ledger.transfers_on(day):
        if t.destination in TARGETS:
            out[t.destination] = out.get(t.destination, Decimal(0)) + t.amount
        if t.source in TARGETS:
            out[t.source] = out.get(t.source, Decimal(0)) - t.amount
    return out


def test_none_never_moves_capital(deps: Any) -> None:
    last_rebalance(deps, None)
    day = settle_capital(
        "r1", date(2024, 3, 4), stage(CapitalPolicy(rebalance=CapitalRebalance.NONE)), deps
    )
    assert moved(deps, date(2024, 3, 4)) == {} and not day.rebalanced
    assert day.cash == {"alpha": Decimal(70000), "beta": Decimal(30000)}


@pytest.mark.parametrize(
    ("rule", "last", "day", "due"),
    [
        (CapitalRebalance.MONTHLY, date(2024, 2, 15), date(2024, 3, 4), True),
        (CapitalRebalance.MONTHLY, date(2024, 3, 1), date(2024, 3, 4), False),
        (CapitalRebalance.QUARTERLY, date(2024, 1, 10), date(2024, 3, 4), False),
        (CapitalRebalance.QUARTERLY, date(2023, 12, 10), date(2024, 3, 4), True),
    ],
)
def test_a_calendar_policy_moves_every_book_back_to_its_target_when_due(
    deps: Any, rule: CapitalRebalance, last: date, day: date, due: bool
) -> None:
    last_rebalance(deps, last)
    result = settle_capital("r1", day, stage(CapitalPolicy(rebalance=rule)), deps)
    assert result.rebalanced is due
    if due:
        assert moved(deps, day) == {"alpha": Decimal(-20000), "beta": Decimal(20000)}
        reasons = {t.reason for t in deps.ledger.transfers_on(day)}
        assert reasons == {TransferReason.SCHEDULED}
        assert result.cash == {"alpha": Decimal(50000), "beta": Decimal(50000)}
    else:
        assert moved(deps, day) == {}


@pytest.mark.parametrize(("threshold", "due"), [("0.05", True), ("0.25", False)])
def test_a_threshold_policy_moves_capital_when_a_share_drifts_past_it(
    deps: Any, threshold: str, due: bool
) -> None:
    policy = CapitalPolicy(rebalance=CapitalRebalance.THRESHOLD, threshold=Decimal(threshold))
    day = date(2024, 3, 4)
    result = settle_capital("r1", day, stage(policy), deps)
    assert result.rebalanced is due
    assert moved(deps, day) == ({"alpha": Decimal(-20000), "beta": Decimal(20000)} if due else {})
    # the pool and the books still hold exactly the broker's cash
    assert sum(deps.ledger.cash_accounts().values()) == deps.broker.account().cash


def test_a_rebalance_is_decided_once_per_run(deps: Any) -> None:
    policy = CapitalPolicy(rebalance=CapitalRebalance.THRESHOLD, threshold=Decimal("0.05"))
    day = date(2024, 3, 4)
    settle_capital("r1", day, stage(policy), deps)
    again = settle_capital("r1", day, stage(policy), deps)  # the step re-run after a crash
    assert again.rebalanced and moved(deps, day) == {
        "alpha": Decimal(-20000),
        "beta": Decimal(20000),
    }


def test_a_new_book_is_funded_from_the_pool_and_a_removed_one_is_retired(deps: Any) -> None:
    # Given 10 000 deposited into the pool, beta removed and gamma added (shares 0.5 / 0.1)
    deps.broker.deposit(Decimal(10000))
    books = {"alpha": Decimal("0.5"), "gamma": Decimal("0.1")}
    policy = CapitalPolicy(rebalance=CapitalRebalance.NONE)
    day = date(2024, 3, 4)
    result = settle_capital("r1", day, stage(policy, books), deps)
    # Then the deposit reached the pool; beta is retired, and being flat its 30 000 went
    # back to the pool at once; gamma was funded with its share of the capital the shares
    # apply to: the pool and the configured books, 10 000 + 30 000 + 70 000
    transfers = {t.transfer_id: t for t in deps.ledger.transfers_on(day)}
    assert transfers["activity:sim-1"].reason is TransferReason.DEPOSIT
    assert transfers["r1:fund:gamma"].amount == Decimal(11000)
    assert transfers["r1:retire:beta"].amount == Decimal(30000)
    assert result.cash["gamma"] == Decimal(11000) and result.retired == []
    assert deps.ledger.cash_accounts()[POOL] == Decimal(29000)
