"""The tearsheet of a symphony backtest (``alchemiser backtest FILE --report OUT.html``).

The benchmark is a ticker of the price directory (default SPY), bought at the close
of the backtest's first day and held, without costs; or another symphony (a ``.clj``
file), backtested over the same days with the same slippage. Either must have a value
on every day of the backtest.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import numpy as np

from alchemiser.analytics.returns import ReturnSeries, WeightHistory, benchmark_returns
from alchemiser.analytics.site import SiteFiles, write_page
from alchemiser.analytics.tearsheet import build_tearsheet
from alchemiser.backtest.symphony import SymphonyBacktest, backtest_symphony
from alchemiser.dsl.parser import load_symphony
from alchemiser.dsl.program import compile_symphony
from alchemiser.market.loader import load_price_directory, ticker_of_name

DEFAULT_BENCHMARK = "SPY"


def is_symphony_benchmark(spec: str) -> bool:
    """Tell whether ``--benchmark`` names a symphony file rather than a ticker."""
    return spec.lower().endswith(".clj")


def load_benchmark(
    spec: str, data: Path, strategy: ReturnSeries, slippage_bps: float
) -> tuple[ReturnSeries, str]:
    """Return the benchmark's returns on the strategy's days, and a note saying how."""
    if is_symphony_benchmark(spec):
        path = Path(spec)
        program = compile_symphony(load_symphony(path))
        history = load_price_directory(data, program.tickers)
        result = backtest_symphony(
            program, history, start=strategy.start, end=strategy.end, slippage_bps=slippage_bps
        ).result
        series = benchmark_returns(path.stem, strategy.dates, result.dates, result.equity, 1.0)
        note = (
            f"Benchmark {path.name}: backtested over the same days with the same slippage "
            f"({slippage_bps:g} bps), its own rebalancing rules."
        )
        return series, note
    ticker = ticker_of_name(spec)  # BRK/B, brk_b: the canonical BRK.B
    history = load_price_directory(data, [ticker])
    closes = np.asarray(history.column(ticker), dtype=np.float64)
    first = int(np.searchsorted(history.dates, strategy.dates[0]))
    found = first < len(history.dates) and history.dates[first] == strategy.dates[0]
    start_value = float(closes[first]) if found else float("nan")
    series = benchmark_returns(ticker, strategy.dates, history.dates, closes, start_value)
    note = f"Benchmark {ticker}: bought at the close of {strategy.start} and held, no costs."
    return series, note


def backtest_series(backtest: SymphonyBacktest, name: str) -> ReturnSeries:
    """Return the backtest's net daily returns as a named series."""
    result = backtest.result
    return ReturnSeries(name, result.dates, result.returns)


def settings_note(backtest: SymphonyBacktest, symphony_file: Path, data: Path) -> str:
    """Say what was simulated: the file, the data, the rebalancing rule and the costs."""
    result = backtest.result
    rule = f"rebalance {result.frequency.value}"
    if result.threshold:
        rule += f", corridor {result.threshold:g}"
    return (
        f"Backtest of {symphony_file.name} on prices from {data}: trades at each close "
        f"from {backtest_series(backtest, symphony_file.stem).start}, {rule}, slippage "
        f"{result.slippage_bps:g} bps on traded notional."
    )


def write_backtest_report(
    backtest: SymphonyBacktest,
    out: Path,
    *,
    symphony_file: Path,
    data: Path,
    benchmark: str | None = DEFAULT_BENCHMARK,
    synthetic: Collection[str] = (),
) -> SiteFiles:
    """Build the backtest's tearsheet and write it to ``out`` (plotly.js beside it).

    ``synthetic`` names the tickers whose prices are synthetic stand-ins; the page
    says so, so no figure passes for real data when it is not.
    """
    result = backtest.result
    strategy = backtest_series(backtest, symphony_file.stem)
    page_notes = [settings_note(backtest, symphony_file, data)]
    if synthetic:
        page_notes.append(
            f"Synthetic prices (not market data) for {len(synthetic)} ticker(s): "
            f"{', '.join(sorted(synthetic))}."
        )
    bench = None
    if benchmark:
        bench, note = load_benchmark(benchmark, data, strategy, result.slippage_bps)
        page_notes.append(note)
    rebalancing = result.turnover.copy()
    rebalancing[0] = 0.0  # deploying the starting cash is not turnover (as in the backtest)
    weights = WeightHistory(result.dates, result.tickers, result.holdings)
    page = build_tearsheet(
        "backtest",
        f"{backtest.allocations.symphony.name or symphony_file.stem}: backtest",
        strategy,
        benchmark=bench,
        weights=weights,
        traded=rebalancing,
        notes=page_notes,
    )
    return write_page(page, out)
