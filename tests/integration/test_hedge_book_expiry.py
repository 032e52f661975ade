"""A hedge held to expiry, on real QQQ prices: the broker settles it into the account's
cash, the hedge book settles it into its own, and the account still adds up to the cent.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from alchemiser.broker.alpaca_mapping import NEW_YORK
from alchemiser.broker.options_models import (
    OptionLeg,
    OptionOrderRequest,
    OptionRight,
    PositionIntent,
)
from alchemiser.broker.simulated import SimulatedBroker
from alchemiser.broker.simulated_options import SimulatedOptionsBroker
from alchemiser.broker.simulated_options_market import SimulatedOptionsMarket
from alchemiser.cycle.hedge_book import hedge_book_day
from alchemiser.cycle.snapshots import account_snapshot
from alchemiser.execution.clock import InstantClock
from alchemiser.hedge.book import EventKind, HedgeBookState, HedgeLeg, HedgeRecord
from alchemiser.hedge.daily import HedgeDayInputs, HedgePorts, run_hedge_day
from alchemiser.hedge.iv_regime import IvHistory
from alchemiser.hedge.policy import HedgeTemplate
from alchemiser.ledger.hedge_store import HedgeBookRecord, SQLiteHedgeStore
from alchemiser.ledger.models import EXTERNAL, HEDGE, POOL, Transfer, TransferReason
from alchemiser.ledger.sqlite import SQLiteLedger
from alchemiser.market.history import PriceHistory
from alchemiser.market.loader import load_price_directory
from alchemiser.money import to_decimal
from tests.integration.test_hedge_daily import POLICY

BOUGHT, EXPIRY, AFTER = date(2024, 6, 14), date(2024, 6, 21), date(2024, 6, 24)


@pytest.fixture(scope="module")
def history(prices_dir: Path) -> PriceHistory:
    return load_price_directory(prices_dir, ["QQQ", "SPY"])


def close_of(history: PriceHistory, underlying: str, day: date) -> Decimal | None:
    """Return the close as the Hedge step reads it (``cycle.hedge_step``)."""
    found = history.select([underlying]).truncate(day)
    if found.day(len(found.dates) - 1) != day:
        return None
    return to_decimal(float(found.column(underlying)[-1])).quantize(Decimal("0.0001"))


def reconcile(deps: Any, day: date) -> Decimal:
    """Do Reconcile's hedge and account steps; return broker equity - the ledger's NAV."""
    hedge, warnings = hedge_book_day(f"run-{day}", day, deps)
    assert warnings == [] and hedge is not None
    transfers = deps.ledger.transfers_on(day)
    snapshot = account_snapshot(f"run-{day}", day, deps, transfers, False, hedge=hedge)
    deps.ledger.put_account_snapshot(snapshot)
    return snapshot.difference


def test_a_put_settled_at_expiry_moves_the_same_cash_at_the_broker_and_in_the_book(
    tmp_path: Path, history: PriceHistory
) -> None:
    # Given an account of $100,000 in the pool, and a hedge book funded with $3,000
    clock = InstantClock(datetime.combine(BOUGHT, time(15, 45), NEW_YORK))
    stocks = SimulatedBroker(tmp_path / "broker.sqlite3", history)
    stocks.set_session(BOUGHT, clock.now())
    market = SimulatedOptionsMarket(history)
    options = SimulatedOptionsBroker(tmp_path / "broker.sqlite3", market, clock=clock)
    options.set_day(BOUGHT)
    ledger = SQLiteLedger(tmp_path / "ledger.sqlite3")
    store = SQLiteHedgeStore(tmp_path / "ledger.sqlite3")
    deps = SimpleNamespace(ledger=ledger, broker=stocks, options=options, hedge_store=store)
    ledger.record_transfers([
        Transfer(transfer_id="o", trading_date=BOUGHT, source=EXTERNAL, destination=POOL,
                 amount=Decimal(100_000), reason=TransferReason.OPENING),
        Transfer(transfer_id="h", trading_date=BOUGHT, source=POOL, destination=HEDGE,
                 amount=Decimal(3_000), reason=TransferReason.HEDGE),
    ])  # fmt: skip
    # When it buys two puts expiring in a week, struck above where QQQ will close then
    settle_close = close_of(history, "QQQ", EXPIRY)
    assert settle_close is not None
    listed = options.option_contracts("QQQ", EXPIRY, EXPIRY, OptionRight.PUT)
    put = min(listed, key=lambda c: abs(c.strike - settle_close - 3)).symbol
    ask = options.option_snapshots([put])[put].ask
    leg = OptionLeg(symbol=put, intent=PositionIntent.BUY_TO_OPEN)
    options.submit_option_order(
        OptionOrderRequest(client_order_id="buy", legs=(leg,), qty=2, limit_price=ask)
    )
    record = HedgeRecord(
        hedge_id="h1", underlying="QQQ", template=HedgeTemplate.TAIL,
        legs=(HedgeLeg(symbol=put, qty=2),), opened_on=BOUGHT, premium=ask * 200,
        promised_payoff=Decimal(1), spot_at_open=close_of(history, "QQQ", BOUGHT) or Decimal(0),
    )  # fmt: skip
    store.save_book(HedgeBookRecord(state=HedgeBookState().opened(record, BOUGHT, "test")))
    # Then the account adds up on the day it was bought
    assert reconcile(deps, BOUGHT) == 0
    # When the market moves past the expiry: the broker settles, the hedge day settles
    clock.advance(datetime.combine(AFTER, time(15, 45), NEW_YORK) - clock.now())
    stocks.set_session(AFTER, clock.now())
    settled = options.set_day(AFTER)
    spot = close_of(history, "QQQ", AFTER) or Decimal(0)
    inputs = HedgeDayInputs(
        run_id=f"run-{AFTER}", today=AFTER, policy=POLICY, nav=Decimal(100_000),
        underlying="QQQ", equity_delta=Decimal(0), spot=spot,
        state=store.load_book().state, cash=Decimal(0),
    )  # fmt: skip
    ports = HedgePorts(options, clock, IvHistory(), close_of=lambda u, d: close_of(history, u, d))
    report = run_hedge_day(inputs, ports)
    store.save_book(HedgeBookRecord(state=report.state))
    # Then both settled the same cash, and the account still adds up to the cent
    (expiry,) = [e for e in report.state.events if e.kind is EventKind.EXPIRY]
    assert expiry.amount == sum(f.amount for f in settled) > 0
    assert options.orders()[-1].client_order_id == "buy", "no new hedge: it had no cash"
    assert reconcile(deps, AFTER) == 0
    assert ledger.cash_accounts()[HEDGE] == Decimal(3_000) - ask * 200 + expiry.amount
