"""The dashboard's run pages: one per run (that day's books, orders and decision traces),
and the list of runs that links them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from alchemiser.analytics.execution_quality import order_quality
from alchemiser.analytics.live_series import RunDay
from alchemiser.analytics.page import Block, Cell, Link, Page, Table, Text
from alchemiser.analytics.tearsheet import percent

RUNS_SLUG = "runs"


def run_slug(day: RunDay) -> str:
    """Return the file name (without .html) of a run's page."""
    return f"run-{day.trading_date.isoformat()}"


def _weights(weights: Mapping[str, object]) -> str:
    parts = [f"{s} {float(str(w)):.1%}" for s, w in sorted(weights.items()) if float(str(w))]
    return ", ".join(parts) or "cash"


def _books_table(day: RunDay, day_returns: Mapping[str, float | None]) -> Table:
    rows: list[tuple[Cell, ...]] = [
        (
            Link(b.book_id, f"book-{b.book_id}.html"),
            b.status.replace("_", " "),
            f"{b.equity:,.2f}",
            percent(day_returns.get(b.book_id)),
            _weights(b.target_weights),
        )
        for b in day.books
    ]
    return Table("Books", ("Book", "Status", "NAV $", "Day", "Target"), tuple(rows), numeric_from=2)


def _orders_table(day: RunDay) -> Table:
    rows: list[tuple[Cell, ...]] = []
    for order in day.orders:
        quality = order_quality(order)
        price = "—" if order.avg_fill_price is None else f"{order.avg_fill_price:,.4f}"
        cost = "—" if quality is None else f"{quality.vs_reference_bps:,.1f}"
        rows.append(
            (
                f"{order.side.value} {order.symbol}",
                order.state.value.replace("_", " "),
                f"{order.qty:,.4f}",
                f"{order.filled_qty:,.4f}",
                price,
                cost,
            )
        )
    note = "Cost: the average fill against the reference close, in bps (positive is a cost)."
    return Table(
        "Orders",
        ("Order", "State", "Qty", "Filled", "Avg price", "Cost bps"),
        tuple(rows),
        note=note if rows else "No order was placed.",
        numeric_from=2,
    )


def run_page(
    day: RunDay, account_return: float | None, book_returns: Mapping[str, float | None]
) -> Page:
    """Return the page of one run: facts, books, orders, warnings and decision traces."""
    facts = Table(
        "The day",
        ("Fact", "Value"),
        (
            ("Run", day.run_id),
            ("Outcome", f"{day.status}: {day.message}" if day.message else day.status),
            ("Account equity when planned", f"${day.account_equity:,.2f}"),
            ("Account NAV after the run", f"${day.nav:,.2f}"),
            ("Account day return", percent(account_return)),
        ),
    )
    blocks: list[Block] = [facts, _books_table(day, book_returns), _orders_table(day)]
    if day.warnings:
        blocks.append(Table("Warnings", ("Warning",), tuple((w,) for w in day.warnings)))
    for book in day.books:
        if book.trace:
            blocks.append(
                Text(f"Decision trace: {book.book_id}", book.trace, anchor=f"trace-{book.book_id}")
            )
    return Page(
        slug=run_slug(day),
        title=f"Run of {day.trading_date.isoformat()}",
        subtitle=f"{day.run_id}, {len(day.books)} books, {len(day.orders)} orders",
        blocks=tuple(blocks),
    )


def runs_page(days: Sequence[RunDay], account_returns: Mapping[str, float]) -> Page:
    """Return the list of runs, newest first, each linked to its page."""
    rows: list[tuple[Cell, ...]] = [
        (
            Link(day.trading_date.isoformat(), f"{run_slug(day)}.html"),
            day.status,
            f"{day.nav:,.2f}",
            percent(account_returns.get(day.run_id)),
            str(sum(1 for o in day.orders if o.filled_qty > 0)),
        )
        for day in reversed(days)
    ]
    table = Table("Runs", ("Day", "Outcome", "NAV $", "Day", "Fills"), tuple(rows), numeric_from=2)
    latest = days[-1].trading_date.isoformat() if days else "—"
    return Page(
        slug=RUNS_SLUG,
        title="Runs",
        subtitle=f"{len(days)} runs, the latest on {latest}",
        blocks=(table,),
        summary=(("Runs", str(len(days))), ("Latest", latest)),
    )
