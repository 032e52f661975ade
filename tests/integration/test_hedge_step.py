"""The cycle's Hedge branch (HedgePlan, HedgeExecute) on real prices: the book, journal, switches.

Each test stores the day's plan (``runs/<run>/day.json``, as PlanCycle would) in a fresh
local home and calls both steps with the local adapters (simulated options market on the
real QQQ/SPY closes, the SQLite hedge store in the home's ledger).
"""

from __future__ import annotations

import functools
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from alchemiser.broker.options_models import OptionLeg, OptionOrderRequest, PositionIntent
from alchemiser.broker.simulated_market import trading_session
from alchemiser.cycle.artifacts import RunArtifacts, day_key, put_model
from alchemiser.cycle.faults import FaultPlan
from alchemiser.cycle.hedge_plan import plan_hedge
from alchemiser.cycle.hedge_step import hedge, set_hedge_switch
from alchemiser.cycle.messages import RunRef
from alchemiser.cycle.models import BookTask, CyclePlan, HedgeDecision
from alchemiser.errors import InjectedCrashError
from alchemiser.execution.clock import InstantClock
from alchemiser.ledger.hedge_store import HedgeBookRecord, SQLiteHedgeStore
from alchemiser.ledger.models import KillSwitch
from alchemiser.local.environment import (
    LocalMarket,
    books_of,
    build_local_dependencies,
    open_market,
)
from alchemiser.runtime import Dependencies
from tests.workflow.conftest import make_settings

DAY = date(2024, 3, 14)
EQUITY = Decimal(100_000)


@functools.cache
def market_on(day: date) -> LocalMarket:
    """Return the real prices' market (read once: the tests only read it)."""
    settings = make_settings(Path("unused"))
    return open_market(settings, books_of(settings), day)


def deps_on(home: Path, day: date = DAY, **overrides: object) -> Dependencies:
    """Return the local adapters of ``home`` on ``day`` with its plan stored."""
    settings = make_settings(home, **overrides)
    market = market_on(day)
    now = trading_session(day).close - timedelta(minutes=15)
    deps = build_local_dependencies(settings, market, day, now, FaultPlan())
    deps = replace(deps, clock=InstantClock(now))
    run_id = f"cycle-{day}-dev"
    books = [
        BookTask(
            run_id=run_id, stage="dev", trading_date=day, book_id=b.id, strategy=b.strategy,
            share=b.share, account_equity=EQUITY, cash=EQUITY * b.share,
        )  # a first day: each book funded with its share, all in cash
        for b in books_of(settings)
    ]  # fmt: skip
    plan = CyclePlan(
        run_id=run_id, stage="dev", trading_date=day, market_open=True, proceed=True,
        run_at=datetime.combine(day, datetime.min.time()), account_equity=EQUITY, books=books,
    )  # fmt: skip
    put_model(deps.store, day_key(run_id), plan)
    return deps


def hedge_day(ref: RunRef, deps: Dependencies) -> HedgeDecision:
    """Run the Hedge branch's two steps as the state machine does: HedgePlan, HedgeExecute."""
    return hedge(plan_hedge(ref, deps), deps)


def option_orders(deps: Dependencies) -> list[str]:
    assert deps.options is not None
    return sorted(o.client_order_id for o in deps.options.orders())  # type: ignore[attr-defined]


def test_a_hedge_is_bought_recorded_in_the_ledger_and_a_rerun_places_nothing(
    tmp_path: Path,
) -> None:
    deps = deps_on(tmp_path)
    decision = hedge_day(RunRef(run_id=f"cycle-{DAY}-dev"), deps)
    assert decision.decision == "hedged" and decision.option_orders >= 1
    placed = option_orders(deps)
    book = SQLiteHedgeStore(tmp_path / "ledger.sqlite3").load_book()
    (record,) = book.state.hedges
    assert record.underlying == "QQQ" and record.premium > 0
    assert book.pending == ()
    assert book.state.month_to_date(DAY) == record.premium <= Decimal("0.005") * EQUITY
    assert list(book.iv) == ["QQQ"] and DAY in book.iv["QQQ"]
    (snapshot,) = book.snapshots
    assert snapshot.day == DAY and snapshot.nav > 0
    assert snapshot.unrealised == snapshot.nav - record.premium
    summary = RunArtifacts(deps.store, f"cycle-{DAY}-dev").hedge()
    assert summary is not None and summary.positions[0].legs[0].delta < 0
    assert summary.protection["-0.2"] > summary.protection["-0.1"] > 0

    again = hedge_day(RunRef(run_id=f"cycle-{DAY}-dev"), deps_on(tmp_path))
    assert again.decision == "no-hedge" and "was bought today" in again.reason
    assert option_orders(deps) == placed
    assert SQLiteHedgeStore(tmp_path / "ledger.sqlite3").load_book().state == book.state


