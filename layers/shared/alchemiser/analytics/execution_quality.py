"""Execution quality: what each order paid against the price it was planned at and the
market it met, per order, per symbol and over time.

Per filled order (signs: positive is a cost, for a buy and for a sell alike):

* ``vs_reference_bps``: the average fill against the order's reference price (the day's
  close the books planned with), ``side * (fill - reference) / reference * 10,000``;
* ``vs_arrival_bps``: the same against the arrival mid (the first quote the walk priced
  against), which separates the walk's cost from the market's move since the close;
* ``spread_bps``: the quoted spread at arrival, ``(ask - bid) / mid * 10,000``;
* ``steps``: broker orders the walk placed (limit steps, then the market order);
* ``seconds``: from the first order's submission to the last fill.

Orders recorded before the walk kept its arrival quote and times show a dash there.
Averages weight each order by its filled notional.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from alchemiser.analytics.page import Cell, Chart, Page, Table
from alchemiser.broker.models import OrderSide
from alchemiser.ledger.models import OrderRecord

BPS = 10_000.0
MAX_ORDER_ROWS = 250  # the per-order table shows the latest; the other tables cover all
MISSING = "—"


@dataclass(frozen=True)
class OrderQuality:
    """How one filled order went (see the module docstring for each measure)."""

    trading_date: date
    symbol: str
    side: str
    notional: float
    vs_reference_bps: float
    vs_arrival_bps: float | None
    spread_bps: float | None
    steps: int
    seconds: float | None


def order_quality(order: OrderRecord) -> OrderQuality | None:
    """Return the order's measures, or None when nothing filled."""
    if order.filled_qty <= 0 or order.avg_fill_price is None:
        return None
    sign = 1.0 if order.side is OrderSide.BUY else -1.0
    fill, reference = float(order.avg_fill_price), float(order.ref_price)
    vs_arrival = spread = None
    if order.arrival_bid is not None and order.arrival_ask is not None:
        bid, ask = float(order.arrival_bid), float(order.arrival_ask)
        mid = (bid + ask) / 2
        if mid > 0:
            vs_arrival = sign * (fill - mid) / mid * BPS
            spread = (ask - bid) / mid * BPS
    seconds = None
    if order.submitted_at is not None and order.last_fill_at is not None:
        seconds = (order.last_fill_at - order.submitted_at).total_seconds()
    return OrderQuality(
        trading_date=order.trading_date,
        symbol=order.symbol,
        side=order.side.value,
        notional=float(order.filled_qty) * fill,
        vs_reference_bps=sign * (fill - reference) / reference * BPS,
        vs_arrival_bps=vs_arrival,
        spread_bps=spread,
        steps=order.steps_used,
        seconds=seconds,
    )


def _bps(value: float | None) -> str:
    return MISSING if value is None else f"{value:,.1f}"


def _weighted(rows: Sequence[OrderQuality], measure: str) -> float | None:
    pairs = [(r.notional, getattr(r, measure)) for r in rows if getattr(r, measure) is not None]
    total = sum(weight for weight, _ in pairs)
    return sum(w * v for w, v in pairs) / total if total > 0 else None


def _order_table(rows: Sequence[OrderQuality]) -> Table:
    latest = sorted(rows, key=lambda r: (r.trading_date, r.symbol), reverse=True)[:MAX_ORDER_ROWS]
    cells: list[tuple[Cell, ...]] = [
        (
            r.trading_date.isoformat(),
            f"{r.side} {r.symbol}",
            f"{r.notional:,.2f}",
            _bps(r.vs_reference_bps),
            _bps(r.vs_arrival_bps),
            _bps(r.spread_bps),
            str(r.steps),
            MISSING if r.seconds is None else f"{r.seconds:,.0f}",
        )
        for r in latest
    ]
    shown = f"the latest {len(latest)} of {len(rows)}" if len(rows) > len(latest) else "all"
    return Table(
        "Orders",
        ("Day", "Order", "Filled $", "vs close bps", "vs mid bps", "Spread bps", "Steps", "Secs"),
        tuple(cells),
        note=f"Filled orders ({shown}), newest first; positive bps are a cost.",
        numeric_from=2,
    )


