"""The email's one chart: the account's growth against its benchmark, as a small PNG.

Mail clients run no JavaScript and many block remote images, so the chart travels
inside the email (an inline ``image/png`` part referenced by Content-ID). matplotlib
draws it with its Agg backend: no browser, no display, nothing fetched; it loads only
when the chart is drawn.
"""

from __future__ import annotations

import io

import numpy as np

from alchemiser.analytics.charts import BENCHMARK_COLOUR, STRATEGY_COLOUR
from alchemiser.analytics.returns import ReturnSeries, as_date

WIDTH_IN, HEIGHT_IN, DPI = 5.6, 2.6, 110  # 616 x 286 px: sharp at phone width, ~30 KB
WINDOW_DAYS = 252  # the last year of runs


def growth_png(account: ReturnSeries, benchmark: ReturnSeries | None) -> bytes:
    """Return a PNG of the growth of 100 over the last year of ``account`` (and benchmark)."""
    import matplotlib

    matplotlib.use("Agg")  # no display: the one backend that works in Lambda
    from matplotlib.figure import Figure

    start = max(0, account.days - WINDOW_DAYS)
    dates = account.dates[start:]
    figure = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    axes = figure.add_subplot()
    axes.plot(dates, 100 * np.cumprod(1 + account.returns[start:]), color=STRATEGY_COLOUR,
              linewidth=1.8, label=account.name)  # fmt: skip
    if benchmark is not None:
        axes.plot(dates, 100 * np.cumprod(1 + benchmark.returns[start:]), color=BENCHMARK_COLOUR,
                  linewidth=1.4, label=benchmark.name)  # fmt: skip
    axes.axhline(100, color="#c8ccd4", linewidth=0.8)
    axes.set_ylabel("Growth of 100")
    axes.legend(loc="upper left", frameon=False, fontsize=8)
    axes.tick_params(labelsize=8)
    axes.spines[["top", "right"]].set_visible(False)
    # At most five ticks, on days that have a run (never hours between two runs)
    ticks = np.unique(np.linspace(0, len(dates) - 1, min(5, len(dates))).round().astype(int))
    long_span = bool(dates[-1] - dates[0] > np.timedelta64(180, "D"))
    axes.set_xticks(dates[ticks], [_label(d, long_span) for d in dates[ticks]])
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()


def _label(day: np.datetime64, long_span: bool) -> str:
    return as_date(day).strftime("%b %Y" if long_span else "%b %d")
