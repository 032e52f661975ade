"""Workflow fixtures: run the real state machine locally against a fresh home directory."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from alchemiser.broker.simulated import SimulatedBroker
from alchemiser.cycle.faults import FaultPlan
from alchemiser.ledger.lots import positions_of
from alchemiser.ledger.sqlite import SQLiteLedger
from alchemiser.local.cycle_runner import LocalRun, run_cycle
from alchemiser.local.summary import summarize
from alchemiser.market.history import PriceHistory
from alchemiser.market.loader import load_price_directory
from alchemiser.settings import Settings
from tests.conftest import PRICES_DIR, REPO_ROOT

RunCycle = Callable[..., tuple[LocalRun, dict[str, Any]]]


@functools.cache
def all_prices() -> PriceHistory:
    return load_price_directory(PRICES_DIR)


def make_settings(home: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "home": home,
        "data_dir": PRICES_DIR,
        "strategies_dir": REPO_ROOT / "strategies",
        "stage": "dev",
    }
    return Settings.model_validate(values | overrides)


@pytest.fixture
def cycle(tmp_path: Path) -> RunCycle:
    """Run the cycle for a day in this test's home; return the run and its summary."""

    def run(
        day: date,
        *,
        fail_at: list[str] | None = None,
        crash_at: list[str] | None = None,
        **overrides: Any,
    ):  # type: ignore[no-untyped-def]
        settings = make_settings(tmp_path / "home", **overrides)
        faults = FaultPlan.parse(fail_at or [], crash_at or [])
        local = run_cycle(settings, REPO_ROOT, day=day, faults=faults)
        return local, summarize(local)

    return run


def broker_orders(home: Path) -> list[tuple[str, str, str, Decimal, Decimal]]:
    """Every order the simulated broker received: (client id, symbol, side, qty, filled)."""
    broker = SimulatedBroker(home / "broker.sqlite3", all_prices())
    return sorted(
        (o.client_order_id, o.symbol, o.side.value, o.qty, o.filled_qty) for o in broker.orders()
    )


def book_positions(home: Path) -> dict[str, dict[str, Decimal]]:
    ledger = SQLiteLedger(home / "ledger.sqlite3")
    return {book: positions_of(ledger.open_lots(book)) for book in ledger.book_ids()}