def _symbol_table(rows: Sequence[OrderQuality]) -> Table:
    groups: dict[str, list[OrderQuality]] = defaultdict(list)
    for r in rows:
        groups[r.symbol].append(r)
    cells = []
    for symbol in sorted(groups):
        group = groups[symbol]
        cells.append(
            (
                symbol,
                str(len(group)),
                f"{sum(r.notional for r in group):,.0f}",
                _bps(_weighted(group, "vs_reference_bps")),
                _bps(_weighted(group, "vs_arrival_bps")),
                _bps(_weighted(group, "spread_bps")),
                f"{sum(r.steps for r in group) / len(group):.1f}",
            )
        )
    return Table(
        "By symbol",
        ("Symbol", "Orders", "Filled $", "vs close bps", "vs mid bps", "Spread bps", "Steps"),
        tuple(cells),
        note="Averages weighted by filled notional (steps: a plain average).",
    )


def _daily_chart(rows: Sequence[OrderQuality]) -> dict[str, Any]:
    days: dict[date, list[OrderQuality]] = defaultdict(list)
    for r in rows:
        days[r.trading_date].append(r)
    x = [d.isoformat() for d in sorted(days)]
    traces = []
    for measure, name, colour in (
        ("vs_reference_bps", "vs reference close", "#1f5fbf"),
        ("vs_arrival_bps", "vs arrival mid", "#d62728"),
    ):
        y = [_round(_weighted(days[d], measure)) for d in sorted(days)]
        traces.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": name,
                "x": x,
                "y": y,
                "line": {"color": colour, "width": 1.6},
                "marker": {"size": 5},
            }
        )
    layout = {
        "autosize": True,
        "height": 300,
        "margin": {"l": 48, "r": 8, "t": 12, "b": 40},
        "legend": {"orientation": "h", "x": 0, "y": 1.0, "yanchor": "bottom"},
        "xaxis": {"type": "date"},
        "yaxis": {"title": {"text": "bps (cost +)"}, "automargin": True},
    }
    return {"data": traces, "layout": layout}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def execution_page(orders: Sequence[OrderRecord], slug: str = "execution") -> Page:
    """Return the execution-quality page of every order in ``orders``."""
    rows = [q for q in (order_quality(o) for o in orders) if q is not None]
    if not rows:
        table = Table("Orders", ("Note",), (("No order has filled yet.",),), numeric_from=9)
        return Page(slug, "Execution quality", "No fills yet", (table,))
    total = sum(r.notional for r in rows)
    cost = _weighted(rows, "vs_reference_bps")
    summary = (
        ("Orders", str(len(rows))),
        ("Filled $", f"{total:,.0f}"),
        ("vs close bps", _bps(cost)),
    )
    headline = Table(
        "Overall",
        ("Measure", "Value"),
        (
            ("Filled orders", str(len(rows))),
            ("Filled notional", f"${total:,.2f}"),
            ("Cost vs reference close", f"{_bps(cost)} bps"),
            ("Cost vs arrival mid", f"{_bps(_weighted(rows, 'vs_arrival_bps'))} bps"),
            ("Quoted spread at arrival", f"{_bps(_weighted(rows, 'spread_bps'))} bps"),
            ("Cost in dollars vs reference", f"${total * (cost or 0.0) / BPS:,.2f}"),
        ),
    )
    first, last = min(r.trading_date for r in rows), max(r.trading_date for r in rows)
    return Page(
        slug=slug,
        title="Execution quality",
        subtitle=f"{len(rows)} filled orders, {first} to {last}",
        blocks=(
            headline,
            Chart("Cost per day (bps, notional-weighted)", _daily_chart(rows)),
            _symbol_table(rows),
            _order_table(rows),
        ),
        summary=summary,
    )


def dollars_paid(order: OrderRecord) -> Decimal:
    """Return what the fills cost against the reference price, in dollars (a gain is < 0)."""
    if order.avg_fill_price is None or order.filled_qty <= 0:
        return Decimal(0)
    sign = 1 if order.side is OrderSide.BUY else -1
    return sign * (order.avg_fill_price - order.ref_price) * order.filled_qty
