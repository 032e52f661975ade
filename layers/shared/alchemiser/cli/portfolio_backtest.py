"""``alchemiser backtest BOOKS.yaml --stage S``: the whole account of a stage over history.

The books, their shares and the capital policy come from the books file; the starting
cash, the simulated broker's spread and slippage and the planner's limits come from the
settings (``ALCHEMISER_SIM_INITIAL_CASH``, ``ALCHEMISER_SIM_SPREAD_BPS``,
``ALCHEMISER_SIM_SLIPPAGE_BPS``, ``ALCHEMISER_MIN_TRADE_NOTIONAL``,
``ALCHEMISER_MIN_TRADE_FRACTION``, ``ALCHEMISER_DEPLOYMENT_PCT``), as in a local run.
``--slippage-bps N`` replaces the broker's costs by N bps of traded notional.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import cast

from alchemiser.analytics.metrics import Metrics
from alchemiser.backtest.data_check import DataCheck, check_symphony_data
from alchemiser.backtest.portfolio_models import PortfolioSettings
from alchemiser.backtest.portfolio_run import PortfolioBacktest, backtest_portfolio
from alchemiser.books.config import load_stage
from alchemiser.cli.output import fail, number, percent, print_json, progress_bar
from alchemiser.cli.quality_output import refuse
from alchemiser.dsl.parser import load_symphony
from alchemiser.dsl.program import compile_symphony
from alchemiser.dsl.source import SymphonyError
from alchemiser.errors import ConfigurationError
from alchemiser.market.history import MissingTickersError
from alchemiser.market.loader import load_price_directory
from alchemiser.settings import Settings

_ERRORS = (ConfigurationError, SymphonyError, MissingTickersError, ValueError, OSError)


def _refused_flags(args: argparse.Namespace) -> str | None:
    refused = [
        flag
        for flag, value in (
            ("--allocations-out", args.allocations_out),
            ("--equity-out", args.equity_out),
        )
        if value
    ]
    if refused:
        return f"{', '.join(refused)} apply to a symphony backtest, not to a books file"
    if args.benchmark and not args.report:
        return "--benchmark sets the benchmark of the report: add --report OUT_DIR"
    if args.start and args.end and args.start > args.end:
        return f"--start {args.start} is after --end {args.end}"
    return None


def _run(args: argparse.Namespace) -> tuple[PortfolioBacktest, dict[str, DataCheck]]:
    """Backtest the stage, then run the cycle's data-quality check on each book's closes."""
    path: Path = args.file
    stage = load_stage(path, args.stage)
    books = [(b, compile_symphony(load_symphony(path.parent / b.strategy))) for b in stage.books]
    tickers = sorted({t for _, program in books for t in program.tickers})
    history = load_price_directory(args.data, tickers)
    settings = PortfolioSettings.from_settings(
        Settings(), stage.capital, slippage_bps=args.slippage_bps
    )
    with progress_bar("evaluating books") as progress:
        backtest = backtest_portfolio(
            books,
            history,
            settings,
            stage=stage.name,
            start=args.start,
            end=args.end,
            progress=progress,
        )
    m = backtest.metrics
    checks = {
        config.id: check_symphony_data(program, history, m.end, first_day=m.start)
        for config, program in books
    }
    return backtest, checks


def _quality_json(checks: dict[str, DataCheck]) -> dict[str, object]:
    """Every issue once, and per book the days whose allocation a flagged close decided."""
    issues: dict[tuple[object, ...], dict[str, object]] = {}
    for check in checks.values():
        for issue in cast(list[dict[str, object]], check.to_json_dict()["issues"]):
            issues[(issue["ticker"], issue["date"], issue["kind"])] = issue
    return {
        "issues": [issues[k] for k in sorted(issues, key=str)],
        "books": {book: [d.isoformat() for d in c.decided] for book, c in checks.items()},
    }


def run_portfolio_backtest(args: argparse.Namespace) -> int:
    """Backtest the account of ``args.stage`` in the books file ``args.file``."""
    refused = _refused_flags(args)
    if refused:
        return fail(refused)
    try:
        backtest, checks = _run(args)
    except _ERRORS as exc:
        return fail(str(exc))
    flagged = {book: check for book, check in checks.items() if not check.ok}
    if args.strict and flagged:
        book, check = next(iter(flagged.items()))
        return refuse(check, f"backtesting {args.file.name} (book {book})")
    report = None
    if args.report:
        report = _write_report(args, backtest)
        if report is None:
            return 1
    if args.json:
        if report:
            print(report, file=sys.stderr)  # stdout stays one JSON object
        print_json(backtest.to_json_dict() | {"data_quality": _quality_json(checks)})
        return 0
    _print(args, backtest)
    for book, check in checks.items():
        print(f"book {book}: " + "\n".join(check.lines()))
    if report:
        print(report)
    return 0


def _write_report(args: argparse.Namespace, backtest: PortfolioBacktest) -> str | None:
    # Imported here: the report's modules are needed only when one is asked for.
    from alchemiser.analytics.backtest_report import DEFAULT_BENCHMARK
    from alchemiser.analytics.portfolio_report import write_portfolio_report

    try:
        files = write_portfolio_report(
            backtest,
            args.report,
            books_file=args.file,
            data=args.data,
            benchmark=args.benchmark or DEFAULT_BENCHMARK,
        )
    except _ERRORS as exc:
        fail(f"report not written: {exc}")
        return None
    return f"Report: {files.index} ({len(files.pages)} pages; charts: {files.chart_library})"


def _row(label: str, m: Metrics | None) -> str:
    if m is None:
        return f"  {label:<20}{'never joined':>16}{'':>10}{'':>8}{'':>10}"
    return (
        f"  {label:<20}{percent(m.total_return):>16}{percent(m.annualized_return):>10}"
        f"{number(m.sharpe):>8}{percent(m.max_drawdown):>10}"
    )


def _print(args: argparse.Namespace, backtest: PortfolioBacktest) -> None:
    from alchemiser.analytics.portfolio_report import joins_note

    m, settings = backtest.metrics, backtest.settings
    shares = ", ".join(f"{b.config.id} {float(b.config.share):.1%}" for b in backtest.books)
    print(f"Portfolio backtest of stage {backtest.stage} ({args.file.name}): {shares}")
    print(f"  {m.start} -> {m.end}, {m.days} days, ${settings.capital:,} at the start")
    print(f"  capital policy {settings.policy.describe()}")
    print(
        f"  costs: {settings.costs.describe()}; trades under "
        f"min(${settings.planning.min_trade_notional}, "
        f"{settings.planning.min_trade_fraction:%} of the book) held"
    )
    for note in joins_note(backtest):
        print(f"  {note}")
    print(f"  {'':<20}{'total':>16}{'CAGR':>10}{'sharpe':>8}{'max DD':>10}   final share")
    print(f"{_row('account', m)}   pool {backtest.path.pool[-1] / backtest.path.value[-1]:.1%}")
    for book in backtest.books:
        print(f"{_row(book.config.id, book.metrics)}   {book.final_share:.1%}")
    print(
        f"  volatility {percent(m.volatility)}, sortino {number(m.sortino)}, calmar "
        f"{number(m.calmar)}, turnover {number(m.turnover)} a year (net orders)"
    )
    print(f"  capital rebalances: {len(backtest.rebalances)}")
    if backtest.synthetic:
        print(f"  synthetic prices for {len(backtest.synthetic)} ticker(s)")
