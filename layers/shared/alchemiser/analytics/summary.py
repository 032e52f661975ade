"""Every figure of one return series in one value: what a tearsheet or a book page shows."""

from __future__ import annotations

from dataclasses import dataclass

from alchemiser.analytics.metrics import Metrics, compute_metrics
from alchemiser.analytics.periods import (
    PeriodReturns,
    PeriodStats,
    TrailingReturns,
    period_stats,
    trailing_returns,
    yearly_returns,
)
from alchemiser.analytics.relative import RelativeMetrics, relative_metrics
from alchemiser.analytics.returns import FloatArray, ReturnSeries


@dataclass(frozen=True)
class PerformanceSummary:
    """Headline metrics, calendar figures and (with a benchmark) the relative figures."""

    name: str
    metrics: Metrics
    periods: PeriodStats
    trailing: TrailingReturns
    years: PeriodReturns
    relative: RelativeMetrics | None


def summarize(
    series: ReturnSeries,
    *,
    benchmark: ReturnSeries | None = None,
    traded: FloatArray | None = None,
) -> PerformanceSummary:
    """Compute every figure of ``series``; ``traded`` is its two-sided traded fraction per day.

    A benchmark must have returns on exactly the series' days.
    """
    relative = None
    if benchmark is not None:
        if len(benchmark.dates) != len(series.dates) or bool(
            (benchmark.dates != series.dates).any()
        ):
            raise ValueError(
                f"benchmark {benchmark.name} must have returns on exactly the days of "
                f"{series.name} ({series.start} to {series.end}, {series.days} days), "
                f"found {benchmark.start} to {benchmark.end}, {benchmark.days} days"
            )
        relative = relative_metrics(benchmark.name, series.returns, benchmark.returns)
    return PerformanceSummary(
        name=series.name,
        metrics=compute_metrics(series.dates, series.returns, traded),
        periods=period_stats(series.dates, series.returns),
        trailing=trailing_returns(series.dates, series.returns),
        years=yearly_returns(series.dates, series.returns),
        relative=relative,
    )
