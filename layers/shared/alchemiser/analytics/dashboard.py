"""The live dashboard's pages: the account, one page per book, execution quality, the runs.

Every series comes from :mod:`alchemiser.analytics.live_series`; every figure and chart
from the tearsheet (:mod:`alchemiser.analytics.tearsheet`), so the live pages and the
backtests' pages say the same things the same way.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from alchemiser.analytics import charts
from alchemiser.analytics.execution_quality import execution_page
from alchemiser.analytics.live_series import LiveHistory, RunDay
from alchemiser.analytics.live_vs_backtest import BookComparison, comparison_blocks
from alchemiser.analytics.page import Block, Cell, Chart, Link, Page, Table
from alchemiser.analytics.returns import DateArray, FloatArray, ReturnSeries, benchmark_returns
from alchemiser.analytics.run_pages import run_page, run_slug, runs_page
from alchemiser.analytics.tearsheet import build_tearsheet, percent
from alchemiser.ledger.models import FillRecord

ACCOUNT_SLUG = "account"
NOT_COMPARED = "Live vs backtest was not computed for this site."
MAX_TRADE_ROWS = 250


@dataclass(frozen=True)
class BenchmarkPrices:
    """A benchmark's daily closes (SPY by default), to compare each series with."""

    name: str
    dates: DateArray
    closes: FloatArray

    def returns_on(self, series: ReturnSeries) -> ReturnSeries | None:
        """Return the benchmark's returns on the series' days, bought at the first day's close.

        A live series starts in cash and buys at its first run (its first return is that
        day's cost), so the benchmark is bought at the same close: its first return is 0.
        """
        first = int(np.searchsorted(self.dates, series.dates[0]))
        if first >= len(self.dates) or self.dates[first] != series.dates[0]:
            return None
        try:
            return benchmark_returns(
                self.name, series.dates, self.dates, self.closes, float(self.closes[first])
            )
        except ValueError:
            return None  # a day the benchmark lacks: the page says it has no benchmark


@dataclass(frozen=True)
class Dashboard:
    """Every page of the site, and the ones its index lists."""

    pages: tuple[Page, ...]
    listed: tuple[Page, ...]


def book_slug(book_id: str) -> str:
    return f"book-{book_id}"


def _benchmarked(
    series: ReturnSeries, benchmark: BenchmarkPrices | None
) -> tuple[ReturnSeries | None, list[str]]:
    if benchmark is None:
        return None, ["No benchmark prices were available."]
    found = benchmark.returns_on(series)
    if found is None:
        return None, [f"{benchmark.name} has no close on some day of this series: not compared."]
    return found, []


def _holdings(day: RunDay) -> Table:
    values: dict[str, Decimal] = defaultdict(Decimal)
    for book in day.books:
        for symbol, qty in book.positions.items():
            values[symbol] += qty * book.prices.get(symbol, Decimal(0))
    nav = day.nav
    rows: list[tuple[Cell, ...]] = [
        (symbol, f"{value:,.2f}", percent(float(value / nav)) if nav else "—")
        for symbol, value in sorted(values.items(), key=lambda item: -item[1])
        if value
    ]
    options = day.hedge_options
    if options:
        share = percent(float(options / nav)) if nav else "—"
        rows.append(("Options (hedge book)", f"{options:,.2f}", share))
    cash = nav - sum(values.values(), Decimal(0)) - options
    rows.append(("Cash", f"{cash:,.2f}", percent(float(cash / nav)) if nav else "—"))
    return Table(
        f"Holdings after the run of {day.trading_date}",
        ("Holding", "Value $", "Weight"),
        tuple(rows),
        note="All books together, at the run's reference prices.",
    )


def _flows(history: LiveHistory) -> Table:
    rows: list[tuple[Cell, ...]] = []
    for book_id in history.book_ids:
        moved = [amount for _, amount in history.book_flows(book_id)]
        rows.append(
            (
                book_id,
                f"{sum((a for a in moved if a > 0), Decimal(0)):,.2f}",
                f"{-sum((a for a in moved if a < 0), Decimal(0)):,.2f}",
            )
        )
    note = (
        "No deposit or withdrawal is recorded by the ledger yet. Each book's capital is "
        "reset to its share of the account every day; the money that moves is counted as a "
        "flow, so it changes no book's return."
    )
    return Table("Flows", ("Book", "Moved in $", "Moved out $"), tuple(rows), note=note)


def account_page(history: LiveHistory, benchmark: BenchmarkPrices | None) -> Page:
    """Return the account page: NAV, TWR against the benchmark, drawdown, holdings, flows."""
    series = history.account_returns()
    assert series is not None  # the caller builds no dashboard without a run
    bench, notes = _benchmarked(series, benchmark)
    sheet = build_tearsheet(ACCOUNT_SLUG, "Account", series, benchmark=bench, notes=notes)
    latest = history.days[-1]
    navs = np.array([float(d.nav) for d in history.days])
    facts = Table(
        "Today",
        ("Figure", "Value"),
        (
            ("NAV", f"${latest.nav:,.2f}"),
            ("Day return", percent(float(series.returns[-1]))),
            ("Return since the first run (TWR)", percent(float(series.wealth()[-1] - 1.0))),
            ("Books", str(len(latest.books))),
        ),
    )
    blocks: list[Block] = [
        facts,
        Chart("NAV ($)", charts.value_chart("Account", series.dates, navs)),
        *sheet.blocks,
        _holdings(latest),
        _flows(history),
    ]
    return Page(
        slug=ACCOUNT_SLUG,
        title="Account",
        subtitle=f"Stage {history.stage}: {sheet.subtitle}",
        blocks=tuple(blocks),
        notes=sheet.notes,
        summary=(("NAV", f"${latest.nav:,.0f}"), *sheet.summary[2:]),
    )


