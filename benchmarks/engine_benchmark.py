"""Engine benchmark: parse, today's allocation for every real symphony, long backtests.

Reports medians over repeated runs (these machines are noisy) and the peak memory of
the largest backtest measured in a fresh process. Tickers the real data lacks (and
tickers whose real history starts too late for the window) get deterministic
synthetic stand-ins; the report lists how many, so no figure passes for real data
when it is not.

    python benchmarks/engine_benchmark.py [--repeat 5] [--json OUT.json]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from alchemiser.backtest.symphony import backtest_symphony
from alchemiser.dsl.engine import evaluate_history
from alchemiser.dsl.parser import load_symphony
from alchemiser.dsl.program import compile_symphony
from alchemiser.market.history import PriceHistory
from alchemiser.market.loader import load_price_directory
from alchemiser.market.synthetic import with_stand_ins

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
SYMPHONIES = sorted((DATA / "symphonies").glob("*.clj"))
STARBURST = DATA / "symphonies" / "ftl_starburst.clj"
SMALL = DATA / "composer" / "tqqq_ftlt_mods.clj"
LAST_DAY = date(2026, 8, 3)


def median_seconds(action: Callable[[], object], repeat: int) -> tuple[float, list[float]]:
    runs = []
    for _ in range(repeat):
        began = time.perf_counter()
        action()
        runs.append(time.perf_counter() - began)
    return statistics.median(runs), runs


def market_for(real: PriceHistory, tickers: tuple[str, ...], start: date) -> PriceHistory:
    return with_stand_ins(real, tickers, start, LAST_DAY)


def bench_parse(repeat: int) -> dict[str, Any]:
    seconds, runs = median_seconds(lambda: load_symphony(STARBURST), repeat)
    return {
        "what": "parse ftl_starburst.clj (2.2 MB)",
        "median_s": seconds,
        "runs_s": runs,
        "target_s": 0.5,
    }


def bench_today_all(real: PriceHistory, repeat: int) -> dict[str, Any]:
    # Markets are prepared first (synthetic stand-ins are not part of the engine's work);
    # the timed part reads, compiles and evaluates all 19 files over 16+ years of history.
    markets = {}
    stand_ins = 0
    for path in SYMPHONIES:
        program = compile_symphony(load_symphony(path))
        markets[path] = market_for(real, program.tickers, date(2010, 1, 4))
        stand_ins += len(markets[path].synthetic)

    def today_for_all() -> None:
        for path in SYMPHONIES:
            history = markets[path]
            result = evaluate_history(compile_symphony(load_symphony(path)), history)
            result.weights_at(len(history.dates) - 1)

    seconds, runs = median_seconds(today_for_all, repeat)
    return {
        "what": f"today's allocation ({LAST_DAY}) for all {len(SYMPHONIES)} symphonies: read + compile + evaluate over 2010-01-04..{LAST_DAY}",
        "median_s": seconds,
        "runs_s": runs,
        "target_s": 5.0,
        "synthetic_stand_ins": stand_ins,
    }


def starburst_backtest(real: PriceHistory) -> tuple[PriceHistory, Callable[[], object], int]:
    program = compile_symphony(load_symphony(STARBURST))
    # One year of data before the ten-year window for the warm-up.
    history = market_for(real, program.tickers, date(2015, 8, 3))
    return (
        history,
        lambda: backtest_symphony(program, history, start=date(2016, 8, 3)),
        len(history.synthetic),
    )


def bench_starburst(real: PriceHistory, repeat: int) -> dict[str, Any]:
    history, action, stand_ins = starburst_backtest(real)
    seconds, runs = median_seconds(action, repeat)
    peak = peak_rss_of_starburst_backtest()
    return {
        "what": "10-year daily backtest of ftl_starburst.clj (2016-08-03..2026-08-03), evaluation + simulation",
        "median_s": seconds,
        "runs_s": runs,
        "target_s": 30.0,
        "peak_rss_mb": peak,
        "target_peak_rss_mb": 1024,
        "synthetic_stand_ins": stand_ins,
        "tickers": len(history.tickers),
    }


def bench_small(real: PriceHistory, repeat: int) -> dict[str, Any]:
    symphony = load_symphony(SMALL)
    program = compile_symphony(symphony)
    history = load_price_directory(DATA / "prices", program.tickers)
    result = backtest_symphony(program, history)
    seconds, runs = median_seconds(
        lambda: backtest_symphony(compile_symphony(load_symphony(SMALL)), history), repeat
    )
    metrics = result.result.metrics
    return {
        "what": f"backtest of tqqq_ftlt_mods.clj over all its real data ({metrics.start}..{metrics.end}, {metrics.days / 252:.1f} years)",
        "median_s": seconds,
        "runs_s": runs,
        "target_s": 1.0,
        "synthetic_stand_ins": 0,
    }


def peak_rss_of_starburst_backtest() -> float:
    """Run the starburst backtest alone in a fresh interpreter; return its peak RSS in MB."""
    code = (
        f"import resource, sys; sys.path.insert(0, {str(Path(__file__).parent)!r});"
        "from engine_benchmark import starburst_backtest, load_price_directory, DATA;"
        "real = load_price_directory(DATA / 'prices');"
        "_, run, _ = starburst_backtest(real); run();"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return int(out.stdout.strip().splitlines()[-1]) / 1024.0  # ru_maxrss is in KB on Linux


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    real = load_price_directory(DATA / "prices")
    results = [
        bench_parse(args.repeat),
        bench_today_all(real, args.repeat),
        bench_starburst(real, args.repeat),
        bench_small(real, args.repeat),
    ]
    for item in results:
        line = f"{item['median_s']:8.3f} s (target < {item['target_s']:g} s)  {item['what']}"
        if "peak_rss_mb" in item:
            line += f"; peak RSS {item['peak_rss_mb']:.0f} MB (target < {item['target_peak_rss_mb']} MB)"
        if item.get("synthetic_stand_ins"):
            line += f"; {item['synthetic_stand_ins']} synthetic stand-in series"
        print(line)
    print(
        f"(median of {args.repeat} runs; this process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
