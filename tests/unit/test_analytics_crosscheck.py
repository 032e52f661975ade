"""Our figures against quantstats and empyrical-reloaded on real return series.

Two series from ../shared/data: QQQ's daily returns against SPY's since 2012, and the
backtest of Composer's tqqq_ftlt_mods symphony (5 bps slippage) against SPY held over
the same days. Every figure of :mod:`alchemiser.analytics` that either library
defines the same way is compared; where a library annualises differently the test
converts, and says so.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import empyrical
import numpy as np
import pandas as pd
import pytest
import quantstats as qs

from alchemiser.analytics.backtest_report import load_benchmark
from alchemiser.analytics.metrics import compute_metrics
from alchemiser.analytics.periods import monthly_returns, period_stats, trailing_returns
from alchemiser.analytics.relative import relative_metrics
from alchemiser.analytics.returns import ReturnSeries
from alchemiser.analytics.rolling import drawdown_curve, rolling_sharpe, rolling_volatility
from alchemiser.backtest.symphony import backtest_symphony
from alchemiser.dsl.parser import load_symphony
from alchemiser.dsl.program import compile_symphony
from alchemiser.market.loader import load_price_directory

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # inside quantstats

REL = 1e-9


@dataclass(frozen=True)
class Pair:
    strategy: ReturnSeries
    benchmark: ReturnSeries

    def series(self) -> tuple[pd.Series, pd.Series]:
        index = pd.DatetimeIndex(self.strategy.dates.astype("datetime64[ns]"))
        return (
            pd.Series(self.strategy.returns, index=index),
            pd.Series(self.benchmark.returns, index=index),
        )


def _etf_pair(prices_dir: Path) -> Pair:
    history = load_price_directory(prices_dir, ["QQQ", "SPY"])
    keep = history.dates >= np.datetime64("2012-01-03")
    dates = history.dates[keep]
    closes = history.closes[np.flatnonzero(keep)[0] - 1 :]
    returns = closes[1:] / closes[:-1] - 1.0
    return Pair(
        ReturnSeries("QQQ", dates, returns[:, 0]), ReturnSeries("SPY", dates, returns[:, 1])
    )


def _backtest_pair(prices_dir: Path, composer_dir: Path) -> Pair:
    program = compile_symphony(load_symphony(composer_dir / "tqqq_ftlt_mods.clj"))
    history = load_price_directory(prices_dir, program.tickers)
    result = backtest_symphony(program, history, slippage_bps=5.0).result
    strategy = ReturnSeries("tqqq_ftlt_mods", result.dates, result.returns)
    benchmark, _ = load_benchmark("SPY", prices_dir, strategy, 5.0)
    return Pair(strategy, benchmark)


@pytest.fixture(scope="module", params=["etf", "backtest"])
def pair(request: pytest.FixtureRequest, prices_dir: Path, composer_dir: Path) -> Iterator[Pair]:
    if request.param == "etf":
        yield _etf_pair(prices_dir)
    else:
        yield _backtest_pair(prices_dir, composer_dir)


def test_the_series_are_long_real_and_not_trivial(pair: Pair) -> None:
    # Given / When / Then: over ten years of days that move, with losing days
    assert pair.strategy.days > 2500
    assert (pair.strategy.returns < 0).sum() > 500
    assert not np.allclose(pair.strategy.returns, pair.benchmark.returns)


def test_headline_metrics_match_quantstats_and_empyrical(pair: Pair) -> None:
    # Given
    returns, _ = pair.series()
    # When
    ours = compute_metrics(pair.strategy.dates, pair.strategy.returns)
    # Then
    assert ours.total_return == pytest.approx(qs.stats.comp(returns), rel=REL)
    assert ours.annualized_return == pytest.approx(qs.stats.cagr(returns, periods=252), rel=REL)
    assert ours.annualized_return == pytest.approx(empyrical.annual_return(returns), rel=REL)
    assert ours.volatility == pytest.approx(qs.stats.volatility(returns, periods=252), rel=REL)
    assert ours.volatility == pytest.approx(empyrical.annual_volatility(returns), rel=REL)
    assert ours.sharpe == pytest.approx(qs.stats.sharpe(returns, periods=252), rel=REL)
    assert ours.sharpe == pytest.approx(empyrical.sharpe_ratio(returns), rel=REL)
    assert ours.sortino == pytest.approx(qs.stats.sortino(returns, periods=252), rel=REL)
    assert ours.sortino == pytest.approx(empyrical.sortino_ratio(returns), rel=REL)
    # both libraries report drawdowns as negative fractions
    assert ours.max_drawdown == pytest.approx(-qs.stats.max_drawdown(returns), rel=REL)
    assert ours.max_drawdown == pytest.approx(-empyrical.max_drawdown(returns), rel=REL)
    assert ours.calmar == pytest.approx(qs.stats.calmar(returns, periods=252), rel=REL)
    assert ours.calmar == pytest.approx(empyrical.calmar_ratio(returns), rel=REL)


def test_drawdown_dates_match_quantstats_drawdown_details(pair: Pair) -> None:
    # Given
    returns, _ = pair.series()
    details = qs.stats.drawdown_details(qs.stats.to_drawdown_series(returns))
    deepest = details.sort_values("max drawdown").iloc[0]
    # When
    ours = compute_metrics(pair.strategy.dates, pair.strategy.returns)
    # Then: quantstats dates a drawdown from its first day below the peak
    assert ours.max_drawdown * 100 == pytest.approx(-deepest["max drawdown"], rel=1e-6)
    assert ours.max_drawdown_trough == pd.Timestamp(deepest["valley"]).date()
    below = pair.strategy.dates[pair.strategy.dates > np.datetime64(ours.max_drawdown_peak)]
    assert pd.Timestamp(deepest["start"]).date() == below[0].astype(object)


def test_day_and_month_figures_match_quantstats(pair: Pair) -> None:
    # Given
    returns, _ = pair.series()
    # When
    stats = period_stats(pair.strategy.dates, pair.strategy.returns)
    months = monthly_returns(pair.strategy.dates, pair.strategy.returns)
    # Then
    assert stats.best_day.value == pytest.approx(qs.stats.best(returns), rel=REL)
    assert stats.worst_day.value == pytest.approx(qs.stats.worst(returns), rel=REL)
    assert stats.best_month.value == pytest.approx(qs.stats.best(returns, "ME"), rel=REL)
    assert stats.worst_month.value == pytest.approx(qs.stats.worst(returns, "ME"), rel=REL)
    assert stats.win_rate == pytest.approx(qs.stats.win_rate(returns), rel=REL)
    table = qs.stats.monthly_returns(returns, eoy=False)
    theirs = [table.loc[str(start.year)].iloc[start.month - 1] for start in months.starts]
    assert months.returns == pytest.approx(np.array(theirs, dtype=np.float64), rel=REL, abs=1e-15)


def test_benchmark_figures_match_quantstats_and_empyrical(pair: Pair) -> None:
    # Given
    returns, benchmark = pair.series()
    # When
    ours = relative_metrics("SPY", pair.strategy.returns, pair.benchmark.returns)
    # Then
    greeks = qs.stats.greeks(returns, benchmark, periods=252)
    assert ours.beta == pytest.approx(greeks["beta"], rel=REL)
    assert ours.alpha == pytest.approx(greeks["alpha"], rel=REL)
    assert ours.beta == pytest.approx(empyrical.beta(returns, benchmark), rel=REL)
    # empyrical compounds the daily intercept: (1 + alpha / 252) ** 252 - 1
    daily_alpha = ours.alpha / 252 if ours.alpha is not None else None
    assert daily_alpha is not None
    assert (1 + daily_alpha) ** 252 - 1 == pytest.approx(
        empyrical.alpha(returns, benchmark), rel=1e-8
    )
    assert ours.r_squared == pytest.approx(qs.stats.r_squared(returns, benchmark), rel=REL)
    assert ours.correlation == pytest.approx(returns.corr(benchmark), rel=REL)
    # quantstats' information ratio is per day; ours is annualised with sqrt(252)
    assert ours.information_ratio == pytest.approx(
        qs.stats.information_ratio(returns, benchmark) * np.sqrt(252), rel=REL
    )
    assert ours.tracking_error == pytest.approx((returns - benchmark).std() * np.sqrt(252), rel=REL)


def test_rolling_and_drawdown_series_match_quantstats(pair: Pair) -> None:
    # Given
    returns, _ = pair.series()
    # When
    sharpe = rolling_sharpe(pair.strategy.returns, 126)
    volatility = rolling_volatility(pair.strategy.returns, 126)
    underwater = drawdown_curve(pair.strategy.returns)
    # Then
    theirs_sharpe = qs.stats.rolling_sharpe(returns, rolling_period=126).to_numpy()
    theirs_volatility = qs.stats.rolling_volatility(returns, rolling_period=126).to_numpy()
    assert np.isnan(sharpe[:125]).all() and np.isnan(theirs_sharpe[:125]).all()
    np.testing.assert_allclose(sharpe[125:], theirs_sharpe[125:], rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(volatility[125:], theirs_volatility[125:], rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(
        underwater, qs.stats.to_drawdown_series(returns).to_numpy(), rtol=1e-9, atol=1e-12
    )


def test_trailing_returns_of_spy_match_its_closes(prices_dir: Path) -> None:
    # Given SPY's real closes since 2020 as a return series
    closes = pd.read_csv(prices_dir / "SPY.csv", index_col="Date", parse_dates=True)["Adj Close"]
    closes = closes.loc["2019-12-31":]
    returns = closes.pct_change().iloc[1:]
    dates = returns.index.to_numpy().astype("datetime64[D]")
    # When
    trailing = trailing_returns(dates, returns.to_numpy())
    # Then: each window is the ratio of two closes, the anchor found by pandas' offsets
    end = closes.index[-1]

    def since(anchor: pd.Timestamp) -> float:
        return float(closes.iloc[-1] / closes.loc[:anchor].iloc[-1] - 1)

    assert trailing.mtd == pytest.approx(
        since(end - pd.offsets.MonthBegin(1) - pd.Timedelta(days=1))
    )
    assert trailing.one_month == pytest.approx(since(end - pd.DateOffset(months=1)), rel=1e-9)
    assert trailing.three_months == pytest.approx(since(end - pd.DateOffset(months=3)), rel=1e-9)
    assert trailing.ytd == pytest.approx(since(pd.Timestamp(end.year - 1, 12, 31)), rel=1e-9)
    assert trailing.one_year == pytest.approx(since(end - pd.DateOffset(years=1)), rel=1e-9)
    assert trailing.inception == pytest.approx(
        float(closes.iloc[-1] / closes.iloc[0] - 1), rel=1e-9
    )
