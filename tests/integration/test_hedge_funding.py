"""The hedge book's cash on a real ledger, broker and hedge store: funding, spare, events.

Two books (70 000 / 30 000 in cash) and a pool; the dev-like hedge policy caps premium
at 0.5 % of equity a month and 4 % a year.
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
from alchemiser.books.hedge_account import post_hedge_events
from alchemiser.books.returns import book_flows
from alchemiser.broker.simulated import SimulatedBroker
from alchemiser.cycle.capital import settle_capital
from alchemiser.cycle.hedge_funding import fund_hedge
from alchemiser.hedge.book import EventKind, HedgeBookState, HedgeEvent
from alchemiser.hedge.policy import Budget, HedgePolicy, HedgeTemplate, HedgeUnderlying, Protect
from alchemiser.ledger.hedge_store import HedgeBookRecord, HedgeSwitch, SQLiteHedgeStore
from alchemiser.ledger.models import (
    EXTERNAL,
    HEDGE,
    POOL,
    AccountSnapshot,
    HedgeBookDay,
    Transfer,
    TransferReason,
)
from alchemiser.ledger.sqlite import SQLiteLedger
from alchemiser.settings import Settings
from tests.integration.test_capital_transfers import snapshot
from tests.workflow.conftest import all_prices

BEFORE, DAY = date(2024, 3, 1), date(2024, 3, 4)
POLICY = HedgePolicy(
    underlying=HedgeUnderlying.AUTO, template=HedgeTemplate.TAIL,
    protect=Protect(move=Decimal("-0.20"), payoff=Decimal("0.08")),
    budget=Budget(monthly=Decimal("0.005"), yearly=Decimal("0.04")),
)  # fmt: skip


def stage(hedged: bool = True) -> StageConfig:
    books = (
        BookConfig(id="alpha", strategy="a.clj", share=Decimal("0.7")),
        BookConfig(id="beta", strategy="b.clj", share=Decimal("0.3")),
    )
    return StageConfig(
        name="dev", books=books, hedge=POLICY if hedged else None,
        capital=CapitalPolicy(rebalance=CapitalRebalance.NONE),
    )  # fmt: skip


def transfer(tid: str, source: str, destination: str, amount: str) -> Transfer:
    return Transfer(
        transfer_id=tid, trading_date=BEFORE, source=source, destination=destination,
        amount=Decimal(amount), reason=TransferReason.FUND,
    )  # fmt: skip


@pytest.fixture
def deps(tmp_path: Path) -> Any:
    """Books holding 70 000 / 30 000 in cash and an empty pool; the broker holds 100 000."""
    ledger = SQLiteLedger(tmp_path / "ledger.sqlite3")
    broker = SimulatedBroker(tmp_path / "broker.sqlite3", all_prices())
    broker.set_session(BEFORE)
    ledger.record_transfers(
        [
            transfer("o", EXTERNAL, POOL, "100000"),
            transfer("a", POOL, "alpha", "70000"),
            transfer("b", POOL, "beta", "30000"),
        ]
    )
    for book, cash in (("alpha", "70000"), ("beta", "30000")):
        ledger.put_snapshot(snapshot(book, cash))
    store = SQLiteHedgeStore(tmp_path / "ledger.sqlite3")
    settings = Settings.model_validate({"home": tmp_path})
    return SimpleNamespace(ledger=ledger, broker=broker, hedge_store=store, settings=settings)


def hedge_transfers(deps: Any) -> dict[str, Decimal]:
    """Return the day's hedge funding by paying account (< 0: received from the hedge)."""
    out: dict[str, Decimal] = {}
    for t in deps.ledger.transfers_on(DAY):
        if t.reason is TransferReason.HEDGE:
            if t.destination == HEDGE:
                out[t.source] = out.get(t.source, Decimal(0)) + t.amount
            else:
                out[t.destination] = out.get(t.destination, Decimal(0)) - t.amount
    return out


def test_the_books_fund_the_hedge_pro_rata_to_nav_when_the_pool_is_empty(deps: Any) -> None:
    funding = fund_hedge("r1", DAY, stage(), deps)
    # 0.5 % of the 100 000 equity, paid 70 / 30 by the books, to the cent
    assert hedge_transfers(deps) == {"alpha": Decimal(350), "beta": Decimal(150)}
    assert funding is not None and funding.cash == funding.spendable == Decimal(500)
    # For the books' returns the transfer is a flow, not performance
    assert book_flows("alpha", deps.ledger.transfers_on(DAY)) == (Decimal(-350), Decimal(0))
    # The cash accounts still add up to the broker's cash
    assert sum(deps.ledger.cash_accounts().values()) == deps.broker.account().cash


def invest(deps: Any, book: str, cash: str, spy: str) -> None:
    """Make ``book`` hold ``spy`` shares of SPY at 500 and ``cash`` (its NAV unchanged)."""
    held = snapshot(book, cash).model_copy(
        update={"positions": {"SPY": Decimal(spy)}, "prices": {"SPY": Decimal(500)}}
    )
    deps.ledger.put_snapshot(held)
    spent = deps.ledger.cash_accounts()[book] - Decimal(cash)
    deps.ledger.record_transfers([transfer(f"buy-{book}", book, EXTERNAL, str(spent))])


