"""Measure the data-quality rule on the shared data: what it flags, what it catches.

1. Checks every close of the 51 real ETFs (all of them as peers) and lists what the
   rule flags: the known bad closes, and the false positives.
2. Injects a +20 % and a -20 % error into the latest close of SPY, QQQE and TQQQ on
   every N-th trading day (the cycle's case: the error is today's close) and counts how
   often it is caught, how often the error is within 3 sigma of the ticker's own
   volatility (nothing can catch it by sigma), and lists every other miss.

    python benchmarks/quality_sweep.py [--every 7]
"""

from __future__ import annotations

import argparse
import time
from datetime import date
from pathlib import Path

import numpy as np

from alchemiser.market.history import PriceHistory
from alchemiser.market.loader import load_price_directory
from alchemiser.market.moves import MIN_SIGMAS, MarketMoves
from alchemiser.market.quality import check_prices

PRICES = Path(__file__).resolve().parents[2] / "shared" / "data" / "prices"
KNOWN_BAD = {("BTAL", date(2015, 4, 29)), ("UUP", date(2007, 6, 20)), ("SOXS", date(2026, 5, 26))}
CONTEXT_ROWS = 80


def window(history: PriceHistory, row: int, factor: float, column: int) -> PriceHistory:
    """The CONTEXT_ROWS days up to ``row``, with that day's close of ``column`` times ``factor``."""
    start = max(row + 1 - CONTEXT_ROWS, 0)
    closes = np.array(history.closes[start : row + 1])
    closes[-1, column] *= factor
    return PriceHistory(np.array(history.dates[start : row + 1]), history.tickers, closes)


def sweep_injections(real: PriceHistory, every: int) -> None:
    for ticker in ("SPY", "QQQE", "TQQQ"):
        column = real.tickers.index(ticker)
        rows = range(real.first_valid[ticker] + 100, len(real.dates), every)
        for factor in (1.2, 0.8):
            caught, noise, missed, below_bar = 0, 0, [], []
            for row in rows:
                data = window(real, row, factor, column)
                day = data.day(len(data.dates) - 1)
                listed = [t for j, t in enumerate(data.tickers) if not np.isnan(data.closes[-1, j])]
                flags = {
                    (i.ticker, i.date) for i in check_prices(data, day, listed, since=day).issues
                }
                moves = MarketMoves(data.closes, data.tickers, len(data.dates) - 1)
                if (ticker, day) in flags:
                    caught += 1
                elif abs(moves.z[-1, column]) < MIN_SIGMAS:
                    noise += 1
                elif abs(moves.z[-1, column]) < moves.sigmas_needed(len(data.dates) - 1, column):
                    below_bar.append(day.isoformat())
                else:
                    missed.append(day.isoformat())
            print(
                f"  {ticker} x{factor}: {len(rows)} days, caught {caught}, within its own "
                f"noise (< {MIN_SIGMAS:g} sigma) {noise}, below its peer's bar "
                f"{len(below_bar)} {below_bar}, missed otherwise {len(missed)} {missed}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--every", type=int, default=7, help="inject on every N-th trading day")
    args = parser.parse_args()
    real = load_price_directory(PRICES)
    began = time.perf_counter()
    report = check_prices(real, real.day(len(real.dates) - 1), real.tickers)
    seconds = time.perf_counter() - began
    closes = int((~np.isnan(real.closes)).sum())
    false = [i for i in report.issues if (i.ticker, i.date) not in KNOWN_BAD]
    print(
        f"whole shared data: {len(real.tickers)} tickers, {closes} closes, checked in {seconds:.2f} s"
    )
    for issue in report.issues:
        label = "known bad" if (issue.ticker, issue.date) in KNOWN_BAD else "FALSE POSITIVE"
        print(f"  {label:<14} {issue.ticker} {issue.date} {issue.kind.value} ({issue.move:+.1%})")
    print(f"false positives: {len(false)}")
    print(f"+-20 % errors injected into the latest close, every {args.every}th trading day:")
    sweep_injections(real, args.every)


if __name__ == "__main__":
    main()
