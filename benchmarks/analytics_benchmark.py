"""Analytics benchmark: one 15-year tearsheet, and a site of 20 five-year pages.

Every series is a backtest of a symphony whose tickers all have real prices in
../shared/data (no synthetic stand-ins), with SPY as the benchmark. The timed work is
what the report adds after a backtest: every figure, the charts' data, the HTML and
the files (plotly.js is copied once per site). Backtests are run once, untimed; the
engine benchmark times them. Medians of repeated runs (these machines are noisy).

    python benchmarks/analytics_benchmark.py [--repeat 5] [--json OUT.json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from alchemiser.analytics.backtest_report import backtest_series, load_benchmark
from alchemiser.analytics.page import Page
from alchemiser.analytics.returns import ReturnSeries, WeightHistory
from alchemiser.analytics.site import write_page, write_site
from alchemiser.analytics.tearsheet import build_tearsheet
from alchemiser.backtest.symphony import backtest_symphony
from alchemiser.dsl.parser import load_symphony
from alchemiser.dsl.program import compile_symphony
from alchemiser.market.loader import load_price_directory

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
PRICES = DATA / "prices"
LAST_DAY = date(2026, 8, 3)
# gold.clj is valid from 2009-09-18: the last 15 years of it are all real data.
LONG = (DATA / "symphonies" / "gold.clj", date(2011, 8, 3))
# Symphonies whose every ticker has real prices (the shared data's README, and ours).
REAL = (
    DATA / "symphonies" / "gold.clj",
    DATA / "symphonies" / "holy_grail.clj",
    DATA / "symphonies" / "soxl_growth.clj",
    DATA / "symphonies" / "tqqq_ftlt.clj",
    DATA / "composer" / "tqqq_ftlt_mods.clj",
    ROOT / "strategies" / "nuclear_energy_rotation.clj",
    ROOT / "strategies" / "tech_momentum_guarded.clj",
    ROOT / "strategies" / "klm_ensemble.clj",
)
SITE_START = date(2021, 8, 3)
SITE_PAGES = 20
SLIPPAGES_BPS = (0.0, 5.0, 10.0)


@dataclass(frozen=True)
class Book:
    """A backtest ready for a page: its series, the benchmark's, its weights and trades."""

    slug: str
    title: str
    strategy: ReturnSeries
    benchmark: ReturnSeries
    weights: WeightHistory
    traded: Any
    note: str


def backtest_book(path: Path, start: date, slippage_bps: float, slug: str) -> Book:
    program = compile_symphony(load_symphony(path))
    history = load_price_directory(PRICES, program.tickers)
    backtest = backtest_symphony(program, history, start=start, slippage_bps=slippage_bps)
    strategy = backtest_series(backtest, path.stem)
    benchmark, note = load_benchmark("SPY", PRICES, strategy, slippage_bps)
    result = backtest.result
    traded = result.turnover.copy()
    traded[0] = 0.0
    weights = WeightHistory(result.dates, result.tickers, result.holdings)
    title = f"{program.symphony.name} ({slippage_bps:g} bps)"
    return Book(slug, title, strategy, benchmark, weights, traded, note)


def page_of(book: Book) -> Page:
    return build_tearsheet(
        book.slug,
        book.title,
        book.strategy,
        benchmark=book.benchmark,
        weights=book.weights,
        traded=book.traded,
        notes=(book.note,),
    )


def median_seconds(action: Callable[[], object], repeat: int) -> tuple[float, list[float]]:
    runs = []
    for _ in range(repeat):
        began = time.perf_counter()
        action()
        runs.append(time.perf_counter() - began)
    return statistics.median(runs), runs


def _size_mb(paths: Sequence[Path]) -> float:
    return sum(path.stat().st_size for path in paths) / 1e6


def bench_long_tearsheet(repeat: int, scratch: Path) -> dict[str, Any]:
    book = backtest_book(LONG[0], LONG[1], 5.0, "gold")
    out = scratch / "long" / "gold.html"

    def build() -> None:
        write_page(page_of(book), out)

    seconds, runs = median_seconds(build, repeat)
    years = (book.strategy.end - book.strategy.start).days / 365.25
    return {
        "what": f"tearsheet of gold.clj, {book.strategy.start} to {book.strategy.end} "
        f"({years:.1f} years, {book.strategy.days} days, {len(book.weights.labels)} tickers)",
        "median_s": seconds,
        "runs_s": runs,
        "target_s": None,
        "page_mb": _size_mb([out]),
    }


def bench_site(repeat: int, scratch: Path) -> dict[str, Any]:
    books = []
    for number in range(SITE_PAGES):
        path = REAL[number % len(REAL)]
        slippage = SLIPPAGES_BPS[number // len(REAL)]
        books.append(backtest_book(path, SITE_START, slippage, f"book-{number + 1:02d}"))
    directory = scratch / "site"

    def build() -> None:
        shutil.rmtree(directory, ignore_errors=True)  # plotly.js is copied on every run
        write_site(directory, [page_of(book) for book in books], title="Books")

    seconds, runs = median_seconds(build, repeat)
    pages = sorted(directory.glob("*.html"))
    days = books[0].strategy.days
    return {
        "what": f"site of {SITE_PAGES} tearsheets + index, {SITE_START} to {LAST_DAY} "
        f"({days} days each; {len(REAL)} real-data symphonies at 0/5/10 bps)",
        "median_s": seconds,
        "runs_s": runs,
        "target_s": 10.0,
        "site_mb": _size_mb([*pages, *directory.glob("assets/*")]),
        "largest_page_mb": max(_size_mb([page]) for page in pages),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure (median)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="alchemiser-bench-") as scratch:
        results = [
            bench_long_tearsheet(args.repeat, Path(scratch)),
            bench_site(args.repeat, Path(scratch)),
        ]
    for item in results:
        target = f"(target < {item['target_s']:g} s)" if item["target_s"] else ""
        sizes = ", ".join(f"{k} {v:.2f}" for k, v in item.items() if k.endswith("_mb"))
        print(f"{item['median_s']:8.3f} s {target:<18} {item['what']}; {sizes}")
    print(f"(median of {args.repeat} runs each)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    failed = [item for item in results if item["target_s"] and item["median_s"] > item["target_s"]]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
