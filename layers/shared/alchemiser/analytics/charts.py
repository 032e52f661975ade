"""The tearsheet's charts as Plotly figures (JSON data; plotly.js draws them in the page).

Values are rounded to what a chart can show (six significant figures at most) to keep
pages small; tables carry the exact figures. Dates are ISO days.
"""

from __future__ import annotations

import calendar
from typing import Any

import numpy as np

from alchemiser.analytics.periods import monthly_returns
from alchemiser.analytics.returns import DateArray, FloatArray, ReturnSeries, WeightHistory
from alchemiser.analytics.rolling import (
    DEFAULT_WINDOW,
    drawdown_curve,
    rolling_sharpe,
    rolling_volatility,
)

Figure = dict[str, Any]

STRATEGY_COLOUR = "#1f5fbf"
BENCHMARK_COLOUR = "#8a8f98"
# Distinct colours for stacked weights (Okabe-Ito and Tableau-like), cash in light grey.
PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
    "#e377c2", "#17becf", "#bcbd22", "#7f7f7f", "#393b79", "#ad494a",
)  # fmt: skip
CASH_COLOUR = "#d9dde3"
OTHER_COLOUR = "#555b66"
MAX_ALLOCATION_TRACES = 10
CASH_LABELS = ("$CASH", "Cash")


def _dates(dates: DateArray) -> list[str]:
    return [str(day) for day in dates.astype("datetime64[D]")]


def _values(values: FloatArray, decimals: int = 6) -> list[float | None]:
    """Return JSON numbers (NaN as null, a gap in the line)."""
    rounded = np.round(values, decimals)
    return [None if np.isnan(v) else float(v) for v in rounded]


def _layout(y_title: str, y_format: str, **extra: Any) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "autosize": True,
        "height": 340,
        "margin": {"l": 56, "r": 12, "t": 12, "b": 40},
        "hovermode": "x unified",
        "legend": {"orientation": "h", "x": 0, "y": 1.0, "yanchor": "bottom"},
        "xaxis": {"type": "date"},
        "yaxis": {"title": {"text": y_title}, "tickformat": y_format, "automargin": True},
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
    }
    layout.update(extra)
    return layout


def _line(name: str, x: list[str], y: list[float | None], colour: str, **extra: Any) -> Figure:
    trace: Figure = {
        "type": "scatter",
        "mode": "lines",
        "name": name,
        "x": x,
        "y": y,
        "line": {"color": colour, "width": 1.6},
    }
    trace.update(extra)
    return trace


def equity_chart(strategy: ReturnSeries, benchmark: ReturnSeries | None) -> Figure:
    """Return the growth of 10,000 for the strategy and its benchmark (linear or log)."""
    x = _dates(strategy.dates)
    traces = [_line(strategy.name, x, _values(strategy.wealth() * 10_000, 2), STRATEGY_COLOUR)]
    if benchmark is not None:
        wealth = benchmark.wealth() * 10_000
        traces.append(_line(benchmark.name, x, _values(wealth, 2), BENCHMARK_COLOUR))
    scale_buttons = {
        "type": "buttons",
        "direction": "right",
        "x": 1.0,
        "xanchor": "right",
        "y": 1.0,
        "yanchor": "bottom",
        "pad": {"t": 0, "b": 4},
        "buttons": [
            {"label": "Linear", "method": "relayout", "args": [{"yaxis.type": "linear"}]},
            {"label": "Log", "method": "relayout", "args": [{"yaxis.type": "log"}]},
        ],
    }
    for trace in traces:
        trace["hovertemplate"] = "%{y:,.0f}"
    # SI ticks (20k, 1.5M) stay short at phone width however far the value grows.
    layout = _layout("Value of 10,000", "~s", updatemenus=[scale_buttons])
    layout["margin"]["t"] = 40
    return {"data": traces, "layout": layout}


def underwater_chart(strategy: ReturnSeries, benchmark: ReturnSeries | None) -> Figure:
    """Return the drawdown curves (how far below the running peak, in %)."""
    x = _dates(strategy.dates)
    traces = [
        _line(
            strategy.name,
            x,
            _values(drawdown_curve(strategy.returns)),
            STRATEGY_COLOUR,
            fill="tozeroy",
        )
    ]
    if benchmark is not None:
        curve = _values(drawdown_curve(benchmark.returns))
        traces.append(_line(benchmark.name, x, curve, BENCHMARK_COLOUR))
    return {"data": traces, "layout": _layout("Below peak", ".0%")}


