"""Performance metrics on short series whose values are worked out by hand."""

from __future__ import annotations

import json
import math
from datetime import date

import numpy as np
import numpy.typing as npt
import pytest

from alchemiser.analytics.metrics import DrawdownSpan, Metrics, compute_metrics

DAYS = np.array(["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"], dtype="datetime64[D]")


def _metrics(returns: list[float], turnover: list[float] | None = None) -> Metrics:
    values = np.array(returns, dtype=np.float64)
    traded = np.zeros(len(values)) if turnover is None else np.array(turnover)
    return compute_metrics(DAYS[: len(values)], values, traded)


def _array(values: list[float]) -> npt.NDArray[np.float64]:
    return np.array(values, dtype=np.float64)


def test_rise_fall_rise_series_gives_hand_computed_metrics() -> None:
    # Given: +10 %, -20 %, +5 %: wealth 1 -> 1.1 -> 0.88 -> 0.924
    # When
    metrics = _metrics([0.1, -0.2, 0.05])
    # Then
    assert metrics.start == date(2024, 1, 2)
    assert metrics.end == date(2024, 1, 4)
    assert metrics.days == 3
    assert metrics.total_return == pytest.approx(-0.076, abs=1e-12)
    assert metrics.annualized_return == pytest.approx(0.924**84 - 1, rel=1e-12)
    # mean -0.05/3; deviations 0.35/3, -0.55/3, 0.2/3; sum of squares 0.465/9; ddof 1
    stdev = math.sqrt(0.465 / 9 / 2)
    assert metrics.volatility == pytest.approx(stdev * math.sqrt(252), rel=1e-12)
    assert metrics.sharpe == pytest.approx(-0.05 / 3 / stdev * math.sqrt(252), rel=1e-12)
    # downside deviation sqrt((0 + 0.04 + 0) / 3)
    downside = math.sqrt(0.04 / 3)
    assert metrics.sortino == pytest.approx(
        -0.05 / 3 * 252 / (downside * math.sqrt(252)), rel=1e-12
    )
    # the fall from 1.1 to 0.88 is 20 %, never recovered
    assert metrics.max_drawdown == pytest.approx(0.2, abs=1e-12)
    assert metrics.max_drawdown_dates == DrawdownSpan(
        peak=date(2024, 1, 2), trough=date(2024, 1, 3), recovery=None
    )
    assert metrics.calmar == pytest.approx(metrics.annualized_return / 0.2, rel=1e-12)


def test_drawdown_recovery_is_the_first_day_back_at_the_peak() -> None:
    # Given: wealth 1.1 -> 0.99 -> 1.188
    # When
    metrics = _metrics([0.1, -0.1, 0.2])
    # Then
    assert metrics.max_drawdown == pytest.approx(0.1, abs=1e-12)
    assert metrics.max_drawdown_peak == date(2024, 1, 2)
    assert metrics.max_drawdown_trough == date(2024, 1, 3)
    assert metrics.max_drawdown_recovery == date(2024, 1, 4)


def test_loss_on_the_first_day_is_a_drawdown_from_the_starting_capital() -> None:
    # Given: wealth 1.0 -> 0.9 -> 1.08
    # When
    metrics = _metrics([-0.1, 0.2])
    # Then: the peak is the starting capital, dated the first day
    assert metrics.max_drawdown == pytest.approx(0.1, abs=1e-12)
    assert metrics.max_drawdown_dates == DrawdownSpan(
        peak=date(2024, 1, 2), trough=date(2024, 1, 2), recovery=date(2024, 1, 3)
    )


def test_the_deepest_of_two_drawdowns_is_reported() -> None:
    # Given: -5 % then recovery to a new high, then -10 %
    # When
    metrics = _metrics([-0.05, 0.1, -0.1, 0.01])
    # Then: the second fall from 1.045 to 0.9405 is deeper
    assert metrics.max_drawdown == pytest.approx(0.1, abs=1e-12)
    assert metrics.max_drawdown_peak == date(2024, 1, 3)
    assert metrics.max_drawdown_trough == date(2024, 1, 4)
    assert metrics.max_drawdown_recovery is None


def test_rising_series_has_no_drawdown_and_no_calmar_or_sortino() -> None:
    # Given
    # When
    metrics = _metrics([0.01, 0.02])
    # Then
    assert metrics.max_drawdown == 0.0
    assert metrics.max_drawdown_dates is None
    assert metrics.max_drawdown_peak is None
    assert metrics.calmar is None
    assert metrics.sortino is None
    assert metrics.to_json_dict()["calmar"] is None


def test_constant_returns_have_zero_volatility_and_no_sharpe() -> None:
    # Given
    # When
    metrics = _metrics([0.01, 0.01, 0.01])
    # Then
    assert metrics.volatility == 0.0
    assert metrics.sharpe is None
    assert metrics.total_return == pytest.approx(1.01**3 - 1, abs=1e-15)


def test_single_day_has_no_volatility() -> None:
    # Given
    # When
    metrics = _metrics([0.02])
    # Then
    assert metrics.days == 1
    assert metrics.start == metrics.end == date(2024, 1, 2)
    assert metrics.volatility is None
    assert metrics.sharpe is None
    assert metrics.annualized_return == pytest.approx(1.02**252 - 1, rel=1e-12)


def test_total_loss_annualizes_to_minus_one() -> None:
    # Given
    # When
    metrics = _metrics([-1.0, 0.0])
    # Then
    assert metrics.total_return == -1.0
    assert metrics.annualized_return == -1.0
    assert metrics.max_drawdown == 1.0


def test_turnover_is_one_way_and_annualised() -> None:
    # Given: two-sided traded fractions 0, 0.2, 0, 0.2 -> one-way mean 0.05 a day
    # When
    metrics = _metrics([0.0, 0.0, 0.0, 0.0], turnover=[0.0, 0.2, 0.0, 0.2])
    # Then
    assert metrics.turnover == pytest.approx(0.05 * 252)


def test_json_dict_has_exactly_the_headline_keys_and_is_strict_json() -> None:
    # Given: a one-day series whose annualised return overflows to infinity
    metrics = compute_metrics(DAYS[:1], _array([20.0]), _array([0.0]))
    # When
    payload = metrics.to_json_dict()
    # Then
    assert set(payload) == {
        "start",
        "end",
        "days",
        "total_return",
        "annualized_return",
        "volatility",
        "sharpe",
        "sortino",
        "max_drawdown",
        "calmar",
        "turnover",
    }
    assert payload["start"] == "2024-01-02"
    assert payload["annualized_return"] is None
    json.dumps(payload, allow_nan=False)


def test_empty_or_misaligned_inputs_are_rejected() -> None:
    # Given / When / Then
    with pytest.raises(ValueError, match="at least one daily return"):
        compute_metrics(DAYS[:0], _array([]), _array([]))
    with pytest.raises(ValueError, match="one entry per day"):
        compute_metrics(DAYS[:2], _array([0.1]), _array([0.0]))
    with pytest.raises(ValueError, match="finite and >= -1"):
        compute_metrics(DAYS[:1], _array([np.nan]), _array([0.0]))


def test_without_trades_turnover_is_unknown_not_zero() -> None:
    # Given: a benchmark's price series, whose trades are not known
    # When
    metrics = compute_metrics(DAYS[:2], _array([0.01, -0.01]))
    # Then
    assert metrics.turnover is None
    assert metrics.to_json_dict()["turnover"] is None
