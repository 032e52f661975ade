"""Drift between the broker and the books: what counts, what is tolerated."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from alchemiser.broker.models import OrderSide, Position
from alchemiser.cycle.drift import books_total, measure_drift, with_unreconciled_fills
from alchemiser.ledger.models import FillRecord, FillSource, OrderPhase, OrderRecord
from alchemiser.ledger.sqlite import SQLiteLedger

D = Decimal
DAY = date(2024, 3, 14)


def position(symbol: str, qty: str, price: str = "100") -> Position:
    return Position(
        symbol=symbol,
        qty=D(qty),
        market_value=D(qty) * D(price),
        avg_entry_price=D(price),
        current_price=D(price),
    )


def buy(book: str, symbol: str, qty: str, fill_id: str, order: str | None = None) -> FillRecord:
    return FillRecord(
        fill_id=fill_id,
        run_id="r1",
        trading_date=DAY,
        book_id=book,
        symbol=symbol,
        side=OrderSide.BUY,
        qty=D(qty),
        price=D("100"),
        source=FillSource.MARKET,
        client_order_id=order,
    )


def test_books_total_adds_every_books_lots(tmp_path: Path) -> None:
    ledger = SQLiteLedger(tmp_path / "l.sqlite3")
    ledger.record_fills(
        [buy("a", "SPY", "2", "f1"), buy("b", "SPY", "3", "f2"), buy("b", "TLT", "1", "f3")]
    )
    assert books_total(ledger) == {"SPY": D(5), "TLT": D(1)}


def test_fills_of_this_run_not_yet_reconciled_count_as_expected(tmp_path: Path) -> None:
    # Given an order of run r1 that filled 4 SPY at the broker, not yet in any book
    ledger = SQLiteLedger(tmp_path / "l.sqlite3")
    ledger.put_order(
        OrderRecord(
            client_order_id="o1",
            run_id="r1",
            trading_date=DAY,
            phase=OrderPhase.BUY,
            symbol="SPY",
            side=OrderSide.BUY,
            qty=D(4),
            ref_price=D(100),
            filled_qty=D(4),
        )
    )
    # Then the broker's 4 SPY are expected; once reconciled they are not counted twice
    assert with_unreconciled_fills({}, ledger, "r1") == {"SPY": D(4)}
    ledger.record_fills([buy("a", "SPY", "4", "o1:a", order="o1")])
    assert with_unreconciled_fills(books_total(ledger), ledger, "r1") == {"SPY": D(4)}


def test_drift_under_the_tolerance_is_ignored_and_over_it_is_reported() -> None:
    expected = {"SPY": D("10"), "TLT": D("5")}
    broker = [position("SPY", "10.005"), position("TLT", "4", "90"), position("GLD", "1", "200")]
    lines = measure_drift(expected, broker, tolerance=D("1"))
    assert [(d.symbol, d.broker_qty, d.books_qty, d.notional) for d in lines] == [
        ("GLD", D(1), D(0), D("200.00")),
        ("TLT", D(4), D(5), D("-90.00")),
    ]
    assert [d.symbol for d in measure_drift(expected, broker)] == ["GLD", "SPY", "TLT"]
