"""Dashboard benchmark: the whole live site for 5 years of daily runs and 20 books.

The history is made up in memory, shaped like the ledger's (one run per SPY trading day
of the last five years in ../shared/data, 20 books with a decision trace each, two filled
orders per book per day, SPY as the benchmark). The timed work is what ``alchemiser
report`` and the Notify step do after reading the history: every page's figures and
charts (the account, 20 book tearsheets, execution quality, the run list and 1,260 run
pages), the HTML and the files. Reading the history from the ledger and the run outputs
is not timed here. Medians of repeated runs, wall and CPU time (these machines are shared
and noisy: the CPU time is what the work costs).

    python benchmarks/dashboard_benchmark.py [--repeat 3] [--books 20] [--years 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np

from alchemiser.analytics.dashboard import BenchmarkPrices
from alchemiser.analytics.live_series import BookDay, LiveHistory, RunDay
from alchemiser.analytics.publish import write_dashboard
from alchemiser.broker.models import OrderSide
from alchemiser.ledger.models import (
    FillRecord,
    FillSource,
    OrderPhase,
    OrderRecord,
    OrderState,
)
from alchemiser.market.loader import load_price_directory

ROOT = Path(__file__).resolve().parents[1]
PRICES = ROOT.parent / "shared" / "data" / "prices"
TRACE = "\n".join(
    f'  if (> (rsi "SPY" {{:window 10}}) 79): 65.7 vs 79.0 -> false #{i}' for i in range(12)
)
SYMBOLS = ("SPY", "QQQ", "TLT", "GLD", "XLE", "XLK", "XLP", "SHY")


def make_history(books: int, years: int, seed: int = 7) -> tuple[LiveHistory, BenchmarkPrices]:
    """Return a made-up history of ``books`` books over the last ``years`` years of SPY days."""
    spy = load_price_directory(PRICES, ["SPY"])
    closes = np.asarray(spy.column("SPY"))
    dates = spy.dates[-252 * years :]
    rng = np.random.default_rng(seed)
    equity = np.full(books, 10_000.0)
    days = []
    for number, day64 in enumerate(dates):
        day = day64.astype("datetime64[D]").item()
        run_id = f"cycle-{day.isoformat()}-dev"
        moves = 1.0 + rng.normal(0.0004, 0.012, books)
        equity = equity * moves
        book_days, orders, fills = [], [], []
        for b in range(books):
            book_id = f"book-{b:02d}"
            symbol = SYMBOLS[(number + b) % len(SYMBOLS)]
            value = Decimal(f"{equity[b]:.2f}")
            book_days.append(_book(book_id, value, symbol, number == 0))
            for side in (OrderSide.SELL, OrderSide.BUY):
                order = _order(run_id, day, symbol, side, b, rng.normal(2.0, 3.0))
                orders.append(order)
                fills.append(_fill(order, book_id))
        days.append(
            RunDay(
                run_id,
                day,
                "completed",
                "",
                Decimal(10_000 * books),
                tuple(book_days),
                tuple(orders),
                tuple(fills),
                (),
            )
        )
    benchmark = BenchmarkPrices("SPY", spy.dates, closes)
    return LiveHistory("dev", tuple(days)), benchmark


def _book(book_id: str, value: Decimal, symbol: str, first: bool) -> BookDay:
    return BookDay(
        book_id=book_id,
        strategy=f"{book_id}.clj",
        status="traded",
        reason="",
        capital=value,
        plan_cash=value if first else Decimal(0),
        equity=value,
        cash=Decimal(0),
        positions={symbol: Decimal(10)},
        prices={symbol: value / 10},
        target_weights={symbol: Decimal(1)},
        trace=TRACE,
    )


def _order(
    run_id: str, day: object, symbol: str, side: OrderSide, b: int, bps: float
) -> OrderRecord:
    at = datetime(2024, 1, 2, 19, 45, tzinfo=UTC)
    reference = Decimal("100")
    fill = reference * (1 + Decimal(f"{bps:.2f}") / 10_000 * (1 if side is OrderSide.BUY else -1))
    return OrderRecord(
        client_order_id=f"{run_id}-{b}-{side.value}",
        run_id=run_id,
        trading_date=day,  # type: ignore[arg-type]
        phase=OrderPhase.BUY if side is OrderSide.BUY else OrderPhase.SELL,
        symbol=symbol,
        side=side,
        qty=Decimal(5),
        ref_price=reference,
        state=OrderState.FILLED,
        filled_qty=Decimal(5),
        avg_fill_price=fill,
        arrival_bid=Decimal("99.98"),
        arrival_ask=Decimal("100.02"),
        steps_used=2,
        submitted_at=at,
        last_fill_at=at + timedelta(seconds=20),
    )


def _fill(order: OrderRecord, book_id: str) -> FillRecord:
    return FillRecord(
        fill_id=f"{order.client_order_id}-{book_id}",
        run_id=order.run_id,
        trading_date=order.trading_date,
        book_id=book_id,
        symbol=order.symbol,
        side=order.side,
        qty=order.filled_qty,
        price=order.avg_fill_price or order.ref_price,
        source=FillSource.MARKET,
        client_order_id=order.client_order_id,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--books", type=int, default=20)
    parser.add_argument("--years", type=int, default=5)
    args = parser.parse_args()
    history, benchmark = make_history(args.books, args.years)
    print(f"history: {len(history.days)} runs, {len(history.book_ids)} books (made up, untimed)")
    times, cpu = [], []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as scratch:
            start, start_cpu = time.perf_counter(), time.process_time()
            files = write_dashboard(history, benchmark, Path(scratch) / "site")
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
            size = sum(p.stat().st_size for p in Path(scratch).rglob("*") if p.is_file())
    print(
        f"site: {len(files.pages) + 1} pages, {size / 1e6:.1f} MB; build and write "
        f"median {statistics.median(times):.2f} s over {args.repeat} runs "
        f"({', '.join(f'{t:.2f}' for t in times)}); CPU time median "
        f"{statistics.median(cpu):.2f} s (the wall time includes waiting for a busy machine)"
    )


if __name__ == "__main__":
    main()
