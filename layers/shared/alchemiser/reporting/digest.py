"""The top of the run's email: the account and each book today, one chart, the dashboard,
and a flag for each book whose live target differed from its backtest's today.

It goes above the run report in both parts of the email. The HTML is one column of
plain blocks with inline styles (mail clients drop ``<style>`` rules unevenly), a
three-column table (book, day, NAV) that fits a 390 px phone screen, and the chart as
an inline PNG (``cid:``) no wider than the screen.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from alchemiser.analytics.dashboard import BenchmarkPrices
from alchemiser.analytics.live_series import LiveHistory
from alchemiser.analytics.live_vs_backtest import BookComparison
from alchemiser.analytics.tearsheet import percent
from alchemiser.notify.port import InlineImage

CHART_CID = "growth@alchemiser"
_CELL = "padding:4px 6px;border-bottom:1px solid #dde1e8;"


@dataclass(frozen=True)
class Digest:
    """The summary as an HTML fragment and as text, and its chart."""

    html: str
    text: str
    images: tuple[InlineImage, ...]


def _link(dashboard: str) -> str:
    """Return an address a mail client can open: a URL as it is, a file path as file://."""
    if dashboard.startswith(("https://", "http://")):
        return dashboard
    return Path(dashboard).resolve().as_uri()


def _day_return(history: LiveHistory, book_id: str | None) -> float | None:
    series = history.account_returns() if book_id is None else history.book_returns(book_id)
    if series is None or series.dates[-1] != history.days[-1].trading_date:
        return None
    return float(series.returns[-1])


def mismatch_flags(
    history: LiveHistory, comparisons: Mapping[str, BookComparison | str]
) -> list[str]:
    """Return a warning for each book whose live target differed from its backtest's today."""
    today = history.days[-1].trading_date
    return [
        f"{book_id}: today's target differs from its backtest's "
        f"(live {_weights(m.live)}; backtest {_weights(m.backtest)}): see its dashboard page"
        for book_id, c in comparisons.items()
        if isinstance(c, BookComparison)
        for m in c.mismatches
        if m.day == today
    ]


def _weights(weights: Mapping[str, float]) -> str:
    return ", ".join(f"{s} {w:.1%}" for s, w in sorted(weights.items())) or "cash"


def build_digest(
    history: LiveHistory,
    benchmark: BenchmarkPrices | None,
    dashboard: str,
    *,
    comparisons: Mapping[str, BookComparison | str] | None = None,
    chart: bool = True,
) -> Digest:
    """Return the summary of the latest run of ``history``; ``dashboard`` is the site's index.

    A book whose live target differed from its backtest's today is flagged at the top.
    """
    latest = history.days[-1]
    flags = mismatch_flags(history, comparisons or {})
    account = history.account_returns()
    assert account is not None  # history has a run
    total = float(account.wealth()[-1] - 1.0)
    headline = (
        f"Account NAV ${latest.nav:,.2f}: {percent(_day_return(history, None))} today, "
        f"{percent(total)} since {history.days[0].trading_date}"
    )
    rows = [
        (b.book_id, percent(_day_return(history, b.book_id)), f"${b.equity:,.2f}")
        for b in latest.books
    ]
    images: tuple[InlineImage, ...] = ()
    if chart:
        from alchemiser.analytics.email_chart import growth_png

        bench = benchmark.returns_on(account) if benchmark is not None else None
        png = growth_png(account, bench)
        images = (InlineImage(cid=CHART_CID, png=png, filename="growth.png"),)
    text = [*(f"!! {flag}" for flag in flags), headline, ""]
    text += [f"  {book:<20} {day:>9}  {nav:>14}" for book, day, nav in rows]
    text += ["", f"Dashboard: {dashboard}" if dashboard else "Dashboard: not available"]
    page = _html(headline, rows, images, dashboard, flags)
    return Digest(page, "\n".join(text) + "\n", images)


def _html(
    headline: str,
    rows: list[tuple[str, str, str]],
    images: tuple[InlineImage, ...],
    dashboard: str,
    flags: list[str],
) -> str:
    e = html.escape
    alerts = "".join(
        '<p style="background:#fdecea;border-left:4px solid #b42318;padding:6px 8px;'
        f'margin:8px 0">Live vs backtest: {e(flag)}</p>'
        for flag in flags
    )
    body = "".join(
        f'<tr><td style="{_CELL}overflow-wrap:anywhere">{e(book)}</td>'
        f'<td style="{_CELL}text-align:right">{e(day)}</td>'
        f'<td style="{_CELL}text-align:right">{e(nav)}</td></tr>'
        for book, day, nav in rows
    )
    head = "".join(
        f'<th style="{_CELL}text-align:{align};background:#f5f7fa">{name}</th>'
        for name, align in (("Book", "left"), ("Today", "right"), ("NAV", "right"))
    )
    chart = "".join(
        f'<img src="cid:{e(image.cid)}" alt="Growth of 100: the account against its benchmark" '
        'style="display:block;width:100%;max-width:600px;height:auto;margin:12px 0">'
        for image in images
    )
    link = (
        f'<p><a href="{e(_link(dashboard))}" style="color:#1f5fbf;font-weight:600">'
        "Open the dashboard</a></p>"
        if dashboard
        else f'<p style="color:#5b6475">{e(dashboard or "The dashboard is not available.")}</p>'
    )
    return (
        '<div style="max-width:600px;font:15px/1.45 system-ui,sans-serif;color:#1d2433">'
        f"{alerts}"
        f'<p style="font-size:1.05rem;font-weight:600;margin:8px 0">{e(headline)}</p>'
        f'<table style="width:100%;border-collapse:collapse"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table>{chart}{link}</div>"
    )