def rolling_chart(
    strategy: ReturnSeries,
    benchmark: ReturnSeries | None,
    kind: str,
    window: int = DEFAULT_WINDOW,
) -> Figure:
    """Return the rolling Sharpe ratio (``kind="sharpe"``) or volatility (``"volatility"``)."""
    measures = {
        "sharpe": (rolling_sharpe, "Sharpe", ".1f"),
        "volatility": (rolling_volatility, "Volatility", ".0%"),
    }
    if kind not in measures:
        raise ValueError(f"rolling chart kind must be one of {sorted(measures)}, was {kind!r}")
    measure, title, fmt = measures[kind]
    x = _dates(strategy.dates)
    traces = [_line(strategy.name, x, _values(measure(strategy.returns, window)), STRATEGY_COLOUR)]
    if benchmark is not None:
        traces.append(
            _line(benchmark.name, x, _values(measure(benchmark.returns, window)), BENCHMARK_COLOUR)
        )
    return {"data": traces, "layout": _layout(f"{title} ({window} days)", fmt)}


def monthly_heatmap(strategy: ReturnSeries) -> Figure:
    """Return a years x months heatmap of compounded monthly returns (in %)."""
    months = monthly_returns(strategy.dates, strategy.returns)
    years = sorted({start.year for start in months.starts})
    grid = np.full((len(years), 12), np.nan)
    for start, value in zip(months.starts, months.returns, strict=True):
        grid[years.index(start.year), start.month - 1] = value * 100.0
    z = [_values(row, 2) for row in grid]
    # One extreme month would wash out every other colour: the scale saturates at the
    # 95th percentile of the months' sizes (the cells still print their values).
    sizes = np.abs(grid[np.isfinite(grid)])
    limit = max(float(np.percentile(sizes, 95)), 1.0) if sizes.size else 1.0
    trace = {
        "type": "heatmap",
        "x": list(calendar.month_abbr)[1:],
        "y": [str(year) for year in years],
        "z": z,
        "zmin": -limit,
        "zmid": 0,
        "zmax": limit,
        "colorscale": [[0.0, "#b2182b"], [0.5, "#f7f7f7"], [1.0, "#1a7f37"]],
        "texttemplate": "%{z:.1f}",
        "hovertemplate": "%{x} %{y}: %{z:.2f} %<extra></extra>",
        "showscale": False,
        "xgap": 1,
        "ygap": 1,
    }
    layout = _layout("", "", xaxis={"side": "top", "type": "category", "fixedrange": True})
    layout["yaxis"] = {"autorange": "reversed", "type": "category", "fixedrange": True}
    layout["height"] = max(220, 40 + 22 * len(years))
    layout["hovermode"] = "closest"
    layout["margin"] = {"l": 44, "r": 8, "t": 28, "b": 8}
    return {"data": [trace], "layout": layout}


def _allocation_columns(weights: WeightHistory) -> list[tuple[str, FloatArray]]:
    """Return (label, weights) to stack: the largest holdings, then Other, then cash."""
    values = weights.weights
    cash_columns = [j for j, label in enumerate(weights.labels) if label in CASH_LABELS]
    held = [j for j in range(len(weights.labels)) if j not in cash_columns]
    held.sort(key=lambda j: (-float(values[:, j].mean()), weights.labels[j]))
    held = [j for j in held if bool((values[:, j] != 0.0).any())]
    shown, rest = held[:MAX_ALLOCATION_TRACES], held[MAX_ALLOCATION_TRACES:]
    columns = [(weights.labels[j], values[:, j]) for j in shown]
    if rest:
        columns.append((f"Other ({len(rest)})", values[:, rest].sum(axis=1)))
    cash = 1.0 - values[:, held].sum(axis=1) if held else np.ones(len(weights.dates))
    if bool((np.abs(cash) > 1e-9).any()):
        columns.append(("Cash", cash))
    return columns


def allocation_chart(weights: WeightHistory) -> Figure:
    """Return the weights after each close, stacked (cash is what they leave to 100 %)."""
    x = _dates(weights.dates)
    traces = []
    for number, (label, values) in enumerate(_allocation_columns(weights)):
        colour = PALETTE[number % len(PALETTE)]
        if label == "Cash":
            colour = CASH_COLOUR
        elif label.startswith("Other ("):
            colour = OTHER_COLOUR
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": label,
                "x": x,
                "y": _values(values, 4),
                "stackgroup": "weights",
                "line": {"width": 0, "color": colour},
                "fillcolor": colour,
                "hovertemplate": "%{y:.1%}",
            }
        )
    layout = _layout("Weight", ".0%")
    total = float(weights.weights.sum(axis=1).max()) if len(weights.labels) else 1.0
    layout["yaxis"]["range"] = [0, max(1.0, total)]
    layout["legend"]["traceorder"] = "normal"
    return {"data": traces, "layout": layout}


def value_chart(name: str, dates: DateArray, values: FloatArray) -> Figure:
    """Return a value in dollars over time (an account's or a book's NAV)."""
    trace = _line(name, _dates(dates), _values(values, 2), STRATEGY_COLOUR)
    trace["hovertemplate"] = "$%{y:,.2f}"
    return {"data": [trace], "layout": _layout("Value ($)", "~s")}
