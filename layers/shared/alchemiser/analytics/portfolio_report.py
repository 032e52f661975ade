"""The site of a portfolio backtest: the account's tearsheet, one per book, and an index.

``alchemiser backtest books.yaml --stage S --report OUT`` writes it: ``OUT`` is a
directory (its ``index.html`` lists the pages) or an ``.html`` file that becomes the
index, the pages beside it. The account's page shows the books' shares of the account
over time (what they leave is the pool), a table of the books and the capital
rebalances; each book's page is its own tearsheet from the day it joined. Every page
has the same benchmark (a ticker bought at the close of that page's first day, or a
symphony backtested over the same days).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from alchemiser.analytics.backtest_report import load_benchmark
from alchemiser.analytics.page import Cell, Link, Page, Table
from alchemiser.analytics.returns import ReturnSeries
from alchemiser.analytics.site import SiteFiles, write_site
from alchemiser.analytics.tearsheet import build_tearsheet, number, percent
from alchemiser.backtest.portfolio_rules import BASIS_POINT
from alchemiser.backtest.portfolio_run import BookResult, PortfolioBacktest

# The account page lists the latest capital decisions; the rest are counted.
SHOWN_DECISIONS = 12


def book_slug(book_id: str) -> str:
    return f"book-{book_id}"


def joins_note(backtest: PortfolioBacktest) -> list[str]:
    """Say when each book joined, and for a late one, why and where its capital waited."""
    start = backtest.account.start
    notes = []
    for book in backtest.books:
        share = f"{float(book.config.share):.1%}"
        if book.joined is None:
            valid = f"its first valid day is {book.valid_from}" if book.valid_from else "never"
            notes.append(
                f"{book.config.id} ({book.config.strategy}) never joined: {valid} "
                f"({book.valid_reason}); its {share} stayed in the pool."
            )
        elif book.joined > start:
            notes.append(
                f"{book.config.id} ({book.config.strategy}) joined on {book.joined}, its "
                f"symphony's first valid day ({book.valid_reason}); until then its {share} "
                "waited in the pool, earning nothing."
            )
    return notes


def settings_note(backtest: PortfolioBacktest, books_file: Path, data: Path) -> str:
    settings = backtest.settings
    limits = settings.planning
    return (
        f"Backtest of stage {backtest.stage} of {books_file.name} on prices from {data}: "
        f"${settings.capital:,} at the close of {backtest.account.start}; capital policy "
        f"{settings.policy.describe()}; each book by its symphony's own rebalancing rules, "
        f"trades under min(${limits.min_trade_notional}, {limits.min_trade_fraction:%} of "
        f"the book) held except exits, netted per symbol; costs of the simulated broker's "
        f"market order: {settings.costs.describe()}."
    )


def _books_table(backtest: PortfolioBacktest) -> Table:
    rows: list[tuple[Cell, ...]] = []
    for book in backtest.books:
        m = book.metrics
        name: Cell = Link(book.config.id, f"{book_slug(book.config.id)}.html")
        if m is None:
            name = book.config.id
        rows.append(
            (
                name,
                f"{float(book.config.share):.1%}",
                f"{book.final_share:.1%}",
                book.joined.isoformat() if book.joined else "never",
                percent(m.total_return if m else None),
                percent(m.annualized_return if m else None),
                number(m.sharpe if m else None),
                percent(m.max_drawdown if m else None),
            )
        )
    columns = ("Book", "Target", "Final", "Joined", "Total", "CAGR", "Sharpe", "Max DD")
    note = "Target: the share in books.yaml; final: the share of the account on the last day."
    return Table("Books", columns, tuple(rows), note=note)


def _decisions_table(backtest: PortfolioBacktest) -> Table:
    decisions = [d for d in backtest.decisions if d.transfers]
    shown = decisions[-SHOWN_DECISIONS:]
    rows: list[tuple[Cell, ...]] = []
    for decision in reversed(shown):
        moved = ", ".join(f"{t.book_id} {t.amount:+,.2f}" for t in decision.transfers)
        rows.append((decision.day.isoformat(), decision.reason, moved))
    note = (
        f"{len(backtest.rebalances)} capital rebalance(s) after the first funding, "
        f"{len(decisions)} day(s) with transfers; the latest {len(shown)} shown (dollars, "
        "+ into the book from the pool)."
    )
    columns = ("Day", "Why", "Transfers")
    return Table("Capital transfers", columns, tuple(rows), note=note, numeric_from=len(columns))


def _benchmark(
    spec: str | None, data: Path, series: ReturnSeries, cost_bps: float
) -> tuple[ReturnSeries | None, list[str]]:
    if not spec:
        return None, []
    bench, note = load_benchmark(spec, data, series, cost_bps)
    return bench, [note]


def account_page(
    backtest: PortfolioBacktest, books_file: Path, data: Path, benchmark: str | None
) -> Page:
    """Return the account's tearsheet with the books' table and the capital transfers."""
    cost_bps = (backtest.settings.costs.buy_factor - 1.0) / BASIS_POINT
    bench, bench_notes = _benchmark(benchmark, data, backtest.account, cost_bps)
    notes = [
        settings_note(backtest, books_file, data),
        *joins_note(backtest),
        "Allocation history: each book's share of the account; cash is the pool.",
        *bench_notes,
    ]
    if backtest.synthetic:
        notes.append(
            f"Synthetic prices (not market data) for {len(backtest.synthetic)} ticker(s): "
            f"{', '.join(sorted(backtest.synthetic))}."
        )
    page = build_tearsheet(
        "account",
        f"Stage {backtest.stage}: the account",
        backtest.account,
        benchmark=bench,
        weights=backtest.book_shares(),
        traded=backtest.account_traded,
        notes=notes,
    )
    extra = (_books_table(backtest), _decisions_table(backtest))
    return replace(page, blocks=(*page.blocks[:2], *extra, *page.blocks[2:]))


def book_page(
    backtest: PortfolioBacktest, book: BookResult, data: Path, benchmark: str | None
) -> Page | None:
    """Return one book's tearsheet (None when it never joined)."""
    if book.returns is None:
        return None
    cost_bps = (backtest.settings.costs.buy_factor - 1.0) / BASIS_POINT
    bench, bench_notes = _benchmark(benchmark, data, book.returns, cost_bps)
    notes = [
        f"Book {book.config.id}: {book.config.strategy} ({book.name}), target share "
        f"{float(book.config.share):.1%}, joined on {book.joined}. Returns are time-weighted: "
        "capital moved by the policy is not performance.",
        *bench_notes,
    ]
    return build_tearsheet(
        book_slug(book.config.id),
        f"{book.config.id}: {book.name}",
        book.returns,
        benchmark=bench,
        weights=book.weights,
        traded=book.traded,
        notes=notes,
    )


def write_portfolio_report(
    backtest: PortfolioBacktest,
    out: Path,
    *,
    books_file: Path,
    data: Path,
    benchmark: str | None,
) -> SiteFiles:
    """Write the account's page, every book's page and the index (see the module docstring)."""
    pages: list[Page] = [account_page(backtest, books_file, data, benchmark)]
    for book in backtest.books:
        page = book_page(backtest, book, data, benchmark)
        if page is not None:
            pages.append(page)
    directory, index = (out.parent, out.name) if out.suffix == ".html" else (out, "index.html")
    return write_site(
        directory,
        pages,
        title=f"Portfolio backtest: stage {backtest.stage}",
        subtitle=_subtitle(backtest, pages),
        index_name=index,
    )


def _subtitle(backtest: PortfolioBacktest, pages: Sequence[Page]) -> str:
    return (
        f"{backtest.account.start} to {backtest.account.end}: the account and "
        f"{len(pages) - 1} book(s)"
    )