def _trades(fills: list[FillRecord]) -> Table:
    fills = sorted(fills, key=lambda f: (f.trading_date, f.symbol), reverse=True)
    rows: list[tuple[Cell, ...]] = [
        (
            f.trading_date.isoformat(),
            f"{f.side.value} {f.symbol}",
            f"{f.qty:,.4f}",
            f"{f.price:,.4f}",
            f"{f.qty * f.price:,.2f}",
            f.source.value,
        )
        for f in fills[:MAX_TRADE_ROWS]
    ]
    shown = f"the latest {len(rows)} of {len(fills)}" if len(fills) > len(rows) else "all"
    return Table(
        "Trades",
        ("Day", "Trade", "Qty", "Price", "Value $", "Source"),
        tuple(rows),
        note=f"This book's fills ({shown}), newest first; a cross is a trade with another book.",
        numeric_from=2,
    )


def _decisions(history: LiveHistory, book_id: str) -> Table:
    rows: list[tuple[Cell, ...]] = []
    for day in reversed(history.days):
        book = day.book(book_id)
        if book is None:
            continue
        targets = ", ".join(
            f"{s} {float(w):.1%}" for s, w in sorted(book.target_weights.items()) if w
        )
        rows.append(
            (
                Link(day.trading_date.isoformat(), f"{run_slug(day)}.html#trace-{book_id}"),
                book.status.replace("_", " "),
                targets or "cash",
                book.reason or "—",
            )
        )
    return Table(
        "Decisions by day",
        ("Day", "Status", "Target", "Why"),
        tuple(rows),
        note="Each day links to its run page, which shows the full decision trace.",
        numeric_from=4,
    )


def book_page(
    history: LiveHistory,
    book_id: str,
    benchmark: BenchmarkPrices | None,
    fills: list[FillRecord] | None = None,
    comparison: BookComparison | str = "",
) -> Page:
    """Return a book's page: its tearsheet, live vs backtest, its trades and decisions.

    ``fills`` are the book's fills (read from ``history`` when not given);
    ``comparison`` its live-vs-backtest comparison, or why there is none.
    """
    if fills is None:
        fills = [f for day in history.days for f in day.fills if f.book_id == book_id]
    series = history.book_returns(book_id)
    strategy = next(b.strategy for d in history.days for b in d.books if b.book_id == book_id)
    if series is None:
        table = Table("Book", ("Note",), (("This book has no reconciled day yet.",),))
        return Page(book_slug(book_id), f"Book {book_id}", strategy, (table,))
    bench, notes = _benchmarked(series, benchmark)
    sheet = build_tearsheet(
        book_slug(book_id), f"Book {book_id}", series, benchmark=bench, notes=notes
    )
    versus = comparison_blocks(comparison) if isinstance(comparison, BookComparison) else []
    blocks = (*sheet.blocks, *versus, _trades(fills), _decisions(history, book_id))
    why_not = [comparison] if isinstance(comparison, str) and comparison else []
    return Page(
        slug=sheet.slug,
        title=sheet.title,
        subtitle=f"{strategy}: {sheet.subtitle}",
        blocks=blocks,
        notes=(*sheet.notes, *why_not),
        summary=sheet.summary,
    )


def _day_returns(series: ReturnSeries | None) -> dict[str, float]:
    if series is None:
        return {}
    return {str(d): float(r) for d, r in zip(series.dates, series.returns, strict=True)}


def build_dashboard(
    history: LiveHistory,
    benchmark: BenchmarkPrices | None,
    comparisons: Mapping[str, BookComparison | str] | None = None,
) -> Dashboard:
    """Return every page of the live site for ``history`` (at least one run).

    ``comparisons`` holds each book's live-vs-backtest comparison (or why there is none).
    """
    comparisons = comparisons or {}
    if not history.days:
        raise ValueError(f"stage {history.stage} has no reconciled run yet: nothing to show")
    account = account_page(history, benchmark)
    fills: dict[str, list[FillRecord]] = defaultdict(list)
    for day in history.days:
        for fill in day.fills:
            fills[fill.book_id].append(fill)
    books = [
        book_page(history, b, benchmark, fills[b], comparisons.get(b, NOT_COMPARED))
        for b in history.book_ids
    ]
    orders = [o for day in history.days for o in day.orders]
    execution = execution_page(orders)
    by_day = _day_returns(history.account_returns())
    book_days = {b: _day_returns(history.book_returns(b)) for b in history.book_ids}
    runs = [
        run_page(
            day,
            by_day.get(str(day.trading_date)),
            {b: days.get(str(day.trading_date)) for b, days in book_days.items()},
        )
        for day in history.days
    ]
    by_run = {day.run_id: by_day[str(day.trading_date)] for day in history.days}
    listing = runs_page(history.days, by_run)
    listed = (account, *books, execution, listing)
    return Dashboard(pages=(*listed, *runs), listed=listed)