class DiesBeforeTheFinalSave(SQLiteHedgeStore):
    """The process dies after the broker filled, before the book saved the fill."""

    def save_book(self, book: HedgeBookRecord) -> None:
        if book.state.hedges and not book.pending:
            raise InjectedCrashError("killed between the fill and the state save")
        super().save_book(book)


def test_a_crash_between_the_fill_and_the_save_is_settled_once_by_the_rerun(
    tmp_path: Path,
) -> None:
    # Given a run killed after its option order filled, before the book was saved
    deps = deps_on(tmp_path)
    dying = replace(deps, hedge_store=DiesBeforeTheFinalSave(tmp_path / "ledger.sqlite3"))
    with pytest.raises(InjectedCrashError):
        hedge_day(RunRef(run_id=f"cycle-{DAY}-dev"), dying)
    placed = option_orders(deps)
    left = SQLiteHedgeStore(tmp_path / "ledger.sqlite3").load_book()
    assert placed and left.state.hedges == () and len(left.pending) == 1

    # When the day is run again
    decision = hedge_day(RunRef(run_id=f"cycle-{DAY}-dev"), deps_on(tmp_path))

    # Then the fill is booked once from the broker, nothing is sent again, nothing bought twice
    assert option_orders(deps) == placed
    book = SQLiteHedgeStore(tmp_path / "ledger.sqlite3").load_book()
    assert len(book.state.hedges) == 1 and book.pending == ()
    assert len([e for e in book.state.events if e.kind.value == "open"]) == 1
    assert "settled open order" in decision.reason and "was bought today" in decision.reason


def test_the_hedge_switch_places_no_option_order_and_says_why(tmp_path: Path) -> None:
    store = SQLiteHedgeStore(tmp_path / "ledger.sqlite3")
    set_hedge_switch(store, True, "testing the switch", datetime(2024, 3, 14, 12))
    deps = deps_on(tmp_path)
    decision = hedge_day(RunRef(run_id=f"cycle-{DAY}-dev"), deps)
    assert decision.decision == "refused"
    assert decision.reason == "halted: the hedge kill switch is on: testing the switch"
    assert option_orders(deps) == []
    # a halt is not a failure: it never counts towards tripping the switch
    assert store.hedge_switch().failures == ()


def test_the_global_kill_switch_stops_the_hedge_too(tmp_path: Path) -> None:
    deps = deps_on(tmp_path)
    deps.ledger.set_kill_switch(
        KillSwitch(enabled=True, reason="ops", updated_at=datetime(2024, 3, 14), updated_by="t")
    )
    decision = hedge_day(RunRef(run_id=f"cycle-{DAY}-dev"), deps)
    assert decision.reason == "halted: the kill switch is on: ops"
    assert option_orders(deps) == []


def test_the_switch_trips_itself_after_n_failures_in_24_hours(tmp_path: Path) -> None:
    # Given an option position at the broker the hedge book does not know (drift)
    deps = deps_on(tmp_path, hedge_trip_failures=2)
    assert deps.options is not None
    symbol = "QQQ240621P00390000"
    quote = deps.options.option_snapshots([symbol])[symbol]
    deps.options.submit_option_order(
        OptionOrderRequest(
            client_order_id="by-hand", qty=1, limit_price=quote.ask,
            legs=(OptionLeg(symbol=symbol, intent=PositionIntent.BUY_TO_OPEN),),
        )
    )  # fmt: skip
    store = SQLiteHedgeStore(tmp_path / "ledger.sqlite3")
    # When the run's hedge refuses, twice (a retried attempt): one failure, not two
    first = hedge_day(RunRef(run_id=f"cycle-{DAY}-dev"), deps)
    assert first.decision == "refused" and "disagree with the hedge book" in first.reason
    hedge_day(RunRef(run_id=f"cycle-{DAY}-dev"), deps)
    assert len(store.hedge_switch().failures) == 1
    assert not store.hedge_switch().enabled
    # And a second run of the day (a retry run) refuses too: the second failure trips it
    put_model(deps.store, day_key(f"cycle-{DAY}-dev-r2"), RunArtifacts(deps.store, f"cycle-{DAY}-dev").day().model_copy(update={"run_id": f"cycle-{DAY}-dev-r2", "books": []}))  # fmt: skip
    hedge_day(RunRef(run_id=f"cycle-{DAY}-dev-r2"), deps)
    switch = store.hedge_switch()
    assert switch.enabled and switch.reason.startswith("tripped by 2 hedge failures in 24 h")
    # Then the next run is halted by it, and switching it off by hand forgets the failures
    third = hedge_day(RunRef(run_id=f"cycle-{DAY}-dev"), deps)
    assert third.reason.startswith("halted: the hedge kill switch is on: tripped by 2")
    assert option_orders(deps) == ["by-hand"]
    off = set_hedge_switch(store, False, "", datetime(2024, 3, 14, 13))
    assert not off.enabled and off.failures == ()
