"""A tearsheet: the page of one return series, optionally against a benchmark.

It shows the growth of 10,000 against the benchmark, the drawdown (underwater)
curve, the monthly returns heatmap, rolling six-month Sharpe and volatility, the
allocation history when weights are known, and tables of every figure of
:mod:`alchemiser.analytics.summary`. Backtests use it today; the portfolio backtest
and the books' pages build the same page from their own series.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from alchemiser.analytics import charts
from alchemiser.analytics.page import Block, Cell, Chart, Page, Table
from alchemiser.analytics.periods import DatedValue
from alchemiser.analytics.returns import FloatArray, ReturnSeries, WeightHistory
from alchemiser.analytics.rolling import DEFAULT_WINDOW
from alchemiser.analytics.summary import PerformanceSummary, summarize

MISSING = "—"


def percent(value: float | None, digits: int = 2) -> str:
    """Format a fraction as a percentage (``0.1234`` -> ``12.34 %``); None as a dash."""
    return MISSING if value is None else f"{value * 100:,.{digits}f} %"


def number(value: float | None, digits: int = 2) -> str:
    """Format a ratio with ``digits`` decimals; None as a dash."""
    return MISSING if value is None else f"{value:,.{digits}f}"


def _day(value: DatedValue) -> str:
    return f"{percent(value.value)} on {value.day.isoformat()}"


def _month(value: DatedValue) -> str:
    return f"{percent(value.value)} in {value.day:%b %Y}"


def _recovery(day: date | None, has_drawdown: bool) -> str:
    if not has_drawdown:
        return MISSING
    return "not yet" if day is None else day.isoformat()


def _figures(summary: PerformanceSummary) -> list[tuple[str, str]]:
    """Return (label, value) for every headline and calendar figure of one series."""
    m, p = summary.metrics, summary.periods
    has_drawdown = m.max_drawdown_peak is not None
    return [
        ("Total return", percent(m.total_return)),
        ("CAGR", percent(m.annualized_return)),
        ("Volatility (annualised)", percent(m.volatility)),
        ("Sharpe", number(m.sharpe)),
        ("Sortino", number(m.sortino)),
        ("Max drawdown", percent(m.max_drawdown)),
        ("Drawdown peak", m.max_drawdown_peak.isoformat() if m.max_drawdown_peak else MISSING),
        ("Drawdown low", m.max_drawdown_trough.isoformat() if m.max_drawdown_trough else MISSING),
        ("Recovered", _recovery(m.max_drawdown_recovery, has_drawdown)),
        ("Calmar", number(m.calmar)),
        ("Best day", _day(p.best_day)),
        ("Worst day", _day(p.worst_day)),
        ("Best month", _month(p.best_month)),
        ("Worst month", _month(p.worst_month)),
        ("Win rate (days)", percent(p.win_rate, 1)),
        ("Turnover (per year)", number(m.turnover)),
    ]


def _performance_table(strategy: PerformanceSummary, benchmark: PerformanceSummary | None) -> Table:
    own = _figures(strategy)
    if benchmark is None:
        return Table("Performance", ("Figure", strategy.name), tuple(own))
    other = dict(_figures(benchmark))
    rows = tuple((label, value, other[label]) for label, value in own)
    return Table("Performance", ("Figure", strategy.name, benchmark.name), rows)


def _trailing_table(strategy: PerformanceSummary, benchmark: PerformanceSummary | None) -> Table:
    columns: tuple[str, ...] = ("Period", strategy.name)
    others = dict(benchmark.trailing.rows()) if benchmark else {}
    if benchmark is not None:
        columns += (benchmark.name,)
    rows: list[tuple[Cell, ...]] = []
    for label, value in strategy.trailing.rows():
        row: tuple[Cell, ...] = (label, percent(value))
        if benchmark is not None:
            row += (percent(others[label]),)
        rows.append(row)
    note = (
        f"Windows end on {strategy.trailing.end}; a dash marks a window that starts "
        "before the series does."
    )
    return Table("Trailing returns", columns, tuple(rows), note=note)


def _yearly_table(strategy: PerformanceSummary, benchmark: PerformanceSummary | None) -> Table:
    columns: tuple[str, ...] = ("Year", strategy.name)
    years = strategy.years
    if benchmark is not None:
        columns += (benchmark.name, "Difference")
    rows: list[tuple[Cell, ...]] = []
    for number_, (start, value) in enumerate(zip(years.starts, years.returns, strict=True)):
        row: tuple[Cell, ...] = (str(start.year), percent(float(value)))
        if benchmark is not None:
            other = float(benchmark.years.returns[number_])
            row += (percent(other), percent(float(value) - other))
        rows.append(row)
    note = (
        "Calendar years; the first and last are partial when the series starts or ends inside them."
    )
    return Table("Returns by year", columns, tuple(rows), note=note)


def _relative_table(summary: PerformanceSummary) -> Table | None:
    relative = summary.relative
    if relative is None:
        return None
    rows = (
        ("Alpha (annualised)", percent(relative.alpha)),
        ("Beta", number(relative.beta)),
        ("Correlation", number(relative.correlation)),
        ("R²", number(relative.r_squared)),
        ("Tracking error (annualised)", percent(relative.tracking_error)),
        ("Information ratio", number(relative.information_ratio)),
    )
    note = (
        f"Daily returns of {summary.name} against {relative.benchmark} over {relative.days} days."
    )
    return Table(f"Against {relative.benchmark}", ("Figure", "Value"), rows, note=note)


def _summary_items(summary: PerformanceSummary) -> tuple[tuple[str, str], ...]:
    m = summary.metrics
    return (
        ("From", m.start.isoformat()),
        ("To", m.end.isoformat()),
        ("Total return", percent(m.total_return)),
        ("CAGR", percent(m.annualized_return)),
        ("Sharpe", number(m.sharpe)),
        ("Max drawdown", percent(m.max_drawdown)),
        ("1Y", percent(summary.trailing.one_year)),
    )


def build_tearsheet(
    slug: str,
    title: str,
    strategy: ReturnSeries,
    *,
    benchmark: ReturnSeries | None = None,
    weights: WeightHistory | None = None,
    traded: FloatArray | None = None,
    notes: Sequence[str] = (),
) -> Page:
    """Return the tearsheet page of ``strategy`` (and its benchmark, weights and trades).

    ``traded`` is the two-sided traded fraction per day (for turnover); ``weights``
    the holdings after each close (for the allocation history). The rolling charts are
    left out (and a note says so) while the series is shorter than their window.
    """
    mine = summarize(strategy, benchmark=benchmark, traded=traded)
    theirs = summarize(benchmark) if benchmark is not None else None
    blocks: list[Block] = [
        _performance_table(mine, theirs),
        _trailing_table(mine, theirs),
        Chart("Growth of 10,000", charts.equity_chart(strategy, benchmark)),
        Chart(
            "Drawdown",
            charts.underwater_chart(strategy, benchmark),
            note="How far below its running peak, each day.",
        ),
        Chart("Monthly returns (%)", charts.monthly_heatmap(strategy)),
        _yearly_table(mine, theirs),
    ]
    notes = list(notes)
    if strategy.days > DEFAULT_WINDOW:
        blocks += [
            Chart(
                f"Rolling Sharpe ({DEFAULT_WINDOW} days)",
                charts.rolling_chart(strategy, benchmark, "sharpe"),
            ),
            Chart(
                f"Rolling volatility ({DEFAULT_WINDOW} days)",
                charts.rolling_chart(strategy, benchmark, "volatility"),
            ),
        ]
    else:
        notes.append(
            f"The rolling Sharpe and volatility charts appear once the series is longer than "
            f"their {DEFAULT_WINDOW}-day window ({strategy.days} days so far)."
        )
    if weights is not None:
        note = "Weights after each close; cash is what they leave to 100 %."
        blocks.append(Chart("Allocation history", charts.allocation_chart(weights), note=note))
    relative = _relative_table(mine)
    if relative is not None:
        blocks.append(relative)
    versus = f" against {benchmark.name}" if benchmark is not None else ""
    subtitle = f"{strategy.start} to {strategy.end}, {strategy.days} trading days{versus}"
    return Page(
        slug=slug,
        title=title,
        subtitle=subtitle,
        blocks=tuple(blocks),
        notes=tuple(notes),
        summary=_summary_items(mine),
    )
