"""Figures against a benchmark, and rolling series, on small series worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest

from alchemiser.analytics.relative import relative_metrics
from alchemiser.analytics.rolling import drawdown_curve, rolling_sharpe, rolling_volatility


def _returns(*values: float) -> npt.NDArray[np.float64]:
    return np.array(values, dtype=np.float64)


BENCHMARK = _returns(0.01, 0.02, -0.01, 0.0)
# sample stdev of BENCHMARK: deviations 0.005, 0.015, -0.015, -0.005 -> sqrt(0.0005 / 3)
BENCHMARK_STDEV = math.sqrt(0.0005 / 3)


def test_a_levered_copy_has_beta_two_and_its_daily_edge_as_alpha() -> None:
    # Given: r = 2 b + 0.001 every day
    returns = 2 * BENCHMARK + 0.001
    # When
    relative = relative_metrics("SPY", returns, BENCHMARK)
    # Then
    assert relative.benchmark == "SPY"
    assert relative.days == 4
    assert relative.beta == pytest.approx(2.0, rel=1e-12)
    assert relative.alpha == pytest.approx(0.001 * 252, rel=1e-9)
    assert relative.correlation == pytest.approx(1.0, abs=1e-12)
    assert relative.r_squared == pytest.approx(1.0, abs=1e-12)
    # r - b = b + 0.001: the stdev of b; its mean 0.005 + 0.001
    assert relative.tracking_error == pytest.approx(BENCHMARK_STDEV * math.sqrt(252), rel=1e-12)
    assert relative.information_ratio == pytest.approx(
        0.006 / BENCHMARK_STDEV * math.sqrt(252), rel=1e-12
    )


def test_an_unrelated_series_has_zero_beta_and_correlation() -> None:
    # Given: up, up, down, down against up, down, up, down
    returns = _returns(0.01, 0.01, -0.01, -0.01)
    benchmark = _returns(0.01, -0.01, 0.01, -0.01)
    # When
    relative = relative_metrics("SPY", returns, benchmark)
    # Then
    assert relative.beta == pytest.approx(0.0, abs=1e-15)
    assert relative.correlation == pytest.approx(0.0, abs=1e-15)
    assert relative.r_squared == pytest.approx(0.0, abs=1e-15)
    assert relative.alpha == pytest.approx(0.0, abs=1e-15)
    # r - b = 0, 0.02, -0.02, 0: stdev sqrt(0.0008 / 3)
    assert relative.tracking_error == pytest.approx(math.sqrt(0.0008 / 3 * 252), rel=1e-12)


def test_a_benchmark_that_never_moves_gives_no_beta_alpha_or_correlation() -> None:
    # Given / When
    relative = relative_metrics("BIL", BENCHMARK, _returns(0.0, 0.0, 0.0, 0.0))
    # Then
    assert relative.beta is None
    assert relative.alpha is None
    assert relative.correlation is None
    assert relative.r_squared is None
    assert relative.tracking_error == pytest.approx(BENCHMARK_STDEV * math.sqrt(252), rel=1e-12)


def test_a_strategy_identical_to_its_benchmark_has_no_information_ratio() -> None:
    # Given / When
    relative = relative_metrics("SPY", BENCHMARK, BENCHMARK.copy())
    # Then
    assert relative.tracking_error == 0.0
    assert relative.information_ratio is None
    assert relative.beta == pytest.approx(1.0, rel=1e-12)


def test_series_of_different_lengths_are_refused() -> None:
    # Given / When / Then
    with pytest.raises(ValueError, match="same days"):
        relative_metrics("SPY", BENCHMARK, BENCHMARK[:3])


def test_one_day_has_no_relative_figures() -> None:
    # Given / When
    relative = relative_metrics("SPY", _returns(0.01), _returns(0.02))
    # Then
    assert relative.days == 1
    assert relative.beta is None
    assert relative.tracking_error is None


def test_drawdown_curve_counts_the_starting_capital_as_a_peak() -> None:
    # Given: wealth 0.9, 1.08, 0.54
    # When
    curve = drawdown_curve(_returns(-0.1, 0.2, -0.5))
    # Then
    assert curve == pytest.approx([-0.1, 0.0, -0.5], abs=1e-15)


def test_rolling_figures_use_each_full_window_ending_on_the_day() -> None:
    # Given: a two-day window over 1 %, 3 %, 3 %
    returns = _returns(0.01, 0.03, 0.03)
    # When
    volatility = rolling_volatility(returns, window=2)
    sharpe = rolling_sharpe(returns, window=2)
    # Then: day 1's window has mean 2 % and stdev sqrt(2) %; day 2's is flat
    stdev = math.sqrt(0.0002)
    assert math.isnan(volatility[0])
    assert math.isnan(sharpe[0])
    assert volatility[1] == pytest.approx(stdev * math.sqrt(252), rel=1e-12)
    assert sharpe[1] == pytest.approx(0.02 / stdev * math.sqrt(252), rel=1e-12)
    assert volatility[2] == 0.0
    assert math.isnan(sharpe[2])


def test_a_series_shorter_than_the_window_has_no_rolling_values() -> None:
    # Given / When
    values = rolling_sharpe(_returns(0.01, 0.02), window=5)
    # Then
    assert bool(np.isnan(values).all())
    with pytest.raises(ValueError, match="at least 2 days"):
        rolling_volatility(_returns(0.01, 0.02), window=1)
