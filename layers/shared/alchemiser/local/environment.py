"""The embedded adapters of a local run, all persisting under one home directory.

<home>/home.json            what the account was opened with (data source, opening cash)
<home>/broker.sqlite3       simulated account: cash, stock and option positions, orders, fills
                            (homes made before one account kept options in options.sqlite3:
                            merged into it on the first run, the old file kept as .merged)
<home>/ledger.sqlite3       the ledger: runs, orders, fills, lots, snapshots; the hedge book
<home>/idempotency.sqlite3  step results a re-run reuses (Powertools Idempotency)
<home>/reports/, traces/    the object store: HTML reports, decision traces
<home>/outbox/              each run's email (.eml) and its HTML body
<home>/runs/<run id>/       each attempt's execution history (as the console shows it)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np

from alchemiser.books.config import BookConfig, load_books
from alchemiser.broker.simulated import SimulatedBroker, SimulationConfig
from alchemiser.broker.simulated_options import SimulatedOptionsBroker
from alchemiser.broker.simulated_options_market import SimulatedOptionsMarket
from alchemiser.broker.simulated_options_store import merge_legacy_options
from alchemiser.cycle.faults import FaultPlan
from alchemiser.dsl.parser import load_symphony
from alchemiser.dsl.program import compile_symphony
from alchemiser.execution.clock import InstantClock
from alchemiser.ledger.hedge_store import SQLiteHedgeStore
from alchemiser.ledger.idempotency import SQLitePersistenceLayer
from alchemiser.ledger.sqlite import SQLiteLedger
from alchemiser.local.homes import BROKER_FILE, open_home
from alchemiser.market.history import PriceHistory
from alchemiser.market.loader import load_price_directory
from alchemiser.market.local_data import DemoMarketData, DirectoryMarketData
from alchemiser.market.port import MarketData
from alchemiser.market.synthetic import DEMO_TICKERS
from alchemiser.notify.local import LocalNotifier
from alchemiser.runtime import Dependencies
from alchemiser.settings import Settings
from alchemiser.storage.local import LocalObjectStore

LEGACY_OPTIONS_FILE = "options.sqlite3"  # options beside the account, before one account


class LocalRunError(ValueError):
    """The local run cannot start (no such trading day, no data, a bad home directory)."""


@dataclass(frozen=True)
class LocalMarket:
    data: MarketData
    history: PriceHistory  # every ticker the simulated broker can quote
    synthetic: bool


def open_market(settings: Settings, books: Sequence[BookConfig], today: date) -> LocalMarket:
    """Return the market data of a local run: a price directory, else the synthetic demo."""
    if settings.data_dir is not None:
        data = DirectoryMarketData(settings.data_dir)
        return LocalMarket(data, load_price_directory(settings.data_dir), synthetic=False)
    tickers = sorted(set(DEMO_TICKERS) | strategy_tickers(settings.strategies_dir, books))
    demo = DemoMarketData(tickers, today)
    return LocalMarket(demo, demo.history(tickers, demo.end), synthetic=True)


def strategy_tickers(strategies_dir: Path, books: Sequence[BookConfig]) -> set[str]:
    found: set[str] = set()
    for book in books:
        found.update(compile_symphony(load_symphony(strategies_dir / book.strategy)).tickers)
    return found


def trading_day(history: PriceHistory, asked: date | None, today: date) -> date:
    """Return the day to run: the one asked for, or the last trading day on or before today."""
    if asked is not None:
        days = history.dates
        if not np.any(days == np.datetime64(asked, "D")):
            first, last = history.day(0), history.day(len(days) - 1)
            raise LocalRunError(f"{asked} is not a trading day in the data ({first} to {last})")
        return asked
    row = history.index_on_or_before(today)
    if row < 0:
        raise LocalRunError(f"the data has no trading day on or before {today}")
    return history.day(row)


def build_local_dependencies(
    settings: Settings, market: LocalMarket, day: date, run_time: datetime, faults: FaultPlan
) -> Dependencies:
    """Create the embedded adapters under ``settings.home``, the simulated session set to ``day``."""
    home = settings.home
    home.mkdir(parents=True, exist_ok=True)
    clock = InstantClock(run_time)
    broker = SimulatedBroker(
        home / BROKER_FILE,
        market.history,
        SimulationConfig.from_settings(settings),
        clock=clock,
    )
    _refuse_rewind(broker, home, day)
    broker.set_session(day, run_time)
    merge_legacy_options(home / LEGACY_OPTIONS_FILE, home / BROKER_FILE)
    options = SimulatedOptionsBroker(
        home / BROKER_FILE, SimulatedOptionsMarket(market.history), clock=clock
    )
    options.set_day(day)
    idempotency_path = home / "idempotency.sqlite3"
    return Dependencies(
        settings=settings,
        broker=broker,
        ledger=SQLiteLedger(home / "ledger.sqlite3"),
        market=market.data,
        store=LocalObjectStore(home),
        notifier=LocalNotifier(home / "outbox"),
        clock=clock,
        idempotency=lambda: SQLitePersistenceLayer(idempotency_path),
        strategies_dir=settings.strategies_dir,
        faults=faults,
        options=options,
        hedge_store=SQLiteHedgeStore(home / "ledger.sqlite3"),
    )


def open_local_home(settings: Settings, cash: Decimal | None) -> Settings:
    """Check the home can hold this run; return settings with the account's opening cash.

    ``cash`` is ``--cash``: allowed only while the home has no account (see ``homes``).
    """
    record = open_home(settings.home, settings.data_dir, cash, settings.sim_initial_cash)
    return settings.model_copy(update={"sim_initial_cash": record.opening_cash})


def _refuse_rewind(broker: SimulatedBroker, home: Path, day: date) -> None:
    """Refuse a day before the account's last traded day, naming the option that helps."""
    last = max((fill.day for fill in broker.fills()), default=None)
    if last is not None and day < last:
        raise LocalRunError(
            f"cannot replay {day} in {home}: its account already traded on {last}, and a "
            "replay must not rewrite history. Pass --home DIR to replay it in a new home"
        )


def run_time_of(broker_session_close: datetime, settings: Settings) -> datetime:
    return broker_session_close - timedelta(minutes=settings.minutes_before_close)


def books_of(settings: Settings) -> list[BookConfig]:
    return load_books(settings.strategies_dir / settings.books_file, settings.stage)
