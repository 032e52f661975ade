"""Engine commands: ``eval``, ``backtest``, ``validate`` and ``import-composer``.

Each handler imports what only it needs (the backtester, pyarrow's loader, the data
check, pydantic's books model, the Composer importer, the hedge and portfolio
backtests), so the CLI starts fast: see ``benchmarks/startup_benchmark.py``.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from alchemiser.cli.output import fail, message_of, number, percent, print_json, progress_bar
from alchemiser.cli.paths import (
    PRICE_DIRECTORY,
    SYMPHONY_FILE,
    check_directory,
    check_file,
    check_output_file,
    describe_os_error,
)
from alchemiser.dsl.parser import load_symphony
from alchemiser.dsl.program import Program, compile_symphony
from alchemiser.dsl.source import SymphonyError
from alchemiser.errors import ConfigurationError
from alchemiser.market.history import MissingTickersError, PriceHistory

if TYPE_CHECKING:
    from alchemiser.backtest.symphony import SymphonyBacktest

# Errors a user can cause with a bad file, bad data or a bad date; reported, not raised.
# SymphonyError, WarmupError and ComposerImportError are ValueErrors.
USER_ERRORS = (MissingTickersError, ValueError, OSError)
STRICT_HELP = "refuse to go on when the data-quality check flags anything (exit 1)"


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, found {text!r}") from None


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, found {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, was {value:g}")
    return value


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser("eval", help="today's (or any day's) allocation of a symphony")
    p.add_argument("file", type=Path)
    p.add_argument("--date", type=_day, help="the trading day (default: the last day in the data)")
    p.add_argument(
        "--data", type=Path, required=True, help="directory of per-ticker daily price files"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--trace", action="store_true", help="explain every decision taken on that day")
    p.add_argument("--strict", action="store_true", help=STRICT_HELP)
    p.set_defaults(handler=run_eval)

    p = commands.add_parser(
        "backtest", help="simulate a symphony, or a stage of books.yaml (its account), over history"
    )
    p.add_argument("file", type=Path, help="a .clj symphony, or books.yaml (with --stage)")
    p.add_argument(
        "--data", type=Path, required=True, help="directory of per-ticker daily price files"
    )
    p.add_argument("--start", type=_day, help="first day to trade (default: the first valid day)")
    p.add_argument("--end", type=_day, help="last day (default: the last day in the data)")
    p.add_argument(
        "--slippage-bps",
        type=_non_negative,
        help="cost per traded notional, in bps (default 0; for books.yaml the simulated "
        "broker's spread and slippage)",
    )
    p.add_argument("--json", action="store_true", help="print the metrics as one JSON object")
    p.add_argument("--allocations-out", type=Path, help="write date,weights (JSON) for every day")
    p.add_argument("--equity-out", type=Path, help="write date,equity,return for every day")
    p.add_argument(
        "--report",
        type=Path,
        metavar="OUT.html",
        help="write a tearsheet page (charts and tables; plotly.js goes in assets/ beside it); "
        "books.yaml: a site (a directory, or OUT.html as its index)",
    )
    p.add_argument(
        "--benchmark",
        metavar="TICKER|FILE.clj",
        help="the report's benchmark: a ticker in --data or a symphony file (default SPY)",
    )
    p.add_argument(
        "--hedge", action="store_true", help="backtest the stage's hedge policy (file: books.yaml)"
    )
    p.add_argument("--stage", default="dev", help="the stage of books.yaml (default dev)")
    p.add_argument("--strict", action="store_true", help=STRICT_HELP)
    p.set_defaults(handler=run_backtest_command)

    p = commands.add_parser(
        "validate", help="check symphony files (and books.yaml), reporting every error"
    )
    p.add_argument("files", type=Path, nargs="+")
    p.add_argument(
        "--data",
        type=Path,
        help="also check that every ticker has price data here, and the data's quality",
    )
    p.add_argument("--strict", action="store_true", help=STRICT_HELP)
    p.set_defaults(handler=run_validate)

    p = commands.add_parser(
        "import-composer", help="convert a Composer JSON export to a .clj symphony"
    )
    p.add_argument("json_file", type=Path, metavar="JSON")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.clj")
    p.set_defaults(handler=run_import)


def _load(path: Path, data: Path) -> tuple[Program, PriceHistory]:
    from alchemiser.market.loader import load_price_directory

    check_file(path, SYMPHONY_FILE)
    check_directory(data, PRICE_DIRECTORY)
    program = compile_symphony(load_symphony(path))
    try:
        return program, load_price_directory(data, program.tickers)
    except MissingTickersError as exc:
        raise exc.spelled(program.spellings) from None


def run_eval(args: argparse.Namespace) -> int:
    from alchemiser.cli.quality_output import check_eval, refuse
    from alchemiser.dsl.engine import evaluate_on
    from alchemiser.dsl.trace import render_trace

    try:
        program, history = _load(args.file, args.data)
        day = args.date or history.day(len(history.dates) - 1)
        allocation = evaluate_on(program, history, day, trace=args.trace)
        quality = check_eval(program, history, day)
    except USER_ERRORS as exc:
        return fail(exc)
    if args.strict and not quality.check.ok:
        return refuse(quality.check, f"evaluating {args.file.name}")
    if args.json:
        print_json(allocation.to_json_dict() | {"data_quality": quality.to_json_dict()})
        return 0
    print(f"{program.symphony.name} ({args.file.name}) as of {day}")
    for ticker, weight in sorted(allocation.weights.items(), key=lambda item: -item[1]):
        print(f"  {ticker:<8} {weight * 100:7.2f} %")
    if not allocation.weights:
        print("  nothing held (cash)")
    if allocation.trace is not None:
        print()
        print(render_trace(allocation.trace))
    print()
    print("\n".join(quality.lines()))
    return 0


def run_backtest_command(args: argparse.Namespace) -> int:
    if args.file.suffix in (".yaml", ".yml") and not args.hedge:
        # Imported here, so `alchemiser --help` does not load the portfolio backtest.
        from alchemiser.cli.portfolio_backtest import run_portfolio_backtest

        return run_portfolio_backtest(args)
    if args.hedge:
        from alchemiser.cli.hedge_backtest import run_hedge_backtest

        return run_hedge_backtest(args)
    return _backtest_symphony(args)


def _backtest_symphony(args: argparse.Namespace) -> int:
    from alchemiser.backtest.symphony import backtest_symphony
    from alchemiser.cli.quality_output import check_backtest, refuse

    if args.slippage_bps is None:
        args.slippage_bps = 0.0
    if args.start and args.end and args.start > args.end:
        return fail(f"--start {args.start} is after --end {args.end}")
    if args.benchmark and not args.report:
        return fail("--benchmark sets the benchmark of the report: add --report OUT.html")
    try:
        for out in (args.allocations_out, args.equity_out):
            if out is not None:
                check_output_file(out, "a CSV file")
        program, history = _load(args.file, args.data)
        with progress_bar("evaluating") as progress:
            backtest = backtest_symphony(
                program,
                history,
                start=args.start,
                end=args.end,
                slippage_bps=args.slippage_bps,
                progress=progress,
            )
        quality = check_backtest(program, history, backtest, slippage_bps=args.slippage_bps)
    except USER_ERRORS as exc:
        return fail(exc)
    if args.strict and not quality.check.ok:
        return refuse(quality.check, f"backtesting {args.file.name}")
    if args.allocations_out:
        _write_allocations(args.allocations_out, backtest)
    if args.equity_out:
        _write_equity(args.equity_out, backtest)
    report = None
    if args.report:
        report = _write_report(args, backtest, history.synthetic)
        if report is None:
            return 1
    metrics = backtest.result.metrics
    if args.json:
        if report:
            print(report, file=sys.stderr)  # stdout stays one JSON object
        print_json(metrics.to_json_dict() | {"data_quality": quality.to_json_dict()})
        return 0
    symphony = program.symphony
    settings = f"rebalance {symphony.frequency.value}"
    if symphony.meta.rebalance_threshold:
        settings += f", corridor {symphony.meta.rebalance_threshold:g}"
    print(f"{symphony.name} ({args.file.name})")
    print(
        f"  {metrics.start} -> {metrics.end}, {metrics.days} days, {settings}, slippage {args.slippage_bps:g} bps"
    )
    rows: list[tuple[str, str]] = [
        ("total return", percent(metrics.total_return)),
        ("annualised return", percent(metrics.annualized_return)),
        ("volatility (annualised)", percent(metrics.volatility)),
        ("sharpe", number(metrics.sharpe)),
        ("sortino", number(metrics.sortino)),
        ("max drawdown", percent(metrics.max_drawdown)),
        ("calmar", number(metrics.calmar)),
        ("turnover (per year)", number(metrics.turnover)),
    ]
    span = metrics.max_drawdown_dates
    if span is not None:
        recovered = span.recovery.isoformat() if span.recovery else "not yet"
        rows.insert(
            6,
            ("  drawdown dates", f"peak {span.peak}, trough {span.trough}, recovered {recovered}"),
        )
    for label, value in rows:
        print(f"  {label:<26}{value}")
    print()
    print("\n".join(quality.lines()))
    if report:
        print(report)
    return 0


def _write_report(
    args: argparse.Namespace, backtest: SymphonyBacktest, synthetic: frozenset[str]
) -> str | None:
    """Write the tearsheet; return the line that says where (None after an error)."""
    # Imported here: the report's modules are needed only when one is asked for.
    from alchemiser.analytics.backtest_report import DEFAULT_BENCHMARK, write_backtest_report

    try:
        files = write_backtest_report(
            backtest,
            args.report,
            symphony_file=args.file,
            data=args.data,
            benchmark=args.benchmark or DEFAULT_BENCHMARK,
            synthetic=synthetic,
        )
    except USER_ERRORS as exc:
        fail(f"report not written: {message_of(exc)}")
        return None
    return f"Report: {files.pages[0]} (charts: {files.chart_library})"


def _write_allocations(path: Path, backtest: SymphonyBacktest) -> None:
    allocations = backtest.allocations
    first = allocations.row_of(backtest.result.metrics.start)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["date", "weights"])
        for row in range(first, len(allocations.dates)):
            writer.writerow(
                [
                    str(allocations.dates[row]),
                    json.dumps(allocations.weights_at(row), sort_keys=True),
                ]
            )


def _write_equity(path: Path, backtest: SymphonyBacktest) -> None:
    result = backtest.result
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["date", "equity", "return"])
        for day, equity, daily in zip(result.dates, result.equity, result.returns, strict=True):
            writer.writerow([str(day), f"{equity:.10g}", f"{daily:.10g}"])


def run_validate(args: argparse.Namespace) -> int:
    available: set[str] | None = None
    if args.data is not None:
        from alchemiser.market.loader import ticker_files

        try:
            available = set(ticker_files(args.data))
        except USER_ERRORS as exc:
            return fail(exc)
    failures = 0
    missing: dict[str, str] = {}  # every ticker without data -> its spelling in a file
    lacking_files: list[Path] = []
    for path in args.files:
        if path.suffix in (".yaml", ".yml"):
            failures += _validate_books(path)
            continue
        program = _read_symphony(path)
        if program is None:
            failures += 1
        elif available is None:
            print(f"ok {_summary(path, program)}")
        elif not set(program.tickers) <= available:
            failures += 1
            lacking_files.append(path)
            lacking = sorted(set(program.tickers) - available)
            missing |= {t: program.spellings.get(t, t) for t in lacking if t not in missing}
            written = ", ".join(program.as_written(lacking))
            print(f"{path.name}: no price data in {args.data} for: {written}", file=sys.stderr)
        else:
            failures += _validate_data(path, program, args.data, strict=args.strict)
    if missing:
        print(_missing_summary(missing, args.data, lacking_files), file=sys.stderr)
    if failures:
        print(f"{failures} of {len(args.files)} file(s) have errors", file=sys.stderr)
        return 1
    return 0


def _read_symphony(path: Path) -> Program | None:
    """Compile a symphony file, printing why not (and returning None) when it cannot be."""
    try:
        return compile_symphony(load_symphony(path))
    except SymphonyError as exc:
        print(str(exc), file=sys.stderr)
    except OSError as exc:
        print(describe_os_error(exc, SYMPHONY_FILE), file=sys.stderr)
    return None


def _summary(path: Path, program: Program) -> str:
    return f"{path.name}: {len(program.ops)} distinct nodes, {len(program.tickers)} tickers"


def _validate_data(path: Path, program: Program, data: Path, *, strict: bool) -> int:
    """Check the quality of a symphony's closes in ``data``; return 1 when it fails."""
    from alchemiser.backtest.data_check import check_symphony_data
    from alchemiser.market.loader import load_price_directory

    try:
        history = load_price_directory(data, program.tickers)
        last = history.day(len(history.dates) - 1)
        check = check_symphony_data(program, history, last)
    except USER_ERRORS as exc:
        print(f"{path.name}: {exc}", file=sys.stderr)
        return 1
    if check.ok:
        print(f"ok {_summary(path, program)}, data through {last}: no data-quality issue")
        return 0
    status = "error" if strict else "ok"
    out = sys.stderr if strict else sys.stdout
    print(f"{status} {_summary(path, program)}, data through {last}:", file=out)
    for line in check.lines():
        print(f"  {line}", file=out)
    return 1 if strict else 0


