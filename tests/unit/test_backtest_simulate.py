"""Rebalance schedules, holdings simulation and backtests: known answers worked by hand.

The toy markets below have two assets, A and B (B never moves), over five days; every
expected number is derived in the comments from the closes.
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from alchemiser.backtest.rebalance import (
    RebalanceFrequency,
    scheduled_days,
    simulate_holdings,
)
from alchemiser.backtest.simulate import BacktestResult, run_backtest

FloatArray = npt.NDArray[np.float64]
PRICES = Path(__file__).resolve().parents[3] / "shared" / "data" / "prices"

# Mon 2024-03-04 .. Fri 2024-03-08: one ISO week, no holiday (only the rows matter here).
WEEK = np.array(
    ["2024-03-04", "2024-03-05", "2024-03-06", "2024-03-07", "2024-03-08"], dtype="datetime64[D]"
)
HALF_HALF = np.full((5, 2), 0.5)


def _closes(a: list[float], b: list[float] | None = None) -> FloatArray:
    return np.column_stack([a, b if b is not None else [100.0] * len(a)]).astype(np.float64)


def _backtest(
    targets: FloatArray,
    closes: FloatArray,
    frequency: RebalanceFrequency,
    threshold: float | None = None,
    slippage_bps: float = 0.0,
    dates: npt.NDArray[np.datetime64] = WEEK,
    start: int = 0,
) -> BacktestResult:
    return run_backtest(
        dates, targets, closes, start, frequency, threshold, slippage_bps, ("A", "B")
    )


# --- scheduled_days on real NYSE calendars -------------------------------------------


def _days(*iso: str) -> npt.NDArray[np.datetime64]:
    return np.array(iso, dtype="datetime64[D]")


def test_weekly_schedule_after_a_monday_holiday_starts_on_tuesday() -> None:
    # Given: Wed..Fri then Tue 2024-01-16 (Monday 01-15 was Martin Luther King Day)
    dates = _days("2024-01-10", "2024-01-11", "2024-01-12", "2024-01-16", "2024-01-17")
    # When
    scheduled = scheduled_days(dates, RebalanceFrequency.WEEKLY)
    # Then: the first row and the Tuesday open a new week
    assert scheduled.tolist() == [True, False, False, True, False]


def test_monthly_schedule_after_labor_day_starts_on_tuesday() -> None:
    # Given: end of August 2024, then Tue 09-03 (Monday 09-02 was Labor Day)
    dates = _days("2024-08-28", "2024-08-29", "2024-08-30", "2024-09-03", "2024-09-04")
    # When
    scheduled = scheduled_days(dates, RebalanceFrequency.MONTHLY)
    # Then
    assert scheduled.tolist() == [True, False, False, True, False]


def test_quarterly_schedule_after_good_friday_starts_on_april_first() -> None:
    # Given: 2024-03-29 was Good Friday (closed); 04-01 opens Q2
    dates = _days("2024-03-27", "2024-03-28", "2024-04-01", "2024-04-02")
    # When / Then
    assert scheduled_days(dates, RebalanceFrequency.QUARTERLY).tolist() == [
        True,
        False,
        True,
        False,
    ]
    assert scheduled_days(dates, RebalanceFrequency.YEARLY).tolist() == [
        True,
        False,
        False,
        False,
    ]


def test_iso_week_spanning_new_year_is_one_week_but_two_years() -> None:
    # Given: Mon 2024-12-30 .. Fri 2025-01-03 is ISO week 2025-W01; Mon 01-06 is W02
    dates = _days("2024-12-30", "2024-12-31", "2025-01-02", "2025-01-03", "2025-01-06")
    # When / Then
    assert scheduled_days(dates, RebalanceFrequency.WEEKLY).tolist() == [
        True,
        False,
        False,
        False,
        True,
    ]
    assert scheduled_days(dates, RebalanceFrequency.YEARLY).tolist() == [
        True,
        False,
        True,
        False,
        False,
    ]


def test_daily_schedules_every_day_and_none_schedules_no_day() -> None:
    # Given
    dates = _days("2023-12-28", "2023-12-29", "2024-01-02")
    # When / Then
    assert scheduled_days(dates, RebalanceFrequency.DAILY).all()
    assert not scheduled_days(dates, RebalanceFrequency.NONE).any()


def test_frequency_parses_meta_keywords_and_rejects_unknown_ones() -> None:
    # Given / When / Then
    assert RebalanceFrequency.parse(":weekly") is RebalanceFrequency.WEEKLY
    assert RebalanceFrequency.parse("Quarterly") is RebalanceFrequency.QUARTERLY
    with pytest.raises(ValueError, match="must be one of daily, weekly"):
        RebalanceFrequency.parse(":fortnightly")


# --- holdings: drift, schedules, thresholds -------------------------------------------


def test_buy_and_hold_drifts_with_returns() -> None:
    # Given: A 100 -> 110 -> 99 -> 99 -> 108.9, B flat, 50/50, never rebalanced
    closes = _closes([100.0, 110.0, 99.0, 99.0, 108.9])
    # When
    result = run_backtest(
        WEEK, HALF_HALF, closes, 0, RebalanceFrequency.NONE, None, 0.0, ("A", "B")
    )
    # Then: day 1 holds (0.55, 0.5)/1.05; the book ends at 0.5*1.089 + 0.5
    np.testing.assert_allclose(result.holdings[1], [11 / 21, 10 / 21])
    np.testing.assert_allclose(result.holdings[4], [10.89 / 20.89, 10 / 20.89])
    np.testing.assert_allclose(result.returns, [0.0, 0.05, -1.1 / 21, 0.0, 0.99 / 19.9])
    assert result.equity[-1] == pytest.approx(1.0445, abs=1e-12)
    assert result.rebalanced.tolist() == [True, False, False, False, False]
    np.testing.assert_allclose(result.turnover, [1.0, 0.0, 0.0, 0.0, 0.0])
    assert result.metrics.turnover == 0.0


def test_daily_rebalance_trades_the_drift_back_to_target() -> None:
    # Given: the same market rebalanced to 50/50 every close
    closes = _closes([100.0, 110.0, 99.0, 99.0, 108.9])
    # When
    result = run_backtest(
        WEEK, HALF_HALF, closes, 0, RebalanceFrequency.DAILY, None, 0.0, ("A", "B")
    )
    # Then: returns are half of A's; traded = 2 * |drift - 0.5|
    # day 1: drift 11/21 -> 1/21; day 2: drift 0.45/0.95 -> 0.05/0.95 = 1/19
    np.testing.assert_allclose(result.returns, [0.0, 0.05, -0.05, 0.0, 0.05])
    np.testing.assert_allclose(result.turnover, [1.0, 1 / 21, 1 / 19, 0.0, 1 / 21])
    np.testing.assert_allclose(result.holdings, HALF_HALF)
    assert result.metrics.total_return == pytest.approx(1.05 * 0.95 * 1.05 - 1, abs=1e-12)
    # metrics turnover excludes the initial buy: mean one-way = (2/21 + 1/19) / 2 / 5
    assert result.metrics.turnover == pytest.approx((2 / 21 + 1 / 19) / 2 / 5 * 252)


# A rises 10 % on days 1, 2 and 4: 100, 110, 121, 121, 133.1.
RALLY = _closes([100.0, 110.0, 121.0, 121.0, 133.1])


def test_threshold_rebalances_only_when_drift_exceeds_the_corridor() -> None:
    # Given: 50/50, corridor 3 points, checked every day (frequency none)
    # When
    result = _backtest(HALF_HALF, RALLY, RebalanceFrequency.NONE, threshold=0.03)
    # Then: day 1 drift 11/21 - 0.5 = 0.0238 stays; day 2 drift 12.1/22.1 - 0.5 = 0.0475
    # trades (2 * 0.0475 = 2.1/22.1); day 4 drifts only 0.55/1.05 - 0.5 = 0.0238 again
    assert result.rebalanced.tolist() == [True, False, True, False, False]
    np.testing.assert_allclose(result.turnover, [1.0, 0.0, 2.1 / 22.1, 0.0, 0.0], atol=1e-15)
    np.testing.assert_allclose(result.holdings[4], [0.55 / 1.05, 0.5 / 1.05])
    assert result.metrics.total_return == pytest.approx(1.105 * 1.05 - 1, abs=1e-12)


def test_wider_threshold_waits_until_the_drift_is_larger() -> None:
    # Given: corridor 5 points: day 2's 0.0475 stays; buy-and-hold reaches
    # 0.6655/1.1655 - 0.5 = 0.0710 on day 4
    # When
    result = _backtest(HALF_HALF, RALLY, RebalanceFrequency.NONE, threshold=0.05)
    # Then
    assert result.rebalanced.tolist() == [True, False, False, False, True]
    assert result.turnover[4] == pytest.approx(0.1655 / 1.1655, abs=1e-12)
    np.testing.assert_allclose(result.holdings[4], [0.5, 0.5])
    assert result.metrics.total_return == pytest.approx(0.1655, abs=1e-12)


def test_threshold_is_only_checked_on_scheduled_days() -> None:
    # Given: daily-checked drift would trade on day 2, but the schedule is weekly and
    # the week (Mon..Fri) started on day 0
    # When
    result = _backtest(HALF_HALF, RALLY, RebalanceFrequency.WEEKLY, threshold=0.03)
    # Then
    assert result.rebalanced.tolist() == [True, False, False, False, False]


def test_weekly_schedule_rebalances_on_the_tuesday_after_a_holiday() -> None:
    # Given: Wed..Fri, then Tue 2024-01-16 after Martin Luther King Day
    dates = _days("2024-01-10", "2024-01-11", "2024-01-12", "2024-01-16", "2024-01-17")
    # When
    result = _backtest(HALF_HALF, RALLY, RebalanceFrequency.WEEKLY, dates=dates)
    # Then: Tuesday trades the drift of days 1-2 (12.1/22.1) back to 50/50
    assert result.rebalanced.tolist() == [True, False, False, True, False]
    assert result.turnover[3] == pytest.approx(2.1 / 22.1, abs=1e-12)
    np.testing.assert_allclose(result.holdings[4], [0.55 / 1.05, 0.5 / 1.05])


def test_change_of_target_counts_as_drift() -> None:
    # Given: all in A, switching to all in B on day 2; a 50-point corridor
    targets = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [0.0, 1.0]])
    # When
    result = _backtest(targets, RALLY, RebalanceFrequency.NONE, threshold=0.5)
    # Then: the switch sells all of A and buys all of B: traded 2.0
    assert result.rebalanced.tolist() == [True, False, True, False, False]
    assert result.turnover[2] == pytest.approx(2.0)
    assert result.metrics.total_return == pytest.approx(0.21, abs=1e-12)


def test_slippage_is_charged_on_the_day_of_the_trade() -> None:
    # Given: the switch from A to B on day 2, 25 bps of traded notional
    targets = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [0.0, 1.0]])
    # When
    result = _backtest(targets, RALLY, RebalanceFrequency.DAILY, slippage_bps=25.0)
    # Then: day 0 costs 25 bps of 1.0; day 2 earns A's 10 % then pays 25 bps of 2.0
    np.testing.assert_allclose(result.costs, [0.0025, 0.0, 0.005, 0.0, 0.0])
    np.testing.assert_allclose(result.returns, [-0.0025, 0.1, 1.1 * 0.995 - 1, 0.0, 0.0])
    assert result.equity[0] == pytest.approx(0.9975)
    assert result.equity[-1] == pytest.approx(0.9975 * 1.21 * 0.995)


def test_a_ticker_listed_later_counts_as_zero_until_bought() -> None:
    # Given: B has no close on days 0-1 and is bought on day 2
    closes = _closes([100.0, 110.0, 121.0, 121.0, 133.1], [np.nan, np.nan, 50.0, 55.0, 55.0])
    targets = np.array([[1.0, 0.0], [1.0, 0.0], [0.5, 0.5], [0.5, 0.5], [0.5, 0.5]])
    # When
    result = _backtest(targets, closes, RebalanceFrequency.DAILY)
    # Then: days 1-2 earn A's 10 %; day 3 earns half of B's 10 %; day 4 half of A's
    np.testing.assert_allclose(result.returns, [0.0, 0.1, 0.1, 0.05, 0.05])


def test_a_held_ticker_without_a_return_is_an_input_error() -> None:
    # Given: A is held but has no return on Wed 2024-03-06
    returns = np.zeros((5, 2))
    returns[2, 0] = np.nan
    # When / Then: the error names the column and the day
    with pytest.raises(ValueError, match=r"column 0 \(A\).*2024-03-06"):
        simulate_holdings(WEEK, HALF_HALF, returns, 0, RebalanceFrequency.DAILY, tickers=("A", "B"))


def test_targets_on_an_unpriced_ticker_are_rejected() -> None:
    # Given: the target buys B on day 0 before it has a close
    closes = _closes([100.0] * 5, [np.nan, 10.0, 10.0, 10.0, 10.0])
    # When / Then
    with pytest.raises(ValueError, match="on B on 2024-03-04"):
        _backtest(HALF_HALF, closes, RebalanceFrequency.DAILY)


def test_targets_that_do_not_sum_to_one_are_rejected() -> None:
    # Given
    targets = HALF_HALF.copy()
    targets[3] = [0.5, 0.3]
    # When / Then
    with pytest.raises(ValueError, match=r"sum to 1 .* on 2024-03-07"):
        _backtest(targets, RALLY, RebalanceFrequency.DAILY)


def test_rows_before_start_are_ignored_and_do_not_trade() -> None:
    # Given: warm-up rows full of NaN targets; start on day 2
    targets = HALF_HALF.copy()
    targets[:2] = np.nan
    # When
    result = _backtest(targets, RALLY, RebalanceFrequency.DAILY, start=2)
    # Then: the backtest begins at day 2 with the initial buy
    assert result.dates[0] == np.datetime64("2024-03-06")
    np.testing.assert_allclose(result.returns, [0.0, 0.0, 0.05])


def test_window_trades_first_on_the_later_of_start_and_first_day() -> None:
    # Given: start row 1, a window from Wed 2024-03-06 to Thu 2024-03-07
    # When
    result = run_backtest(
        WEEK,
        HALF_HALF,
        RALLY,
        1,
        RebalanceFrequency.DAILY,
        None,
        0.0,
        ("A", "B"),
        first_day=date(2024, 3, 6),
        last_day=date(2024, 3, 7),
    )
    # Then
    assert result.dates.tolist() == [date(2024, 3, 6), date(2024, 3, 7)]
    assert result.metrics.start == date(2024, 3, 6)
    np.testing.assert_allclose(result.returns, [0.0, 0.0])


def test_empty_window_is_rejected() -> None:
    # Given / When / Then
    with pytest.raises(ValueError, match="window is empty"):
        run_backtest(
            WEEK,
            HALF_HALF,
            RALLY,
            3,
            RebalanceFrequency.DAILY,
            None,
            0.0,
            ("A", "B"),
            last_day=date(2024, 3, 5),
        )


# --- real data ------------------------------------------------------------------------


def _load_spy() -> tuple[npt.NDArray[np.datetime64], FloatArray]:
    with (PRICES / "SPY.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    dates = np.array([row["Date"] for row in rows], dtype="datetime64[D]")
    closes = np.array([[float(row["Adj Close"])] for row in rows])
    return dates, closes


def test_all_in_spy_daily_returns_the_price_change() -> None:
    # Given: the real SPY history, 100 % SPY every day from row 20
    dates, closes = _load_spy()
    targets = np.ones_like(closes)
    # When
    result = run_backtest(dates, targets, closes, 20, RebalanceFrequency.DAILY, None, 0.0, ("SPY",))
    # Then
    assert result.metrics.total_return == pytest.approx(
        closes[-1, 0] / closes[20, 0] - 1, rel=0, abs=1e-9
    )
    assert result.metrics.days == len(dates) - 20
    np.testing.assert_allclose(result.turnover[1:], 0.0, atol=1e-12)


def test_all_in_spy_drawdown_over_2008_matches_the_price_series() -> None:
    # Given: SPY over 2007-2009
    dates, closes = _load_spy()
    # When
    result = run_backtest(
        dates,
        np.ones_like(closes),
        closes,
        0,
        RebalanceFrequency.MONTHLY,
        None,
        0.0,
        ("SPY",),
        first_day=date(2007, 1, 1),
        last_day=date(2009, 12, 31),
    )
    # Then: the worst fall equals the price's own peak-to-trough fall in the window
    window = closes[
        (dates >= np.datetime64("2007-01-01")) & (dates <= np.datetime64("2009-12-31")), 0
    ]
    expected = float(np.max(1 - window / np.maximum.accumulate(window)))
    assert result.metrics.max_drawdown == pytest.approx(expected, abs=1e-9)
    assert result.metrics.max_drawdown_peak == date(2007, 10, 9)
    assert result.metrics.max_drawdown_trough == date(2009, 3, 9)


# --- properties and speed -------------------------------------------------------------


@st.composite
def _markets(draw: st.DrawFn) -> tuple[FloatArray, FloatArray, int]:
    n_days = draw(st.integers(2, 40))
    n_assets = draw(st.integers(1, 5))
    raw = draw(hnp.arrays(np.float64, (n_days, n_assets), elements=st.floats(0.0, 1.0, width=32)))
    raw[raw.sum(axis=1) == 0.0] = 1.0
    targets = raw / raw.sum(axis=1, keepdims=True)
    returns = draw(
        hnp.arrays(np.float64, (n_days, n_assets), elements=st.floats(-0.75, 2.0, width=32))
    )
    start = draw(st.integers(0, n_days - 1))
    return targets, returns, start


@settings(max_examples=200, deadline=None)
@given(
    market=_markets(),
    frequency=st.sampled_from(list(RebalanceFrequency)),
    threshold=st.none() | st.floats(0.0, 0.5),
)
def test_holdings_stay_non_negative_and_fully_invested(
    market: tuple[FloatArray, FloatArray, int],
    frequency: RebalanceFrequency,
    threshold: float | None,
) -> None:
    # Given: random valid targets and returns above -100 %
    targets, returns, start = market
    dates = np.datetime64("2024-01-01") + np.arange(len(targets)).astype("timedelta64[D]")
    # When
    path = simulate_holdings(dates, targets, returns, start, frequency, threshold)
    # Then
    held = path.holdings[start:]
    assert (held >= 0.0).all()
    np.testing.assert_allclose(held.sum(axis=1), 1.0, atol=1e-9)
    assert not path.holdings[:start].any()