def test_the_pool_pays_first_and_what_invested_books_owe_is_not_spendable_today(
    deps: Any,
) -> None:
    # Given the books fully invested (70 and 30 of cash left) and 400 in the pool
    invest(deps, "alpha", "70", "139.86")
    invest(deps, "beta", "30", "59.94")
    deps.ledger.record_transfers([transfer("dep", EXTERNAL, POOL, "400")])
    funding = fund_hedge("r1", DAY, stage(), deps)
    # Then the pool pays 400 and the books the rest, pro rata to their NAVs
    assert hedge_transfers(deps) == {POOL: Decimal(400), "alpha": Decimal(70), "beta": Decimal(30)}
    assert funding is not None and funding.cash == Decimal(500)
    assert funding.spendable == Decimal(500)  # they had the cash
    # A second top-up the books cannot pay from cash: they owe it until their sells
    deps.ledger.record_transfers([transfer("spent", HEDGE, EXTERNAL, "300")])
    later = fund_hedge("r2", date(2024, 3, 5), stage(), deps)
    assert later is not None and later.cash == Decimal(500)
    accounts = deps.ledger.cash_accounts()
    assert accounts["alpha"] < 0 and accounts["beta"] < 0
    assert later.spendable == Decimal(500) + accounts["alpha"] + accounts["beta"]


def test_funding_is_decided_once_per_run_and_the_events_posted_once(deps: Any) -> None:
    paid = HedgeEvent(
        day=DAY, kind=EventKind.OPEN, hedge_id="h1", amount=Decimal("-120.50"), reason="buy"
    )
    deps.hedge_store.save_book(HedgeBookRecord(state=HedgeBookState(events=(paid,))))
    fund_hedge("r1", DAY, stage(), deps)
    again = fund_hedge("r1", DAY, stage(), deps)  # PlanCycle re-run after a crash
    assert again is not None and again.events == 1
    # the premium was paid (-120.50) and counts against the month: the hedge is topped
    # up to the 379.50 left of the 500 cap, and each move happened once
    assert sum(hedge_transfers(deps).values()) == Decimal(500)
    assert deps.ledger.cash_accounts()[HEDGE] == Decimal("379.50")
    post_hedge_events(deps.ledger, deps.hedge_store.load_book().state, "r2")
    assert deps.ledger.cash_accounts()[HEDGE] == Decimal("379.50")


def test_an_event_posted_again_with_other_cash_is_refused(deps: Any) -> None:
    event = HedgeEvent(day=DAY, kind=EventKind.OPEN, hedge_id="h1", amount=Decimal("-100"))
    post_hedge_events(deps.ledger, HedgeBookState(events=(event,)), "r1")
    changed = event.model_copy(update={"amount": Decimal("-101")})
    with pytest.raises(ValueError, match="hedge-event:0"):
        post_hedge_events(deps.ledger, HedgeBookState(events=(changed,)), "r1")


@pytest.mark.parametrize("why", ["off", "hedge switch"])
def test_spare_hedge_cash_returns_to_the_pool_when_hedging_stops(deps: Any, why: str) -> None:
    deps.ledger.record_transfers([transfer("h", "alpha", HEDGE, "800")])
    if why == "hedge switch":
        deps.hedge_store.save_hedge_switch(HedgeSwitch(enabled=True, reason="vol"))
    funding = fund_hedge("r1", DAY, stage(hedged=why != "off"), deps)
    assert hedge_transfers(deps) == {POOL: Decimal(-800)}
    assert deps.ledger.cash_accounts()[HEDGE] == 0
    assert funding is not None and funding.spendable == 0


def test_the_global_kill_switch_stops_trading_not_the_hedges_capital(deps: Any) -> None:
    deps.settings = deps.settings.model_copy(update={"kill_switch": True})
    funding = fund_hedge("r1", DAY, stage(), deps)
    assert funding is not None and funding.cash == Decimal(500)


def test_only_cash_above_a_months_cap_returns_while_hedging(deps: Any) -> None:
    deps.ledger.record_transfers([transfer("h", "alpha", HEDGE, "3000")])  # a payoff, say
    fund_hedge("r1", DAY, stage(), deps)
    assert hedge_transfers(deps) == {POOL: Decimal(-2500)}  # keeps the 500 cap
    deps.ledger.record_transfers([transfer("h2", POOL, HEDGE, "20")])
    fund_hedge("r2", DAY, stage(), deps)  # 20 above the cap: back
    assert deps.ledger.cash_accounts()[HEDGE] == Decimal(500)


def test_plan_cycles_capital_step_funds_the_hedge_before_the_capital_policy(
    deps: Any,
) -> None:
    day = settle_capital("r1", DAY, stage(), deps)
    assert day.hedge is not None and day.hedge.cash == Decimal(500)
    assert day.cash == {"alpha": Decimal(69650), "beta": Decimal(29850)}
    assert day.warnings == []


def test_events_an_account_snapshot_says_were_posted_are_not_offered_again(deps: Any) -> None:
    first = HedgeEvent(day=DAY, kind=EventKind.OPEN, hedge_id="h1", amount=Decimal("-100"))
    post_hedge_events(deps.ledger, HedgeBookState(events=(first,)), "r1")
    hedge = HedgeBookDay(cash=Decimal(-100), options=Decimal(0), nav=Decimal(-100), events=1)
    deps.ledger.put_account_snapshot(
        AccountSnapshot(
            trading_date=DAY, run_id="r1", pool=Decimal(0), nav=Decimal(0),
            broker_equity=Decimal(0), difference=Decimal(0), hedge=hedge,
        )
    )  # fmt: skip
    # a later run offers only the new event (an old one is not read, nor re-written)
    later = HedgeEvent(day=DAY, kind=EventKind.CLOSE, hedge_id="h1", amount=Decimal("40"))
    changed = first.model_copy(update={"amount": Decimal("-999")})
    assert post_hedge_events(deps.ledger, HedgeBookState(events=(changed, later)), "r2") == 2
    assert deps.ledger.cash_accounts()[HEDGE] == Decimal(-60)
