"""``alchemiser backtest BOOKS.yaml --hedge``: the stage's hedge policy over history."""

from __future__ import annotations

import argparse
from pathlib import Path

from alchemiser.backtest.portfolio_models import PortfolioSettings
from alchemiser.books.config import BookConfig, load_stage
from alchemiser.cli.output import fail, number, percent, print_json, progress_bar
from alchemiser.dsl.parser import load_symphony
from alchemiser.dsl.program import Program, compile_symphony
from alchemiser.dsl.source import SymphonyError
from alchemiser.errors import ConfigurationError
from alchemiser.hedge.backtest import HedgeBacktest, backtest_hedge
from alchemiser.hedge.backtest_account import Drawdown, combine_books
from alchemiser.hedge.policy import CANDIDATE_UNDERLYINGS, HedgePolicy
from alchemiser.market.history import MissingTickersError, PriceHistory
from alchemiser.market.loader import load_price_directory
from alchemiser.settings import Settings

_ERRORS = (ConfigurationError, SymphonyError, MissingTickersError, ValueError, OSError)


def _load(
    args: argparse.Namespace,
) -> tuple[list[tuple[BookConfig, Program]], HedgePolicy, PriceHistory, PortfolioSettings]:
    path: Path = args.file
    stage = load_stage(path, args.stage)
    books, policy = stage.books, stage.hedge
    if policy is None:
        raise ConfigurationError(
            f"stage {args.stage} of {path} has no hedge: policy to backtest; add one under "
            "the stage (see the README, Options hedging) or choose a stage with --stage"
        )
    programs = [(b, compile_symphony(load_symphony(path.parent / b.strategy))) for b in books]
    tickers = sorted({t for _, p in programs for t in p.tickers} | set(CANDIDATE_UNDERLYINGS))
    history = load_price_directory(args.data, tickers)
    settings = PortfolioSettings.from_settings(
        Settings(), stage.capital, slippage_bps=args.slippage_bps
    )
    return programs, policy, history.truncate(args.end) if args.end else history, settings


def run_hedge_backtest(args: argparse.Namespace) -> int:
    """Backtest the hedge of ``args.stage`` in the books file ``args.file``."""
    if args.file.suffix not in (".yaml", ".yml"):
        return fail(f"--hedge backtests a books file (books.yaml), was {args.file}")
    if args.start and args.end and args.start > args.end:
        return fail(f"--start {args.start} is after --end {args.end}")
    unsupported = [
        flag
        for flag, value in (
            ("--report", args.report),
            ("--benchmark", args.benchmark),
            ("--allocations-out", args.allocations_out),
            ("--equity-out", args.equity_out),
            ("--strict", args.strict),
        )
        if value
    ]
    if unsupported:
        return fail(f"{', '.join(unsupported)} apply to a symphony backtest, not to --hedge")
    try:
        programs, policy, history, settings = _load(args)
        with progress_bar("evaluating books") as progress:
            account = combine_books(
                programs, history, settings, start=args.start, progress=progress
            )
        with progress_bar("pricing hedges") as progress:
            result = backtest_hedge(account, policy, history, progress=progress)
    except _ERRORS as exc:
        return fail(str(exc))
    if args.json:
        print_json(result.to_json_dict())
        return 0
    _print(args, policy, result)
    return 0


def _drawdown(d: Drawdown) -> str:
    recovered = d.recovery.isoformat() if d.recovery else "not yet"
    return f"{percent(d.depth, 1)} ({d.peak} -> {d.trough}, recovered {recovered})"


def _print(args: argparse.Namespace, policy: HedgePolicy, result: HedgeBacktest) -> None:
    books = ", ".join(f"{b} {s:.0%}" for b, s in result.account.shares)
    u, h = result.unhedged, result.hedged
    print(f"Hedge backtest of stage {args.stage} ({args.file.name}): {books}")
    print(f"  policy: {policy.describe()}")
    print(f"  {u.start} -> {u.end}, {u.days} days; options priced by the simulated market")
    print(f"  {'':<24}{'unhedged':>12}{'hedged':>12}")
    rows = [
        ("total return", percent(u.total_return), percent(h.total_return)),
        ("annualised return", percent(u.annualized_return), percent(h.annualized_return)),
        ("volatility", percent(u.volatility), percent(h.volatility)),
        ("sharpe", number(u.sharpe), number(h.sharpe)),
        ("max drawdown", percent(u.max_drawdown), percent(h.max_drawdown)),
        ("calmar", number(u.calmar), number(h.calmar)),
    ]
    for label, left, right in rows:
        print(f"  {label:<24}{left:>12}{right:>12}")
    print("  premium paid (of the year's average NAV):")
    print("    " + ", ".join(f"{y} {percent(v)}" for y, v in result.premium_per_year.items()))
    for which in ("unhedged", "hedged"):
        print(f"  worst drawdowns, {which}:")
        for d in result.drawdowns[which]:
            print(f"    {_drawdown(d)}")
    counts = ", ".join(f"{k} {v}" for k, v in result.counts.items())
    print(f"  hedges: {counts}")
