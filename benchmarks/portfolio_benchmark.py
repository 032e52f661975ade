"""Portfolio backtest benchmark: the 16 production books over 15 years, in one account.

The books are the 16 symphonies of ``../shared/data/symphonies/allocations.prod.json``
with their production shares, under the default capital policy (threshold 0.05), the
simulated broker's costs and the live planner's minimum trade sizes, $100,000 at the
start. Tickers the real data lacks (or whose real history does not cover the window)
get deterministic synthetic stand-ins; the report counts them, so no figure passes for
real data when it is not. Reports the median of repeated runs (these machines are
noisy), split into evaluating the symphonies and simulating the account.

    python benchmarks/portfolio_benchmark.py [--repeat 5] [--json OUT.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from alchemiser.backtest.portfolio import simulate_portfolio
from alchemiser.backtest.portfolio_models import PortfolioSettings
from alchemiser.backtest.portfolio_run import backtest_portfolio, schedule_book
from alchemiser.books.config import BookConfig
from alchemiser.dsl.parser import load_symphony
from alchemiser.dsl.program import Program, compile_symphony
from alchemiser.market.history import PriceHistory
from alchemiser.market.loader import load_price_directory
from alchemiser.market.synthetic import with_stand_ins

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
SYMPHONIES = DATA / "symphonies"
# One year of data before the window for the symphonies' warm-up.
DATA_START = date(2010, 8, 2)
WINDOW_START = date(2011, 8, 3)
LAST_DAY = date(2026, 8, 3)
TARGET_S = 10.0


def production_books() -> list[tuple[BookConfig, Program]]:
    """Return the 16 production books with their shares (the files live flat in the data)."""
    listing = json.loads((SYMPHONIES / "allocations.prod.json").read_text())
    books = []
    for name, share in listing["allocations"].items():
        path = SYMPHONIES / Path(name).name
        book_id = path.stem.replace("_", "-")
        config = BookConfig(id=book_id, strategy=path.name, share=Decimal(str(share)))
        books.append((config, compile_symphony(load_symphony(path))))
    return books


def market(books: list[tuple[BookConfig, Program]]) -> PriceHistory:
    real = load_price_directory(DATA / "prices")
    tickers = sorted({t for _, program in books for t in program.tickers})
    return with_stand_ins(real, tickers, DATA_START, LAST_DAY)


def median_seconds(action: Any, repeat: int) -> tuple[float, list[float]]:
    runs = []
    for _ in range(repeat):
        began = time.perf_counter()
        action()
        runs.append(time.perf_counter() - began)
    return statistics.median(runs), runs


def run(repeat: int) -> dict[str, Any]:
    books = production_books()
    history = market(books)
    settings = PortfolioSettings()

    def whole() -> object:
        return backtest_portfolio(books, history, settings, start=WINDOW_START)

    result = backtest_portfolio(books, history, settings, start=WINDOW_START)
    schedules = [schedule_book(config, program, history) for config, program in books]
    symbols = sorted({t for s in schedules for t in s.tickers})
    closes = history.select(symbols).closes

    def simulation_only() -> object:
        return simulate_portfolio(
            history.dates, symbols, closes, schedules, settings, first_day=WINDOW_START
        )

    total, runs = median_seconds(whole, repeat)
    simulate, _ = median_seconds(simulation_only, repeat)
    metrics = result.metrics
    return {
        "what": (
            f"portfolio backtest of {len(books)} books "
            f"({metrics.start}..{metrics.end}, {metrics.days} days, {metrics.days / 252:.1f} "
            "years): evaluate every symphony + simulate the account"
        ),
        "median_s": total,
        "runs_s": runs,
        "simulation_median_s": simulate,
        "target_s": TARGET_S,
        "books": len(books),
        "slots": len(result.path.slots.book),
        "tickers": len(history.tickers),
        "synthetic_stand_ins": len(result.synthetic),
        "capital_rebalances": len(result.rebalances),
        "total_return": metrics.total_return,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    item = run(args.repeat)
    print(
        f"{item['median_s']:8.3f} s (target < {item['target_s']:g} s)  {item['what']}; "
        f"of which simulating the account {item['simulation_median_s']:.3f} s"
    )
    print(
        f"  {item['books']} books, {item['slots']} book-ticker slots over {item['tickers']} "
        f"tickers, {item['synthetic_stand_ins']} of them synthetic stand-ins; "
        f"{item['capital_rebalances']} capital rebalances (median of {args.repeat} runs)"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(item, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