def _missing_summary(missing: dict[str, str], data: Path, files: list[Path]) -> str:
    names = ", ".join(missing[t] for t in sorted(missing))
    sources = " ".join(str(f) for f in files)
    return (
        f"missing from {data}: {len(missing)} ticker(s): {names}\n"
        f"  fetch them from Alpaca with: alchemiser data pull --data {data} --from {sources}"
    )


def _validate_books(path: Path) -> int:
    """Check a books.yaml (every stage, every strategy it names); return 1 on problems."""
    from alchemiser.books.config import load_stage, validate_all_stages

    try:
        stages = validate_all_stages(path)
    except (ConfigurationError, OSError) as exc:
        print(str(exc), file=sys.stderr)
        return 1
    for stage, books in stages.items():
        shares = ", ".join(f"{b.id} {b.share}" for b in books)
        print(f"ok {path.name} [{stage}]: {len(books)} books ({shares})")
        config = load_stage(path, stage)
        print(f"   hedge: {config.hedge.describe() if config.hedge else 'none'}")
        print(f"   capital rebalance: {config.capital.describe()}")
    return 0


def run_import(args: argparse.Namespace) -> int:
    from alchemiser.dsl.composer_json import load_composer_json
    from alchemiser.dsl.writer import write_symphony

    try:
        check_file(args.json_file, "a Composer symphony export (.json)")
        check_output_file(args.output, SYMPHONY_FILE)
        symphony = load_composer_json(args.json_file)
        text = write_symphony(symphony)
        args.output.write_text(text, encoding="utf-8")
    except USER_ERRORS as exc:
        return fail(exc)
    print(f"wrote {args.output} ({symphony.name!r})")
    return 0
